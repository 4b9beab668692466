"""Inputs that would hang or fill memory: FIFOs, device files, gzip bombs."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from conftest import coco_doc
from maskcheck import lint
from maskcheck.cli import main
from maskcheck.readers import jsonio

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def one_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@needs_fifo
def test_a_fifo_named_as_the_input_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "ann.json"
    os.mkfifo(fifo)
    assert main(["lint", str(fifo)]) == 2
    line = one_line(capsys)
    assert str(fifo) in line and "FIFO" in line


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_refused(tmp_path, capsys, device):
    if not Path(device).exists():
        pytest.skip(f"{device} is absent")
    link = tmp_path / "x.jsonl"
    link.symlink_to(device)
    assert main(["lint", str(link)]) == 2
    assert "device file" in one_line(capsys)


@needs_fifo
def test_a_fifo_in_a_folder_is_skipped_and_the_rest_is_linted(tmp_path):
    (tmp_path / "ann.json").write_text(json.dumps(coco_doc()))
    os.mkfifo(tmp_path / "pipe.json")
    report = lint([tmp_path])
    assert [Path(i["path"]).name for i in report.inputs] == ["ann.json"]
    assert [(Path(s.path).name, "FIFO" in s.reason) for s in report.skipped] == [("pipe.json", True)]


def test_a_gzip_that_inflates_past_its_cap_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(jsonio, "MIN_INFLATED_CAP", 1 << 20)  # the cap scaled down for a test
    path = tmp_path / "ann.json.gz"
    with gzip.open(path, "wb") as fh:  # 8 MiB of valid JSON in a ~10 KB file
        fh.write(b'{"images": [], "annotations": [], "pad": "' + b" " * (8 << 20) + b'"}')
    assert path.stat().st_size < 100_000
    assert main(["lint", str(path)]) == 2
    line = one_line(capsys)
    assert "inflates to more than 1,048,576 bytes" in line and "gzip bomb" in line


def test_inflate_cap_follows_the_compressed_size():
    assert jsonio.inflate_cap(1_000) == jsonio.MIN_INFLATED_CAP
    assert jsonio.inflate_cap(10 << 20) == 100 * (10 << 20)
    assert jsonio.inflate_cap(1 << 40) == jsonio.MAX_INFLATED_BYTES


def test_a_normal_gzip_is_read(tmp_path):
    path = tmp_path / "ann.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump(coco_doc(), fh)
    report = lint([path])
    assert not report.errors and report.images == 2
