"""The dataset probe: fetch a sample of a Dataset's items under several seeds and check each
(image, target) against the torchvision detection/segmentation contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck.engine import sort_key
from maskcheck.model import InputError, Report
from maskcheck.probe import checks, histogram
from maskcheck.probe.adapters import OutputProblem, dataset_item, image_hw, image_layout, mask_hint
from maskcheck.probe.codes import CODES, DATASET_CODES, Collector, Issue
from maskcheck.probe.target import (
    SeededGlobals,
    TargetError,
    call,
    describe,
    is_dataset,
    load,
    spec_of,
)

TARGETS = ("torchvision",)
DEFAULT_SAMPLES, DEFAULT_REPEATS = 16, 3
OUTSIDE_SLACK = 0.01  # pixels: float rounding at the image border is not a defect
_KEYS = ("boxes", "labels", "masks")


def probe_dataset(
    dataset: Any,
    *,
    call_args: Sequence[Any] = (),
    call_kwargs: Mapping[str, Any] | None = None,
    target: str = "torchvision",
    num_classes: int | None = None,
    samples: int = DEFAULT_SAMPLES,
    repeats: int = DEFAULT_REPEATS,
    seed: int = 0,
    annotations: str | Path | None = None,
) -> Report:
    """Probe a dataset given as `module:attr`, as a dataset object, or as a factory (a class
    or function, called with `call_args`/`call_kwargs`).

    `samples` items are drawn (with `seed`) and each is fetched `repeats` times, repeat r
    with the global generators seeded to `seed + r`, so random transforms get their chance.
    `num_classes` counts the background, as torchvision's models do: labels must be in
    1 .. num_classes - 1. With `annotations` (a COCO file) the label histogram seen through
    the pipeline is compared with the file's.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; use {', '.join(TARGETS)}")
    if samples < 1 or repeats < 1 or seed < 0:
        raise ValueError("samples and repeats must be at least 1, seed at least 0")
    if num_classes is not None and num_classes < 2:
        raise ValueError("num_classes counts the background too: it must be at least 2")
    spec = dataset if isinstance(dataset, str) else spec_of(dataset)
    report = Report(rules=[CODES[c] for c in DATASET_CODES])
    file_counts = None
    if annotations is not None:
        read = histogram.read_counts(annotations)
        if isinstance(read, InputError):
            report.errors.append(read)
            return report
        file_counts = read
    try:
        ds = _resolve(spec, dataset, call_args, dict(call_kwargs or {}))
        size = _length(spec, ds)
    except TargetError as exc:
        report.errors.append(InputError(exc.spec, exc.message))
        return report
    probed = {"path": spec, "format": f"dataset probe ({target})"}
    report.inputs.append(probed)
    if annotations is not None:
        report.inputs.append({"path": str(annotations), "format": "coco"})
    collector = Collector(spec)
    seen: Counter[int] = Counter()
    fetched = 0
    distinct: set[int] = set()
    runs, drawn = 0, set[int]()  # fetches tried and items drawn, failed ones included
    with SeededGlobals() as rng:
        for r in range(repeats):
            s = seed + r
            for index, item in _items(ds, size, samples, seed, rng, s):
                runs += 1
                drawn.add(index)
                if isinstance(item, BaseException):
                    collector.add(Issue("MC601", f"fetching the item raised {describe(item)}"),
                                  s, index)
                    continue
                fetched += 1
                distinct.add(index)
                issues, labels, instances = _check_item(item, num_classes)
                for issue in issues:
                    collector.add(issue, s, index)
                report.annotations += instances
                if labels is not None:
                    seen.update(labels.tolist())
    report.images = fetched
    # what the summary counts: the same drawn samples, fetched once under each seed
    probed["probe"] = {"runs": runs, "seeds": [seed, seed + repeats - 1], "samples": len(drawn),
                       "generated": False}
    if not fetched and "MC601" not in collector.codes():
        collector.add(Issue("MC619", "the dataset yielded no item: nothing could be checked"), seed)
    if fetched and not report.annotations:
        collector.add(Issue("MC619", f"none of the {fetched} items fetched had an instance: "
                                     "nothing could be checked"), seed)
    if file_counts is not None and fetched:
        whole = size if size is not None else file_counts.images
        fraction = len(distinct) / max(whole, 1)  # a repeat shows the same items again
        for issue in histogram.compare(file_counts, seen, fraction, str(annotations)):
            collector.add(issue, seed)
    report.findings = sorted(collector.findings(), key=sort_key)
    return report


def _resolve(spec: str, given: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    obj = load(spec) if isinstance(given, str) else given
    if is_dataset(obj):
        if args or kwargs:
            raise TargetError(spec, "is a dataset object, not a factory: it takes no call arguments")
        return obj
    if not callable(obj):
        raise TargetError(spec, f"is a {type(obj).__name__}: expected a dataset or a factory")
    made = call(spec, obj, args, kwargs, "dataset factory")
    if not is_dataset(made):
        raise TargetError(spec, f"the factory returned a {type(made).__name__}, not a dataset "
                                "(no __getitem__ and __len__, and not iterable)")
    return made


def _length(spec: str, ds: Any) -> int | None:
    if not (hasattr(ds, "__getitem__") and hasattr(ds, "__len__")):
        return None  # an iterable dataset
    try:
        return len(ds)
    except Exception as exc:
        raise TargetError(spec, f"len() of the dataset failed: {describe(exc)}") from None


def _items(ds: Any, size: int | None, samples: int, seed: int, rng: SeededGlobals,
           s: int) -> Iterator[tuple[int, Any]]:
    """(index, item or the exception fetching it raised), with the generators reseeded to
    `s` before each fetch so any single finding replays from its seed alone."""
    if size is not None:
        chosen = np.random.default_rng(seed).choice(size, size=min(samples, size), replace=False)
        for index in sorted(int(i) for i in chosen):
            rng.seed(s)
            try:
                yield index, ds[index]
            except Exception as exc:
                yield index, exc
        return
    rng.seed(s)
    index = 0
    try:
        it = iter(ds)
        while index < samples:
            item = next(it)
            yield index, item
            index += 1
    except StopIteration:
        return
    except Exception as exc:  # an iterator cannot resume after raising
        yield index, exc


def _check_item(item: Any, num_classes: int | None
                ) -> tuple[list[Issue], np.ndarray | None, int]:
    """The torchvision contract for one item; also returns its valid labels (for the
    histogram) and its number of instances."""
    try:
        image_obj, target = dataset_item(item)
    except OutputProblem as exc:
        return [Issue("MC601", f"the dataset {exc}")], None, 0
    issues: list[Issue] = []
    missing = [k for k in _KEYS if k not in target]
    if missing:
        issues.append(Issue("MC614", f"the target has no {', '.join(missing)} (keys: "
                                     f"{', '.join(map(str, target)) or 'none'}): Mask R-CNN needs "
                                     "boxes, labels and masks"))
    try:
        arrays = {k: checks.read(target[k], f"target[{k!r}]") for k in _KEYS if k in target}
        image = checks.read(image_obj, "the image")
    except OutputProblem as exc:
        return [*issues, Issue("MC601", str(exc))], None, 0
    raw_masks = arrays.get("masks")
    layout = image_layout(image_obj, image, mask_hint(raw_masks) if raw_masks is not None
                          else None, "chw")
    if layout is None:
        return [*issues, Issue("MC601", f"the image has shape {tuple(image.shape)}, expected "
                                        "C x H x W")], None, 0
    hw = image_hw(image, layout)
    boxes = labels = masks = None
    if "boxes" in arrays:
        boxes, more = _boxes(arrays["boxes"], hw)
        issues += more
    if "labels" in arrays:
        labels, more = _labels(arrays["labels"], num_classes)
        issues += more
    if raw_masks is not None:
        masks = checks.masks_array(raw_masks, hw)
        shape_issue = checks.mask_shape_issue(raw_masks, masks, hw)
        if shape_issue:
            issues.append(shape_issue)
            masks = None
    length = checks.length_issue(*(None if arrays.get(k) is None else _count(arrays[k])
                                   for k in _KEYS))
    if length:
        issues.append(length)
    if masks is not None:
        raw_labels = arrays.get("labels")
        empty = checks.empty_issue(masks, raw_labels if raw_labels is not None
                                   and raw_labels.ndim == 1 else None)
        if empty:
            issues.append(empty)
        if boxes is not None:
            mismatch = checks.box_mask_issue(boxes, masks)
            if mismatch:
                issues.append(mismatch)
    return issues, labels, max((_count(a) for a in arrays.values()), default=0)


def _count(arr: np.ndarray) -> int:
    if arr.size == 0:
        return 0
    return len(arr) if arr.ndim else 1


def _boxes(raw: np.ndarray, hw: tuple[int, int]) -> tuple[np.ndarray | None, list[Issue]]:
    boxes = checks.boxes_array(raw)
    issues = []
    if boxes is None or (raw.size and raw.shape[1] != 4):
        issues.append(Issue("MC609", f"boxes have shape {tuple(raw.shape)}, expected (N, 4) "
                                     "as x1, y1, x2, y2"))
        return None, issues
    if raw.size and not np.issubdtype(raw.dtype, np.floating):
        issues.append(Issue("MC609", f"boxes are {raw.dtype}: torchvision's box regression "
                                     "needs a float dtype"))
    bad = np.flatnonzero(~((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])))
    if len(bad):
        i = int(bad[0])
        more = f" ({len(bad)} of {len(boxes)} boxes)" if len(bad) > 1 else ""
        issues.append(Issue("MC610", f"box {i} ({_box(boxes[i])}) has no area: x2 > x1 and "
                                     f"y2 > y1 are required, torchvision raises on it in "
                                     f"training{more}"))
    h, w = hw
    s = OUTSIDE_SLACK
    out = np.flatnonzero((boxes[:, 0] < -s) | (boxes[:, 1] < -s) | (boxes[:, 2] > w + s)
                         | (boxes[:, 3] > h + s))
    if len(out):
        i = int(out[0])
        more = f" ({len(out)} of {len(boxes)} boxes)" if len(out) > 1 else ""
        issues.append(Issue("MC611", f"box {i} ({_box(boxes[i])}) reaches outside the {w} x {h} "
                                     f"image: clip boxes after geometric transforms{more}"))
    return boxes, issues


def _labels(raw: np.ndarray, num_classes: int | None) -> tuple[np.ndarray | None, list[Issue]]:
    if raw.size and raw.ndim != 1:
        return None, [Issue("MC607", f"labels have shape {tuple(raw.shape)}, expected (N,)")]
    labels = raw.reshape(-1)
    issues = []
    if labels.size and labels.dtype != np.int64:
        kind = "integer" if np.issubdtype(labels.dtype, np.integer) else "not integer"
        issues.append(Issue("MC607", f"labels are {labels.dtype} ({kind}): torchvision's "
                                     "classification loss indexes classes with int64"))
    if not labels.size:
        return labels.astype(np.int64), issues
    if not (np.issubdtype(labels.dtype, np.number) or labels.dtype == bool):
        return None, issues
    whole = np.isfinite(labels) & (labels == np.round(labels))
    ints = np.where(whole, labels, -1).astype(np.int64)
    background = np.flatnonzero(ints == 0)
    if len(background):
        issues.append(Issue("MC613", f"instance {int(background[0])} has label 0, the index "
                                     "torchvision reserves for the background: shift class ids "
                                     "to start at 1"))
    top = num_classes - 1 if num_classes is not None else None
    bad = (~whole) | (ints < 0) | (ints > top if top is not None else False)
    wrong = np.flatnonzero(bad)
    if len(wrong):
        i = int(wrong[0])
        allowed = f"1 .. {top} (--num-classes {num_classes} counts the background)" \
            if top is not None else "a non-negative integer"
        issues.append(Issue("MC612", f"instance {i} has label {labels[i]}, outside {allowed}"))
    return ints[whole & (ints >= 0)], issues


def _box(b: np.ndarray) -> str:
    return ", ".join(f"{v:g}" for v in b)
