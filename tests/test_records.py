"""JSON records: per-instance and per-image records, masks in every form, fields, counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maskcheck import lint
from maskcheck.readers import records

MASK = [[0, 1, 1], [0, 1, 1]]  # a 2D 0/1 array: 2 rows, 3 columns


def write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def found(report, code: str) -> list[tuple[str, str | None, int | None]]:
    return [(Path(f.location.path).name, f.location.pointer, f.location.line)
            for f in report.findings if f.code == code]


def messages(report, code: str) -> list[str]:
    return [f.message for f in report.findings if f.code == code]


def batch_of(path: Path, **options: Any):
    ds = next(records.read(path, options))
    return ds, next(ds.batches(None))


# ------------------------------------------------------------------------- the reader
def test_per_instance_records_group_by_image(tmp_path):
    path = write(tmp_path / "r.json", [
        {"image_id": "a.jpg", "label": 1, "bbox": [0, 0, 2, 2], "mask": MASK},
        {"image_id": "b.jpg", "label": 2, "polygon": [[0, 0], [4, 0], [4, 4]]},
        {"image_id": "a.jpg", "label": 1, "segmentation": {"size": [4, 5], "counts": "0:"}},
    ])
    ds, b = batch_of(path)
    assert b.images.file_name.tolist() == ["a.jpg", "b.jpg"]
    assert (b.images.width[0], b.images.height[0]) == (3, 2)  # from the 0/1 array's shape
    assert b.anns.pointer.tolist() == ["/0", "/2", "/1"]  # grouped by image, file order inside
    seg = [json.loads(bytes(s)) for s in b.anns.segmentation]
    assert seg[0]["size"] == [2, 3] and isinstance(seg[0]["counts"], str)
    assert seg[2] == [[0, 0, 4, 0, 4, 4]]
    assert ds.info.category_names() == {1: "class 1", 2: "class 2"}


def test_per_image_parallel_lists_and_xyxy_boxes(tmp_path):
    path = write(tmp_path / "r.json", [
        {"image": "a.jpg", "labels": [1, 2], "masks": [MASK, MASK], "boxes": [[1, 0, 3, 2], [0, 0, 1, 1]]},
    ])
    _, b = batch_of(path)
    assert b.anns.bbox.tolist() == [[1, 0, 2, 2], [0, 0, 1, 1]]
    assert b.anns.pointer.tolist() == ["/0/labels/0", "/0/labels/1"]
    assert (b.images.n_labels.tolist(), b.images.n_masks.tolist()) == ([2], [2])


def test_jsonl_keeps_lines_and_survives_a_broken_line(tmp_path):
    (tmp_path / "r.jsonl").write_text(
        '{"image_id": 1, "label": 1, "bbox": [0, 0, 2, 2]}\n\n{"image_id": 1, oops}\n'
        '{"image_id": 2, "label": 1, "bbox": [0, 0, 2, 2]}\n')
    report = lint([tmp_path / "r.jsonl"], select=["MC001"])
    assert found(report, "MC001") == [("r.jsonl", None, 3)]
    assert report.annotations == 3


def test_field_option_and_auto_detection(tmp_path):
    path = write(tmp_path / "r.json", [{"img": "a.jpg", "kind": 3, "box": [0, 0, 2, 2]}])
    _, b = batch_of(path, fields={"label": "kind"})
    assert b.anns.category_id.tolist() == [3]
    report = lint([path], fields={"label": "kind"}, select=["MC001"])
    assert not report.findings
    _, b = batch_of(path)  # without it no record has a label: a class-agnostic dataset
    assert b.anns.category_id.tolist() == [records.AGNOSTIC_ID]
    mixed = write(tmp_path / "m.json", [{"img": "a.jpg", "label": 1, "box": [0, 0, 2, 2]},
                                        {"img": "a.jpg", "kind": 3, "box": [0, 0, 2, 2]}])
    report = lint([mixed], select=["MC001"])  # some records have one: this one lacks it
    assert found(report, "MC001") == [("m.json", "/1", None)]


def test_sa1b_object_per_image_is_class_agnostic(tmp_path):
    for i in (1, 2):
        write(tmp_path / f"sa_{i}.json", {
            "image": {"image_id": i, "width": 3, "height": 2, "file_name": f"sa_{i}.jpg"},
            "annotations": [{"id": 1, "segmentation": {"size": [2, 3], "counts": "0:"},
                             "bbox": [0, 0, 3, 2]}]})
    report = lint([tmp_path], select=["MC0", "MC1"])
    assert [i["format"] for i in report.inputs] == ["records"]
    assert (report.images, report.annotations) == (2, 2)
    assert not [f for f in report.findings if str(f.severity) != "info"]


def test_coco_results_file_is_records(tmp_path):
    path = write(tmp_path / "results.json", [
        {"image_id": 42, "category_id": 18, "bbox": [1, 2, 3, 4], "score": 0.9}])
    report = lint([path])
    assert [i["format"] for i in report.inputs] == ["records"]
    assert not report.errors


# ------------------------------------------------------------------------- class labels, counts
SEED = [
    {"image": "img1.jpg", "labels": ["defect_type_a", "defect_type_b"],
     "masks": [MASK, MASK], "boxes": [[0, 0, 2, 2], [0, 0, 1, 1]]},
    {"image": "img2.jpg", "labels": ["defect_type_a"], "masks": [MASK, MASK],
     "boxes": [[0, 0, 2, 2]]},
]


def test_seed_string_labels_and_count_mismatch(tmp_path):
    path = write(tmp_path / "seed.json", SEED)
    report = lint([path], select=["MC101", "MC102", "MC104"])
    assert found(report, "MC101") == [("seed.json", None, None)]  # once for the dataset
    assert '"defect_type_a" 2, "defect_type_b" 1' in messages(report, "MC101")[0]
    assert "--classes FILE" in messages(report, "MC101")[0]
    assert found(report, "MC104") == [("seed.json", "/1", None)]
    assert "1 labels, 2 masks, 1 boxes" in messages(report, "MC104")[0]
    assert not found(report, "MC102")


def test_seed_with_classes_names_the_near_miss(tmp_path):
    path = write(tmp_path / "seed.json", SEED)
    classes = tmp_path / "classes.yaml"
    classes.write_text("defect_type_a: 1\nDefect_Type_B: 2\n")
    report = lint([path], select=["MC101", "MC102"], classes=classes)
    assert found(report, "MC102") == [("seed.json", "/0/labels/1", None)]
    assert 'did you mean "Defect_Type_B" (id 2)' in messages(report, "MC102")[0]
    assert not found(report, "MC101")


def test_equal_counts_do_not_fire(tmp_path):
    path = write(tmp_path / "r.json", [{"image": "a", "labels": [1], "masks": [MASK]},
                                       {"image": "b", "labels": [], "masks": [], "boxes": []}])
    assert not lint([path], select=["MC104"]).findings


@pytest.mark.parametrize("record", [
    "not an object",
    {"image_id": 1, "label": 1, "mask": "no such file.png"},
])
def test_bad_records_are_findings_not_crashes(tmp_path, record):
    path = write(tmp_path / "r.json", [{"image_id": 1, "label": 1, "bbox": [0, 0, 1, 1]}, record])
    report = lint([path])
    assert not report.errors
    assert not [f for f in report.findings if f.code == "MC000"]
    assert [f.location.pointer for f in report.findings if f.code == "MC001"] == ["/1"]


# ------------------------------------------------------------------------- real data
def test_realdata_segment_anything(realdata):
    # SAM's own keys (predicted_iou, point_coords): the SA-1B reader's, not plain records
    report = lint([realdata / "openvinotoolkit__datumaro/tests/assets/segment_anything_dataset"])
    assert [i["format"] for i in report.inputs] == ["sa1b"]
    assert (report.images, report.annotations) == (2, 2)
    assert not report.errors
    assert not [f for f in report.findings if f.code in ("MC000", "MC001", "MC002", "MC101")]


def test_realdata_coco_results(realdata):
    folder = realdata / "cocodataset__cocoapi/results"
    report = lint([folder], select=["MC0", "MC1"])
    assert sorted(Path(i["path"]).name for i in report.inputs) == [
        "instances_val2014_fakebbox100_results.json", "instances_val2014_fakesegm100_results.json"]
    assert {i["format"] for i in report.inputs} == {"records"}
    assert report.annotations == 734 + 734
    assert not report.errors
    assert not [f for f in report.findings if str(f.severity) != "info"]


def test_a_list_of_unknown_objects_is_refused(tmp_path):
    path = write(tmp_path / "r.json", [{"colour": "red"}, {"colour": "blue"}])
    report = lint([path])
    assert [e.message for e in report.errors] == [
        "not JSON records: no record has an image, label, mask or box field (name them with "
        "--field, e.g. label=cls)"]
    assert report.inputs == []


def test_a_hostile_deeply_nested_jsonl_line_is_one_finding(tmp_path):
    from maskcheck.api import lint

    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"image_id": 1, "label": 1, "bbox": [1, 2, 3, 4]}\n'
                     + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    report = lint([path], select=["MC001"])
    assert not report.errors
    assert [(f.code, f.location.line) for f in report.findings] == [("MC001", 2)]


def test_parallel_fields_that_are_not_lists_are_malformed(tmp_path):
    """`labels: 5` once raised StopIteration inside the reader; now MC001 at the field."""
    report = lint([write(tmp_path / "recs.json", [
        {"image_id": 1, "labels": 5},
        {"image_id": 2, "labels": [1], "masks": "x", "boxes": [[0, 0, 2, 2]]},
        {"image_id": 3, "labels": [1], "boxes": [[0, 0, 2, 2]]},
    ])])
    assert not report.errors
    assert "MC000" not in {f.code for f in report.findings}
    assert found(report, "MC001") == [("recs.json", "/0/labels", None), ("recs.json", "/1/masks", None)]
    assert "'labels' must be a list" in messages(report, "MC001")[0]


# ------------------------------------------------------------- image size from parallel masks
def test_parallel_masks_give_the_image_size(tmp_path):
    path = write(tmp_path / "r.json", [{"image": "a.jpg", "labels": [1, 2], "masks": [MASK, MASK]}])
    _, batch = batch_of(path)
    assert (batch.images.width[0], batch.images.height[0]) == (3, 2)


def test_parallel_masks_of_two_sizes_leave_the_size_unknown(tmp_path):
    other = [[0, 1], [1, 1], [0, 0]]  # 3 rows, 2 columns
    path = write(tmp_path / "r.json", [{"image": "a.jpg", "labels": [1, 2], "masks": [MASK, other]}])
    _, batch = batch_of(path)
    assert np.isnan(batch.images.width[0]) and np.isnan(batch.images.height[0])


def test_a_number_out_of_float_range_reads_as_inf(tmp_path):
    (tmp_path / "r.json").write_text('[{"image_id": "a.jpg", "label": 1, "bbox": [1, 2, 1e999, 4]}]')
    (tmp_path / "r.jsonl").write_text('{"image_id": "b.jpg", "label": 1, "bbox": [1, 2, 3, -1e999]}\n')
    report = lint([tmp_path / "r.json", tmp_path / "r.jsonl"])
    assert not report.errors
    assert found(report, "MC204") == [("r.json", "/0", None), ("r.jsonl", None, 1)]
    assert found(report, "MC001") == []


def test_nan_is_still_not_json(tmp_path):
    (tmp_path / "r.json").write_text('[{"image_id": "a.jpg", "label": 1, "bbox": [1, 2, NaN, 4]}]')
    report = lint([tmp_path / "r.json"])
    assert [e.message for e in report.errors] == [
        "holds NaN or Infinity, which is not JSON (most loaders refuse it)"]
