"""Checks of what only SAM's output holds: prompt points, predicted scores, crop boxes.

The SA-1B reader (readers/sa1b.py) gives each annotation `point_coords` (float pairs, None
when absent or malformed: `has_point_coords` tells which), `predicted_iou` and
`stability_score` (NaN when absent or not a number; `raw_scores` keeps what a non-number
was) and `crop_box` (XYWH, NaN when malformed; `has_crop_box`).
Each rule stays silent on other formats.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from maskcheck import geometry
from maskcheck.model import At, Batch, Problem, Severity
from maskcheck.registry import Option, Rule
from maskcheck.rules._util import fmt_value

SA1B = frozenset({"sa1b"})


_AROUND = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)])  # a pixel and its 8


def _points(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every prompt point of the batch: its annotation row, its place in the row's list,
    and (x, y), from the reader's column of float pairs (None where absent or malformed)."""
    counts = np.fromiter((len(p) if p else 0 for p in coords), dtype=np.int64, count=len(coords))
    rows = np.repeat(np.arange(len(coords)), counts)
    xy = np.array([c for p in coords if p for c in p], dtype=np.float64).reshape(-1, 2)
    j = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, j, xy


def _near_masks(rle: geometry.RleStats, rows: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Whether the pixel under each point, or one of its 8 neighbours, is in its row's mask:
    a point on the outline may round either way, one pixel of slack keeps that silent."""
    h, w = rle.size[rows, 0], rle.size[rows, 1]
    cx = np.minimum(np.floor(xy[:, 0]), w - 1).astype(np.int64)
    cy = np.minimum(np.floor(xy[:, 1]), h - 1).astype(np.int64)
    qx, qy = cx[:, None] + _AROUND[:, 0], cy[:, None] + _AROUND[:, 1]
    inside = (qx >= 0) & (qx < w[:, None]) & (qy >= 0) & (qy < h[:, None])
    point, _ = np.nonzero(inside)
    hits = geometry.pixels_on(rle, rows[point], qx[inside], qy[inside])
    return np.bincount(point[hits], minlength=len(rows)) > 0


class PromptPointOutside(Rule):
    code = "MC460"
    name = "prompt-point-outside"
    summary = "An SA-1B prompt point (point_coords) outside its image or outside its own mask."
    severity = Severity.WARNING
    formats = SA1B

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns) or "point_coords" not in anns:
            return
        geo = geometry.of(batch)
        rle = geo.rle
        coords = anns.point_coords
        malformed = anns.has_point_coords & np.array([p is None for p in coords], dtype=bool)
        rows, j, xy = _points(coords)
        x, y = xy[:, 0], xy[:, 1]
        w, h = geo.image_w[rows], geo.image_h[rows]
        with np.errstate(invalid="ignore"):
            off_image = np.isfinite(w) & np.isfinite(h) & ~((x >= 0) & (x <= w) & (y >= 0) & (y <= h))
        has_runs = np.isin(rows, np.fromiter(rle.runs, dtype=np.int64, count=len(rle.runs)))
        mh, mw = rle.size[rows, 0], rle.size[rows, 1]
        judged = ~off_image & has_runs & (x >= 0) & (x <= mw) & (y >= 0) & (y <= mh)
        off_mask = np.zeros(len(rows), dtype=bool)
        off_mask[judged] = ~_near_masks(rle, rows[judged], xy[judged])
        # row by row, as the file lists them: a malformed list, then each point's finding
        found = sorted([(int(r), -1) for r in np.flatnonzero(malformed)]
                       + [(int(rows[i]), i) for i in np.flatnonzero(off_image | off_mask)])
        for r, i in found:
            if i < 0:
                yield Problem("point_coords is not a list of [x, y] number pairs: the prompt "
                              "this mask answers cannot be read. Write it as SAM does",
                              At.ann(r, "/point_coords", category=False))
                continue
            px, py, k = float(x[i]), float(y[i]), int(j[i])
            where = At.ann(r, f"/point_coords/{k}", category=False, then=(k,))
            if off_image[i]:
                yield Problem(
                    f"prompt point ({px:g}, {py:g}) lies outside the {w[i]:g}x{h[i]:g} image: a "
                    "model trained on it is prompted with a point that has no pixel. The "
                    "points are in the image's own pixels (x, y); fix the scaling or drop "
                    "the point", where)
            else:
                yield Problem(
                    f"prompt point ({px:g}, {py:g}) is not on its own mask (not within a "
                    "pixel of it): promptable training asks the model to segment the "
                    "object under the point, and this mask is elsewhere. The point or the "
                    "mask belongs to another instance, or x and y are swapped", where)


class ScoreOutOfRange(Rule):
    code = "MC461"
    name = "score-out-of-range"
    summary = "An SA-1B predicted_iou or stability_score that is not a number, or out of range."
    severity = Severity.ERROR
    formats = SA1B
    options = (
        Option("predicted_iou_slack", float, 0.1,
               "predicted_iou may exceed 1 by this much (SAM's IoU head is not bounded)"),
    )

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns) or "predicted_iou" not in anns:
            return
        top = {"predicted_iou": 1.0 + self.opts["predicted_iou_slack"], "stability_score": 1.0}
        # a non-number is NaN in its column and kept as written in raw_scores
        written = np.array([v is not None for v in anns.raw_scores], dtype=bool)
        with np.errstate(invalid="ignore"):
            out = np.zeros(len(anns), dtype=bool)
            for key, hi in top.items():
                v = anns[key]
                out |= np.isfinite(v) & ((v < 0.0) | (v > hi))
        for r in np.flatnonzero(written | out).tolist():
            raw = dict(anns.raw_scores[r] or ())
            for key, hi in top.items():
                if key in raw:
                    yield Problem(
                        f"{key} is {fmt_value(raw[key])}, not a number: filtering masks by "
                        "score (SAM keeps predicted_iou >= 0.88) fails or drops them. Write "
                        "the score as a number", At.ann(r, f"/{key}", category=False))
                    continue
                v = float(anns[key][r])
                if math.isfinite(v) and not 0.0 <= v <= hi:
                    bound = "[0, 1]" if hi == 1.0 else f"[0, {hi:g}]"
                    yield Problem(
                        f"{key} is {v:g}, outside {bound}: it is an IoU estimate, so a "
                        "score-based filter keeps or drops this mask for the wrong reason. The "
                        "file was written by another tool or its scores were rescaled",
                        At.ann(r, f"/{key}", category=False))


class CropBoxOutsideImage(Rule):
    code = "MC462"
    name = "crop-box-outside-image"
    summary = "An SA-1B crop_box that is not four numbers, has no area, or reaches outside its image."
    severity = Severity.ERROR
    formats = SA1B

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns) or "crop_box" not in anns:
            return
        geo = geometry.of(batch)
        boxes = np.asarray(anns.crop_box, dtype=np.float64).reshape(-1, 4)
        bx, by, bw, bh = boxes.T
        iw, ih = geo.image_w, geo.image_h
        with np.errstate(invalid="ignore"):
            fine = (np.isfinite(boxes).all(axis=1) & (bw > 0) & (bh > 0)
                    & ~(np.isfinite(iw) & np.isfinite(ih)
                        & ((bx < 0) | (by < 0) | (bx + bw > iw + 1) | (by + bh > ih + 1))))
        for r in np.flatnonzero(anns.has_crop_box & ~fine).tolist():
            x, y, bw, bh = boxes[r].tolist()
            w, h = geo.image_w[r], geo.image_h[r]
            where = At.ann(r, "/crop_box", category=False)
            if not all(map(math.isfinite, (x, y, bw, bh))):
                yield Problem("crop_box is not four numbers [x, y, width, height]: the crop the "
                              "mask was predicted in cannot be rebuilt. Write it as SAM does",
                              where)
            elif bw <= 0 or bh <= 0:
                yield Problem(f"crop_box [{x:g}, {y:g}, {bw:g}, {bh:g}] has no area: it is "
                              "[x, y, width, height], not corners", where)
            elif math.isfinite(w) and math.isfinite(h) and (
                    x < 0 or y < 0 or x + bw > w + 1 or y + bh > h + 1):
                yield Problem(
                    f"crop_box [{x:g}, {y:g}, {bw:g}, {bh:g}] reaches outside the {w:g}x{h:g} "
                    f"image (to x={x + bw:g}, y={y + bh:g}): it is [x, y, width, height] in "
                    "the image's pixels; corners written as a size, or a box from another "
                    "resolution, give this", where)
