"""Box conventions a pipeline may expect: converted to before the call, back after it.

The probe's own boxes are pixel x1 y1 x2 y2. `--box-format` names the layout (ours, or
albumentations' names for them) and `--normalized` divides by the image's width and height;
YOLO's and albumentations' own formats are normalized by definition.
"""

from __future__ import annotations

import numpy as np

from maskcheck.errors import BadOption

FORMATS = ("xyxy", "xywh", "cxcywh")
# albumentations' names: (layout, normalized)
ALIASES = {"pascal_voc": ("xyxy", False), "coco": ("xywh", False), "yolo": ("cxcywh", True),
           "albumentations": ("xyxy", True)}
NAMES = FORMATS + tuple(ALIASES)


def resolve(name: str, normalized: bool = False) -> tuple[str, bool]:
    """(layout, normalized) for a format name; ValueError for an unknown name."""
    key = name.strip().lower()
    if key in FORMATS:
        return key, normalized
    if key in ALIASES:
        layout, implied = ALIASES[key]
        return layout, implied or normalized
    raise BadOption(f"box format {name!r}: choose {', '.join(NAMES)}")


def albumentations_name(layout: str, normalized: bool) -> str:
    """The albumentations BboxParams format that carries this convention."""
    for alias, conv in ALIASES.items():
        if conv == (layout, normalized):
            return alias
    raise BadOption(f"albumentations has no box format for {layout}"
                     f"{' normalized' if normalized else ''}")


def encode(xyxy: np.ndarray, layout: str, normalized: bool, hw: tuple[int, int]) -> np.ndarray:
    """Pixel x1 y1 x2 y2 boxes (N, 4) in the given convention, same dtype."""
    out = xyxy.astype(np.float64, copy=True)
    if layout == "xywh":
        out[:, 2:] = out[:, 2:] - out[:, :2]
    elif layout == "cxcywh":
        size = out[:, 2:] - out[:, :2]
        out[:, :2] = out[:, :2] + size / 2
        out[:, 2:] = size
    if normalized:
        out /= np.array([hw[1], hw[0], hw[1], hw[0]], dtype=np.float64)
    return out.astype(xyxy.dtype)


def decode(boxes: np.ndarray, layout: str, normalized: bool, hw: tuple[int, int]) -> np.ndarray:
    """Boxes (N, 4) in the given convention back to pixel x1 y1 x2 y2 (float64); `hw` is
    the size of the image they came out with."""
    out = boxes.astype(np.float64, copy=True)
    if normalized:
        out *= np.array([hw[1], hw[0], hw[1], hw[0]], dtype=np.float64)
    if layout == "xywh":
        out[:, 2:] = out[:, :2] + out[:, 2:]
    elif layout == "cxcywh":
        half = out[:, 2:] / 2
        out[:, 2:] = out[:, :2] + half
        out[:, :2] = out[:, :2] - half
    return out
