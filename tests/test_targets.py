"""Targets: one file judged by each framework's label convention (MC103, MC501-MC504)."""

from __future__ import annotations

import pytest

from conftest import ann, coco_doc
from maskcheck.api import lint
from maskcheck.cli import main
from maskcheck.config import Config
from maskcheck.targets import TARGETS

CATS_1_3 = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"}, {"id": 3, "name": "crack"}]
CATS_0_2 = [{"id": 0, "name": "scratch"}, {"id": 1, "name": "dent"}, {"id": 2, "name": "crack"}]


def _doc(cats, ids):
    return coco_doc(categories=cats, annotations=[ann(k + 1, 1, cid) for k, cid in enumerate(ids)])


def found(path, code, **config):
    report = lint([path], select=[code], config=Config(**config))
    assert not report.errors
    return [(f.location.pointer, f.message) for f in report.findings if f.code == code]


# --- the same file is right for one target and wrong for another ---------------------------
@pytest.mark.parametrize(("target", "fires"), [
    ("torchvision", True), ("matterport", True), (None, True),  # the default is torchvision's
    ("detectron2", False), ("mmdet", False), ("yolo", False), ("coco", False),
])
def test_background_collision_follows_target(write_coco, target, fires):
    path = write_coco(_doc(CATS_0_2, [0, 1, 2]))
    got = found(path, "MC103", target=target)
    if fires:
        assert [p for p, _ in got] == ["/categories/0"]
        label = TARGETS[target or "torchvision"].label
        assert f"{label} reserves label 0" in got[0][1]
    else:
        assert got == []


def test_background_index_from_config(write_coco):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    got = found(path, "MC103", target="torchvision", background_index=3)
    assert [p for p, _ in got] == ["/categories/2"]
    assert found(path, "MC103", target="torchvision", background_index=None) == []


def test_background_named_class_still_reported_for_remapping_targets(write_coco):
    cats = [{"id": 0, "name": "background"}, {"id": 1, "name": "dent"}]
    path = write_coco(_doc(cats, [0, 1]))
    got = found(path, "MC103", target="detectron2")
    assert [p for p, _ in got] == ["/categories/0"]
    assert "named like the background" in got[0][1]


@pytest.mark.parametrize(("target", "num_classes", "expect"), [
    ("torchvision", 4, None),
    ("torchvision", 3, "torchvision Mask R-CNN reserves label 0 for background; 3 classes need "
                       "num_classes=4, the config says 3"),
    ("matterport", 4, None),
    ("detectron2", 3, None),
    ("detectron2", 4, "detectron2 maps the 3 classes of the category list onto indices 0..2: 3 "
                      "classes need MODEL.ROI_HEADS.NUM_CLASSES=3, the config says 4"),
    ("mmdet", 3, None),
    ("mmdet", 81, "need num_classes=3, the config says 81"),
    ("coco", 3, None),
    ("yolo", 4, None),  # ids 1..3 need nc=4 under YOLO (and break contiguity: MC502)
    ("yolo", 3, "the largest class id is 3, so 3 classes need nc=4"),
])
def test_num_classes_mismatch(write_coco, target, num_classes, expect):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    got = found(path, "MC503", target=target, num_classes=num_classes)
    if expect is None:
        assert got == []
    else:
        assert [p for p, _ in got] == ["/categories"]
        assert expect in got[0][1]


def test_num_classes_mismatch_exact_message(write_coco):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    [(_, msg)] = found(path, "MC503", target="torchvision", num_classes=3)
    assert msg == ("torchvision Mask R-CNN reserves label 0 for background; 3 classes need "
                   "num_classes=4, the config says 3")


def test_num_classes_with_gaps_counts_the_largest_id(write_coco):
    cats = [{"id": 1, "name": "a"}, {"id": 5, "name": "b"}]
    path = write_coco(_doc(cats, [1, 5]))
    assert found(path, "MC503", target="torchvision", num_classes=6) == []
    [(_, msg)] = found(path, "MC503", target="torchvision", num_classes=3)
    assert "largest class id is 5" in msg and "num_classes=6" in msg
    assert found(path, "MC503", target="detectron2", num_classes=2) == []


def test_num_classes_silent_without_num_classes(write_coco):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    assert found(path, "MC503", target="yolo") == []


@pytest.mark.parametrize(("target", "num_classes", "pointers"), [
    ("torchvision", 3, ["/annotations/2"]),  # ids 1..2 valid
    ("torchvision", 4, []),
    ("yolo", 3, ["/annotations/2"]),  # 0..2 valid
    ("matterport", 3, ["/annotations/2"]),
    ("detectron2", 2, []),  # remapped: no id range (MC503 reports the count)
    ("mmdet", 2, []),
    (None, None, []),  # no num_classes: no upper bound
])
def test_label_out_of_range(write_coco, target, num_classes, pointers):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    got = found(path, "MC501", target=target, num_classes=num_classes)
    assert [p for p, _ in got] == pointers


def test_label_below_first_id(write_coco):
    cats = [{"id": -1, "name": "odd"}, {"id": 0, "name": "a"}, {"id": 1, "name": "b"}]
    path = write_coco(_doc(cats, [-1, 0, 1]))
    # torchvision: id 0 is MC103's finding, -1 is below the first class id 1
    got = found(path, "MC501", target="torchvision")
    assert [p for p, _ in got] == ["/annotations/0"]
    assert "below 1" in got[0][1]
    assert [p for p, _ in found(path, "MC501", target="yolo", num_classes=2)] == ["/annotations/0"]


def test_label_out_of_range_message(write_coco):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    [(_, msg)] = found(path, "MC501", target="yolo", num_classes=3)
    assert msg.startswith("category_id 3 is out of range: YOLO reads class ids 0..nc-1")
    assert "nc=3 makes 2 the largest valid id" in msg


@pytest.mark.parametrize(("target", "cats", "pointer"), [
    ("yolo", CATS_1_3, "/categories/0"),  # starts at 1, YOLO wants 0
    ("yolo", CATS_0_2, None),
    ("matterport", CATS_1_3, None),
    ("matterport", CATS_0_2, None),  # id 0 is background-index-collision's finding; 1, 2 are fine
    ("matterport", [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}], "/categories/1"),
    ("torchvision", [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}], None),  # gaps are fine
    ("detectron2", [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}], None),
    ("yolo", [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 3, "name": "c"}], "/categories/2"),
])
def test_non_contiguous_ids(write_coco, target, cats, pointer):
    path = write_coco(_doc(cats, [c["id"] for c in cats]))
    got = found(path, "MC502", target=target)
    assert [p for p, _ in got] == ([pointer] if pointer else [])


def test_non_contiguous_message_names_the_gap(write_coco):
    cats = [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 3, "name": "c"}]
    path = write_coco(_doc(cats, [0, 1, 3]))
    [(_, msg)] = found(path, "MC502", target="yolo")
    assert "YOLO needs class ids 0..2 without gaps" in msg and "2 is missing" in msg


def test_non_contiguous_uses_annotation_ids_without_categories(write_coco):
    doc = _doc([], [0, 2])
    doc["categories"] = []
    path = write_coco(doc)
    got = found(path, "MC502", target="yolo")
    assert [p for p, _ in got] == ["/categories"]


@pytest.mark.parametrize(("classes", "expect"), [
    (["scratch", "dent", "crack"], []),
    ({"scratch": 1, "dent": 2, "crack": 3}, []),
    (["__background__", "scratch", "dent", "crack"], []),  # torchvision-style list with background
    (["scratch", "Dent", "crack"], [("/categories/1", 'names class "Dent" where the dataset says "dent"')]),
    (["scratch", "dnet", "crack"], [("/categories/1", '"dnet" where the dataset says "dent"')]),
    (["scratch", "dent"], [("/categories/2", 'class "crack" (id 3) is missing')]),
    (["scratch", "dent", "crack", "hole"], [("/categories", 'declares class "hole"')]),
    (["dent", "scratch", "crack"], [("/categories", "in the order dent, scratch, crack")]),
    ({"scratch": 1, "dent": 3, "crack": 2}, [("/categories/1", 'maps class "dent" to id 3'),
                                            ("/categories/2", 'maps class "crack" to id 2')]),
])
def test_class_list_mismatch(write_coco, classes, expect):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    got = found(path, "MC504", classes=classes)
    assert [p for p, _ in got] == [p for p, _ in expect]
    for (_, msg), (_, part) in zip(got, expect, strict=True):
        assert part in msg


def test_class_list_silent_without_classes(write_coco):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    assert found(path, "MC504") == []


def test_the_setup_is_a_run_context_not_written_into_the_reader_output(write_coco):
    from maskcheck.readers.reading import read_all

    path = write_coco(_doc(CATS_1_3, [1]))
    [dataset] = list(read_all([path]))
    before = repr(dataset.info)
    ctx = Config(target="yolo", num_classes=3, classes=["a"]).context(dataset.info, "pics")
    assert ctx.target is TARGETS["yolo"] and ctx.images_dir == "pics"
    assert ctx.num_classes == 3 and ctx.classes == ["a"]
    assert repr(dataset.info) == before
    assert Config().context(dataset.info).target is None  # judged as torchvision would


def test_cli_target_flag(write_coco, tmp_path, capsys):
    path = write_coco(_doc(CATS_0_2, [0, 1, 2]))
    args = ["lint", str(path), "--format", "json", "--select", "MC103", "--select", "MC502"]
    assert main(args) == 1  # default: torchvision, id 0 collides with the background
    capsys.readouterr()
    assert main([*args, "--target", "yolo"]) == 0
    assert main([*args, "--target", "yolov8"]) == 2
    assert "unknown target 'yolov8'; did you mean 'yolo'?" in capsys.readouterr().err


def test_cli_config_file_sets_target(write_coco, tmp_path, capsys):
    path = write_coco(_doc(CATS_1_3, [1, 2, 3]))
    (tmp_path / ".maskcheck.yaml").write_text("target: torchvision\nnum_classes: 3\n")
    assert main(["lint", str(path), "--format", "concise", "--select", "MC503"]) == 1
    out = capsys.readouterr().out
    assert "3 classes need num_classes=4, the config says 3" in out
    (tmp_path / ".maskcheck.yaml").write_text("target: torchvision\nnum_classes: 4\n")
    assert main(["lint", str(path), "--format", "concise", "--select", "MC5"]) == 0


@pytest.mark.parametrize("name", list(TARGETS))
def test_data_numbered_for_the_target_is_clean(write_coco, name):
    cats = CATS_0_2 if name == "yolo" else CATS_1_3
    path = write_coco(_doc(cats, [c["id"] for c in cats]))
    num_classes = 3 if TARGETS[name].remaps or name == "yolo" else 4
    report = lint([path], select=["MC1", "MC5"], config=Config(
        target=name, num_classes=num_classes, classes=[c["name"] for c in cats]))
    assert [f for f in report.findings if f.code != "MC105"] == []  # MC105: too few instances


def test_a_config_class_list_numbers_yolo_classes_from_0_when_no_target_is_named(tmp_path):
    from maskcheck import lint
    from maskcheck.config import load_config

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x04\x00\x00\x00\x03\x08\x00\x00\x00\x00"
        b"\x00\x00\x00\x00\x00\x00\x00\x00IEND\xaeB`\x82")
    (tmp_path / "data.yaml").write_text("path: .\ntrain: images\nnames: [crack, dent]\n")
    (tmp_path / "labels" / "a.txt").write_text("0 0.1 0.1 0.5 0.1 0.5 0.5\n1 0.6 0.6 0.9 0.6 0.9 0.9\n")
    for setup, want in (("classes: [crack, dent]\n", []),  # Ultralytics' 0 and 1
                        ("classes: [crack]\n", ["labels/a.txt:2"]),  # 1 is not declared
                        ("target: torchvision\nclasses: [crack, dent]\n", ["labels/a.txt:1"])):
        cfg = tmp_path / "maskcheck.yaml"
        cfg.write_text(setup)
        report = lint([tmp_path], select=["MC102"], config=load_config(explicit=cfg))
        got = [f.location.short().removeprefix(str(tmp_path) + "/") for f in report.findings]
        assert got == want, setup
