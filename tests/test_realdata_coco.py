"""Real COCO files from public repositories (../shared/realdata, see its SOURCES.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SHARED
from maskcheck import Severity, lint

SOUND = [
    "openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances",
    "wkentaro__labelme/examples/instance_segmentation/data_dataset_coco/annotations.json",
    "open-mmlab__mmdetection/tests/data/coco_sample.json",
    "lightly-ai__labelformat/tests/fixtures/instance_segmentation/COCO/instances.json",
    "lightly-ai__labelformat/tests/fixtures/instance_segmentation/COCO/instances_with_binary_mask.json",
    "MiXaiLL76__faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json",
    "superannotateai__superannotate-python-sdk/tests/data_set/converter_test/COCO/input/"
    "toSuperAnnotate/instance_segmentation/instances_test.json",
]

# Sound as COCO, but their first class sits at id 0 and has annotations: fed to torchvision's
# Mask R-CNN as they are, "person" and "cat" would be trained as the background.
ID_ZERO = [
    "lightly-ai__labelformat/tests/fixtures/object_detection/COCO/train.json",
    "roboflow__roboflow-python/tests/annotations/valid_annotation.json",
]


@pytest.mark.parametrize("rel", SOUND)
def test_sound_files_give_no_errors(realdata, rel):
    report = lint([realdata / rel])
    assert not report.errors
    assert not report.crashed()
    errors = [f"{f.code} {f.location.short()} {f.message}" for f in report.findings
              if f.severity == Severity.ERROR]
    assert errors == []
    assert report.annotations > 0


@pytest.mark.parametrize("rel", ID_ZERO)
def test_class_at_id_zero_is_the_only_error(realdata, rel):
    report = lint([realdata / rel])
    errors = [(f.code, f.location.pointer) for f in report.findings if f.severity == Severity.ERROR]
    assert errors == [("MC103", "/categories/0")]


def test_mmdetection_wrong_format_sample_has_duplicate_ids(realdata):
    path = realdata / "open-mmlab__mmdetection/tests/data/coco_wrong_format_sample.json"
    report = lint([path])
    dups = [f for f in report.findings if f.code == "MC004"]
    assert len(dups) == 1
    assert dups[0].location.annotation_id == 1
    assert dups[0].location.pointer == "/annotations/1"
    assert "used 2 times (first at /annotations/0)" in dups[0].message


def test_datumaro_split_folder_reads_both_files(realdata):
    report = lint([realdata / SOUND[0]])
    assert sorted(i["path"].rsplit("/", 1)[1] for i in report.inputs) == [
        "instances_train.json", "instances_val.json"]
    assert report.images == 2 and report.annotations == 3


def test_roboflow_invalid_annotation_is_refused(realdata):
    report = lint([realdata / "roboflow__roboflow-python/tests/annotations/invalid_annotation.json"])
    assert len(report.errors) == 1 and not report.inputs


def test_make_coco_output_is_clean(tmp_path):
    script = SHARED / "bench" / "make_coco.py"
    if not script.is_file():
        pytest.skip("../shared/bench/make_coco.py is absent")
    out = tmp_path / "coco_like.json"
    subprocess.run([sys.executable, str(script), "--images", "400", "--out", str(out)],
                   check=True, capture_output=True)
    report = lint([out], batch_size=64)
    loud = [f"{f.code} {f.location.short()} {f.message}" for f in report.findings
            if f.severity >= Severity.WARNING]
    assert loud == []
    assert report.images == 400 and report.annotations > 2000
