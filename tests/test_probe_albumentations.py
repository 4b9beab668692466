"""The transform probe on real albumentations 2 pipelines: a Compose with bbox_params filters
boxes and labels but never the `masks` list (albumentations#745, #836), the index-field fix
passes, the box format and label field are read off the Compose, and findings of a Compose
probed directly reproduce by seed because the probe reseeds its own generator."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

A = pytest.importorskip("albumentations", reason="albumentations is not installed (test extra)")

from maskcheck.cli import main  # noqa: E402
from maskcheck.model import Report  # noqa: E402
from maskcheck.probe import make_sample, probe_transform  # noqa: E402

RUNS = 20
HINT = ("albumentations drops the boxes and labels that leave the image but never the masks: "
        "pass instance indices as a second label field and keep the masks by them")
NOT_REPRODUCIBLE = "not reproducible"
ALSO = re.compile(r" \[also seeds? [^\]]*\]")

def bbox_params(fmt: str = "pascal_voc", fields: tuple[str, ...] = ("labels",),
                min_area: float = 0.0) -> Any:
    return A.BboxParams(format=fmt, label_fields=list(fields), min_area=min_area)


def crop_flip(fields: tuple[str, ...] = ("labels",), seed: int | None = None,
              min_area: float = 0.0) -> Any:
    """Test 1's pipeline: a quarter-size random crop then a certain flip."""
    return A.Compose([A.RandomCrop(height=240, width=320), A.HorizontalFlip(p=1)],
                     bbox_params=bbox_params(fields=fields, min_area=min_area), seed=seed)


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def seed_of(pointer: str | None) -> int:
    match = re.fullmatch(r"/seed/(\d+)", pointer or "")
    assert match, pointer
    return int(match.group(1))


def seeds_of(finding: Any) -> set[int]:
    """The seed a finding names and the seeds in its "[also seeds ...]" suffix."""
    also = ALSO.search(finding.message)
    assert also is None or "more" not in also.group(), finding.message
    return {seed_of(finding.location.pointer),
            *(int(x) for x in re.findall(r"\d+", also.group() if also else ""))}


def check_located(report: Report) -> None:
    """Every finding points at a seed and its message opens with that seed."""
    for f in report.findings:
        assert f.message.startswith(f"seed {seed_of(f.location.pointer)}: "), f.message


class IndexedCompose:
    """The documented fix: instance indices ride along as a second label field, and the masks
    are kept by them. `set_random_seed` forwards to the Compose so the probe can reseed it."""

    def __init__(self, seed: int | None = 7, min_area: float = 0.0) -> None:
        self.compose = crop_flip(("labels", "indices"), seed=seed, min_area=min_area)

    def set_random_seed(self, seed: int) -> None:
        self.compose.set_random_seed(seed)

    def __call__(self, image, masks, bboxes, labels):
        out = self.compose(image=image, masks=masks, bboxes=bboxes, labels=labels,
                           indices=list(range(len(masks))))
        out["masks"] = [out["masks"][int(i)] for i in out["indices"]]
        return out


# --- 1. a bare Compose: masks are not filtered ------------------------------------------------

def test_compose_keeps_every_mask_mc604_with_hint():
    report = probe_transform(crop_flip(), runs=RUNS)
    assert report.errors == []
    assert report.inputs[0]["format"] == "transform probe (albumentations)"
    assert "MC601" not in codes(report)
    # the masks left behind pair with the wrong labels and boxes, and some are empty
    assert codes(report) == {"MC602", "MC603", "MC604", "MC605"}
    check_located(report)
    lengths = [f for f in report.findings if f.code == "MC604"]
    # a 240x320 crop of a 480x640 image drops instances in every one of these seeds
    assert set().union(*map(seeds_of, lengths)) == set(range(RUNS))
    for f in lengths:
        n = len(make_sample(seed_of(f.location.pointer)).labels)
        head = re.match(r"seed \d+: (\d+) box(?:es)?, (\d+) labels?, (\d+) masks: every instance "
                        r"needs one box, one label and one mask; ", f.message)
        assert head, f.message
        boxes, labels, masks = map(int, head.groups())
        # boxes and labels were filtered together; all n masks came back
        assert boxes == labels < masks == n
        assert ALSO.sub("", f.message).endswith(HINT)


# --- 2. the fix: indices as a second label field ----------------------------------------------

def test_indexed_compose_is_clean():
    report = probe_transform(IndexedCompose(), style="albumentations", runs=RUNS)
    assert report.findings == [] and report.errors == []
    assert report.inputs[0]["probe"]["seeds"] == [0, RUNS - 1]


def test_indexed_compose_keeps_a_sliver_box_with_an_empty_mask():
    """An honest MC605 of the fix itself: at seed 31 the crop's edge is the exclusive right edge
    of instance 4's box, float32 rounding leaves a 1.5e-05 px wide box, and BboxParams'
    default min_area=0 keeps it beside its empty mask. min_area=1 drops such slivers."""
    report = probe_transform(IndexedCompose(), style="albumentations", seed=31, runs=1)
    assert [f.code for f in report.findings] == ["MC605"]
    assert re.fullmatch(r"seed 31: mask 3 \(label 13\) of 4 is empty but kept with a box and "
                        r"label: drop instances whose mask left the image \(after a crop, say\)",
                        report.findings[0].message), report.findings[0].message
    # seeds 25..54 hold two such slivers (31 and 53) without min_area
    strict = probe_transform(IndexedCompose(min_area=1), style="albumentations", seed=25, runs=30)
    assert strict.findings == [] and strict.errors == []


def test_indexed_compose_function_is_clean():
    """The same fix as a plain function: its Compose is never reseeded, which does not matter
    when no finding depends on the crop (min_area=1: no sliver boxes whatever it draws).
    Label fields come back as floats, so the indices need int() before they index the list."""
    compose = crop_flip(("labels", "indices"), seed=5, min_area=1)

    def fixed(image, masks, bboxes, labels, as_int=True):
        out = compose(image=image, masks=masks, bboxes=bboxes, labels=labels,
                      indices=list(range(len(masks))))
        out["masks"] = [out["masks"][int(i) if as_int else i] for i in out["indices"]]
        return out

    report = probe_transform(fixed, style="albumentations", runs=RUNS)
    assert report.findings == [] and report.errors == []
    raw = probe_transform(fixed, style="albumentations", runs=3, call_kwargs={"as_int": False})
    assert [(f.code, f.message) for f in raw.findings] == [
        ("MC601", "seed 0: the transform raised TypeError: list indices must be integers or "
                  "slices, not float [also seeds 1, 2]")]


# --- 3. the fix, then labels reordered --------------------------------------------------------

class RotatedLabels(IndexedCompose):
    def __call__(self, image, masks, bboxes, labels):
        out = super().__call__(image, masks, bboxes, labels)
        if len(out["labels"]) >= 2:
            out["labels"] = [*out["labels"][1:], out["labels"][0]]
        return out


def test_reordered_labels_mc602_names_mask_instance_and_label():
    report = probe_transform(RotatedLabels(), style="albumentations", runs=RUNS)
    assert report.errors == []
    assert codes(report) == {"MC602"}  # boxes and masks still agree: only labels moved
    check_located(report)
    pattern = re.compile(r"seed (\d+): output mask 0 lies on input instance (\d+) \(label (\d+)\) "
                         r"but carries label (\d+), the label of input instance (\d+) "
                         r"\((\d+) of (\d+) masks\): labels are out of step with masks")
    for f in report.findings:
        match = pattern.fullmatch(ALSO.sub("", f.message))
        assert match, f.message  # labels print as integers although albumentations gives floats
        s, inst, label, seen, owner, wrong, total = map(int, match.groups())
        sample = make_sample(s)
        assert sample.labels[inst] == label and sample.labels[owner] == seen
        assert inst != owner and wrong == total  # a rotation mislabels every mask
    # the wrapper forwards set_random_seed, so its findings repeat and seed S alone shows them
    assert not any(NOT_REPRODUCIBLE in f.message for f in report.findings)
    first = report.findings[0]
    s = seed_of(first.location.pointer)
    again = probe_transform(RotatedLabels(), style="albumentations", seed=s, runs=1)
    assert [(f.code, f.location.pointer, f.message) for f in again.findings] == [
        ("MC602", f"/seed/{s}", ALSO.sub("", first.message))]


# --- 4. a crop that keeps every box -----------------------------------------------------------

def test_bbox_safe_crop_is_clean():
    compose = A.Compose([A.BBoxSafeRandomCrop(), A.HorizontalFlip(p=1)], bbox_params=bbox_params())
    report = probe_transform(compose, runs=RUNS)
    assert report.findings == [] and report.errors == []
    assert report.inputs[0]["probe"]["box_format"] == "xyxy"


# --- 5. the box format and label field read off the Compose ----------------------------------

@pytest.mark.parametrize(("fmt", "seen"), [("coco", "xywh"), ("yolo", "cxcywh normalized"),
                                           ("pascal_voc", "xyxy")])
def test_box_format_read_off_compose(fmt, seen):
    compose = A.Compose([A.HorizontalFlip(p=1), A.VerticalFlip(p=1)],
                        bbox_params=bbox_params(fmt, ("class_labels",)))
    report = probe_transform(compose, runs=10)
    # a wrong format would crash albumentations' checks or misplace the boxes (MC601/MC603), and
    # the label field `class_labels` must be read off too or the output would lack it (MC601)
    assert report.findings == [] and report.errors == []
    assert report.inputs[0]["probe"]["box_format"] == seen


def test_explicit_format_naming_the_same_convention_is_clean():
    compose = A.Compose([A.HorizontalFlip(p=1), A.VerticalFlip(p=1)], bbox_params=bbox_params("coco"))
    report = probe_transform(compose, runs=5, box_format="xywh")
    assert report.findings == [] and report.errors == []


def test_wrong_box_format_for_coco_compose_is_not_clean():
    compose = A.Compose([A.HorizontalFlip(p=1), A.VerticalFlip(p=1)], bbox_params=bbox_params("coco"))
    report = probe_transform(compose, runs=10, box_format="pascal_voc")
    assert report.inputs[0]["probe"]["box_format"] == "xyxy"
    # x1 y1 x2 y2 read as x y w h reaches past the image: albumentations' own check raises in
    # every run (its ValueError names the normalized box), so it is MC601, not MC603
    assert codes(report) == {"MC601"}
    for f in report.findings:
        assert re.fullmatch(r"seed \d+: the transform raised ValueError: Expected [xy]_max for bbox "
                            r"\[[^\]]*\] to be in the range \[0\.0, 1\.0\], got [\d.]+\.?"
                            r"( \[also seeds? [^\]]*\])?", f.message), f.message
    assert set().union(*map(seeds_of, report.findings)) == set(range(10))


# --- 6. a bare transform through the CLI ------------------------------------------------------

def run_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    rc = main(["probe", *args])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out.strip() else None), err


def test_bare_transform_is_wrapped_api():
    report = probe_transform(A.HorizontalFlip(p=1), runs=10)
    assert report.findings == [] and report.errors == []


def test_cli_bare_flip_is_clean(capsys):
    rc, report, err = run_cli(capsys, "--transform", "albumentations:HorizontalFlip",
                              "--init-args", "p=1", "-f", "json")
    assert report is not None and report["findings"] == [], report
    assert rc == 0 and err == ""


def test_cli_bare_random_crop_mc604(capsys):
    rc, report, _ = run_cli(capsys, "--transform", "albumentations:RandomCrop", "--init-args",
                            "height=240", "--init-args", "width=320", "-f", "json")
    assert rc == 1 and report is not None
    found = {f["code"] for f in report["findings"]}
    assert "MC604" in found and "MC601" not in found
    assert all(ALSO.sub("", f["message"]).endswith(HINT)
               for f in report["findings"] if f["code"] == "MC604")


def test_cli_crop_larger_than_image_mc601(capsys):
    # albumentations raises before any box is touched, so this holds wrapped or not
    rc, report, err = run_cli(capsys, "--transform", "albumentations:RandomCrop", "--init-args",
                              "height=600", "--init-args", "width=800", "--runs", "10", "-f", "json")
    assert rc == 1 and err == "" and report is not None
    assert [(f["code"], f["location"]["pointer"], f["message"]) for f in report["findings"]] == [
        ("MC601", "/seed/0", "seed 0: the transform raised CropSizeError: Crop size (height, width) "
                             "exceeds image dimensions (height, width): (600, 800) vs (480, 640) "
                             "[also seeds 1, 2, 3, 4, 5 and 4 more]")]


def test_cli_init_args_missing_required_exit_2(capsys):
    # only an unknown argument: RandomCrop's pydantic schema rejects the missing height and
    # width, constructing raises, and that is a target error (exit 2, one stderr line)
    rc, report, err = run_cli(capsys, "--transform", "albumentations:RandomCrop",
                              "--init-args", "nonsense_arg=3", "-f", "json")
    assert rc == 2
    assert err.splitlines() == ["maskcheck: albumentations:RandomCrop: calling the class failed: "
                                "ValueError: 2 validation errors for InitSchema"]
    assert report is not None and report["findings"] == []


def test_cli_unknown_init_arg_only_warns(capsys, monkeypatch):
    # albumentations 2 does not reject an unknown argument: it warns and builds the transform,
    # so the probe runs (no exit 2). The CLI keeps warnings off stderr unless MASKCHECK_DEBUG.
    args = ("--transform", "albumentations:HorizontalFlip", "--init-args", "p=1",
            "--init-args", "nonsense_arg=3", "--runs", "5", "-f", "json")
    rc, report, err = run_cli(capsys, *args)
    assert rc != 2 and err == "" and report is not None
    assert report["inputs"][0]["probe"]["runs"] == 5 and not report.get("errors")
    monkeypatch.setenv("MASKCHECK_DEBUG", "1")
    _, _, err = run_cli(capsys, *args)
    # (albumentations 2.0.8 names the base class here: "for transform BasicTransform")
    assert any(line.startswith("maskcheck: warning: UserWarning: Argument(s) 'nonsense_arg' are "
                               "not valid for transform ") for line in err.splitlines()), err


def test_cli_unknown_init_arg_flip_is_clean(capsys):
    rc, report, _ = run_cli(capsys, "--transform", "albumentations:HorizontalFlip",
                            "--init-args", "p=1", "--init-args", "nonsense_arg=3",
                            "--runs", "5", "-f", "json")
    assert rc == 0 and report is not None and report["findings"] == []


# --- 7. seeds reproduce for a Compose probed directly -----------------------------------------

def test_compose_findings_reproduce_by_seed():
    compose = crop_flip()
    report = probe_transform(compose, runs=RUNS)
    assert not any(NOT_REPRODUCIBLE in f.message for f in report.findings)
    lengths = [f for f in report.findings if f.code == "MC604"]
    # prefer one that also lists later seeds, so the suffix is stripped for real
    chosen = next((f for f in lengths if ALSO.search(f.message)), lengths[0])
    s = seed_of(chosen.location.pointer)
    again = probe_transform(compose, seed=s, runs=1)
    assert again.inputs[0]["probe"]["seeds"] == [s, s]
    assert not any(NOT_REPRODUCIBLE in f.message for f in again.findings)
    by_code = {f.code: f for f in again.findings}
    assert by_code["MC604"].location.pointer == f"/seed/{s}"
    assert by_code["MC604"].message == ALSO.sub("", chosen.message)
    # every other finding first seen at seed s repeats word for word too
    for f in report.findings:
        if f.location.pointer == f"/seed/{s}":
            assert by_code[f.code].message == ALSO.sub("", f.message)


def test_compose_inside_function_is_not_reproducible():
    """A Compose called from a function draws from its own generator, which the probe cannot
    reach: rerunning a seed gives another crop. Seeded once at construction the whole probe is
    still deterministic, so this holds run after run."""
    compose = crop_flip(seed=3)

    def keeps_masks(image, masks, bboxes, labels):
        return compose(image=image, masks=masks, bboxes=bboxes, labels=labels)

    report = probe_transform(keeps_masks, style="albumentations", runs=RUNS)
    assert "MC604" in codes(report) and "MC601" not in codes(report)
    flagged = [f for f in report.findings if NOT_REPRODUCIBLE in f.message]
    assert flagged
    for f in flagged:
        s = seed_of(f.location.pointer)
        assert f.message.endswith(f"({NOT_REPRODUCIBLE}: seed {s} run again did not show it; the "
                                  "pipeline draws from a generator the probe cannot seed, such as "
                                  "a Compose of albumentations 2 inside a function: probe the "
                                  "Compose itself)")


def test_unseeded_compose_inside_function_notes_name_their_seed():
    """Truly unseeded: which findings repeat is chance, so only their form is asserted."""
    compose = crop_flip()

    def keeps_masks(image, masks, bboxes, labels):
        return compose(image=image, masks=masks, bboxes=bboxes, labels=labels)

    report = probe_transform(keeps_masks, style="albumentations", runs=10)
    assert report.errors == [] and codes(report) <= {"MC602", "MC603", "MC604", "MC605"}
    for f in report.findings:
        s = seed_of(f.location.pointer)
        if NOT_REPRODUCIBLE in f.message:
            assert f"({NOT_REPRODUCIBLE}: seed {s} run again did not show it;" in f.message
