"""`--containers torch`: the sample as torch tensors, and as torchvision's tv_tensors when
torchvision is installed, which is what its v2 transforms act on (they pass numpy arrays
through untouched). Imported only when asked for: the probe never needs torch itself."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy as np

from maskcheck.errors import BadOption
from maskcheck.probe.frameworks import from_package

_TV_FORMATS = {"xyxy": "XYXY", "xywh": "XYWH", "cxcywh": "CXCYWH"}


def _module(name: str) -> Any:
    if importlib.util.find_spec(name.partition(".")[0]) is None:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # a broken install reads as absent
        return None


def available() -> bool:
    return _module("torch") is not None


def require() -> None:
    if not available():
        raise BadOption("containers 'torch': torch is not installed")


def as_torch(image: np.ndarray, layout: str, boxes: np.ndarray, box_layout: str,
             normalized: bool, masks: np.ndarray, labels: np.ndarray,
             hw: tuple[int, int]) -> tuple[Any, Any, Any, Any]:
    """(image, boxes, masks, labels) as tensors; tv_tensors when torchvision is there and
    can carry the convention (it has no normalized boxes: those stay plain tensors)."""
    torch = _module("torch")
    tv = _module("torchvision.tv_tensors")
    t_image = torch.from_numpy(np.ascontiguousarray(image))
    t_boxes = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32))
    t_masks = torch.from_numpy(np.ascontiguousarray(masks))
    t_labels = torch.from_numpy(labels.astype(np.int64))
    if tv is None:
        return t_image, t_boxes, t_masks, t_labels
    if layout == "chw":  # tv_tensors.Image is C x H x W by definition
        t_image = tv.Image(t_image)
    if not normalized:
        t_boxes = tv.BoundingBoxes(t_boxes, format=_TV_FORMATS[box_layout], canvas_size=hw)
    return t_image, t_boxes, tv.Mask(t_masks), t_labels


def is_torchvision(obj: Any) -> bool:
    return from_package(obj, "torchvision")
