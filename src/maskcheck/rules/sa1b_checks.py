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


def _near_mask(size: tuple[int, int], runs: np.ndarray, x: float, y: float) -> bool:
    """Whether the pixel under (x, y) or one of its 8 neighbours is in the mask: a point on
    the outline may round either way, one pixel of slack keeps that silent."""
    h, w = size
    cx, cy = min(int(x), w - 1), min(int(y), h - 1)
    xs, ys = np.meshgrid(np.arange(cx - 1, cx + 2), np.arange(cy - 1, cy + 2))
    keep = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    return bool(geometry.rle_hits(size, runs, xs[keep], ys[keep]).any())


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
        given = anns.has_point_coords
        for r, points in enumerate(anns.point_coords):
            if points is None and given[r]:
                yield Problem("point_coords is not a list of [x, y] number pairs: the prompt "
                              "this mask answers cannot be read. Write it as SAM does",
                              At.ann(r, "/point_coords", category=False))
            if not points:
                continue
            w, h = geo.image_w[r], geo.image_h[r]
            runs = rle.runs.get(r)
            size = (int(rle.size[r][0]), int(rle.size[r][1]))
            for j, (x, y) in enumerate(points):
                where = At.ann(r, f"/point_coords/{j}", category=False, then=(j,))
                if math.isfinite(w) and math.isfinite(h) and not (0 <= x <= w and 0 <= y <= h):
                    yield Problem(
                        f"prompt point ({x:g}, {y:g}) lies outside the {w:g}x{h:g} image: a "
                        "model trained on it is prompted with a point that has no pixel. The "
                        "points are in the image's own pixels (x, y); fix the scaling or drop "
                        "the point", where)
                elif (runs is not None and 0 <= x <= size[1] and 0 <= y <= size[0]
                      and not _near_mask(size, runs, x, y)):
                    yield Problem(
                        f"prompt point ({x:g}, {y:g}) is not on its own mask (not within a "
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
        for r in range(len(anns)):
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
        for r in np.flatnonzero(anns.has_crop_box).tolist():
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
