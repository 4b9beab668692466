"""Helpers shared by the geometry rules (MC2xx): locations inside a segmentation, numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from maskcheck import geometry
from maskcheck.model import Batch, Location, Problem


def segment_location(batch: Batch, row: int, *suffix: object) -> Location:
    """The annotation's location, narrowed to `/segmentation/...` where pointers are ours.

    Readers of other formats give their own `pointer` column (a LabelMe shape, a CVAT
    element); there the annotation's own pointer is the smallest we can name.
    """
    loc = batch.ann_location(row)
    if "pointer" in batch.anns or loc.pointer is None or loc.line is not None:
        return loc
    return replace(loc, pointer=loc.pointer + "/segmentation" + "".join(f"/{s}" for s in suffix))


def seg_problem(batch: Batch, row: int, message: str, *suffix: object) -> Problem:
    return Problem(message, segment_location(batch, row, *suffix), batch.ann_order(row))


def identity_order(batch: Batch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sort key that follows annotation ids (then file order), so that which of two
    records is called "the second" does not change when the file's records are reordered."""
    anns = batch.anns
    ok = anns.id_ok[rows] if "id_ok" in anns else np.zeros(len(rows), dtype=bool)
    ids = anns.id[rows] if "id" in anns else np.zeros(len(rows), dtype=np.int64)
    # ids first; rows without an integer id after every id, in file order
    return np.where(ok, ids.astype(np.float64), np.inf), anns.index[rows]


def num(x: float) -> str:
    """A coordinate or area for a message: integers without decimals, others to 2 places."""
    if not np.isfinite(x):
        return str(x)
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def box_text(b: np.ndarray) -> str:
    return "[" + ", ".join(num(float(v)) for v in b) + "]"


def image_size(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Each annotation's image (width, height), NaN where unknown or not positive."""
    geo = geometry.of(batch)
    w, h = geo.image_w, geo.image_h
    ok = (w > 0) & (h > 0)
    return np.where(ok, w, np.nan), np.where(ok, h, np.nan)
