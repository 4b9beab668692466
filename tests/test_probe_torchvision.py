"""Real torchvision v2 pipelines under the probe, on tv_tensors (`--containers torch`).

torch is not a dependency of maskcheck; CI installs torch 2.14.1 and torchvision 0.29.1 (the
releases on its machines' disk) when there is room for them, and these tests skip otherwise."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (CI installs it when it has room)")
v2 = pytest.importorskip("torchvision.transforms.v2", reason="torchvision is not installed")

from maskcheck import probe_transform  # noqa: E402 - after the skips

RUNS = 12
CROP = (240, 320)


def codes(report):
    return {f.code for f in report.findings}


def sanitized():
    return v2.Compose([v2.RandomCrop(CROP), v2.RandomHorizontalFlip(p=1),
                       v2.SanitizeBoundingBoxes()])


def test_a_sanitized_crop_and_flip_probes_clean_on_tv_tensors():
    report = probe_transform(sanitized(), style="torchvision", runs=RUNS)
    assert report.findings == [] and report.errors == []
    probe = report.inputs[0]["probe"]
    assert probe["containers"] == "torch"  # a torchvision object: tensors without being asked
    assert probe["image_layout"] == "chw-uint8"


def test_without_sanitize_the_cropped_away_instances_keep_empty_masks():
    pipeline = v2.Compose([v2.RandomCrop(CROP), v2.RandomHorizontalFlip(p=1)])
    report = probe_transform(pipeline, style="torchvision", runs=RUNS)
    assert codes(report) == {"MC605"}
    assert "empty but kept with a box and label" in report.findings[0].message


def test_a_wrapper_that_rolls_the_labels_is_caught():
    inner = sanitized()

    def rolls(image, target):
        image, target = inner(image, target)
        target["labels"] = torch.roll(target["labels"], 1)
        return image, target

    report = probe_transform(rolls, style="torchvision", containers="torch", runs=RUNS)
    assert "MC602" in codes(report)
    assert re.search(r"output mask \d+ lies on input instance \d+ \(label \d+\) but carries "
                     r"label \d+", report.findings[0].message)


def test_auto_passes_tv_tensors_to_a_function_around_v2():
    inner = sanitized()

    def plain(image, target):
        return inner(image, target)

    report = probe_transform(plain, style="torchvision", runs=3)
    assert report.findings == [] and report.inputs[0]["probe"]["containers"] == "torch"
    # on plain arrays v2 finds nothing it can transform and refuses the sample
    forced = probe_transform(plain, style="torchvision", containers="numpy", runs=3)
    assert [f.code for f in forced.findings] == ["MC601"]
    assert "No image, video, mask, bounding box" in forced.findings[0].message


def test_v2_steps_that_pass_arrays_through_are_inconclusive_on_numpy():
    flip = v2.RandomHorizontalFlip(p=1)  # with no tv_tensor in the sample it acts on nothing

    def plain(image, boxes, masks, labels):
        return flip(image), boxes, masks, labels

    report = probe_transform(plain, containers="numpy", runs=3)
    assert [f.code for f in report.findings] == ["MC619"]
    assert "--containers torch" in report.findings[0].message


def test_torch_seeds_reproduce():
    """v2 draws from torch's generator: the probe seeds it per run."""
    inner = v2.Compose([v2.RandomCrop(CROP), v2.RandomHorizontalFlip(p=0.5)])
    report = probe_transform(inner, style="torchvision", runs=RUNS)
    finding = next(f for f in report.findings if f.code == "MC605")
    assert "not reproducible" not in finding.message
    seed = int(finding.location.pointer.rsplit("/", 1)[1])
    again = probe_transform(inner, style="torchvision", runs=1, seed=seed)
    assert [(f.code, f.message) for f in again.findings if f.code == "MC605"] == [
        ("MC605", re.sub(r" \[also .*\]$", "", finding.message))]


def test_float_images_and_box_formats_arrive_as_tv_tensors():
    seen = []

    def record(image, target):
        seen.append((type(image).__name__, image.dtype, tuple(image.shape),
                     type(target["boxes"]).__name__, str(target["boxes"].format),
                     type(target["masks"]).__name__, target["labels"].dtype))
        return image, target

    probe_transform(record, style="torchvision", containers="torch", runs=1,
                    image_layout="chw-float", box_format="xywh")
    assert seen == [("Image", torch.float32, (3, 480, 640), "BoundingBoxes",
                     "BoundingBoxFormat.XYWH", "Mask", torch.int64)]
