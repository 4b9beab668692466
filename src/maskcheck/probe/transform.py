"""The transform probe: feed known-answer samples through a transform under many seeds and
check that every output label and box still belongs to the mask beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskcheck.engine import sort_key
from maskcheck.model import InputError, Report
from maskcheck.probe import checks
from maskcheck.probe.adapters import (
    STYLES,
    OutputProblem,
    as_hwc,
    call_transform,
    image_hw,
    image_layout,
    mask_hint,
    read_output,
)
from maskcheck.probe.codes import CODES, TRANSFORM_CODES, Collector, Issue
from maskcheck.probe.inputs import PALETTE, Sample, classify, make_sample
from maskcheck.probe.target import SeededGlobals, TargetError, describe, load, spec_of

DEFAULT_RUNS = 50


@dataclass(slots=True)
class _Tally:
    """Across runs: how many output masks could be judged by colour at all."""

    completed: int = 0  # runs whose output could be read
    masks: int = 0  # non-empty masks of the image's size
    judged: int = 0  # of those, identified as an instance or as lying on background
    unchanged: int = 0  # runs that returned the input image as it was


def probe_transform(
    transform: str | Callable[..., Any],
    *,
    style: str = "tuple",
    runs: int = DEFAULT_RUNS,
    seed: int = 0,
    label_field: str = "labels",
) -> Report:
    """Probe a transform given as `module:attr` or as the callable itself.

    Styles: `tuple` calls `f(image, boxes, masks, labels)` with an (H, W, 3) uint8 image,
    (N, 4) float32 x1 y1 x2 y2 boxes, (N, H, W) uint8 masks and (N,) int64 labels, and
    expects the same four back; `torchvision` calls `f(image, target)` with a (3, H, W)
    image and a target dict (boxes, labels, masks) and expects (image, target) back;
    `albumentations` calls `f(image=, masks=, bboxes=, <label_field>=)` (pascal_voc boxes)
    and expects the dict back. Run k uses seed `seed + k` for the input
    (`make_sample(seed + k)`) and for the global random generators.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use {', '.join(STYLES)}")
    if runs < 1 or seed < 0:
        raise ValueError("runs must be at least 1 and seed at least 0")
    spec = transform if isinstance(transform, str) else spec_of(transform)
    report = Report(rules=[CODES[c] for c in TRANSFORM_CODES])
    try:
        fn = load(spec) if isinstance(transform, str) else transform
        if not callable(fn):
            raise TargetError(spec, f"is not callable (type {type(fn).__name__}): expected a transform")
    except TargetError as exc:
        report.errors.append(InputError(exc.spec, exc.message))
        return report
    # what the summary counts: every run is a new generated sample under its own seed
    report.inputs.append({"path": spec, "format": f"transform probe ({style})",
                          "probe": {"runs": runs, "seeds": [seed, seed + runs - 1],
                                    "samples": runs, "generated": True}})
    collector = Collector(spec)
    tally = _Tally()
    with SeededGlobals() as rng:
        for k in range(runs):
            s = seed + k
            sample = make_sample(s)
            report.images += 1
            report.annotations += len(sample.labels)
            rng.seed(s)
            for issue in _one_run(fn, style, label_field, sample, tally):
                collector.add(issue, s)
    for issue in _verdict(tally):
        collector.add(issue, seed)
    report.findings = sorted(collector.findings(), key=sort_key)
    return report


def _one_run(fn: Callable[..., Any], style: str, label_field: str, sample: Sample,
             tally: _Tally) -> list[Issue]:
    try:
        out = call_transform(fn, style, sample, label_field)
    except Exception as exc:
        return [Issue("MC601", f"the transform raised {describe(exc)}")]
    try:
        got = read_output(out, style, label_field)
        image = checks.read(got.image, "the image")
        masks_raw = checks.read(got.masks, "the masks")
        boxes_raw = checks.read(got.boxes, "the boxes")
        labels = checks.read(got.labels, "the labels")
    except OutputProblem as exc:
        return [Issue("MC601", f"the transform {exc}" if str(exc).startswith("returned")
                      else f"the transform's output: {exc}")]
    layout = image_layout(got.image, image, mask_hint(masks_raw), got.prefer)
    if layout is None:
        return [Issue("MC601", f"the transform returned an image of shape {tuple(image.shape)}, "
                               "expected H x W x C or C x H x W")]
    tally.completed += 1
    hw = image_hw(image, layout)
    if np.array_equal(as_hwc(image, layout), sample.image):
        tally.unchanged += 1
    issues: list[Issue] = []
    masks = checks.masks_array(masks_raw, hw)
    shape_issue = checks.mask_shape_issue(masks_raw, masks, hw)
    if shape_issue:
        issues.append(shape_issue)
    boxes = checks.boxes_array(boxes_raw)
    if boxes is None:
        issues.append(Issue("MC609", f"boxes have shape {tuple(boxes_raw.shape)}, expected (N, 4)"))
    labels_ok = labels.ndim == 1 or labels.size == 0
    if not labels_ok:
        issues.append(Issue("MC607", f"labels have shape {tuple(labels.shape)}, expected (N,)"))
    elif (hasattr(got.labels, "dtype") and style != "albumentations" and labels.size
          and labels.dtype != sample.labels.dtype):  # a list out of albumentations has none
        issues.append(Issue("MC607", f"labels went in as {sample.labels.dtype} and came out as "
                                     f"{labels.dtype}: losses that index classes by label "
                                     "need int64"))
    labels = labels.reshape(-1) if labels_ok else labels
    length = checks.length_issue(None if boxes is None else len(boxes),
                                 len(labels) if labels_ok else None,
                                 None if masks is None else len(masks))
    if length:
        issues.append(length)
    if masks is None or shape_issue is not None:
        return issues
    empty = checks.empty_issue(masks, labels if labels_ok else None)
    if empty:
        issues.append(empty)
    if boxes is not None:
        issue = checks.box_mask_issue(boxes, masks)
        if issue:
            issues.append(issue)
    issues += _identity(as_hwc(image, layout), masks, labels if labels_ok else None, sample, tally)
    return issues


def _identity(image: np.ndarray, masks: np.ndarray, labels: np.ndarray | None, sample: Sample,
              tally: _Tally) -> list[Issue]:
    """Which input instance each output mask lies on (by colour), and whether its label
    came along."""
    cls = classify(image)
    visible = bool((cls >= 0).any())
    instance_of = {int(c): i for i, c in enumerate(sample.colour)}
    wrong: list[str] = []
    off: list[tuple[int, int]] = []
    for j, mask in enumerate(masks):
        values = cls[mask]
        if not values.size:
            continue
        tally.masks += 1
        counts = np.bincount(values + 2, minlength=len(PALETTE) + 2)
        painted = int(counts[2:].sum())
        if 2 * painted >= values.size:
            k = int(counts[2:].argmax())
            if 2 * counts[2 + k] < painted or k not in instance_of:
                continue  # a blend of colours: cannot tell
            tally.judged += 1
            inst = instance_of[k]
            if labels is None or j >= len(labels):
                continue
            expected, seen = sample.labels[inst], labels[j]
            if seen != expected:
                owner = np.flatnonzero(sample.labels == seen)
                whose = f", the label of input instance {int(owner[0])}" if len(owner) else ""
                wrong.append(f"output mask {j} lies on input instance {inst} (label {expected}) "
                             f"but carries label {_fmt(seen)}{whose}")
        elif visible and 2 * counts[1] > values.size:
            tally.judged += 1
            off.append((j, round(100 * counts[1] / values.size)))
    issues = []
    if wrong:
        more = f" ({len(wrong)} of {len(masks)} masks)" if len(wrong) > 1 else ""
        issues.append(Issue("MC602", f"{wrong[0]}{more}: labels are out of step with masks"))
    if off:
        j, pct = off[0]
        more = f" ({len(off)} of {len(masks)} masks)" if len(off) > 1 else ""
        issues.append(Issue("MC608", f"output mask {j} lies on background: {pct}% of its pixels "
                                     f"show no instance colour{more}: the image and the masks "
                                     "were not transformed alike"))
    return issues


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def _verdict(tally: _Tally) -> list[Issue]:
    """A probe that could judge little must not read as clean."""
    if tally.completed > 1 and tally.unchanged == tally.completed:
        return [Issue("MC619", f"the image came back unchanged in all {tally.completed} runs: "
                               "the transform may not act on numpy arrays (torchvision v2 passes "
                               "them through untouched); wrap it to convert, or check --style")]
    if tally.completed and not tally.masks:
        return [Issue("MC619", f"no output of the {tally.completed} completed runs kept a "
                               "non-empty mask of the image's size: nothing could be checked")]
    if tally.masks and tally.judged * 2 < tally.masks:
        return [Issue("MC619", f"only {tally.judged} of {tally.masks} output masks could be told "
                               "apart by colour: the transform changes hues (hue jitter, "
                               "normalization, grayscale); probe its geometric part alone")]
    return []
