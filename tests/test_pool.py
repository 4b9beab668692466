"""`--jobs`: the same findings (and HTML data) from a pool of processes as from one, on dirty
and on real data, with small and shuffled batches; and the pool is really used."""

from __future__ import annotations

import os
import signal
import time

import pytest

import maskcheck.engine as engine
import maskcheck.pool as pool
from maskcheck import lint
from maskcheck.cli import main
from maskcheck.pool import cores, plan_jobs
from maskcheck.reporters.json_report import to_dict
from maskcheck.rules.integrity import DuplicateAnnotationId
from test_engine_properties import dirty_coco, split_pair

REAL = ["cocodataset__cocoapi", "wkentaro__labelme", "openvinotoolkit__datumaro",
        "lightly-ai__labelformat", "roboflow__roboflow-python"]


@pytest.fixture
def pooled(monkeypatch):
    """Counts the datasets the engine handed to the pool."""
    calls = []
    real = engine.fold_in_pool

    def spy(*args, **kwargs):
        calls.append(args[0].info.path)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "fold_in_pool", spy)
    return calls


def doc(paths, **kw):
    report = lint(paths, **kw)
    d = to_dict(report)
    d["findings"].sort(key=lambda f: (f["location"]["path"], f["code"], repr(f)))
    return d, report


@pytest.mark.parametrize("shuffle", [None, 3])
@pytest.mark.parametrize("batch", [1, 4])
def test_pool_findings_equal_serial_on_dirty_data(tmp_path, pooled, shuffle, batch):
    paths = [dirty_coco(tmp_path / "dirty", copies=2), *split_pair(tmp_path / "splits")]
    serial, _ = doc(paths, batch_size=batch, shuffle_seed=shuffle, jobs=1)
    assert not pooled
    parallel, _ = doc(paths, batch_size=batch, shuffle_seed=shuffle, jobs=2)
    assert pooled, "the pool was not used"
    assert serial["findings"] and parallel == serial


def test_pool_keeps_the_html_data(tmp_path, pooled):
    path = dirty_coco(tmp_path / "dirty", copies=2)
    _, one = doc([path], batch_size=2, jobs=1, examples=3)
    _, two = doc([path], batch_size=2, jobs=2, examples=3)
    assert pooled
    assert [t.to_dict() for t in two.classes] == [t.to_dict() for t in one.classes]
    assert [(e.finding, e.instances, e.flagged) for e in two.gallery] == \
        [(e.finding, e.instances, e.flagged) for e in one.gallery]


@pytest.mark.parametrize("sub", REAL)
def test_pool_findings_equal_serial_on_real_data(realdata, sub, pooled):
    serial, _ = doc([realdata / sub], batch_size=2, jobs=1)
    parallel, _ = doc([realdata / sub], batch_size=2, shuffle_seed=1, jobs=2)
    assert parallel == serial


def test_one_batch_stays_serial(tmp_path, pooled):
    lint([dirty_coco(tmp_path / "d")], jobs=4)  # one batch of 4096 images: nothing to share
    assert not pooled


def test_jobs_zero_means_every_core():
    assert plan_jobs(0) == cores() >= 1 and plan_jobs(3) == 3


def test_cli_jobs(tmp_path, capsys, pooled):
    path = dirty_coco(tmp_path / "d")
    assert main(["lint", str(path), "-j", "2", "--batch-size", "3", "-f", "json",
                 "--no-progress"]) == 1
    two = capsys.readouterr().out
    assert pooled
    assert main(["lint", str(path), "-j", "1", "--batch-size", "3", "-f", "json",
                 "--no-progress"]) == 1
    assert capsys.readouterr().out == two
    assert main(["lint", str(path), "-j", "-1"]) == 2


def test_a_crashing_rule_is_one_crash_finding_in_the_pool(tmp_path, monkeypatch, pooled):
    def boom(self, state, batch):
        raise RuntimeError("planted")

    monkeypatch.setattr(DuplicateAnnotationId, "accumulate", boom)
    report = lint([dirty_coco(tmp_path / "d", copies=2)], batch_size=3, jobs=2)
    crashes = [f for f in report.findings if f.code == "MC000"]
    assert len(crashes) == 1 and "MC004" in crashes[0].message and "planted" in crashes[0].message
    assert not [f for f in report.findings if f.code == "MC004"]


def test_jobs_2_is_this_process_and_one_worker_both_folding(tmp_path, monkeypatch, pooled):
    log = tmp_path / "folded_by"
    real = pool.fold_run

    def spy(job, order):
        with open(log, "a") as fh:  # from whichever process folds the run
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.05)  # slow enough that this process cannot take every run alone
        return real(job, order)

    monkeypatch.setattr(pool, "fold_run", spy)
    lint([dirty_coco(tmp_path / "d", copies=8)], batch_size=1, jobs=2)
    assert pooled
    folded_by = {int(line) for line in log.read_text().split()}
    assert len(folded_by) == 2 and os.getpid() in folded_by


def test_an_error_in_a_worker_is_raised_here(tmp_path, monkeypatch):
    here = os.getpid()
    real = pool.fold_run

    def failing(job, order):
        if os.getpid() != here:
            raise ValueError("planted in a worker")
        return real(job, order)

    monkeypatch.setattr(pool, "fold_run", failing)
    with pytest.raises(ValueError, match="planted in a worker"):
        lint([dirty_coco(tmp_path / "d", copies=8)], batch_size=1, jobs=2)


@pytest.mark.timeout(120)  # a hang fails here instead of stalling the suite
def test_a_killed_worker_is_one_line_and_exit_2_never_a_hang(tmp_path, monkeypatch, capsys):
    """The out-of-memory killer's SIGKILL: a multiprocessing.Pool would wait for the lost
    run for ever; the pool sees the worker's exit code and says what happened."""
    here = os.getpid()
    real = pool.fold_run

    def killed(job, order):
        if os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)  # leave the worker a run to take
        return real(job, order)

    monkeypatch.setattr(pool, "fold_run", killed)
    path = dirty_coco(tmp_path / "d", copies=8)
    with pytest.raises(pool.WorkerDied, match="killed by SIGKILL"):
        lint([path], batch_size=1, jobs=2)
    assert main(["lint", str(path), "-j", "2", "--batch-size", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out-of-memory killer" in err[0]
