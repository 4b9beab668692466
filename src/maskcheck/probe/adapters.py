"""Duck-typed arrays and the three calling styles of a transform.

No torch import anywhere: a tensor is anything with `.numpy()` (detached and moved to the
CPU first when it has `detach`/`cpu`), a PIL image or other array-like goes through
`numpy.asarray` (`__array__` / `__array_interface__`), and lists are stacked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskcheck.probe import boxes as box_formats
from maskcheck.probe import tensors
from maskcheck.probe.inputs import Sample
from maskcheck.probe.options import PARTS, CallSpec


class OutputProblem(Exception):
    """The pipeline returned something that is not the structure its style promises."""


def to_numpy(value: Any) -> np.ndarray:
    """An ndarray view of a tensor, array-like, PIL image, list or scalar."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):
        for step in ("detach", "cpu"):  # torch: a tensor that requires grad or sits on a GPU
            fn = getattr(value, step, None)
            if callable(fn):
                value = fn()
        return np.asarray(value.numpy())
    if hasattr(value, "__array__") or hasattr(value, "__array_interface__"):
        return np.asarray(value)
    if isinstance(value, list | tuple):
        if not value:
            return np.zeros((0,))
        parts = [to_numpy(v) for v in value]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise OutputProblem(f"a list of arrays of different shapes {sorted(shapes)[:3]}")
        return np.stack(parts)
    if isinstance(value, int | float | np.generic):
        return np.asarray(value)
    raise OutputProblem(f"a {type(value).__name__} cannot be read as an array")


def is_tensor_like(value: Any) -> bool:
    return not isinstance(value, np.ndarray) and callable(getattr(value, "numpy", None))


def is_pil_like(value: Any) -> bool:
    return hasattr(value, "mode") and isinstance(getattr(value, "size", None), tuple)


def image_layout(image: Any, arr: np.ndarray, hint: tuple[int, int] | None,
                 prefer: str) -> str | None:
    """"hw", "hwc" or "chw" for an image array, or None when it is not an image.

    A 3-D array is ambiguous when both its first and last axes could be channels; the
    masks' (H, W) decide, then the container (tensors and `prefer="chw"`: CHW; PIL and
    numpy: HWC).
    """
    if arr.ndim == 2:
        return "hw"
    if arr.ndim != 3:
        return None
    cands = {}
    if arr.shape[2] in (1, 3, 4):
        cands["hwc"] = (arr.shape[0], arr.shape[1])
    if arr.shape[0] in (1, 3, 4):
        cands["chw"] = (arr.shape[1], arr.shape[2])
    if not cands:
        return None
    if hint is not None:
        fits = [k for k, hw in cands.items() if hw == tuple(hint)]
        if len(fits) == 1:
            return fits[0]
    if len(cands) == 1:
        return next(iter(cands))
    if is_pil_like(image):
        return "hwc"
    return "chw" if is_tensor_like(image) or prefer == "chw" else "hwc"


def image_hw(arr: np.ndarray, layout: str) -> tuple[int, int]:
    return (arr.shape[1], arr.shape[2]) if layout == "chw" else (arr.shape[0], arr.shape[1])


def as_hwc(arr: np.ndarray, layout: str) -> np.ndarray:
    if layout == "hw":
        return arr[:, :, None]
    return np.moveaxis(arr, 0, -1) if layout == "chw" else arr


def mask_hint(masks: Any) -> tuple[int, int] | None:
    """(H, W) of the masks without converting them all, to choose the image layout."""
    try:
        first = masks[0] if isinstance(masks, list | tuple) else masks
        if first is None:
            return None
        shape = tuple(getattr(first, "shape", ()) or np.shape(first))
    except (IndexError, TypeError, ValueError, KeyError):
        return None
    return (int(shape[-2]), int(shape[-1])) if len(shape) >= 2 else None


@dataclass(slots=True)
class Output:
    """The four parts of a transform's (or a dataset item's) result, unconverted."""

    image: Any
    boxes: Any
    masks: Any
    labels: Any
    prefer: str  # the image layout this style uses: "hwc" or "chw"


def encode_image(image_hwc: np.ndarray, spec: CallSpec) -> np.ndarray:
    """The probe's uint8 H x W x 3 image in the layout and dtype the pipeline takes."""
    out = image_hwc.astype(np.float32) / 255 if spec.dtype == "float32" else image_hwc.copy()
    return np.ascontiguousarray(np.moveaxis(out, -1, 0)) if spec.layout == "chw" else out


def call_transform(fn: Any, spec: CallSpec, sample: Sample) -> Any:
    """Call `fn` the way `spec` says, with fresh copies of the sample."""
    image = encode_image(sample.image, spec)
    hw = sample.image.shape[:2]
    boxes = box_formats.encode(sample.boxes, spec.box_layout, spec.normalized, hw)
    masks = sample.masks.copy()
    labels = sample.labels.copy()
    if spec.style == "albumentations":  # its API takes lists, whatever --containers says
        kwargs = {"image": image, "masks": list(masks),
                  "bboxes": [tuple(float(v) for v in b) for b in boxes],
                  spec.label_field: [int(v) for v in labels]}
        return fn(*spec.args, **kwargs, **spec.kwargs)
    parts: tuple[Any, Any, Any] = (boxes, masks, labels)
    if spec.containers == "torch":
        image, *rest = tensors.as_torch(image, spec.layout, boxes, spec.box_layout,
                                        spec.normalized, masks, labels, hw)
        parts = (rest[0], rest[1], rest[2])
    elif spec.containers == "list":
        parts = ([[float(v) for v in b] for b in boxes], list(masks), [int(v) for v in labels])
    if spec.style == "tuple":
        return fn(image, *parts, *spec.args, **spec.kwargs)
    if spec.style == "torchvision":
        target = dict(zip(("boxes", "masks", "labels"), parts, strict=True))
        return fn(image, target, *spec.args, **spec.kwargs)
    if spec.style == "dict":
        record: dict[str, Any] = {}
        for part, value in zip(PARTS, (image, *parts), strict=True):
            _put(record, spec.keys[part], value)
        return fn(record, *spec.args, **spec.kwargs)
    raise ValueError(f"unknown style {spec.style!r}")


def _put(record: dict[str, Any], key: str, value: Any) -> None:
    *path, last = key.split(".")
    for name in path:
        record = record.setdefault(name, {})
    record[last] = value


def _get(record: Mapping, key: str) -> Any:
    value: Any = record
    for name in key.split("."):
        if not isinstance(value, Mapping) or name not in value:
            raise KeyError(key)
        value = value[name]
    return value


def read_output(out: Any, spec: CallSpec) -> Output:
    """Pick the parts out of a transform's result, or say why they are not there."""
    prefer = spec.layout
    if spec.style == "tuple":
        if not isinstance(out, Sequence) or isinstance(out, str | bytes) or len(out) != 4:
            raise OutputProblem(f"returned {_kind(out)}, expected (image, boxes, masks, labels)")
        return Output(out[0], out[1], out[2], out[3], prefer)
    if spec.style == "torchvision":
        image, target = _image_target(out)
        missing = [k for k in ("boxes", "labels", "masks") if k not in target]
        if missing:
            raise OutputProblem(f"the returned target has no {', '.join(missing)} "
                                f"(keys: {', '.join(map(str, target)) or 'none'})")
        return Output(image, target["boxes"], target["masks"], target["labels"], prefer)
    if not isinstance(out, Mapping):
        expected = "albumentations' Compose" if spec.style == "albumentations" else "the input"
        raise OutputProblem(f"returned {_kind(out)}, expected a dict like {expected}")
    if spec.style == "albumentations":
        keys = {"image": "image", "masks": "masks", "boxes": "bboxes", "labels": spec.label_field}
    else:
        keys = dict(spec.keys)
    found: dict[str, Any] = {}
    missing = []
    for part in PARTS:
        try:
            found[part] = _get(out, keys[part])
        except KeyError:
            missing.append(keys[part])
    if missing:
        raise OutputProblem(f"the returned dict has no {', '.join(missing)} "
                            f"(keys: {', '.join(map(str, out)) or 'none'})")
    return Output(found["image"], found["boxes"], found["masks"], found["labels"], prefer)


def _image_target(out: Any) -> tuple[Any, Mapping]:
    if not isinstance(out, Sequence) or isinstance(out, str | bytes) or len(out) != 2:
        raise OutputProblem(f"returned {_kind(out)}, expected (image, target) with target a dict")
    if not isinstance(out[1], Mapping):
        # torchvision's CocoDetection returns the raw list of COCO annotation dicts
        raise OutputProblem(f"returned (image, {_kind(out[1])}), expected the target to be a dict "
                            "of boxes, labels and masks")
    return out[0], out[1]


def dataset_item(item: Any) -> tuple[Any, Mapping]:
    """(image, target) of a torchvision-style dataset item."""
    return _image_target(item)


def _kind(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return f"a {type(value).__name__} of {len(value)}"
    return "None" if value is None else f"a {type(value).__name__}"
