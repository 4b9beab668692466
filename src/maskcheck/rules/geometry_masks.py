"""Masks as a whole: stored area, empty and tiny masks, the same object annotated twice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck import geometry
from maskcheck.model import Batch, Problem, Severity
from maskcheck.registry import Option, Rule, register
from maskcheck.rules._geo import identity_order, image_size, num


@register
class AreaMismatch(Rule):
    code = "MC213"
    name = "area-mismatch"
    summary = "A stored area that differs from the mask's area beyond a tolerance."
    severity = Severity.WARNING
    options = (Option("tolerance", float, 0.2,
                      "relative difference allowed between the stored and the mask's area"),)

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if "area" not in anns or not len(anns):
            return
        geo = geometry.of(batch)
        mask = geo.mask
        stored = anns.area
        computed = mask.area
        # Polygon areas here are exact (shoelace); an exporter that stored the rasterized
        # area differs by up to about half the outline in pixels.
        slack = np.maximum(np.where(mask.is_rle, 0.0, 0.5 * geo.perimeter), 1.0)
        with np.errstate(invalid="ignore"):
            diff = np.abs(stored - computed)
            bad = (mask.measured & np.isfinite(stored)
                   & (diff > np.maximum(self.opts["tolerance"] * np.maximum(stored, computed), slack)))
        if not bad.any():
            return
        w, h = image_size(batch)
        box = anns.bbox if "bbox" in anns else np.full((len(anns), 4), np.nan)
        for r in np.flatnonzero(bad).tolist():
            s, c = float(stored[r]), float(computed[r])
            if np.isclose(s, w[r] * h[r], rtol=0.01):
                why = "; it is the whole image's area (width x height): a common export bug"
            elif np.isclose(s, box[r, 2] * box[r, 3], rtol=0.01):
                why = "; it is the box's area (w x h), not the mask's"
            else:
                why = ""
            yield Problem(
                f"area {num(s)} differs from the mask's area {num(c)} by {abs(s - c) / max(c, 1e-9):.0%}"
                f"{why}. COCO evaluation buckets instances by this area (small/medium/large) and "
                "some loaders filter on it: recompute it from the mask",
                batch.ann_location(r), batch.ann_order(r))


@register
class EmptyMask(Rule):
    code = "MC214"
    name = "empty-mask"
    summary = "An RLE mask without a single foreground pixel."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        mask = geometry.of(batch).mask
        for r in np.flatnonzero(mask.is_rle & (mask.area == 0)).tolist():
            yield Problem("the mask has no foreground pixel: an instance with nothing to segment; "
                          "its box target and mask target contradict each other. Remove it or "
                          "redraw the mask", batch.ann_location(r), batch.ann_order(r))


@register
class TinyInstance(Rule):
    code = "MC215"
    name = "tiny-instance"
    summary = "An instance whose mask covers fewer pixels than `min_area`."
    severity = Severity.INFO
    options = (Option("min_area", float, 10.0, "instances below this many pixels are reported"),)

    def check(self, batch: Batch) -> Iterator[Problem]:
        mask = geometry.of(batch).mask
        limit = self.opts["min_area"]
        with np.errstate(invalid="ignore"):
            tiny = mask.measured & (mask.area > 0) & (mask.area < limit)
        for r in np.flatnonzero(tiny).tolist():
            yield Problem(f"the mask covers {num(mask.area[r])} pixels (below min_area {num(limit)}): "
                          "after downsampling to a feature map it vanishes; check that it is meant",
                          batch.ann_location(r), batch.ann_order(r))


def _pairs(batch: Batch, same_class: bool) -> Iterator[tuple[int, int, float]]:
    anns = batch.anns
    a, b, iou = geometry.of(batch).same_object_pairs
    if not len(a):
        return
    ok = anns.category_id_ok[a] & anns.category_id_ok[b]
    same = anns.category_id[a] == anns.category_id[b]
    keep = ok & (same if same_class else ~same)
    a, b, iou = a[keep], b[keep], iou[keep]
    (ida, ia), (idb, ib) = identity_order(batch, a), identity_order(batch, b)
    a_first = (ida < idb) | ((ida == idb) & (ia < ib))
    for i, j, v, fa in zip(a.tolist(), b.tolist(), iou.tolist(), a_first.tolist(), strict=True):
        yield (i, j, v) if fa else (j, i, v)


def _where(batch: Batch, row: int) -> str:
    loc = batch.ann_location(row)
    where = loc.pointer if loc.line is None else f"line {loc.line}"
    return f"annotation {loc.annotation_id} ({where})"


@register
class DuplicateInstance(Rule):
    code = "MC218"
    name = "duplicate-instance"
    summary = "The same instance annotated twice in one image (same class, mask IoU >= 0.95)."
    severity = Severity.WARNING

    def check(self, batch: Batch) -> Iterator[Problem]:
        for first, second, iou in _pairs(batch, same_class=True):
            yield Problem(
                f"this mask overlaps {_where(batch, first)} of the same class with IoU {iou:.2f}: the "
                "same object annotated twice. The model is taught to predict it twice, which "
                "non-maximum suppression then fights; keep one",
                batch.ann_location(second), batch.ann_order(second))


@register
class ConflictingLabels(Rule):
    code = "MC219"
    name = "conflicting-labels"
    summary = "The same object annotated twice with different classes (mask IoU >= 0.95)."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        for first, second, iou in _pairs(batch, same_class=False):
            yield Problem(
                f"this mask overlaps {_where(batch, first)} with IoU {iou:.2f} but is labelled "
                f"class {int(anns.category_id[second])}, that one class {int(anns.category_id[first])}: "
                "one object, two contradictory targets. Decide on one class",
                batch.ann_location(second), batch.ann_order(second))
