"""The transform probe: feed known-answer samples through a transform under many seeds and
check that every output label and box still belongs to the mask beside it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck.engine import sort_key
from maskcheck.errors import BadOption
from maskcheck.model import InputError, Report
from maskcheck.probe import boxes as box_formats
from maskcheck.probe import checks, frameworks, tensors
from maskcheck.probe.adapters import (
    OutputProblem,
    as_hwc,
    call_transform,
    image_hw,
    image_layout,
    mask_hint,
    read_output,
)
from maskcheck.probe.codes import CODES, TRANSFORM_CODES, Collector, Issue
from maskcheck.probe.failures import FailureWriter
from maskcheck.probe.inputs import (
    DEFAULT_INSTANCES,
    DEFAULT_SIZE,
    PALETTE,
    Sample,
    check_size,
    classify,
    make_sample,
)
from maskcheck.probe.options import (
    CONTAINERS,
    STYLES,
    CallSpec,
    check_choice,
    default_layout,
    parse_instances,
    parse_keys,
    parse_layout,
    parse_size,
)
from maskcheck.probe.result import RunResult
from maskcheck.probe.target import SeededGlobals, TargetError, construct, describe, load, spec_of

DEFAULT_RUNS = 50
_RECHECKS = 10  # findings whose first seed is run a second time to confirm it reproduces


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
    style: str = "auto",
    runs: int = DEFAULT_RUNS,
    seed: int = 0,
    label_field: str | None = None,
    call_args: Sequence[Any] = (),
    call_kwargs: Mapping[str, Any] | None = None,
    init_args: Sequence[Any] = (),
    init_kwargs: Mapping[str, Any] | None = None,
    image_size: str | Sequence[int] = DEFAULT_SIZE,
    instances: str | int | Sequence[int] = DEFAULT_INSTANCES,
    image_layout: str | None = None,
    box_format: str | None = None,
    normalized: bool = False,
    keys: str | Sequence[str] | Mapping[str, str] | None = None,
    containers: str = "auto",
    save_failures: str | Path | None = None,
    pictures: int = 0,
) -> Report:
    """Probe a transform given as `module:attr` or as the callable itself.

    A class, or a factory given `init_args`/`init_kwargs`, is constructed first. Each call
    passes the sample, then `call_args`/`call_kwargs` (for example `crop_size=512`).

    Styles: `tuple` calls `f(image, boxes, masks, labels)` and expects the same four back;
    `torchvision` calls `f(image, target)` with a target dict (boxes, labels, masks) and
    expects (image, target) back; `albumentations` calls `f(image=, masks=, bboxes=,
    <label_field>=)` and expects the dict back (a bare albumentations transform is wrapped in
    a Compose); `dict` calls `f(record)` with the four parts under `keys` (`image=img,
    boxes=gt_bboxes`, dotted for nested dicts) and expects such a dict back. `auto` is
    albumentations for albumentations objects, tuple otherwise.

    Inputs: an `image_size` (H, W) uint8 H x W x 3 image (`image_layout` `chw-float` and the
    like on request) with `instances` (MIN, MAX) rectangles, boxes in `box_format` (xyxy,
    xywh, cxcywh or albumentations' pascal_voc, coco, yolo; `normalized` divides by the
    size), masks (N, H, W) uint8 and labels (N,) int64, as numpy arrays, Python lists
    (`containers="list"`) or torch tensors (`"torch"`: tv_tensors with torchvision); `auto`
    picks lists when arrays raise an ndarray error (`labels.pop`) and, for the torchvision
    style, tensors when arrays fail or come back untouched and tensors do not.

    Run k uses seed `seed + k` for the input (`make_sample(seed + k, image_size,
    instances)`), for `random`, numpy's global generator and torch, and for the pipeline's
    own `set_random_seed` when it has one, so `seed=s, runs=1` repeats run s. With
    `save_failures`, a PNG per failing seed shows the input beside the output; the first
    `pictures` of them are also kept in `report.pictures` (for the HTML report).
    """
    check_choice(style, STYLES, "style")
    check_choice(containers, CONTAINERS, "containers")
    if runs < 1 or seed < 0:
        raise BadOption("runs must be at least 1 and seed at least 0")
    size, span = parse_size(image_size), parse_instances(instances)
    check_size(size, span)
    if image_layout is not None:
        parse_layout(image_layout)
    if box_format is not None:
        box_formats.resolve(box_format, normalized)
    if keys is not None and style != "dict":
        raise BadOption("keys apply to style 'dict' only")
    asked = _Asked(style, label_field, box_format, normalized, image_layout, containers,
                   parse_keys(keys), tuple(call_args), dict(call_kwargs or {}))
    out_dir = _failure_dir(save_failures)
    spec = transform if isinstance(transform, str) else spec_of(transform)
    report = Report(rules=[CODES[c] for c in TRANSFORM_CODES])
    try:
        obj = load(spec) if isinstance(transform, str) else transform
        fn, cspec = _pipeline(spec, construct(spec, obj, init_args, dict(init_kwargs or {})),
                              asked)
    except TargetError as exc:
        report.errors.append(InputError(exc.spec, exc.message))
        return report
    sample_of: Callable[[int], Sample] = lambda s: make_sample(s, size, span)  # noqa: E731
    collector = Collector(spec)
    tally = _Tally()
    writer = FailureWriter(out_dir, pictures) if out_dir is not None or pictures else None
    with SeededGlobals(fn) as rng:
        if containers == "auto" and cspec.style != "albumentations":
            cspec = _choose_containers(fn, cspec, sample_of(seed), rng)
        for s in range(seed, seed + runs):
            sample = sample_of(s)
            report.images += 1
            report.annotations += len(sample.labels)
            rng.seed(s)
            result = _one_run(fn, cspec, sample, tally)
            for issue in result.issues:
                collector.add(issue, s)
            if writer is not None and result.issues:
                writer.write(sample, result, spec)
        _recheck(collector, lambda s: _rerun(fn, cspec, sample_of(s), rng, s))
    for issue in _verdict(tally):
        collector.add(issue, seed)
    report.inputs.append({
        "path": spec, "format": f"transform probe ({cspec.style})",
        "probe": {"runs": runs, "seeds": [seed, seed + runs - 1], "samples": runs,
                  "generated": True, "image_size": list(size), "instances": list(span),
                  **_described(cspec),
                  **({"saved": writer.saved, "folder": str(out_dir)} if out_dir else {})}})
    if writer is not None and writer.error is not None:
        report.errors.append(InputError(str(out_dir), writer.error))
    report.pictures = writer.kept if writer is not None else []
    report.findings = sorted(collector.findings(), key=sort_key)
    return report


@dataclass(frozen=True, slots=True)
class _Asked:
    """The calling options as given, before the pipeline fills in what was left open."""

    style: str
    label_field: str | None
    box_format: str | None
    normalized: bool
    image_layout: str | None
    containers: str
    keys: Mapping[str, str]
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]


def _pipeline(spec: str, fn: Any, asked: _Asked) -> tuple[Any, CallSpec]:
    """The callable to probe and how to call it: `auto` choices resolved from the object
    (an albumentations Compose's format and label field; tv_tensors for torchvision's)."""
    style = asked.style
    if style == "auto":
        style = "albumentations" if frameworks.is_albumentations(fn) else "tuple"
    field_name = asked.label_field or (
        frameworks.label_field(fn) if style == "albumentations" else None) or "labels"
    box_format = asked.box_format
    if box_format is None and style == "albumentations":
        box_format = frameworks.box_format(fn) or "pascal_voc"
    layout, norm = box_formats.resolve(box_format or "xyxy", asked.normalized)
    if style == "albumentations":
        fn = frameworks.composed(spec, fn, box_formats.albumentations_name(layout, norm),
                                 field_name)
    containers = asked.containers
    if containers == "torch":
        tensors.require()
    elif containers == "auto" and style == "torchvision" and tensors.is_torchvision(fn):
        containers = "torch"  # torchvision's v2 transforms pass numpy arrays through untouched
    axes, dtype = parse_layout(asked.image_layout or default_layout(style))
    return fn, CallSpec(style=style, label_field=field_name, keys=asked.keys, box_layout=layout,
                        normalized=norm, layout=axes, dtype=dtype,
                        containers="numpy" if containers == "auto" else containers,
                        args=asked.args, kwargs=asked.kwargs)


def _described(cspec: CallSpec) -> dict[str, str]:
    """How the inputs were passed, for the report's inputs."""
    return {"image_layout": f"{cspec.layout}-{'float' if cspec.dtype == 'float32' else 'uint8'}",
            "box_format": cspec.box_layout + (" normalized" if cspec.normalized else ""),
            "containers": cspec.containers}


def _failure_dir(path: str | Path | None) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise BadOption(f"save failures: {out} exists and is not a folder")
    return out


def _choose_containers(fn: Callable[..., Any], cspec: CallSpec, sample: Sample,
                       rng: SeededGlobals) -> CallSpec:
    """What `containers="auto"` passes, decided on the first sample: numpy arrays when the
    transform acts on them; Python lists when it fails on an array (the blog's crop
    deep-copies `labels` and calls `.pop` on it); for the torchvision style, torch tensors
    (tv_tensors) when arrays come back untouched or raise a TypeError and tensors do not
    (torchvision's v2 transforms)."""
    first, error = _trial(fn, cspec, sample, rng)
    if error is None and first == "changed":
        return cspec
    # v2 on arrays: passed through untouched, or "No image, video, mask, bounding box ..."
    v2_like = error is None or isinstance(error, TypeError)
    if cspec.style == "torchvision" and v2_like and tensors.available():
        as_torch = dataclasses.replace(cspec, containers="torch")
        if _trial(fn, as_torch, sample, rng) == ("changed", None):
            return as_torch
    if isinstance(error, AttributeError | TypeError) and "ndarray" in str(error):
        as_lists = dataclasses.replace(cspec, containers="list")
        again = _trial(fn, as_lists, sample, rng)[1]
        if again is None or type(again) is not type(error) or str(again) != str(error):
            return as_lists  # past the array's error: what happens next is the runs' business
    return cspec  # its own failure, if any: the runs report it


def _trial(fn: Callable[..., Any], cspec: CallSpec, sample: Sample,
           rng: SeededGlobals) -> tuple[str, Exception | None]:
    """("changed" | "unchanged", the exception raised or None) of one call."""
    rng.seed(sample.seed)
    try:
        got = read_output(call_transform(fn, cspec, sample), cspec)
        image = checks.read(got.image, "the image")
        layout = image_layout(got.image, image, mask_hint(checks.read(got.masks, "the masks")),
                              got.prefer)
    except OutputProblem:
        return "changed", None  # it ran; what it returned is the runs' business
    except Exception as exc:
        return "unchanged", exc
    if layout is None:
        return "changed", None
    return ("unchanged" if _unchanged(as_hwc(image, layout), sample, cspec) else "changed"), None


def _unchanged(hwc: np.ndarray, sample: Sample, cspec: CallSpec) -> bool:
    """The image came back as it went in (a float image in 0..1 compared at 0..255)."""
    scale = 255 if cspec.dtype == "float32" else 1
    return hwc.shape == sample.image.shape and np.issubdtype(hwc.dtype, np.number) and bool(
        np.allclose(hwc.astype(np.float32) * scale, sample.image))


def _rerun(fn: Callable[..., Any], cspec: CallSpec, sample: Sample, rng: SeededGlobals,
           seed: int) -> list[Issue]:
    rng.seed(seed)
    return _one_run(fn, cspec, sample, _Tally()).issues


def _recheck(collector: Collector, rerun: Callable[[int], list[Issue]]) -> None:
    """Run the first seed of each finding again: one that does not repeat says so, because
    `--seed S --runs 1` would not show it (the pipeline draws from a generator the probe
    cannot seed)."""
    seeds = collector.first_seeds()[:_RECHECKS]
    for s in dict.fromkeys(seeds):
        seen = {(i.code, i.detail) for i in rerun(s)}
        collector.mark_unrepeated(s, seen)


def _one_run(fn: Callable[..., Any], cspec: CallSpec, sample: Sample, tally: _Tally) -> RunResult:
    result = RunResult()
    issues = result.issues
    try:
        out = call_transform(fn, cspec, sample)
    except Exception as exc:
        issues.append(Issue("MC601", f"the transform raised {describe(exc)}"))
        return result
    try:
        got = read_output(out, cspec)
        image = checks.read(got.image, "the image")
        masks_raw = checks.read(got.masks, "the masks")
        boxes_raw = checks.read(got.boxes, "the boxes")
        labels = checks.read(got.labels, "the labels")
    except OutputProblem as exc:
        issues.append(Issue("MC601", f"the transform {exc}" if str(exc).startswith("returned")
                            else f"the transform's output: {exc}"))
        return result
    layout = image_layout(got.image, image, mask_hint(masks_raw), got.prefer)
    if layout is None:
        issues.append(Issue("MC601", f"the transform returned an image of shape "
                                     f"{tuple(image.shape)}, expected H x W x C or C x H x W"))
        return result
    tally.completed += 1
    hw = image_hw(image, layout)
    hwc = as_hwc(image, layout)
    result.image = hwc
    if _unchanged(hwc, sample, cspec):
        tally.unchanged += 1
    masks = checks.masks_array(masks_raw, hw)
    shape_issue = checks.mask_shape_issue(masks_raw, masks, hw)
    if shape_issue:
        issues.append(shape_issue)
    boxes = checks.boxes_array(boxes_raw)
    if boxes is None:
        issues.append(Issue("MC609", f"boxes have shape {tuple(boxes_raw.shape)}, expected (N, 4)"))
    else:
        boxes = box_formats.decode(boxes, cspec.box_layout, cspec.normalized, hw)
        result.boxes = boxes
    labels_ok = labels.ndim == 1 or labels.size == 0
    if not labels_ok:
        issues.append(Issue("MC607", f"labels have shape {tuple(labels.shape)}, expected (N,)"))
    elif (hasattr(got.labels, "dtype") and cspec.style != "albumentations" and labels.size
          and cspec.containers != "list" and labels.dtype != sample.labels.dtype):
        # a list out of albumentations has none; lists in have no dtype to keep
        issues.append(Issue("MC607", f"labels went in as {sample.labels.dtype} and came out as "
                                     f"{labels.dtype}: losses that index classes by label "
                                     "need int64"))
    elif labels.size and not (np.issubdtype(labels.dtype, np.integer)
                              or np.issubdtype(labels.dtype, np.floating)):
        issues.append(Issue("MC607", f"labels came out as {labels.dtype}, expected integers"))
    labels = labels.reshape(-1) if labels_ok else labels
    result.labels = labels if labels_ok else None
    length = checks.length_issue(None if boxes is None else len(boxes),
                                 len(labels) if labels_ok else None,
                                 None if masks is None else len(masks))
    if length:
        if (cspec.style == "albumentations" and masks is not None and boxes is not None
                and len(masks) == len(sample.masks) > len(boxes)):
            length.detail += ("; albumentations drops the boxes and labels that leave the image "
                              "but never the masks: pass instance indices as a second label "
                              "field and keep the masks by them")
        issues.append(length)
    if masks is None or shape_issue is not None:
        return result
    result.masks = masks
    empty = checks.empty_issue(masks, labels if labels_ok else None)
    if empty:
        issues.append(empty)
    if boxes is not None:
        issue = checks.box_mask_issue(boxes, masks)
        if issue:
            issues.append(issue)
    issues += _identity(hwc, masks, labels if labels_ok else None, sample, tally, result)
    return result


def _identity(image: np.ndarray, masks: np.ndarray, labels: np.ndarray | None, sample: Sample,
              tally: _Tally, result: RunResult) -> list[Issue]:
    """Which input instance each output mask lies on (by colour), and whether its label
    came along."""
    cls = classify(image)
    visible = bool((cls >= 0).any())
    instance_of = {int(c): i for i, c in enumerate(sample.colour)}
    wrong: list[str] = []
    off: list[tuple[int, int]] = []
    for j, mask in enumerate(masks):
        result.owner.append(-1)
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
            result.owner[j] = inst
            if labels is None or j >= len(labels):
                continue
            expected, seen = sample.labels[inst], labels[j]
            if seen != expected:
                result.wrong.add(j)
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
                               "them through untouched: pass --containers torch), or check "
                               "--style")]
    if tally.completed and not tally.masks:
        return [Issue("MC619", f"no output of the {tally.completed} completed runs kept a "
                               "non-empty mask of the image's size: nothing could be checked")]
    if tally.masks and tally.judged * 2 < tally.masks:
        return [Issue("MC619", f"only {tally.judged} of {tally.masks} output masks could be told "
                               "apart by colour: the transform changes hues (hue jitter, "
                               "normalization, grayscale); probe its geometric part alone")]
    return []
