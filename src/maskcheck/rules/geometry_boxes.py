"""Boxes: impossible sizes, boxes off the image, and boxes that do not fit their own mask.

A stored box is judged against its mask's extent: for polygons the extent of the
polygon's own coordinates (what exporters compute the box from, so no rasterization error
enters), for RLE the pixel extent. A side may differ by BOX_PIXELS or BOX_RELATIVE of the
mask's size in that direction, whichever is larger: a box rounded to whole pixels, or
computed from the rasterized mask, differs by a pixel, and that is not a defect.

A polygon with a fold narrower than a pixel (a zero-width spike or retrace) has a
coordinate extent the trainer's mask does not have: pycocotools fills no pixel of the
spike. Those few polygons (`raster.spike_polygons`, a whole-array test) are rasterized,
and where the raster's extent is off the coordinates' by more than the tolerance the box
is judged against the raster, clipped to the image as loaders clip it, with RASTER_SLACK
more: the raster also loses the sub-pixel tips of sharp corners, which are no defect.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from maskcheck import geometry, raster
from maskcheck.model import At, Batch, Fix, Problem, Severity
from maskcheck.registry import Option, Rule
from maskcheck.rules._geo import box_text, identity_order, image_size, num
from maskcheck.shapes import LABELME_AREA_SHAPES

BOX_PIXELS = 2.0
BOX_RELATIVE = 0.05
#: Extra pixels a box may differ from a rasterized extent (sub-pixel tips the raster drops).
RASTER_SLACK = 4.0


@dataclass(frozen=True, slots=True)
class BoxFit:
    present: np.ndarray  # a finite, well-formed box
    xyxy: np.ndarray  # the box read as COCO's [x, y, w, h], as corners
    judged: np.ndarray  # present, positive size and a measured mask
    fits: np.ndarray  # the box fits its mask's extent
    convention: np.ndarray  # 0: none, 1: [x1, y1, x2, y2], 2: [cx, cy, w, h] fits instead
    swapped_with: dict[int, int]  # row -> row whose mask its box fits, and vice versa
    extent: np.ndarray  # the mask extent judged: coordinates, or the raster on `on_raster`
    on_raster: np.ndarray  # judged on the rasterized mask (a spike stretches the coordinates)
    fits_coords: np.ndarray  # the box fits the polygon's coordinate extent


def _fit(box: np.ndarray, ext: np.ndarray, slack: np.ndarray | float = 0.0) -> np.ndarray:
    size = np.c_[ext[:, 2] - ext[:, 0], ext[:, 3] - ext[:, 1]]
    tol = np.maximum(BOX_PIXELS, BOX_RELATIVE * np.c_[size, size]) + np.reshape(slack, (-1, 1))
    with np.errstate(invalid="ignore"):
        return (np.abs(box - ext) <= tol).all(axis=1)


def _raster_rows(batch: Batch, judged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, their rasterized extent) for judged polygon masks with a spike whose raster
    is off the coordinate extent by more than the tolerance."""
    geo = geometry.of(batch)
    p, st = geo.polygons, geo.poly
    none = np.zeros(0, dtype=np.int64)
    if not st.spike.any():
        return none, np.zeros((0, 4))
    spiky = np.bincount(p.row[st.spike], minlength=geo.n) > 0
    rows = np.flatnonzero(spiky & judged & ~geo.mask.is_rle)
    if not len(rows):
        return none, np.zeros((0, 4))
    ext, _ = raster.raster_extent(geo, rows)
    off = np.isfinite(ext).all(axis=1) & ~_fit(geo.mask.extent[rows], ext)
    return rows[off], ext[off]


def box_fit(batch: Batch) -> BoxFit:
    return batch.derived(_box_fit)


def _box_fit(batch: Batch) -> BoxFit:
    anns = batch.anns
    n = len(anns)
    box = anns.bbox if "bbox" in anns else np.full((n, 4), np.nan)
    present = np.isfinite(box).all(axis=1)
    if "has_bbox" in anns:
        present &= anns.has_bbox
    if "shape_type" in anns:  # LabelMe points and lines: their own rule (MC41x) reports them
        present &= np.array([t in LABELME_AREA_SHAPES for t in anns.shape_type], dtype=bool)
    xyxy = np.c_[box[:, :2], box[:, :2] + box[:, 2:]]
    mask = geometry.of(batch).mask
    judged = present & mask.measured & (box[:, 2] > 0) & (box[:, 3] > 0)
    fits_coords = judged & _fit(xyxy, mask.extent)
    ext = mask.extent.copy()
    slack = np.zeros(n)
    on_raster = np.zeros(n, dtype=bool)
    rows, rext = _raster_rows(batch, judged)
    judge_box = xyxy
    if len(rows):
        ext[rows], slack[rows], on_raster[rows] = rext, RASTER_SLACK, True
        w, h = image_size(batch)  # loaders clip boxes to the image; the raster is clipped
        judge_box = xyxy.copy()
        judge_box[rows] = np.clip(xyxy[rows], 0, np.c_[w, h, w, h][rows])
    fits = judged & _fit(judge_box, ext, slack)
    other = judged & ~fits
    convention = np.zeros(n, dtype=np.int8)
    convention[other & _fit(box, ext, slack)] = 1
    half = box[:, 2:] / 2
    centre = np.c_[box[:, :2] - half, box[:, :2] + half]
    convention[other & (convention == 0) & _fit(centre, ext, slack)] = 2
    swapped = _swaps(anns, xyxy, ext, slack, np.flatnonzero(other & (convention == 0)))
    return BoxFit(present, xyxy, judged, fits, convention, swapped, ext, on_raster, fits_coords)


def _swaps(anns, xyxy: np.ndarray, ext: np.ndarray, slack: np.ndarray,
           misfits: np.ndarray) -> dict[int, int]:
    """Pairs in one image where box i fits mask j and box j fits mask i."""
    out: dict[int, int] = {}
    if len(misfits) < 2 or "image_row" not in anns:
        return out
    img = anns.image_row[misfits]
    for image in np.unique(img[img >= 0]).tolist():
        rows = misfits[img == image][:200]  # a whole shifted list is still found in 200
        if len(rows) < 2:
            continue
        m = len(rows)
        a = np.repeat(rows, m)
        b = np.tile(rows, m)
        cross = _fit(xyxy[a], ext[b], slack[b]).reshape(m, m)
        pair = cross & cross.T
        np.fill_diagonal(pair, False)
        for i, j in zip(*np.nonzero(np.triu(pair)), strict=True):
            ri, rj = int(rows[i]), int(rows[j])
            if ri not in out and rj not in out:
                out[ri], out[rj] = rj, ri
    return out


class InvalidBoxSize(Rule):
    code = "MC208"
    name = "invalid-box-size"
    summary = "A box whose width or height is zero or negative."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        fit = box_fit(batch)
        box = batch.anns.bbox if "bbox" in batch.anns else None
        if box is None:
            return
        bad = fit.present & ((box[:, 2] <= 0) | (box[:, 3] <= 0))
        for r in np.flatnonzero(bad).tolist():
            hint = (" (it looks like [x1, y1, x2, y2] with the corners reversed or equal)"
                    if box[r, 2] < 0 or box[r, 3] < 0 else "")
            yield Problem(f"bbox {box_text(box[r])} has width {num(box[r, 2])} and height "
                          f"{num(box[r, 3])}: a box needs both above zero{hint}; torchvision's "
                          "Mask R-CNN raises on it and other loaders drop it",
                          At.ann(r))


class BoxOutsideImage(Rule):
    code = "MC209"
    name = "box-outside-image"
    summary = "A box extending beyond its image by more than a small tolerance."
    severity = Severity.ERROR
    options = (Option("tolerance", float, 1.0, "pixels a box side may lie outside the image"),)

    def check(self, batch: Batch) -> Iterator[Problem]:
        fit = box_fit(batch)
        w, h = image_size(batch)
        b = fit.xyxy
        tol = self.opts["tolerance"]
        with np.errstate(invalid="ignore"):
            out = fit.present & ((b[:, 0] < -tol) | (b[:, 1] < -tol) | (b[:, 2] > w + tol)
                                 | (b[:, 3] > h + tol))
        box = batch.anns.bbox if "bbox" in batch.anns else None
        for r in np.flatnonzero(out).tolist():
            yield Problem(
                f"bbox {box_text(box[r])} reaches x {num(b[r, 0])}..{num(b[r, 2])}, y "
                f"{num(b[r, 1])}..{num(b[r, 3])} on a {num(w[r])}x{num(h[r])} image (tolerance "
                f"{num(tol)} px): it is clipped in training or belongs to another image size",
                At.ann(r))


class BoxConvention(Rule):
    code = "MC210"
    name = "box-convention"
    summary = "A box stored as corners (x1, y1, x2, y2) or centre-based, not COCO's (x, y, w, h)."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        fit = box_fit(batch)
        box = batch.anns.bbox if "bbox" in batch.anns else None
        ext = fit.extent
        for r in np.flatnonzero(fit.convention).tolist():
            e = ext[r]
            want = box_text(np.array([e[0], e[1], e[2] - e[0], e[3] - e[1]]))
            kind = ("[x1, y1, x2, y2] corners" if fit.convention[r] == 1
                    else "[centre x, centre y, w, h] (YOLO style)")
            yield Problem(
                f"bbox {box_text(box[r])} does not fit its mask as [x, y, width, height] but does "
                f"as {kind}; COCO boxes are [x, y, width, height]: {want} here",
                At.ann(r))


class BoxMaskMismatch(Rule):
    code = "MC211"
    name = "box-mask-mismatch"
    summary = "A box that does not match the extent of its own mask."
    severity = Severity.ERROR
    fix_safety = "unsafe"  # the box from the mask: right unless the mask is the wrong one

    def check(self, batch: Batch) -> Iterator[Problem]:
        fit = box_fit(batch)
        box = batch.anns.bbox
        ext = fit.extent
        bad = fit.judged & ~fit.fits & (fit.convention == 0)
        for r in np.flatnonzero(bad).tolist():
            if r in fit.swapped_with:
                continue  # reported as instance-misalignment
            e = ext[r]
            want = box_text(np.array([e[0], e[1], e[2] - e[0], e[3] - e[1]]))
            if fit.on_raster[r] and fit.fits_coords[r]:
                yield Problem(_spike_message(box[r], e), At.ann(r))
                continue
            off = np.abs(fit.xyxy[r] - e).max()
            whose = "its rasterized mask" if fit.on_raster[r] else "its mask"
            fixed = [_coord(v) for v in (e[0], e[1], e[2] - e[0], e[3] - e[1])]
            yield Problem(
                f"bbox {box_text(box[r])} does not match {whose}, whose extent is {want} "
                f"(a side is {num(off)} px off; tolerance {num(BOX_PIXELS)} px or "
                f"{BOX_RELATIVE:.0%} of the size): box and mask losses then pull towards "
                "different objects", At.ann(r),
                fix=Fix(fixed, safe=False, what=f"bbox {box_text(box[r])} -> {want}",
                        at="/" + _box_key(batch, r)))


def _box_key(batch: Batch, row: int) -> str:
    """The key the record keeps its box under (JSON records: "box" as well as "bbox"),
    as a JSON pointer token."""
    keys = batch.anns.get("bbox_key")
    key = keys[row] if keys is not None and keys[row] is not None else "bbox"
    return str(key).replace("~", "~0").replace("/", "~1")


def _coord(v: float) -> int | float:
    return int(v) if float(v).is_integer() else round(float(v), 2)


def _spike_message(box: np.ndarray, e: np.ndarray) -> str:
    """The box fits the polygon's coordinates, not its raster: name the worse side."""
    mw, mh = e[2] - e[0], e[3] - e[1]
    tall = box[3] - mh >= box[2] - mw
    side, b, m = ("tall", box[3], mh) if tall else ("wide", box[2], mw)
    want = box_text(np.array([e[0], e[1], mw, mh]))
    return (f"bbox {box_text(box)} is {num(b)} px {side} but the rasterized mask is {num(m)} px "
            f"(extent {want}): a zero-width spike or retrace in the polygon (a fold narrower "
            "than a pixel) stretches its coordinate extent, and pycocotools fills no pixel of "
            "it, so the box target covers what the mask target does not. Fit the box to the "
            "mask and drop the spike")


class InstanceMisalignment(Rule):
    code = "MC212"
    name = "instance-misalignment"
    summary = "Within one image, box i fits mask j and box j fits mask i: the instance lists are out of step."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        fit = box_fit(batch)
        for r, other in sorted(fit.swapped_with.items()):
            (ids, index) = identity_order(batch, np.array([r, other]))
            if (ids[0], index[0]) > (ids[1], index[1]):
                continue  # reported on the pair's first annotation
            loc = batch.ann_location(other)
            where = loc.pointer if loc.line is None else f"line {loc.line}"
            yield Problem(
                f"this annotation's box fits the mask of annotation {loc.annotation_id} ({where}) "
                "and that one's box fits "
                "this mask: boxes and masks were paired out of order (a transform that dropped or "
                "reordered one list but not the other)",
                At.ann(r))
