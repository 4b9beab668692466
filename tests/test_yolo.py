"""YOLO segmentation: the reader, data.yaml/classes.txt, and the MC42x checks at file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from maskcheck import lint
from maskcheck.readers import yolo

POLY = "0 0.1 0.1 0.4 0.1 0.4 0.3"


def make(root: Path, labels: dict[str, str], images: tuple[str, ...] | None = None,
         yaml: str | None = "path: .\ntrain: images\nnames: [crack, dent]\n",
         classes: str | None = None, size: tuple[int, int] = (200, 100)) -> Path:
    """A YOLO dataset: labels {stem: text}; images default to one per label (real PNGs)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for stem, text in labels.items():
        (root / "labels" / f"{stem}.txt").write_text(text)
    for k, stem in enumerate(labels if images is None else images):
        # a different picture each: identical files would be duplicate images (MC308/MC309)
        Image.new("L", size, color=(37 * k + 1) % 256).save(root / "images" / f"{stem}.png")
    if yaml is not None:
        (root / "data.yaml").write_text(yaml)
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return root


def found(report, code: str) -> list[tuple[str, int | None]]:
    return [(Path(f.location.path).name, f.location.line) for f in report.findings if f.code == code]


def messages(report, code: str) -> list[str]:
    return [f.message for f in report.findings if f.code == code]


# ------------------------------------------------------------------------- the reader
def test_rows_become_pixel_geometry_with_file_and_line(tmp_path):
    make(tmp_path, {"a": f"{POLY}\n\n1 0.5 0.5 0.2 0.4\n"})
    ds = next(yolo.read(tmp_path))
    batch = next(ds.batches(None))
    assert batch.images.width.tolist() == [200.0] and batch.images.height.tolist() == [100.0]
    anns = batch.anns
    assert anns.line.tolist() == [1, 3]
    assert json.loads(bytes(anns.segmentation[0])) == [[20.0, 10.0, 80.0, 10.0, 80.0, 30.0]]
    assert anns.bbox[1].tolist() == pytest.approx([80, 30, 40, 40])
    assert anns.category_id.tolist() == [0, 1]
    assert ds.info.category_names() == {0: "crack", 1: "dent"}


def test_classes_txt_and_split_folders(tmp_path):
    root = tmp_path / "ds"
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        Image.new("L", (10, 10)).save(root / "images" / split / "x.jpg")
        (root / "labels" / split / "x.txt").write_text(POLY + "\n")
    (root / "classes.txt").write_text("crack\ndent\n")
    report = lint([root])
    # each split is a dataset of its own, named by its label folder
    assert [(Path(i["path"]).relative_to(root).as_posix(), i["format"]) for i in report.inputs] \
        == [("labels/train", "yolo"), ("labels/val", "yolo")]
    assert (report.images, report.annotations) == (2, 2)


def test_names_as_dict_with_lines(tmp_path):
    make(tmp_path, {"a": "5 0.1 0.1 0.4 0.1 0.4 0.3\n"},
         yaml="path: .\ntrain: images\nnames:\n  0: crack\n  1: dent\n")
    report = lint([tmp_path], select=["MC102", "MC107"])
    assert found(report, "MC102") == [("a.txt", 1)]
    assert "not defined in data.yaml names (classes 0..1)" in messages(report, "MC102")[0]
    assert found(report, "MC107") == [("data.yaml", 4), ("data.yaml", 5)]


def test_negative_class_is_unmapped(tmp_path):
    make(tmp_path, {"a": "-1 0.1 0.1 0.4 0.1 0.4 0.3\n"})
    report = lint([tmp_path], select=["MC102"])
    assert found(report, "MC102") == [("a.txt", 1)]


def test_class_zero_is_a_real_class_for_yolo(tmp_path):
    make(tmp_path, {"a": POLY + "\n"})
    report = lint([tmp_path], select=["MC103"])
    assert not report.findings


# ------------------------------------------------------------------------- MC42x
def test_coordinates_out_of_range(tmp_path):
    make(tmp_path, {"a": f"{POLY}\n0 12 10 40 10 40 30\n0 -0.1 0.1 0.4 0.1 0.4 0.3\n"
                         "1 0.5 0.5 1.0 1.0\n"})
    report = lint([tmp_path], select=["MC420"])
    assert found(report, "MC420") == [("a.txt", 2), ("a.txt", 3)]
    assert "pixel coordinates?" in messages(report, "MC420")[0]


def test_malformed_rows(tmp_path):
    make(tmp_path, {"a": f"{POLY}\n0 0.1 0.1 0.4 0.1 0.4\n0 0.1 0.1\n0\n"
                         "x 0.1 0.1 0.4 0.1 0.4 0.3\n1.5 0.1 0.1 0.4 0.1 0.4 0.3\n"
                         "0 0.5 0.5 0.2 0.2\n"})
    report = lint([tmp_path], select=["MC421"])
    assert found(report, "MC421") == [("a.txt", n) for n in (2, 3, 4, 5, 6)]
    msgs = messages(report, "MC421")
    assert "5 coordinates: an odd count" in msgs[0]
    assert "1 point: a polygon needs at least 3" in msgs[1]
    assert "not a number" in msgs[3] and "whole number" in msgs[4]
    assert report.annotations == 2  # the good polygon and the box


def test_comma_separated(tmp_path):
    make(tmp_path, {"a": f"{POLY}\n0,0.1,0.1,0.4,0.1,0.4,0.3\n"})
    report = lint([tmp_path], select=["MC422"])
    assert found(report, "MC422") == [("a.txt", 2)]


def test_mixed_box_polygon(tmp_path):
    make(tmp_path, {"a": POLY + "\n", "b": f"{POLY}\n1 0.5 0.5 0.2 0.2\n", "c": "1 0.5 0.5 0.2 0.2\n"})
    report = lint([tmp_path], select=["MC423"])
    assert found(report, "MC423") == [("b.txt", 2)]
    assert "2 box rows" in messages(report, "MC423")[0]
    for size in (1, 2):  # batch invariance
        again = lint([tmp_path], select=["MC423"], batch_size=size, shuffle_seed=3)
        assert found(again, "MC423") == [("b.txt", 2)]


def test_boxes_only_or_polygons_only_are_fine(tmp_path):
    make(tmp_path / "det", {"a": "1 0.5 0.5 0.2 0.2\n"})
    make(tmp_path / "seg", {"a": POLY + "\n"})
    assert not lint([tmp_path / "det", tmp_path / "seg"], select=["MC423"]).findings


def test_label_without_image_and_image_without_label(tmp_path):
    make(tmp_path, {"a": POLY + "\n", "b": POLY + "\n", "e": ""}, images=("a", "c", "e"))
    report = lint([tmp_path], select=["MC424", "MC425"])
    assert found(report, "MC424") == [("b.txt", None)]
    assert found(report, "MC425") == [("c.png", None)]  # e has an empty label file: a negative


def test_names_nc_mismatch(tmp_path):
    make(tmp_path, {"a": POLY + "\n"}, yaml="path: .\ntrain: images\nnc: 3\nnames: [crack, dent]\n")
    report = lint([tmp_path], select=["MC426"])
    assert found(report, "MC426") == [("data.yaml", 3)]
    assert "nc is 3 but names lists 2" in messages(report, "MC426")[0]
    make(tmp_path / "ok", {"a": POLY + "\n"}, yaml="train: images\nnc: 2\nnames: [crack, dent]\n")
    assert not lint([tmp_path / "ok"], select=["MC426"]).findings


def test_data_path_missing(tmp_path):
    make(tmp_path, {"a": POLY + "\n"},
         yaml="path: .\ntrain: images\nval: images/val\ntest:\n  - images\n  - nowhere\nnames: [a]\n")
    report = lint([tmp_path], select=["MC427"])
    assert found(report, "MC427") == [("data.yaml", 3), ("data.yaml", 4)]
    assert "'images/val'" in messages(report, "MC427")[0]


def test_yaml_given_directly_and_bad_yaml(tmp_path):
    make(tmp_path, {"a": POLY + "\n"})
    report = lint([tmp_path / "data.yaml"])
    assert [i["format"] for i in report.inputs] == ["yolo"] and report.annotations == 1
    (tmp_path / "data.yaml").write_text("names: [a\ntrain: images\n")
    report = lint([tmp_path])
    assert len(report.errors) == 1 and "invalid YAML" in report.errors[0].message


def test_clean_dataset_has_no_error_or_warning(tmp_path):
    make(tmp_path, {"a": POLY + "\n1 0.5 0.5 0.6 0.5 0.6 0.6 0.5 0.6\n", "b": POLY + "\n"})
    report = lint([tmp_path])
    assert not report.errors
    assert not [f for f in report.findings if str(f.severity) != "info"], report.findings


# ------------------------------------------------------------------------- real data
@pytest.mark.parametrize("sub,images,annotations", [
    ("cvat-ai__datumaro/tests/assets/yolo_dataset", 2, 4),
    ("lightly-ai__labelformat/tests/fixtures/instance_segmentation/YOLOv8", 2, 3),
    ("HumanSignal__label-studio-converter/tests/data/test_import_yolo_seg_data", 7, 25),
    ("HumanSignal__label-studio-converter/tests/data/test_import_yolo_seg_data_unif_dims", 5, 20),
])
def test_realdata_reads(realdata, sub, images, annotations):
    report = lint([realdata / sub])
    assert not report.errors
    assert {i["format"] for i in report.inputs} == {"yolo"}
    assert (report.images, report.annotations) == (images, annotations)
    assert not [f for f in report.findings if f.code == "MC000"]
    assert not [f for f in report.findings if f.code.startswith("MC4")]
