"""Checks on one (image, boxes, masks, labels) result, shared by both probes.

Each returns Issues whose detail names indices inside the result but not the seed: the
collector adds the seed and merges identical details across runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maskcheck.probe.adapters import OutputProblem, to_numpy
from maskcheck.probe.codes import Issue

BOX_IOU = 0.5  # a box "matches" a mask when IoU with the mask's tight box reaches this ...
BOX_SLACK = 2.0  # ... or every side is within this many pixels (slivers, inclusive x2)


def read(value: Any, what: str) -> np.ndarray:
    try:
        return to_numpy(value)
    except OutputProblem as exc:
        raise OutputProblem(f"{what}: {exc}") from None
    except Exception as exc:  # a foreign array type failing its own conversion
        raise OutputProblem(f"{what} cannot be read as an array ({type(exc).__name__}: {exc})"
                            ) from None


def indices(idx: np.ndarray | list[int], limit: int = 5) -> str:
    items = [str(int(i)) for i in idx]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def boxes_array(raw: np.ndarray) -> np.ndarray | None:
    """(N, 4) float boxes, or None when the shape is not that (an empty list is (0, 4))."""
    if raw.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] < 4:
        return None
    if not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        return None
    # albumentations may append the label as a fifth item of each box
    return raw[:, :4].astype(np.float64)


def masks_array(raw: np.ndarray, hw: tuple[int, int] | None) -> np.ndarray | None:
    """(N, H, W) boolean masks, or None when they are not that shape."""
    if raw.size == 0 and hw is not None:
        return np.zeros((0, *hw), dtype=bool)
    if raw.ndim != 3 or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        return None
    return raw > 0.5 if np.issubdtype(raw.dtype, np.floating) else raw != 0


def mask_shape_issue(raw: np.ndarray, masks: np.ndarray | None,
                     hw: tuple[int, int] | None) -> Issue | None:
    if masks is None:
        return Issue("MC606", f"masks have shape {tuple(raw.shape)}, expected (N, H, W)"
                     + (f" with H, W = {hw[0]}, {hw[1]} as the image" if hw else ""))
    if hw is not None and masks.shape[1:] != tuple(hw):
        return Issue("MC606", f"masks are {masks.shape[1]} x {masks.shape[2]} but the image is "
                              f"{hw[0]} x {hw[1]}: mask pixels no longer line up with image pixels")
    return None


_ONE = {"boxes": "box", "labels": "label", "masks": "mask"}


def length_issue(nb: int | None, nl: int | None, nm: int | None) -> Issue | None:
    sizes = {k: v for k, v in (("boxes", nb), ("labels", nl), ("masks", nm)) if v is not None}
    if len(set(sizes.values())) > 1:
        text = ", ".join(f"{v} {_ONE[k] if v == 1 else k}" for k, v in sizes.items())
        return Issue("MC604", f"{text}: every instance needs one box, one label and one mask")
    return None


def empty_issue(masks: np.ndarray, labels: np.ndarray | None) -> Issue | None:
    empty = np.flatnonzero(~masks.any(axis=(1, 2)))
    if not len(empty):
        return None
    which = f"mask {int(empty[0])}" if len(empty) == 1 else f"masks {indices(empty)}"
    label = ""
    if labels is not None and labels.ndim == 1 and len(empty) == 1 and empty[0] < len(labels):
        value = labels[empty[0]]
        label = f" (label {value:g})" if isinstance(value, float | np.floating) else f" (label {value})"
    return Issue("MC605", f"{which}{label} of {len(masks)} {'is' if len(empty) == 1 else 'are'} "
                          "empty but kept with a box and label: drop instances whose mask "
                          "left the image (after a crop, say)")


def mask_boxes(masks: np.ndarray) -> np.ndarray:
    """The tight box (x1, y1, x2 exclusive, y2 exclusive) of each mask; NaN when empty."""
    n = len(masks)
    out = np.full((n, 4), np.nan)
    if n == 0:
        return out
    rows = masks.any(axis=2)  # (N, H)
    cols = masks.any(axis=1)  # (N, W)
    has = rows.any(axis=1)
    h, w = rows.shape[1], cols.shape[1]
    out[:, 0] = cols.argmax(axis=1)
    out[:, 1] = rows.argmax(axis=1)
    out[:, 2] = w - cols[:, ::-1].argmax(axis=1)
    out[:, 3] = h - rows[:, ::-1].argmax(axis=1)
    out[~has] = np.nan
    return out


def fits(boxes: np.ndarray, mboxes: np.ndarray) -> np.ndarray:
    """(len(boxes), len(mboxes)) bool: box i is consistent with mask j's tight box."""
    a = boxes[:, None, :]
    b = mboxes[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / (area_a + area_b - inter)
        close = np.abs(a - b).max(axis=2) <= BOX_SLACK
    return (np.nan_to_num(iou) >= BOX_IOU) | close


def box_mask_issue(boxes: np.ndarray, masks: np.ndarray) -> Issue | None:
    """Box i against mask i; when it fits mask j instead, boxes and masks are out of step."""
    n = min(len(boxes), len(masks))
    if n == 0:
        return None
    mboxes = mask_boxes(masks)
    ok = fits(boxes, mboxes)
    bad = [i for i in range(n) if not np.isnan(mboxes[i, 0]) and not ok[i, i]]
    if not bad:
        return None
    i = bad[0]
    others = [j for j in np.flatnonzero(ok[i]) if j != i]
    box = ", ".join(f"{v:g}" for v in boxes[i])
    mbox = ", ".join(f"{v:g}" for v in mboxes[i])
    if others:
        head = (f"box {i} ({box}) fits mask {int(others[0])}, not mask {i} (whose extent is "
                f"{mbox}): boxes are out of step with masks")
    else:
        head = f"box {i} ({box}) does not match mask {i}, whose extent is {mbox}"
    more = f"; {len(bad) - 1} more of {n} boxes too" if len(bad) > 1 else ""
    return Issue("MC603", head + more)
