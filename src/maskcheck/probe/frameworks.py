"""What the probe reads off an albumentations object, without importing albumentations
unless the object came from it: its bbox format and label field, and a Compose around a
bare transform (a bare transform expects albumentations' internal normalized boxes, so
pixel boxes passed to it would be garbage)."""

from __future__ import annotations

import sys
from typing import Any

from maskcheck.probe.target import TargetError, describe


def from_package(obj: Any, package: str) -> bool:
    """Whether `obj`'s class comes from `package` (albumentations, torchvision)."""
    module = getattr(type(obj), "__module__", "") or ""
    return module.partition(".")[0] == package


def is_albumentations(obj: Any) -> bool:
    return from_package(obj, "albumentations")


def _bbox_params(obj: Any) -> Any:
    processors = getattr(obj, "processors", None)
    processor = processors.get("bboxes") if isinstance(processors, dict) else None
    return getattr(processor, "params", None)


def box_format(obj: Any) -> str | None:
    """The Compose's BboxParams format (`pascal_voc`, `coco`, `yolo`, `albumentations`)."""
    params = _bbox_params(obj)
    fmt = getattr(params, "format", None) or getattr(params, "coord_format", None)
    return fmt if isinstance(fmt, str) else None


def label_field(obj: Any) -> str | None:
    """The Compose's label field when it has exactly one."""
    fields = getattr(_bbox_params(obj), "label_fields", None)
    if isinstance(fields, list | tuple) and len(fields) == 1 and isinstance(fields[0], str):
        return fields[0]
    return None


def composed(spec: str, obj: Any, fmt: str, field: str) -> Any:
    """`obj` itself when it is a Compose (or not albumentations'); a bare transform inside
    `Compose([obj], bbox_params=BboxParams(format=fmt, label_fields=[field]))`."""
    if not is_albumentations(obj):
        return obj
    albumentations = sys.modules.get("albumentations")
    compose = getattr(albumentations, "BaseCompose", None)
    # every albumentations 2 transform has a `processors` dict, empty unless it is a Compose
    if (isinstance(compose, type) and isinstance(obj, compose)) or hasattr(obj, "transforms"):
        return obj
    try:
        return albumentations.Compose(
            [obj], bbox_params=albumentations.BboxParams(format=fmt, label_fields=[field]))
    except Exception as exc:
        raise TargetError(spec, f"cannot wrap the transform in albumentations' Compose: "
                                f"{describe(exc)}") from None
