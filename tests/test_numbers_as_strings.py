"""number-as-string (MC009): numbers in quotes at their exact pointers, in COCO, LabelMe and
JSON records; the rules that used to see them (MC001, MC201, MC207, MC411) stay silent about
them, nothing else piles up, and clean data never fires."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, SHARED, ann, coco_doc
from maskcheck import lint
from maskcheck.columns import box_column, is_number_text

SQUARE = [10, 10, 20, 10, 20, 20, 10, 20]


def mc009(report) -> list[tuple[str | None, str]]:
    return [(f.location.pointer, f.message) for f in report.findings if f.code == "MC009"]


def pointers(report, code: str = "MC009") -> list[str | None]:
    return [f.location.pointer for f in report.findings if f.code == code]


def at(report, code: str) -> list[tuple[str, str | None, int | None]]:
    return [(Path(f.location.path).name, f.location.pointer, f.location.line)
            for f in report.findings if f.code == code]


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


# --------------------------------------------------------------------------- the helpers
@pytest.mark.parametrize(("text", "number"), [
    ("284.0000", True), ("640", True), (" 12 ", True), ("-1.5e3", True), ("+3", True), (".5", True),
    ("abc", False), ("nan", False), ("inf", False), ("1_000", False), ("1,5", False), ("", False),
])
def test_what_counts_as_a_number_in_quotes(text, number):
    assert is_number_text(text) is number


def test_box_column_no_longer_converts_strings():
    cols = box_column([[227, 121, "284.0000", "36.0000"], [1, 2, 3, 4]])
    assert cols["raw_bbox"].tolist() == [[227, 121, "284.0000", "36.0000"], None]
    assert cols["bbox"][1].tolist() == [1, 2, 3, 4]
    clean = box_column([[1, 2, 3, 4], [1.5, 2, 3, 4]])  # the fast path: no raw column at all
    assert "raw_bbox" not in clean and clean["bbox"].dtype.kind == "f"


# --------------------------------------------------------------------------- COCO
def test_coco_every_field_kind_at_its_exact_pointer(write_coco):
    images = [{"id": 1, "file_name": "a.jpg", "width": "100", "height": 80},
              {"id": 2, "file_name": "b.jpg", "width": 100, "height": "80.0"}]
    anns = [ann(1, 1, 1, bbox=[227, 121, "284.0000", "36.0000"]),
            ann(2, 1, 1, area="100"),
            ann(3, 1, 1, iscrowd="0"),
            ann(4, 1, 1, segmentation=[[10, 10, 20, 10, 20, "20.5", 10, 20]]),
            ann(5, 2, 1, iscrowd=1, segmentation={"size": ["80", 100], "counts": [8000]}),
            ann(6, 2, 1, iscrowd=1, segmentation={"size": [80, 100], "counts": ["10", 7990]})]
    report = lint([write_coco(coco_doc(images=images, annotations=anns))], select=["MC009"])
    assert pointers(report) == [
        "/images/0/width", "/images/1/height",
        "/annotations/0/bbox/2", "/annotations/0/bbox/3",
        "/annotations/1/area",
        "/annotations/2/iscrowd",
        "/annotations/3/segmentation/0/5",
        "/annotations/4/segmentation/size/0",
        "/annotations/5/segmentation/counts/0",
    ]
    msgs = dict(mc009(report))
    assert msgs["/annotations/0/bbox/2"].startswith('bbox[2] is the string "284.0000", not a number: ')
    assert msgs["/annotations/0/bbox/2"].endswith("Write it as 284.0")
    assert msgs["/images/0/width"].endswith("Write it as 100")
    assert msgs["/images/1/height"].endswith("Write it as 80")  # an integer field
    assert msgs["/annotations/2/iscrowd"].endswith("Write it as 0")
    assert msgs["/annotations/4/segmentation/size/0"].startswith('segmentation.size[0] is the string "80"')
    assert msgs["/annotations/3/segmentation/0/5"].startswith('segmentation[0][5] is the string "20.5"')
    assert all(f.location.annotation_id == 1 for f in report.findings if "/annotations/0/" in
               (f.location.pointer or ""))


def test_coco_many_strings_in_one_polygon_are_one_finding(write_coco):
    poly = [10, 10] + [str(v) for v in [20, 10, 20, 20, 10, 20]] * 50
    flat = [str(v) for v in SQUARE]
    anns = [ann(1, 1, 1, segmentation=[SQUARE, poly]), ann(2, 1, 1, segmentation=[[*SQUARE[:4], "20", 20]])]
    report = lint([write_coco(coco_doc(annotations=anns))], select=["MC009"])
    assert pointers(report) == ["/annotations/0/segmentation/1/2", "/annotations/1/segmentation/0/4"]
    first = mc009(report)[0][1]
    assert first.startswith("polygon 1 holds 300 numbers written as strings, "
                            'the first segmentation[1][2] = "20"')
    # a flat list of strings: the structure (one list too few) and the strings, each once
    report = lint([write_coco(coco_doc(annotations=[ann(1, 1, 1, segmentation=flat)]))],
                  select=["MC009", "MC201"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [
        ("MC009", "/annotations/0/segmentation/0"), ("MC201", "/annotations/0/segmentation")]
    assert "8 numbers written as strings" in report.findings[0].message
    assert "flat list of 8 numbers" in report.findings[1].message


def test_coco_older_rules_leave_quoted_numbers_to_mc009(write_coco):
    images = [{"id": 1, "file_name": "a.jpg", "width": "100", "height": 80},
              {"id": 2, "file_name": "b.jpg", "width": "wide", "height": 80}]
    anns = [ann(1, 1, 1, bbox=[10, 10, "10", 10], area="100", iscrowd="0",
                segmentation=[[10, 10, 20, 10, 20, "20", 10, 20]]),
            ann(2, 1, 1, iscrowd=1, segmentation={"size": ["80", "100"], "counts": [8000]}),
            # not numbers: still the older rules' (and the numeric string beside them MC009's)
            ann(3, 2, 1, bbox=[10, "abc", "10", 10], area="big", iscrowd="no",
                segmentation=[[10, 10, "abc", 10, 20, "20", 10, 20]]),
            ann(4, 2, 1, iscrowd=1, segmentation={"size": ["80", "100"], "counts": [10]})]
    report = lint([write_coco(coco_doc(images=images, annotations=anns))],
                  select=["MC001", "MC201", "MC207", "MC009"])
    other = [(f.code, f.location.pointer, f.message) for f in report.findings if f.code != "MC009"]
    assert other == [
        ("MC001", "/images/1", 'width must be a number, got "wide"'),
        ("MC001", "/annotations/2", 'area must be a number, got "big"'),
        ("MC001", "/annotations/2", "bbox must be a list of 4 numbers [x, y, width, height], got "
                                    "[10, 'abc', '10', 10]"),
        ("MC001", "/annotations/2", 'iscrowd must be 0 or 1, got "no"'),
        ("MC201", "/annotations/2/segmentation", 'polygon 0 holds "abc", not a number'),
        ("MC207", "/annotations/3/segmentation",
         "RLE counts sum to 10 pixels but size [80, 100] has 8,000: decoding it writes past the "
         "mask or leaves it short (pycocotools does not check)"),
    ]
    assert pointers(report) == [
        "/images/0/width",
        "/annotations/0/bbox/2", "/annotations/0/area", "/annotations/0/iscrowd",
        "/annotations/0/segmentation/0/5",
        "/annotations/1/segmentation/size/0", "/annotations/1/segmentation/size/1",
        "/annotations/2/bbox/2", "/annotations/2/segmentation/0/5",
        "/annotations/3/segmentation/size/0", "/annotations/3/segmentation/size/1",
    ]


def test_coco_no_pile_up_of_secondary_findings(write_coco):
    """Every rule on: quoting numbers adds MC009 findings and takes away findings, never adds others."""
    images = [{"id": i, "file_name": f"img{i}.jpg", "width": 100, "height": 80} for i in (1, 2)]
    clean = [ann(1, 1, 1), ann(2, 1, 2), ann(3, 2, 1, iscrowd=1, bbox=[0, 0, 100, 80], area=8000,
                                           segmentation={"size": [80, 100], "counts": [0, 8000]}),
             ann(4, 2, 2)]
    quoted = json.loads(json.dumps(clean))
    quoted[0]["bbox"] = [str(v) for v in quoted[0]["bbox"]]
    quoted[0]["area"] = "100.0"
    quoted[1]["segmentation"] = [[str(v) for v in quoted[1]["segmentation"][0]]]
    quoted[1]["iscrowd"] = "0"
    quoted[2]["segmentation"]["size"] = ["80", "100"]
    quoted_images = json.loads(json.dumps(images))
    quoted_images[1]["width"] = "100"

    def findings(doc: dict, name: str) -> set[tuple[str, str | None]]:
        report = lint([write_coco(doc, name)])
        assert not report.errors
        return {(f.code, f.location.pointer) for f in report.findings}

    before = findings(coco_doc(images=images, annotations=clean), "clean.json")
    after = findings(coco_doc(images=quoted_images, annotations=quoted), "quoted.json")
    assert {c for c, _ in after - before} == {"MC009"}
    assert ("MC009", "/annotations/0/bbox/0") in after and ("MC009", "/images/1/width") in after


def test_coco_ids_stay_with_their_own_rules(write_coco):
    anns = [ann("7", 1, 1), ann(8, "1", 1), ann(9, 1, "1")]
    report = lint([write_coco(coco_doc(annotations=anns))], select=["MC002", "MC101", "MC009"])
    assert mc009(report) == []
    assert {f.code for f in report.findings} == {"MC002", "MC101"}


# --------------------------------------------------------------------------- LabelMe
def _labelme(folder: Path, shapes: list[Any], **doc: Any) -> Path:
    (folder / "a.jpg").parent.mkdir(parents=True, exist_ok=True)
    (folder / "a.jpg").write_bytes(b"jpeg")
    base = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": "a.jpg",
            "imageData": None, "imageHeight": 100, "imageWidth": 120}
    return write_json(folder / "a.json", {**base, **doc})


def _shape(points: Any, shape_type: str = "polygon", **extra: Any) -> dict:
    return {"label": "cat", "points": points, "group_id": None, "shape_type": shape_type,
            "flags": {}, **extra}


def test_labelme_size_and_points_at_exact_pointers(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    many = [[str(10 + i), str(10 + (i * 7) % 30)] for i in range(12)]
    path = _labelme(tmp_path, [_shape([[10, 10], ["40.5", 10], [40, 30]]), _shape(many),
                               _shape([[10, 10], [40, "30"]], "rectangle"),
                               _shape([[10, 10], ["abc", 10], [40, 30]])],
                    imageHeight="100", imageWidth=120)
    report = lint([path])
    assert at(report, "MC009") == [("a.json", "/imageHeight", None),
                                   ("a.json", "/shapes/0/points/1/0", None),
                                   ("a.json", "/shapes/1/points/0/0", None),
                                   ("a.json", "/shapes/2/points/1/1", None)]
    msgs = [m for _, m in mc009(report)]
    assert msgs[0].startswith('imageHeight is the string "100"') and msgs[0].endswith("Write it as 100")
    assert msgs[1].startswith('points[1][0] is the string "40.5"')
    assert msgs[2].startswith('points holds 24 numbers written as strings, the first points[0][0] = "10"')
    # the quoted shapes get nothing else: no bad-points, no "neither mask nor box"
    assert at(report, "MC411") == [("a.json", "/shapes/3", None)]  # only the "abc" one
    quoted = {"/shapes/0", "/shapes/1", "/shapes/2", "/imageHeight"}
    assert [(f.code, f.location.pointer) for f in report.findings
            if f.code != "MC009" and f.location.pointer in quoted] == []


def test_labelme_quoted_part_of_a_group_is_still_reported(tmp_path):
    (tmp_path / "labels.txt").write_text("cat\n")
    parts = [_shape([[10, 10], [40, 10], [40, 30]], group_id=1),
             _shape([[50, 10], ["80", 10], [80, 30]], group_id=1)]
    report = lint([_labelme(tmp_path, parts)], select=["MC009", "MC201", "MC411"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC009", "/shapes/1/points/1/0")]


def test_labelme_point_count_still_judged_with_quotes(tmp_path):
    (tmp_path / "labels.txt").write_text("cat\n")
    report = lint([_labelme(tmp_path, [_shape([[10, 10], ["40", 10]])])], select=["MC009", "MC411"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [
        ("MC009", "/shapes/0/points/1/0"), ("MC411", "/shapes/0")]
    assert "needs at least 3 points, this one has 2" in report.findings[1].message


def test_labelme_mask_shape_waits_for_a_quoted_image_size(tmp_path):
    (tmp_path / "labels.txt").write_text("cat\n")
    path = _labelme(tmp_path, [_shape([[0, 0], [4, 4]], "mask", mask="iVBORw0KGgo=")],
                    imageWidth="120")
    report = lint([path], select=["MC009", "MC414"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC009", "/imageWidth")]


# --------------------------------------------------------------------------- JSON records
def test_records_instances_at_exact_pointers(tmp_path):
    path = write_json(tmp_path / "r.json", [
        {"image_id": "a.jpg", "label": 1, "bbox": [1, 2, "3.5", 4], "area": "12", "iscrowd": "0",
         "segmentation": [[1, 1, "10", 1, 10, 10]]},
        {"image_id": "a.jpg", "label": 1, "polygon": [[str(i), str(i * i % 7)] for i in range(10)]},
        {"image_id": "b.jpg", "label": 1, "mask": {"size": ["10", 10], "counts": [100]}},
    ])
    report = lint([path])
    assert sorted(pointers(report)) == sorted([
        "/0/bbox/2", "/0/area", "/0/iscrowd", "/0/segmentation/0/2",
        "/1/polygon/0/0", "/2/mask/size/0"])
    msgs = dict(mc009(report))
    assert msgs["/1/polygon/0/0"].startswith("polygon holds 20 numbers written as strings")
    assert msgs["/0/bbox/2"].startswith('bbox[2] is the string "3.5"')
    assert {f.code for f in report.findings if f.location.pointer in ("/0", "/1", "/2")} <= {
        "MC105", "MC107", "MC217"}  # dataset-wide notes only, nothing about these records


def test_records_parallel_lists_and_jsonl(tmp_path):
    path = write_json(tmp_path / "p.json", [
        {"image": "a.jpg", "labels": [1, 1], "boxes": [[0, 0, "5", 5], [0, 0, 5, 5]],
         "masks": [[0, 0, 5, 0, 5, 5], [0, 0, "5", 0, 5, 5]]}])
    report = lint([path], select=["MC009", "MC001", "MC201"])
    assert [(f.code, f.location.pointer) for f in report.findings] == [
        ("MC009", "/0/boxes/0/2"), ("MC009", "/0/masks/1/2")]
    assert report.findings[0].message.startswith('boxes[0][2] is the string "5"')
    lines = tmp_path / "r.jsonl"
    lines.write_text(json.dumps({"image_id": "c.jpg", "label": 1, "bbox": [1, 2, 3, 4]}) + "\n"
                     + json.dumps({"image_id": "c.jpg", "label": 1, "bbox": [1, 2, "3", 4]}) + "\n")
    report = lint([lines], select=["MC009", "MC001"])
    assert [(f.code, f.location.pointer, f.location.line) for f in report.findings] == [
        ("MC009", "/bbox/2", 2)]


def test_records_sa1b_image_size_and_annotations(tmp_path):
    folder = tmp_path / "sa"
    write_json(folder / "sa_1.json", {
        "image": {"image_id": 1, "file_name": "x.jpg", "width": "100", "height": 80},
        "annotations": [{"bbox": [0, 0, 10, "10"], "area": 100,
                         "segmentation": {"size": ["80", 100], "counts": [0, 8000]}}]})
    write_json(folder / "sa_2.json", {
        "image": {"image_id": 2, "file_name": "y.jpg", "width": 100, "height": 80},
        "annotations": [{"bbox": [0, 0, 100, 80], "area": 8000,
                         "segmentation": {"size": [80, 100], "counts": [0, 8000]}}]})
    report = lint([folder], select=["MC009", "MC001", "MC207"])
    assert at(report, "MC009") == [("sa_1.json", "/image/width", None),
                                   ("sa_1.json", "/annotations/0/bbox/3", None),
                                   ("sa_1.json", "/annotations/0/segmentation/size/0", None)]
    assert [f.code for f in report.findings if f.code != "MC009"] == []


# --------------------------------------------------------------------------- no false alarms
def test_silent_on_the_bench_file(tmp_path):
    make = SHARED / "bench" / "make_coco.py"
    if not make.is_file():
        pytest.skip("../shared/bench/make_coco.py is absent")
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, str(make), "--images", "200", "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    report = lint([out], select=["MC009"])
    assert not report.errors and report.findings == []


def test_silent_on_examples_clean():
    report = lint([ROOT / "examples" / "clean"], select=["MC009"])
    assert not report.errors and report.findings == []


def test_silent_on_all_realdata(realdata):
    # none of these files writes a number in quotes in a field maskcheck reads (only
    # `info.version` / `info.year`, which no loader reads as a number)
    for folder in sorted(p for p in realdata.iterdir() if p.is_dir()):
        report = lint([folder], select=["MC009"])
        assert report.findings == [], folder.name
