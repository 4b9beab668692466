"""Cross-split checks: categories (MC510), classes absent from train (MC511), shared images (MC512)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ann, coco_doc
from maskcheck.api import lint
from maskcheck.cli import main
from maskcheck.rules.splits import split_of

CATS = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"}]


def _imgs(*names):
    return [{"id": k + 1, "file_name": n, "width": 100, "height": 80} for k, n in enumerate(names)]


def _write(folder: Path, name: str, doc) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _found(paths, code, **kw):
    report = lint(paths, select=[code], **kw)
    assert not report.errors
    return [(Path(f.location.path).name, f.location.pointer, f.message)
            for f in report.findings if f.code == code]


@pytest.mark.parametrize(("a", "b", "same"), [
    ("d/instances_train2017.json", "d/instances_val2017.json", True),
    ("d/train/_annotations.coco.json", "d/valid/_annotations.coco.json", True),
    ("d/train.json", "d/test.json", True),
    ("d/instances_train2017.json", "d/person_keypoints_val2017.json", False),
    ("d/a.json", "d/b.json", False),
    ("d/retrain.json", "d/interval.json", False),
])
def test_split_grouping(a, b, same):
    ka, kb = split_of(a), split_of(b)
    if same:
        assert ka is not None and kb is not None and ka[0] == kb[0]
    else:
        assert ka is None or kb is None or ka[0] != kb[0]


# --- MC510 ---------------------------------------------------------------------------------
def test_swapped_ids_between_splits(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(categories=CATS))
    val = _write(tmp_path, "val.json", coco_doc(
        categories=[{"id": 1, "name": "dent"}, {"id": 2, "name": "scratch"}], annotations=[]))
    got = _found([train, val], "MC510")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/categories/0"), ("val.json", "/categories/1")]
    assert 'class "dent" has id 1 here but id 2 in train.json' in got[0][2]


def test_missing_and_extra_classes(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(categories=CATS))
    val = _write(tmp_path, "val.json", coco_doc(
        categories=[{"id": 1, "name": "scratch"}, {"id": 3, "name": "crack"}], annotations=[]))
    got = _found([train, val], "MC510")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/categories"), ("val.json", "/categories/1")]
    assert 'class "dent" (id 2) of train.json is missing' in got[0][2]
    assert 'class "crack" (id 3) is not in the categories of train.json' in got[1][2]


def test_same_classes_in_another_order(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(categories=CATS))
    val = _write(tmp_path, "val.json", coco_doc(categories=CATS[::-1], annotations=[]))
    got = _found([train, val], "MC510")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/categories")]
    assert "different order" in got[0][2]


def test_identical_categories_and_unrelated_files_are_quiet(tmp_path):
    train = _write(tmp_path, "instances_train.json", coco_doc(categories=CATS))
    val = _write(tmp_path, "instances_val.json", coco_doc(categories=CATS, annotations=[]))
    other = _write(tmp_path, "person_keypoints_val.json", coco_doc(
        categories=[{"id": 1, "name": "person"}], annotations=[]))
    assert _found([train, val, other], "MC510") == []


def test_folder_of_splits(tmp_path):
    _write(tmp_path / "ds", "train/_annotations.coco.json", coco_doc(categories=CATS))
    _write(tmp_path / "ds", "valid/_annotations.coco.json",
           coco_doc(categories=CATS[::-1], annotations=[]))
    got = _found([tmp_path / "ds"], "MC510")
    assert len(got) == 1 and got[0][1] == "/categories"


# --- MC511 ---------------------------------------------------------------------------------
def test_class_in_val_absent_from_train(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(categories=CATS, annotations=[ann(1, 1, 1)]))
    val = _write(tmp_path, "val.json", coco_doc(categories=CATS,
                                                 annotations=[ann(1, 1, 1), ann(2, 1, 2), ann(3, 2, 2)]))
    got = _found([train, val], "MC511")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/categories/1")]
    assert 'class "dent" has 2 annotations in this split but none in train.json' in got[0][2]
    # the other way round is not a defect: train may have classes val lacks
    assert _found([val, train], "MC511") == got


def test_classes_matched_by_name_across_numberings(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(
        categories=CATS, annotations=[ann(1, 1, 1), ann(2, 1, 2)]))
    val = _write(tmp_path, "val.json", coco_doc(
        categories=[{"id": 5, "name": "dent"}], annotations=[ann(1, 1, 5)]))
    assert _found([train, val], "MC511") == []


def test_no_train_split_no_finding(tmp_path):
    val = _write(tmp_path, "val.json", coco_doc(categories=CATS))
    test = _write(tmp_path, "test.json", coco_doc(categories=CATS, annotations=[ann(1, 1, 2)]))
    assert _found([val, test], "MC511") == []


# --- MC512 ---------------------------------------------------------------------------------
def test_same_file_name_in_two_splits(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(images=_imgs("a.jpg", "b.jpg"), annotations=[]))
    val = _write(tmp_path, "val.json", coco_doc(images=_imgs("c.jpg", "b.jpg"), annotations=[]))
    got = _found([train, val], "MC512")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/images/1")]
    assert 'image "b.jpg" is also in train.json (/images/1), the same file name' in got[0][2]


def test_content_decides_when_images_are_found(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes(b"picture A")
    (images / "b.jpg").write_bytes(b"picture B")
    (images / "copy_of_a.jpg").write_bytes(b"picture A")
    (images / "c.jpg").write_bytes(b"picture C")
    train = _write(tmp_path, "train.json", coco_doc(images=_imgs("a.jpg", "b.jpg"), annotations=[]))
    val = _write(tmp_path, "val.json", coco_doc(images=_imgs("c.jpg", "copy_of_a.jpg", "b.jpg"),
                                                 annotations=[]))
    got = _found([train, val], "MC512")
    assert [(f, p) for f, p, _ in got] == [("val.json", "/images/1"), ("val.json", "/images/2")]
    assert 'has the same content as "a.jpg" in train.json (/images/0)' in got[0][2]
    assert "the same file name and content" in got[1][2]


def test_same_name_different_pictures_is_not_a_duplicate(tmp_path):
    for split, data in (("train", b"train picture 0001"), ("val", b"val picture 0001")):
        (tmp_path / split).mkdir()
        (tmp_path / split / "0001.jpg").write_bytes(data)
        _write(tmp_path / split, "annotations.json",
               coco_doc(images=_imgs("0001.jpg"), annotations=[]))
    assert _found([tmp_path / "train", tmp_path / "val"], "MC512") == []


def test_split_findings_do_not_depend_on_batching(tmp_path):
    train = _write(tmp_path, "train.json", coco_doc(
        images=_imgs(*[f"{i}.jpg" for i in range(9)]), categories=CATS,
        annotations=[ann(i, i % 9 + 1, 1) for i in range(1, 20)]))
    val = _write(tmp_path, "val.json", coco_doc(
        images=_imgs("3.jpg", "x.jpg", "7.jpg"), categories=CATS[::-1],
        annotations=[ann(1, 2, 2), ann(2, 3, 1)]))
    codes = ["MC510", "MC511", "MC512"]
    base = lint([train, val], select=codes, batch_size=None).findings
    assert {f.code for f in base} == set(codes)
    for size, seed in ((1, None), (7, None), (2, 3), (1, 11)):
        assert lint([train, val], select=codes, batch_size=size, shuffle_seed=seed).findings == base


def test_cli_two_files(tmp_path, capsys):
    train = _write(tmp_path, "train.json", coco_doc(categories=CATS))
    val = _write(tmp_path, "val.json", coco_doc(categories=CATS[::-1], annotations=[]))
    assert main(["lint", str(train), str(val), "--format", "concise", "--select", "MC51"]) == 1
    assert "val.json:/categories: MC510" in capsys.readouterr().out
    assert main(["lint", str(train), str(val), "--select", "MC51", "--ignore", "MC510"]) == 0
