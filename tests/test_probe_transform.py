"""The transform probe on known-answer inputs: the seed's buggy crop fails naming a seed that
shows it, the fixed crop passes, and each other defect lands on its code and seed."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

import maskcheck
import probe_fixtures as pf
from maskcheck.cli import main
from maskcheck.probe import make_sample, probe_transform
from maskcheck.probe.checks import mask_boxes
from maskcheck.probe.inputs import NEUTRAL, classify

RUNS = 30


def codes(report: maskcheck.Report) -> set[str]:
    return {f.code for f in report.findings}


def seed_of(finding: maskcheck.Finding) -> int:
    match = re.fullmatch(r"/seed/(\d+)", finding.location.pointer or "")
    assert match, finding.location
    assert finding.message.startswith(f"seed {match.group(1)}: ")
    return int(match.group(1))


# --- the inputs -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_samples_are_known_answers(seed):
    s = make_sample(seed)
    n = len(s.labels)
    assert 4 <= n <= 12 and s.image.shape == (480, 640, 3) and s.image.dtype == np.uint8
    assert len(set(s.labels.tolist())) == n and 0 not in s.labels
    assert s.labels.dtype == np.int64 and s.boxes.dtype == np.float32
    assert s.masks.shape == (n, *s.image.shape[:2])
    assert (s.masks.sum(axis=0) <= 1).all(), "instances overlap"
    np.testing.assert_array_equal(mask_boxes(s.masks.astype(bool)), s.boxes)
    cls = classify(s.image)
    for i in range(n):
        assert (cls[s.masks[i] == 1] == s.colour[i]).all()
    assert (cls[s.masks.sum(axis=0) == 0] == NEUTRAL).all()


def test_colours_survive_brightness_and_float_scale():
    s = make_sample(3)
    darker = s.image.astype(np.float32) / 255 * 0.5
    np.testing.assert_array_equal(classify(darker), classify(s.image))


def test_same_seed_same_findings():
    a = probe_transform(pf.buggy_random_crop, runs=10)
    b = probe_transform(pf.buggy_random_crop, runs=10)
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]


# --- the seed's bug and its fix ----------------------------------------------------------------

def test_buggy_crop_fails_naming_a_seed_that_shows_it():
    report = probe_transform("probe_fixtures:buggy_random_crop", runs=RUNS)
    assert not report.errors
    mismatches = [f for f in report.findings if f.code == "MC602"]
    assert mismatches and codes(report) == {"MC602"}
    f = mismatches[0]
    assert f.rule == "label-mask-mismatch" and str(f.severity) == "error"
    assert f.location.path == "probe_fixtures:buggy_random_crop"
    assert "labels are out of step with masks" in f.message
    seed = seed_of(f)
    # the seed alone reproduces it: the fixed crop under the same seed keeps other labels
    sample = make_sample(seed)
    random.seed(seed)
    np.random.seed(seed)
    *_, buggy = pf.buggy_random_crop(sample.image, sample.boxes, sample.masks, sample.labels)
    random.seed(seed)
    np.random.seed(seed)
    *_, fixed = pf.fixed_random_crop(sample.image, sample.boxes, sample.masks, sample.labels)
    assert buggy.tolist() != fixed.tolist()
    again = probe_transform(pf.buggy_random_crop, runs=1, seed=seed)
    assert [g.location.pointer for g in again.findings] == [f"/seed/{seed}"]


def test_fixed_crop_passes():
    report = probe_transform("probe_fixtures:fixed_random_crop", runs=RUNS)
    assert report.findings == [] and report.errors == []
    assert report.images == RUNS and report.annotations > 3 * RUNS
    assert report.inputs == [{"path": "probe_fixtures:fixed_random_crop",
                              "format": "transform probe (tuple)",
                              "probe": {"runs": RUNS, "seeds": [0, RUNS - 1], "samples": RUNS,
                                        "generated": True, "image_size": [480, 640],
                                        "instances": [4, 12], "image_layout": "hwc-uint8",
                                        "box_format": "xyxy", "containers": "numpy"}}]


def test_probe_restores_the_global_generators():
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    probe_transform(pf.fixed_random_crop, runs=3)
    assert (random.random(), np.random.random()) == expected


# --- each defect on its code -------------------------------------------------------------------

def test_crash_is_one_finding_with_the_first_seed_and_the_others():
    report = probe_transform(pf.raises_on_many, runs=RUNS)
    crashing = [s for s in range(RUNS) if len(make_sample(s).labels) > 4]
    assert len(report.findings) == 1
    f = report.findings[0]
    assert f.code == "MC601" and f.rule == "pipeline-crashed"
    assert seed_of(f) == crashing[0]
    assert "raised IndexError: list index out of range" in f.message
    assert f"also seeds {crashing[1]}, " in f.message


def test_wrong_structure_is_a_pipeline_crash():
    report = probe_transform(pf.returns_three, runs=2)
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC601", "/seed/0")]
    assert "returned a tuple of 3, expected (image, boxes, masks, labels)" in report.findings[0].message


def test_label_dtype_change():
    report = probe_transform(pf.float_labels, runs=4)
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC607", "/seed/0")]
    assert "went in as int64 and came out as float32" in report.findings[0].message
    assert "also seeds 1, 2, 3" in report.findings[0].message


def test_length_mismatch():
    report = probe_transform(pf.drops_a_label, runs=1, seed=5)
    n = len(make_sample(5).labels)
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC604", "/seed/5")]
    assert f"{n} boxes, {n - 1} labels, {n} masks" in report.findings[0].message


def test_empty_masks_kept_after_a_crop():
    report = probe_transform(pf.crop_keeping_empty_masks, runs=10)
    assert "MC605" in codes(report)
    assert "MC602" not in codes(report)  # the labels did stay with their masks
    f = next(f for f in report.findings if f.code == "MC605")
    assert "empty but kept with a box and label" in f.message


def test_image_transformed_without_its_masks():
    report = probe_transform(pf.flip_image_only, runs=10)
    assert "MC608" in codes(report)
    f = next(f for f in report.findings if f.code == "MC608")
    assert "lies on background" in f.message


def test_colours_destroyed_is_inconclusive_not_clean():
    report = probe_transform(pf.grayscale, runs=5)
    assert [(f.code, str(f.severity)) for f in report.findings] == [("MC619", "warning")]


def test_a_transform_that_never_acts_is_inconclusive():
    report = probe_transform(pf.identity, runs=5)
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC619", "/seed/0")]
    assert "came back unchanged in all 5 runs" in report.findings[0].message


def test_tensor_outputs_and_brightness_are_checked():
    report = probe_transform(pf.darker_float_tensors, runs=5)
    assert report.findings == []


def test_torchvision_style():
    assert probe_transform(pf.hflip_torchvision, style="torchvision", runs=5).findings == []
    bad = probe_transform(pf.hflip_torchvision_boxes_forgotten, style="torchvision", runs=5)
    assert codes(bad) == {"MC603"}
    assert "does not match mask" in bad.findings[0].message or "fits mask" in bad.findings[0].message


def test_albumentations_style_masks_not_filtered():
    report = probe_transform(pf.albumentations_crop_keeping_masks, style="albumentations", runs=10)
    # the unfiltered masks no longer pair with the labels and boxes beside them either
    assert {"MC604", "MC602", "MC605"} <= codes(report)
    assert "MC601" not in codes(report)


def test_albumentations_label_field():
    def compose(image, masks, bboxes, class_labels):
        out = pf.albumentations_crop_keeping_masks(image, masks, bboxes, class_labels)
        out["class_labels"] = out.pop("labels")
        return out

    report = probe_transform(compose, style="albumentations", runs=5, label_field="class_labels")
    assert "MC604" in codes(report) and "MC601" not in codes(report)
    missing = probe_transform(compose, style="albumentations", runs=1)
    assert "MC601" in codes(missing)


@pytest.mark.parametrize(("spec", "message"), [
    ("probe_fixtures", "expected module:attribute"),
    ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
    ("probe_fixtures:nope", "has no attribute 'nope'"),
    ("probe_fixtures:NOT_CALLABLE", "is not callable (type int)"),
])
def test_unloadable_target_is_an_error_not_a_finding(spec, message):
    report = probe_transform(spec)
    assert report.findings == [] and len(report.errors) == 1
    assert report.errors[0].path == spec and message in report.errors[0].message


def test_bad_arguments():
    with pytest.raises(ValueError, match="style 'keras': choose auto, tuple"):
        probe_transform(pf.fixed_random_crop, style="keras")


# --- the command line --------------------------------------------------------------------------

def test_cli_exit_1_and_json(capsys):
    code = main(["probe", "--transform", "probe_fixtures:buggy_random_crop", "--runs", "20",
                 "--format", "json"])
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    assert {f["code"] for f in doc["findings"]} == {"MC602"}
    assert doc["findings"][0]["location"]["pointer"].startswith("/seed/")


def test_cli_clean_with_a_printing_transform_keeps_stdout_for_the_report(capsys, tmp_path):
    code = main(["probe", "--transform", "probe_fixtures:noisy_fixed_crop", "--runs", "3",
                 "-f", "json"])
    out = capsys.readouterr()
    assert code == 0
    assert json.loads(out.out)["findings"] == []
    assert "cropping!" in out.err
    target = tmp_path / "report.txt"
    assert main(["probe", "--transform", "probe_fixtures:fixed_random_crop", "--runs", "3",
                 "-o", str(target)]) == 0
    assert "clean" in target.read_text()


@pytest.mark.parametrize("args", [
    ["probe", "--transform", "no_such_module_xyz:f"],
    ["probe", "--transform", "probe_fixtures:NOT_CALLABLE"],
    ["probe"],
    ["probe", "--transform", "probe_fixtures:fixed_random_crop", "--style", "keras"],
])
def test_cli_exit_2_one_line(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("maskcheck: ")
    assert "Traceback" not in err[0]


def test_explain_prints_the_probe_page(capsys):
    assert main(["explain", "MC602"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## MC602 label-mask-mismatch\n") and "### How to fix" in out
    assert "## MC603" not in out
