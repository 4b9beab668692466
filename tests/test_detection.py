"""Format detection: every real dataset maps to its format or is refused; --input-format forces.

The expected formats are given per row of ../shared/realdata/SOURCES.md; a test checks that
every row and every folder it lists is covered, so a new row cannot slip past detection.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from maskcheck import lint
from maskcheck.cli import main
from maskcheck.readers import reading as readers

REFUSED = None
LM = "wkentaro__labelme/examples"
LF = "lightly-ai__labelformat/tests/fixtures"
DM = "openvinotoolkit__datumaro/tests/assets"
LS = "HumanSignal__label-studio-converter/tests/data"

# row of SOURCES.md -> [(path under realdata, expected format or REFUSED)]
EXPECTED: dict[int, list[tuple[str, str | None]]] = {
    1: [(f"{DM}/coco_dataset/coco_instances", "coco"),
        (f"{DM}/coco_dataset/coco_instances/annotations/instances_train.json", "coco")],
    2: [(f"{DM}/voc_dataset", "voc"), (f"{DM}/voc_dataset/voc_dataset1", "voc")],
    3: [(f"{DM}/cvat_dataset", "cvat"), (f"{DM}/cvat_dataset/for_images/export_task/train.xml", "cvat")],
    4: [(f"{DM}/segment_anything_dataset", "sa1b"),
        (f"{DM}/segment_anything_dataset/a.json", "sa1b")],
    5: [(f"{DM}/labelme_dataset", REFUSED),
        (f"{DM}/labelme_dataset/Annotations/subset1/img1.xml", REFUSED)],
    6: [("cvat-ai__datumaro/tests/assets/yolo_dataset", "yolo"),
        ("cvat-ai__datumaro/tests/assets/yolo_dataset/yolov8_segmentation", "yolo"),
        ("cvat-ai__datumaro/tests/assets/yolo_dataset/yolov8_segmentation/data.yaml", "yolo")],
    7: [("cvat-ai__datumaro/tests/assets/cvat_dataset", "cvat")],
    8: [(f"{LM}/instance_segmentation/data_annotated", "labelme"),
        (f"{LM}/instance_segmentation/data_annotated/2011_000003.json", "labelme")],
    9: [(f"{LM}/instance_segmentation/data_dataset_coco", "coco")],
    10: [(f"{LM}/instance_segmentation/data_dataset_voc", "voc")],
    11: [(f"{LM}/tutorial", "labelme"), (f"{LM}/primitives", "labelme"),
         (f"{LM}/video_annotation", "labelme"), (f"{LM}/tutorial/apc2016_obj3.json", "labelme"),
         (f"{LM}/primitives/primitives.json", "labelme")],
    12: [("open-mmlab__mmdetection/tests/data", "coco"),
         ("open-mmlab__mmdetection/tests/data/coco_wrong_format_sample.json", "coco")],
    13: [("cocodataset__cocoapi/results", "records"),
         ("cocodataset__cocoapi/results/instances_val2014_fakebbox100_results.json", "records")],
    14: [(f"{LF}/instance_segmentation/COCO", "coco")],
    15: [(f"{LF}/instance_segmentation/YOLOv8", "yolo"),
         (f"{LF}/instance_segmentation/YOLOv8/dataset.yaml", "yolo")],
    # object_detection holds a PascalVOC and a COCO folder side by side: the folder layout wins
    16: [(f"{LF}/object_detection", "voc"),
         (f"{LF}/object_detection/PascalVOC", "voc"), (f"{LF}/object_detection/COCO", "coco"),
         (f"{LF}/object_detection/COCO/train.json", "coco"),
         (f"{LF}/semantic_segmentation/pascalvoc", "voc")],
    20: [("MiXaiLL76__faster_coco_eval/tests/dataset/cocoapi", "coco")],
    23: [("KGCraig__Urban-Scene-Data-Annotation", "cvat"),
         ("KGCraig__Urban-Scene-Data-Annotation/annotations.xml", "cvat")],
    24: [("roboflow__roboflow-python/tests/annotations", "coco"),
         ("roboflow__roboflow-python/tests/annotations/valid_annotation.json", "coco"),
         ("roboflow__roboflow-python/tests/annotations/invalid_annotation.json", REFUSED)],
    25: [("roboflow__roboflow-python/tests/datasets/chess", "voc")],
    28: [(f"{LS}/test_import_yolo_seg_data", "yolo"), (f"{LS}/test_import_yolo_seg_data_unif_dims", "yolo")],
    29: [("superannotateai__superannotate-python-sdk/tests/data_set/converter_test/COCO/input/"
          "toSuperAnnotate/instance_segmentation", "coco")],
}
CASES = [(row, path, fmt) for row, items in EXPECTED.items() for path, fmt in items]


def _expand(folder: str) -> list[str]:
    """`a/{b,c}` -> [a/b, a/c]; `x + …/y` keeps x only (the rest is written in short)."""
    folder = folder.split(" + ")[0].strip()
    m = re.search(r"\{([^}]*)\}", folder)
    if not m:
        return [folder]
    return [folder[:m.start()] + part + folder[m.end():] for part in m.group(1).split(",")]


def _sources(realdata: Path) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for line in (realdata / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].isdigit():
            rows[int(cells[1])] = _expand(cells[2])
    return rows


def test_every_sources_row_and_folder_is_covered(realdata):
    rows = _sources(realdata)
    assert set(rows) == set(EXPECTED), "SOURCES.md rows and EXPECTED differ"
    for row, folders in rows.items():
        listed = {p for p, _ in EXPECTED[row]}
        for folder in folders:
            assert (realdata / folder).exists(), folder
            assert folder in listed, f"row {row}: {folder} has no expected format"


@pytest.mark.parametrize("row,path,fmt", CASES, ids=[f"{r}:{Path(p).name}" for r, p, _ in CASES])
def test_detects_expected_format(realdata, row, path, fmt):
    module = readers.detect(realdata / path)
    assert (module.NAME if module else None) == fmt


@pytest.mark.parametrize("row,path,fmt", [c for c in CASES if c[2] in ("labelme", "yolo", "records")],
                         ids=lambda v: str(v))
def test_own_formats_read_without_crash(realdata, row, path, fmt):
    report = lint([realdata / path])
    assert not report.errors, report.errors
    assert {i["format"] for i in report.inputs} == {fmt}
    assert report.annotations > 0
    assert not [f for f in report.findings if f.code == "MC000"]


@pytest.mark.parametrize("path", [p for _, p, f in CASES if f is REFUSED])
def test_refused_with_one_line_and_exit_2(realdata, capsys, path):
    code = main(["lint", str(realdata / path), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert ("not a supported annotation file" in lines[0]
            or "no supported annotations in this folder" in lines[0])
    assert "Traceback" not in err
    assert json.loads(out)["inputs"] == []


def test_json_report_names_the_format(realdata, capsys):
    main(["lint", str(realdata / LM / "primitives"), "--format", "json", "--fail-on", "never"])
    out = json.loads(capsys.readouterr().out)
    assert [i["format"] for i in out["inputs"]] == ["labelme"]


# ------------------------------------------------------------------------- hand-made cases
def _labelme(path: Path) -> Path:
    path.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": [], "imagePath": "a.jpg",
                                "imageData": None, "imageHeight": 10, "imageWidth": 10}))
    return path


def test_labelme_records_and_coco_are_told_apart(tmp_path):
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps([{"image_id": 1, "label": 1, "bbox": [0, 0, 1, 1]}]))
    sa = tmp_path / "sa.json"
    sa.write_text(json.dumps({"image": {"image_id": 1}, "annotations": []}))
    jsonl = tmp_path / "rec.jsonl"
    jsonl.write_text('{"image_id": 1, "label": 1}\n{"image_id": 2, "label": 1}\n')
    lm = _labelme(tmp_path / "lm.json")
    assert [readers.detect(p).NAME for p in (coco, rec, sa, jsonl, lm)] == [
        "coco", "records", "records", "records", "labelme"]
    other = tmp_path / "other.json"
    other.write_text('{"it is": [{"a": 0}]}')
    assert readers.detect(other) is None


def test_folder_with_coco_stays_coco(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    (tmp_path / "results.json").write_text(json.dumps([{"image_id": 1, "category_id": 1}]))
    assert readers.detect(tmp_path).NAME == "coco"


def test_input_format_forces_and_refuses_what_does_not_fit(tmp_path, capsys):
    lm = _labelme(tmp_path / "lm.json")
    report = lint([lm], format="records")
    assert report.inputs == [] and "not JSON records" in report.errors[0].message
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps([{"image_id": 1, "label": 1, "bbox": [0, 0, 1, 1]}]))
    assert [i["format"] for i in lint([rec], format="records").inputs] == ["records"]
    code = main(["lint", str(lm), "--input-format", "coco"])
    err = capsys.readouterr().err
    assert code == 2 and "not a COCO document" in err
    code = main(["lint", str(lm), "--input-format", "lableme"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean 'labelme'" in err


def test_cli_classes_and_field_options(tmp_path, capsys):
    rec = tmp_path / "rec.json"
    rec.write_text(json.dumps([{"image_id": 1, "cls": "cat", "bbox": [0, 0, 5, 5]}]))
    classes = tmp_path / "classes.txt"
    classes.write_text("_background_\ncat\n")
    code = main(["lint", str(rec), "--classes", str(classes), "--field", "label=cls",
                 "--select", "MC101,MC102", "--format", "json"])
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    code = main(["lint", str(rec), "--field", "colour=x"])
    assert code == 2 and "unknown field 'colour'" in capsys.readouterr().err
    code = main(["lint", str(rec), "--classes", str(tmp_path / "none.txt")])
    assert code == 2 and "no such class map file" in capsys.readouterr().err
