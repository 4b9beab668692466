"""`--engine dask` on a real LocalCluster (two worker processes): the same report as the
local engine on COCO with planted defects, on SA-1B tar shards and, batched and shuffled at
random, on every dataset of the engine property corpus."""

from __future__ import annotations

import json
import os
import random
import sys

import pytest

distributed = pytest.importorskip("distributed", reason="maskcheck[dask] is not installed")

from maskcheck.cli import main  # noqa: E402
from maskcheck.engine import lint_dataset, make_plan, sort_key  # noqa: E402
from test_engine_properties import corpus, dirty_coco, split_pair  # noqa: E402, F401
from test_pool import doc  # noqa: E402
from test_sa1b import clean_tar, planted_tar  # noqa: E402, F401

pytestmark = pytest.mark.timeout(300)  # a cluster that hangs fails the test, not CI


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, silence_logs=50) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as c:
        yield c


def same_report(paths, address, **kw):
    local, _ = doc(paths, jobs=1, **kw)
    on_dask, report = doc(paths, engine="dask", scheduler=address, **kw)
    assert local["findings"], "nothing to compare"
    assert on_dask == local  # findings, errors and summary
    return report


@pytest.mark.parametrize("batch", [None, 3])
def test_planted_coco_gives_the_local_report(tmp_path, cluster, batch):
    paths = [dirty_coco(tmp_path / "dirty", copies=2), *split_pair(tmp_path / "splits")]
    kw = {} if batch is None else {"batch_size": batch, "shuffle_seed": 2}
    report = same_report(paths, cluster, **kw)
    assert {"MC003", "MC004", "MC510"} <= {f.code for f in report.findings}


def test_sa1b_shards_give_the_local_report(clean_tar, tmp_path, cluster):  # noqa: F811
    root, expected = planted_tar(clean_tar, tmp_path / "planted")
    report = same_report([root], cluster, batch_size=2)
    found = {(f.code, f.location.short()) for f in report.findings}
    assert expected <= found


def test_random_batches_on_the_cluster_give_the_serial_findings(corpus, client):  # noqa: F811
    """The engine property corpus (every format, every dataset rule firing), cut into
    random batch sizes and shuffled, folded on the workers and merged in a tree."""
    plan = make_plan()
    rng = random.Random(7)
    for name, datasets in corpus.items():
        for d in datasets:
            want = sorted(lint_dataset(d, plan, batch_size=None), key=sort_key)
            size = rng.choice([1, 2, 3, max(d.info.num_images // 2, 1)])
            got = sorted(lint_dataset(d, plan, batch_size=size, shuffle_seed=rng.randrange(99),
                                      cluster=client), key=sort_key)
            assert [(f.code, f.location, f.message) for f in got] == \
                   [(f.code, f.location, f.message) for f in want], name


def test_cli_starts_a_local_cluster(tmp_path, capsys):
    path = dirty_coco(tmp_path / "d")
    args = ["lint", str(path), "--format", "json", "--no-progress", "--batch-size", "3"]
    assert main([*args, "-j", "1"]) == 1
    local = json.loads(capsys.readouterr().out)
    assert main([*args, "--engine", "dask", "-j", "2"]) == 1
    assert json.loads(capsys.readouterr().out) == local


def test_usage_errors(tmp_path, capsys, monkeypatch):
    path = dirty_coco(tmp_path / "d")
    assert main(["lint", str(path), "--engine", "spark"]) == 2
    assert "--engine 'spark': choose local or dask" in capsys.readouterr().err
    assert main(["lint", str(path), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "--scheduler needs --engine dask" in capsys.readouterr().err
    assert main(["lint", str(path), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("maskcheck: --scheduler tcp://127.0.0.1:9: cannot reach the scheduler")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if maskcheck[dask] were absent
    assert main(["lint", str(path), "--engine", "dask"]) == 2
    assert "pip install 'maskcheck[dask]'" in capsys.readouterr().err



def test_a_failure_on_the_cluster_is_one_usage_problem(corpus, client):  # noqa: F811
    """A batch that cannot be drawn on a worker (here: its reader raises there) stops the
    lint with one line naming the dataset, not a traceback from the cluster."""
    from dataclasses import replace

    from maskcheck.dask_engine import ClusterFailed

    d = corpus["coco"][0]
    count, batch_at = d.indexed(2)
    here = os.getpid()

    def on_worker_only(k):
        if os.getpid() == here:  # the engine draws the first batch here (dataset facts)
            return batch_at(k)
        raise OSError("the disk went away")

    def broken(size):
        return count, on_worker_only

    with pytest.raises(ClusterFailed) as exc:
        lint_dataset(replace(d, indexed=broken), make_plan(), batch_size=2, cluster=client)
    message = str(exc.value)
    assert message.startswith(f"--engine dask: the cluster failed on {d.info.path}: OSError")
    assert "\n" not in message
