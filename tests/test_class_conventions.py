"""Class-list conventions: quiet about what trains fine, explicit about what does not.

Roboflow's placeholder category and CVAT point-only labels (MC106/MC107), the num_classes that
MC103's renumbering needs (MC503), LabelMe/records without a class map (one MC101), and
similar-class-names (MC108) with its false-alarm guards.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck.api import lint
from maskcheck.config import Config, load_config
from maskcheck.engine import lint_dataset, make_plan
from maskcheck.readers import coco
from maskcheck.rules.class_names import is_typo_pair, near_name, one_edit
from maskcheck.targets import TARGETS

IMG = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}]
PLACEHOLDER = {"id": 0, "name": "objects", "supercategory": "none"}


def roboflow_doc(names: list[str], ids: list[int]) -> dict[str, Any]:
    """A Roboflow COCO export: category 0 groups the real classes 1..K and is never used."""
    cats = [PLACEHOLDER] + [{"id": i + 1, "name": n, "supercategory": "objects"}
                            for i, n in enumerate(names)]
    return coco_doc(images=IMG, categories=cats,
                    annotations=[ann(k + 1, 1, cid) for k, cid in enumerate(ids)])


def codes_at(report, code: str) -> list[str | None]:
    return [f.location.pointer for f in report.findings if f.code == code]


def messages(findings, code: str) -> list[str]:
    return [f.message for f in findings if f.code == code]


def lint_kept(path: Path, select: list[str], **config: Any):
    """Lint a COCO file through its reader (which keeps `supercategory`) with a config."""
    (dataset,) = list(coco.read(path, {}))
    assert "supercategory" in dataset.info.categories
    return lint_dataset(dataset, make_plan(select=select), ctx=Config(**config).context(dataset.info))


# ------------------------------------------------------------- 1. Roboflow's placeholder group
def test_roboflow_single_class_export_is_no_collapse(write_coco):
    path = write_coco(roboflow_doc(["cat"], [1] * 12))
    report = lint([path], select=["MC105", "MC106", "MC107"])
    assert codes_at(report, "MC106") == []
    assert codes_at(report, "MC105") == []
    # with the group recognized, no target reports it
    for target in TARGETS:
        found = lint_kept(path, ["MC105", "MC106", "MC107"], target=target)
        assert found == [], target


def test_roboflow_placeholder_is_not_an_unused_class(write_coco):
    path = write_coco(roboflow_doc(["cat", "dog"], [1] * 12 + [2] * 12))
    for target in TARGETS:
        assert lint_kept(path, ["MC106", "MC107", "MC103"], target=target) == [], target


def test_a_category_that_groups_only_some_others_is_a_class(write_coco):
    doc = roboflow_doc(["cat", "dog"], [1] * 12)
    doc["categories"][2]["supercategory"] = "animals"  # dog is not in the group
    path = write_coco(doc)
    found = lint_kept(path, ["MC106", "MC107"], target="detectron2")
    assert [(f.code, f.location.pointer) for f in found] == [
        ("MC106", "/categories/1"), ("MC107", "/categories/0"), ("MC107", "/categories/2")]
    assert "categories define 3 classes" in messages(found, "MC106")[0]


def test_a_used_group_name_is_a_class(write_coco):
    path = write_coco(roboflow_doc(["cat"], [0] + [1] * 12))
    found = lint_kept(path, ["MC103", "MC106", "MC107"])
    assert [(f.code, f.location.pointer) for f in found] == [("MC103", "/categories/0")]


def test_unused_class_at_background_id_says_it_could_never_be_learned(write_coco):
    # a real class list numbered from 0 ("kite" unused) is not a group: still reported
    cats = [{"id": 0, "name": "kite", "supercategory": "sports"},
            {"id": 1, "name": "person", "supercategory": "person"}]
    path = write_coco(coco_doc(images=IMG, categories=cats, annotations=[ann(1, 1, 1)]))
    [tv] = lint_kept(path, ["MC107"], target="torchvision")
    assert tv.location.pointer == "/categories/0"
    assert "reads id 0 as the background, so it could never be learned" in tv.message
    [d2] = lint_kept(path, ["MC107"], target="detectron2")
    assert "never sees a positive for" in d2.message
    assert lint_kept(path, ["MC106"], target="torchvision") == []  # torchvision has 1 class


@pytest.mark.parametrize(("target", "num_classes", "expect"), [
    ("torchvision", 3, None),
    ("torchvision", 2, "2 classes need num_classes=3, the config says 2. Category 0 \"objects\" "
                       "is a group, not a class"),
    ("matterport", 3, None),
    ("detectron2", 3, None),  # its phantom class trains fine
    ("detectron2", 2, "detectron2 registers every category record as a class: drop it from "
                      "'categories' (then MODEL.ROI_HEADS.NUM_CLASSES=2 is right) or set "
                      "MODEL.ROI_HEADS.NUM_CLASSES=3"),
    ("coco", 2, "registers every category record as a class"),
    ("mmdet", 2, None),  # loads the classes its metainfo lists
    ("mmdet", 3, "2 classes need num_classes=2, the config says 3. Category 0 \"objects\" is a "
                 "group, not a class"),
    ("yolo", 3, None),
    ("yolo", 2, "takes output 0, which never sees a positive"),
])
def test_num_classes_counts_the_placeholder_as_each_target_does(write_coco, target, num_classes,
                                                                expect):
    path = write_coco(roboflow_doc(["cat", "dog"], [1] * 12 + [2] * 12))
    found = [f for f in lint_kept(path, ["MC503"], target=target, num_classes=num_classes)]
    if expect is None:
        assert found == []
    else:
        assert [f.location.pointer for f in found] == ["/categories"]
        assert expect in found[0].message


def test_declared_classes_need_not_name_the_placeholder(write_coco):
    path = write_coco(roboflow_doc(["cat", "dog"], [1] * 12 + [2] * 12))
    for target in ("torchvision", "detectron2", "mmdet"):
        assert lint_kept(path, ["MC504"], target=target, classes=["cat", "dog"]) == [], target
    # as today's reader gives it: torchvision's id 0 is the background label
    config = Config(target="torchvision", classes=["cat", "dog"])
    assert lint([path], select=["MC504"], config=config).findings == []


def test_realdata_roboflow_cat_at_id_0_is_a_true_collision(realdata):
    path = realdata / "roboflow__roboflow-python/tests/annotations/valid_annotation.json"
    # "cat" (id 0, supercategory "animals", which is no category) is used: a real class at
    # torchvision's background label, not a placeholder
    [f] = lint([path], select=["MC103"]).findings
    assert f.location.pointer == "/categories/0"
    assert f.message.endswith("skipping 0: add 1 to every id and build the model with "
                              "num_classes=2 (1 class plus the background)")
    assert lint([path], select=["MC103"], config=Config(target="detectron2")).findings == []


# ------------------------------------------------------------- 1b. CVAT labels used by points
def _cvat(shapes: str, labels: tuple[str, ...]) -> str:
    declared = "".join(f"<label><name>{n}</name></label>" for n in labels)
    return ("<annotations>\n  <version>1.1</version>\n"
            f"  <meta><task><labels>{declared}</labels></task></meta>\n"
            '  <image id="0" name="a.jpg" width="8" height="6">\n'
            f"{shapes}  </image>\n</annotations>\n")


def test_cvat_labels_used_by_points_are_no_collapse(tmp_path):
    polygon = '    <polygon label="car" points="1,1;5,1;5,4"/>\n'
    points = '    <points label="wheel" points="2,2;3,3"/>\n    <polyline label="lane" points="1,1;4,4"/>\n'
    path = tmp_path / "annotations.xml"
    path.write_text(_cvat(polygon + points, ("car", "wheel", "lane")))
    assert lint([path], select=["MC106", "MC107"]).findings == []
    # a label nothing uses still makes it a collapse: the export lost a class
    path.write_text(_cvat(polygon + points, ("car", "wheel", "lane", "truck")))
    found = lint([path], select=["MC106"]).findings
    assert [f.location.line for f in found] == [3]  # the <labels> line: the class list
    assert "categories define 2 classes" in found[0].message


# ------------------------------------------------------------- 2. MC503 with ids 0..K-1
CATS_0_2 = [{"id": 0, "name": "scratch"}, {"id": 1, "name": "dent"}, {"id": 2, "name": "crack"}]


def _zero_based(tmp_path: Path, num_classes: int) -> tuple[Path, Config]:
    data = tmp_path / "ann.json"
    data.write_text(json.dumps(coco_doc(images=IMG, categories=CATS_0_2,
                                        annotations=[ann(k + 1, 1, k) for k in range(3)])))
    cfg = tmp_path / ".maskcheck.yaml"
    cfg.write_text(f"target: torchvision\nnum_classes: {num_classes}\n")
    return data, load_config(explicit=cfg)


def test_zero_based_ids_tell_both_changes_in_one_run(tmp_path):
    data, config = _zero_based(tmp_path, 3)
    report = lint([data], select=["MC103", "MC503"], config=config)
    assert [(f.code, f.location.pointer) for f in report.findings] == [
        ("MC103", "/categories/0"), ("MC503", "/categories")]
    mc103, mc503 = (f.message for f in report.findings)
    assert mc103.endswith("Number the classes from 1, skipping 0: add 1 to every id and build "
                          "the model with num_classes=4 (3 classes plus the background)")
    assert mc503 == (
        'torchvision Mask R-CNN reserves label 0 for background, but class id 0 ("scratch") has '
        "annotations (background-index-collision): once the classes are renumbered from 1 (add 1 "
        "to every id, the fix MC103 asks for), 3 classes need num_classes=4, the config says 3. "
        "Make both changes")


def test_zero_based_ids_with_the_renumbered_count_leave_only_mc103(tmp_path):
    data, config = _zero_based(tmp_path, 4)
    report = lint([data], select=["MC103", "MC503"], config=config)
    assert [f.code for f in report.findings] == ["MC103"]


def test_mc103_counts_gaps_after_the_shift(write_coco):
    cats = [{"id": 0, "name": "a"}, {"id": 5, "name": "b"}]
    path = write_coco(coco_doc(images=IMG, categories=cats, annotations=[ann(1, 1, 0), ann(2, 1, 5)]))
    [f] = lint([path], select=["MC103"]).findings
    assert "num_classes=7 (one more than the largest id after the shift)" in f.message
    # a class named like the background is dropped, not renumbered: no count to give
    cats = [{"id": 0, "name": "background"}, {"id": 1, "name": "a"}]
    path = write_coco(coco_doc(images=IMG, categories=cats, annotations=[ann(1, 1, 0), ann(2, 1, 1)]))
    [f] = lint([path], select=["MC103"]).findings
    assert f.message.endswith("Number the classes from 1, skipping 0")
    assert lint([path], select=["MC503"], config=Config(num_classes=2)).findings == []


# ------------------------------------------------------------- 3. LabelMe without a class map
TRI = [[10, 10], [40, 10], [40, 30]]


def write_lm(folder: Path, name: str, labels: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shapes = [{"label": lab, "points": TRI, "group_id": None, "shape_type": "polygon", "flags": {}}
              for lab in labels]
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": f"{name}.jpg",
           "imageData": None, "imageHeight": 100, "imageWidth": 120}
    (folder / f"{name}.jpg").write_bytes(b"jpeg")
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def test_labelme_without_class_map_is_one_finding_listing_the_names(tmp_path):
    write_lm(tmp_path, "a", ["scratch", "dent", "scratch"])
    write_lm(tmp_path, "b", ["scratch", "crack"])
    report = lint([tmp_path], select=["MC101", "MC102"])
    [f] = report.findings
    assert (f.code, f.location.path, f.location.pointer) == ("MC101", str(tmp_path), None)
    assert f.message.startswith("labels are names and no class map was given: ids cannot be "
                                "checked (add labels.txt or --classes). 5 instances use 3 names "
                                '("scratch" 3, "crack" 1, "dent" 1)')


def test_one_finding_whatever_the_batching(tmp_path):
    for k in range(9):
        write_lm(tmp_path, f"img{k}", ["scratch", "Scratch" if k == 3 else "scratch"])
    reference = [f.to_dict() for f in lint([tmp_path], select=["MC101", "MC108"], batch_size=None).findings]
    assert [d["code"] for d in reference] == ["MC101", "MC108"]
    for size, seed in itertools.product((1, 7), (None, 0, 1)):
        got = lint([tmp_path], select=["MC101", "MC108"], batch_size=size, shuffle_seed=seed)
        assert [f.to_dict() for f in got.findings] == reference, (size, seed)


def test_with_a_class_map_a_typo_is_unmapped_at_the_shape(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\nscratch\ndent\n")
    write_lm(tmp_path, "a", ["scratch", "scrach", "dnet"])
    report = lint([tmp_path], select=["MC101", "MC102", "MC108"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [
        ("MC102", "/shapes/1"), ("MC102", "/shapes/2")]
    typo, short = (f.message for f in report.findings)
    assert 'did you mean "scratch" (id 1)? It differs by one typo' in typo
    assert "did you mean" not in short  # "dent" is too short to call "dnet" a typo of it


def test_records_without_class_map_are_one_finding(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image": "a.jpg", "label": "cat", "bbox": [0, 0, 5, 5]},
                                {"image": "b.jpg", "label": "cat", "bbox": [0, 0, 5, 5]}]))
    [f] = lint([path], select=["MC101"]).findings
    assert f.location.path == str(path) and '"cat" 2' in f.message


# ------------------------------------------------------------- 3b. similar-class-names (MC108)
def test_no_map_names_differing_in_case_or_typo(tmp_path):
    write_lm(tmp_path, "a", ["scratch"] * 12 + ["Scratch"])
    write_lm(tmp_path, "b", ["hard_hat"] * 3 + ["scrach", "hard hat"])
    found = lint([tmp_path], select=["MC108"]).findings
    assert [(Path(f.location.path).name, f.location.pointer) for f in found] == [
        ("a.json", "/shapes/12"), ("b.json", "/shapes/3"), ("b.json", "/shapes/4")]
    case, typo, space = (f.message for f in found)
    assert case.startswith('class names "Scratch" (1 instance) and "scratch" (12 instances) differ '
                           "only in case, spaces, underscores or hyphens")
    assert '"scrach" (1 instance) and "scratch" (12 instances) are one typo apart' in typo
    assert 'Relabel "hard hat" as "hard_hat"' in space


def test_category_list_separators_and_typos(write_coco):
    cats = [{"id": 1, "name": "hard_hat"}, {"id": 2, "name": "hard hat"},
            {"id": 3, "name": "scratch"}, {"id": 4, "name": "scartch"}]
    ids = [1, 1, 2] + [3] * 20 + [4]
    path = write_coco(coco_doc(images=IMG, categories=cats,
                               annotations=[ann(k + 1, 1, c) for k, c in enumerate(ids)]))
    found = lint([path], select=["MC108"]).findings
    assert [(f.location.pointer, f.location.category_id) for f in found] == [
        ("/categories/1", 2), ("/categories/3", 4)]


def test_case_only_category_duplicates_are_left_to_mc006(write_coco):
    cats = [{"id": 1, "name": "Scratch"}, {"id": 2, "name": "scratch"}]
    path = write_coco(coco_doc(images=IMG, categories=cats, annotations=[ann(1, 1, 1), ann(2, 1, 2)]))
    report = lint([path], select=["MC006", "MC108"])
    assert [f.code for f in report.findings] == ["MC006"]


COCO80 = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
          "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
          "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
          "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
          "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
          "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
          "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
          "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
          "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
          "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
          "toothbrush"]
VOC20 = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
         "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
         "train", "tvmonitor"]


@pytest.mark.parametrize("names", [COCO80, VOC20], ids=["coco80", "voc20"])
def test_real_class_lists_are_silent_even_with_a_long_tail(write_coco, names):
    # class k has 1 instance for odd k and 30 for even k: the count rule cannot save a pair
    ids = [i + 1 for i in range(len(names)) for _ in range(1 if i % 2 else 30)]
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
    path = write_coco(coco_doc(images=IMG, categories=cats,
                               annotations=[ann(k + 1, 1, c) for k, c in enumerate(ids)]))
    assert lint([path], select=["MC108"]).findings == []
    assert all(not is_typo_pair(a, b) for a, b in itertools.combinations(names, 2))


@pytest.mark.parametrize(("rare", "common"), [
    ("cat", "car"), ("bus", "bush"), ("cup", "cap"),  # short words: real pairs
    ("label1", "label2"), ("type_a", "type_b"), ("part_10", "part_11"),  # enumerations
    ("horse", "house"),  # one edit apart, but both well labelled (below)
])
def test_real_pairs_are_silent(tmp_path, rare, common):
    write_lm(tmp_path, "a", [common] * 40 + [rare] * (30 if rare == "horse" else 1))
    assert lint([tmp_path], select=["MC108"]).findings == []


def test_realdata_class_lists_are_silent(realdata):
    folders = sorted(p for p in realdata.iterdir() if p.is_dir())
    report = lint(folders, select=["MC108"])
    assert report.findings == []


def test_edit_distance_one():
    assert one_edit("scratch", "scrach") and one_edit("scratch", "scartch")  # drop, swap
    assert one_edit("scratch", "scratcch") and one_edit("scratch", "scritch")  # insert, replace
    assert not one_edit("scratch", "sractch") and not one_edit("scratch", "scratch")
    assert near_name("Hard-Hat", ["hard_hat", "helmet"]) == "hard_hat"
    assert near_name("helmat", ["helmet", "helmut"]) is None  # two candidates: no guess
