"""Folders of per-image files (LabelMe, YOLO) read batch by batch (readers/lazy.py) give the
report the eager reader gives, file for file, in any batching, in the pool and with broken
files among them."""

from __future__ import annotations

import json

import pytest

from maskcheck import lint
from maskcheck.model import Dataset
from maskcheck.readers import lazy
from maskcheck.readers.reading import read_all
from test_engine_properties import check_group, labelme_folder, yolo_folder, yolo_splits
from test_pool import doc

REAL = ["wkentaro__labelme", "lightly-ai__labelformat"]  # LabelMe folders; YOLO splits


@pytest.fixture
def always_lazy(monkeypatch):
    monkeypatch.setattr(lazy, "LAZY_MIN_FILES", 1)


def reports(paths, monkeypatch, **kw):
    eager, _ = doc(paths, **kw)
    monkeypatch.setattr(lazy, "LAZY_MIN_FILES", 1)
    lazily, report = doc(paths, **kw)
    monkeypatch.setattr(lazy, "LAZY_MIN_FILES", 512)
    return eager, lazily, report


def broken_labelme(root):
    folder = labelme_folder(root)
    (folder / "zz_truncated.json").write_text('{"shapes": [{"label": "dent", "points": [[1, 2]')
    (folder / "zz_not_shapes.json").write_text(json.dumps(
        {"shapes": {"a": 1}, "imagePath": "x.png", "imageHeight": 8, "imageWidth": 8}))
    return folder


@pytest.mark.parametrize("kw", [{}, {"batch_size": 2}, {"batch_size": 3, "jobs": 2, "shuffle_seed": 1}])
def test_labelme_lazily_gives_the_eager_report(tmp_path, monkeypatch, kw):
    folder = broken_labelme(tmp_path / "lm")
    eager, lazily, _ = reports([folder], monkeypatch, **kw)
    assert eager["findings"] and len(eager["errors"]) == 2
    assert lazily == eager


@pytest.mark.parametrize("kw", [{}, {"batch_size": 2, "jobs": 2}])
def test_yolo_lazily_gives_the_eager_report(tmp_path, monkeypatch, kw):
    paths = [yolo_folder(tmp_path / "y"), yolo_splits(tmp_path / "ys")]
    eager, lazily, _ = reports(paths, monkeypatch, **kw)
    assert eager["findings"]
    assert lazily == eager


@pytest.mark.parametrize("sub", REAL)
def test_real_folders_lazily_give_the_eager_report(realdata, monkeypatch, sub):
    eager, lazily, _ = reports([realdata / sub], monkeypatch, batch_size=3)
    assert lazily == eager


def test_lazy_datasets_hold_the_rule_contract(tmp_path, always_lazy):
    """Random partitions of the lazy batches, pickled states: the engine property test."""
    paths = [labelme_folder(tmp_path / "lm"), yolo_folder(tmp_path / "y"),
             yolo_splits(tmp_path / "ys")]
    datasets = [d for d in read_all(paths) if isinstance(d, Dataset)]
    assert datasets and all(d.batch_images == lazy.BATCH_FILES for d in datasets)
    failures, _ = check_group(datasets)
    assert not failures, "\n".join(failures)


def test_a_batch_holds_its_files_only(tmp_path, always_lazy):
    folder = labelme_folder(tmp_path / "lm")
    [d] = [d for d in read_all([folder]) if isinstance(d, Dataset)]
    count, batch_at = d.indexed(3)
    sizes = [len(batch_at(k).images) for k in range(count)]
    assert sizes == [3, 3, 2] and d.info.num_images == 8
    second = batch_at(1)
    assert second.images.index.tolist() == [3, 4, 5] and second.images.id.tolist() == [4, 5, 6]


def test_a_file_changed_between_the_reads_is_said(tmp_path, always_lazy):
    folder = labelme_folder(tmp_path / "lm")
    [d] = [d for d in read_all([folder]) if isinstance(d, Dataset)]
    first = sorted(folder.glob("*.json"))[0]
    doc_ = json.loads(first.read_text())
    doc_["shapes"] = doc_["shapes"] * 3
    first.write_text(json.dumps(doc_))
    errors = [e for b in d.batches(4) for e in b.errors]
    assert len(errors) == 1 and "changed while being linted" in errors[0].message


def test_the_default_keeps_small_folders_eager(tmp_path):
    folder = labelme_folder(tmp_path / "lm")
    [d] = [d for d in read_all([folder]) if isinstance(d, Dataset)]
    assert d.batch_images is None and lint([folder]).images == 8


def dirty_jsonl(path, apart: bool = False):
    """Per-image and per-instance records, names and ids as labels, a broken line, blank
    lines, a record that is no object, an instance out of its image: most record rules fire."""
    mask = [[0, 1, 1], [0, 1, 1]]
    lines = []
    for k in range(9):
        if k % 3 == 0:  # one line per instance, the image's lines together
            lines += [json.dumps({"image_id": f"i{k}.jpg", "label": lab, "mask": mask,
                                  "bbox": [1, 0, 2, 2]}) for lab in ("cat", "dog", 5)]
        else:
            lines.append(json.dumps({"image": f"i{k}.jpg", "labels": ["cat", "dgo"][: 1 + k % 2],
                                     "masks": [mask, mask], "boxes": [[0, 0, 9, 9]]}))
        if k == 4:
            lines += ["", '{"image": "broken.jpg", "labels": [1', "[1, 2]"]
    if apart:  # an image's records far apart: read whole, as the eager reader does
        lines.append(json.dumps({"image_id": "i0.jpg", "label": "cat", "mask": mask}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("apart", [False, True])
@pytest.mark.parametrize("kw", [{}, {"batch_size": 2}, {"batch_size": 3, "jobs": 2, "shuffle_seed": 5}])
def test_jsonl_lazily_gives_the_eager_report(tmp_path, monkeypatch, apart, kw):
    from maskcheck.readers import records

    path = dirty_jsonl(tmp_path / "r.jsonl", apart)
    monkeypatch.setattr(records, "LAZY_MIN_BYTES", 0)
    eager, lazily, _ = reports([path], monkeypatch, **kw)
    assert len({f["code"] for f in eager["findings"]}) >= 4
    assert lazily == eager
    monkeypatch.setattr(lazy, "LAZY_MIN_FILES", 1)
    [d] = [d for d in read_all([path]) if isinstance(d, Dataset)]
    assert (d.indexed is not None and d.batch_images == lazy.BATCH_FILES) == (not apart)


def test_jsonl_lazy_datasets_hold_the_rule_contract(tmp_path, monkeypatch, always_lazy):
    from maskcheck.readers import records

    monkeypatch.setattr(records, "LAZY_MIN_BYTES", 0)
    datasets = [d for d in read_all([dirty_jsonl(tmp_path / "r.jsonl")]) if isinstance(d, Dataset)]
    assert [d.batch_images for d in datasets] == [lazy.BATCH_FILES]
    failures, _ = check_group(datasets)
    assert not failures, "\n".join(failures)
