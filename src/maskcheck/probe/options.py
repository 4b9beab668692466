"""How the transform probe builds its inputs and calls the pipeline: one validated value
object, built the same way from the CLI's strings and from `probe_transform`'s keywords.
Every bad value is a ValueError whose message names the option and the choices."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maskcheck.errors import BadOption
from maskcheck.probe.inputs import check_size

STYLES = ("auto", "tuple", "torchvision", "albumentations", "dict")
# (axis order, dtype); "hwc" and "chw" alone take each one's usual dtype
LAYOUTS = {"hwc-uint8": ("hwc", "uint8"), "hwc-float": ("hwc", "float32"),
           "chw-uint8": ("chw", "uint8"), "chw-float": ("chw", "float32"),
           "hwc": ("hwc", "uint8"), "chw": ("chw", "float32")}
CONTAINERS = ("auto", "numpy", "list", "torch")
PARTS = ("image", "boxes", "masks", "labels")
DEFAULT_KEYS = {p: p for p in PARTS}


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What one call of the pipeline looks like."""

    style: str = "tuple"  # resolved: never "auto"
    label_field: str = "labels"
    keys: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    box_layout: str = "xyxy"
    normalized: bool = False
    layout: str = "hwc"  # axis order of the image passed in
    dtype: str = "uint8"  # uint8 0..255 or float32 0..1
    containers: str = "numpy"  # numpy arrays, Python lists, or torch tensors (tv_tensors)
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def parse_size(text: str | Sequence[int]) -> tuple[int, int]:
    """`480x640` (H x W) or (480, 640)."""
    if isinstance(text, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
        if not match:
            raise BadOption(f"image size {text!r}: write it as HxW, for example 480x640")
        size = (int(match.group(1)), int(match.group(2)))
    else:
        size = _pair(text, "image size")
    check_size(size, (1, 1))
    return size


def parse_instances(text: str | int | Sequence[int]) -> tuple[int, int]:
    """`4..12`, `6` (exactly six) or (4, 12)."""
    if isinstance(text, str):
        match = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", text)
        if not match:
            raise BadOption(f"instances {text!r}: write MIN..MAX, for example 4..12, or one number")
        low = int(match.group(1))
        span = (low, int(match.group(2)) if match.group(2) else low)
    elif isinstance(text, int) and not isinstance(text, bool):
        span = (text, text)
    else:
        span = _pair(text, "instances")
    if not 1 <= span[0] <= span[1]:
        shown = text if isinstance(text, str) else f"{span[0]}..{span[1]}"
        raise BadOption(f"instances {shown!r}: need 1 <= MIN <= MAX")
    return span


def _pair(value: Any, what: str) -> tuple[int, int]:
    try:
        a, b = value
    except (TypeError, ValueError):
        raise BadOption(f"{what} {value!r}: expected two integers") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
        raise BadOption(f"{what} {value!r}: expected two integers")
    return int(a), int(b)


def parse_keys(items: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """`image=img,boxes=gt_bboxes` (comma-separated, repeatable) over the default keys; a
    dotted key (`target.boxes`) reaches into a nested dict."""
    keys = dict(DEFAULT_KEYS)
    if items is None:
        return keys
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        texts = [items] if isinstance(items, str) else list(items)
        pairs = []
        for text in texts:
            for part in filter(None, (p.strip() for p in text.split(","))):
                name, sep, key = part.partition("=")
                if not sep:
                    raise BadOption(f"keys {part!r}: write PART=KEY, for example boxes=gt_bboxes")
                pairs.append((name.strip(), key.strip()))
    for name, key in pairs:
        if name not in PARTS:
            raise BadOption(f"keys: unknown part {name!r}; the parts are {', '.join(PARTS)}")
        if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
            raise BadOption(f"keys: {name}={key!r} needs a key name")
        keys[name] = key
    if len(set(keys.values())) < len(keys):
        raise BadOption(f"keys: two parts share a key ({', '.join(f'{k}={v}' for k, v in keys.items())})")
    return keys


def parse_layout(text: str) -> tuple[str, str]:
    key = text.strip().lower()
    if key not in LAYOUTS:
        raise BadOption(f"image layout {text!r}: choose {', '.join(LAYOUTS)}")
    return LAYOUTS[key]


def check_choice(value: str, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise BadOption(f"{what} {value!r}: choose {', '.join(choices)}")
    return value


def default_layout(style: str) -> str:
    """The image a style passes when --image-layout is not given: torchvision's transforms
    take C x H x W, the others H x W x C."""
    return "chw-uint8" if style == "torchvision" else "hwc-uint8"

