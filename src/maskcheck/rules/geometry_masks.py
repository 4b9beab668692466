"""Masks as a whole: stored area, empty and tiny masks, the same object annotated twice."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck import geometry
from maskcheck.model import At, Batch, Fix, Problem, Severity
from maskcheck.registry import Option, Rule
from maskcheck.rules._geo import identity_order, image_size, num


class AreaMismatch(Rule):
    code = "MC213"
    name = "area-mismatch"
    summary = "A stored area that differs from the mask's area beyond a tolerance."
    severity = Severity.WARNING
    options = (Option("tolerance", float, 0.2,
                      "relative difference allowed between the stored and the mask's area"),)
    fix_safety = "safe"  # the area is derived data: the mask is what it measures

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
                At.ann(r), fix=Fix(_area_value(c), what=f"area {num(s)} -> {num(c)}", at="/area"))


def _area_value(area: float) -> int | float:
    """As COCO writes areas: a pixel count as an integer, a polygon's to two decimals."""
    return int(area) if float(area).is_integer() else round(float(area), 2)


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
                          "redraw the mask", At.ann(r))


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
                          At.ann(r))


#: Other members a duplicate-cluster finding names before "and N more".
MAX_LISTED = 10


def _components(n_edges_a: np.ndarray, n_edges_b: np.ndarray) -> dict[int, list[int]]:
    """Connected components (union-find) of the edges: root -> member rows."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(n_edges_a.tolist(), n_edges_b.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    out: dict[int, list[int]] = {}
    for x in list(parent):
        out.setdefault(find(x), []).append(x)
    return out


def _clusters(batch: Batch, same_class: bool) -> Iterator[tuple[list[int], float, float]]:
    """(members in identity order, lowest and highest IoU of its edges) per duplicate cluster.

    same_class: clusters joined by edges of one class (MC218); else clusters of any edges
    that hold more than one class (MC219). A cluster is a connected set of duplicates.
    """
    anns = batch.anns
    so = geometry.of(batch).same_objects
    a, b, iou = so.a, so.b, so.iou
    if not len(a):
        return
    ok = anns.category_id_ok[a] & anns.category_id_ok[b]
    if same_class:
        ok &= anns.category_id[a] == anns.category_id[b]
    a, b, iou = a[ok], b[ok], iou[ok]
    comps = _components(a, b)
    root_of = {x: r for r, xs in comps.items() for x in xs}
    lo: dict[int, float] = {}
    hi: dict[int, float] = {}
    for x, v in zip(a.tolist(), iou.tolist(), strict=True):
        r = root_of[x]
        lo[r] = min(lo.get(r, v), v)
        hi[r] = max(hi.get(r, v), v)
    found = []
    for r, members in comps.items():
        rows = np.array(members, dtype=np.int64)
        if not same_class and len(np.unique(anns.category_id[rows])) < 2:
            continue
        ida, ia = identity_order(batch, rows)
        rows = rows[np.lexsort((ia, ida))]
        found.append((rows.tolist(), lo[r], hi[r]))
    found.sort(key=lambda c: batch.ann_order(c[0][0]))
    yield from found


def _iou_text(lo: float, hi: float) -> str:
    return f"IoU {hi:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"IoU {lo:.2f} to {hi:.2f}"


def _listed(batch: Batch, rows: list[int], text) -> str:
    shown = ", ".join(text(r) for r in rows[:MAX_LISTED])
    more = len(rows) - MAX_LISTED
    return shown + (f" and {more:,} more" if more > 0 else "")


def _where(batch: Batch, row: int) -> str:
    loc = batch.ann_location(row)
    where = loc.pointer if loc.line is None else f"line {loc.line}"
    return f"annotation {loc.annotation_id} ({where})"


def _unchecked(batch: Batch) -> Iterator[Problem]:
    unchecked = geometry.of(batch).same_objects.unchecked
    for row in sorted(unchecked, key=batch.image_order):
        yield Problem(
            f"not searched for near-duplicate masks: this image has over "
            f"{geometry.MAX_OVERLAP_CANDIDATES:,} pairs of instances whose boxes overlap "
            f"(the cap MAX_OVERLAP_CANDIDATES; {unchecked[row]:,} found when the search "
            "stopped). Only exact duplicates (identical masks) were checked here",
            At.image(row))


class DuplicateInstance(Rule):
    code = "MC218"
    name = "duplicate-instance"
    summary = "The same instance annotated twice in one image (same class, mask IoU >= 0.95)."
    severity = Severity.WARNING
    fix_safety = "unsafe"  # exact copies deleted; near ones need a person to choose

    def check(self, batch: Batch) -> Iterator[Problem]:
        for rows, lo, hi in _clusters(batch, same_class=True):
            first, others = rows[0], rows[1:]
            times = "again" if len(others) == 1 else f"{len(others):,} more times"
            yield Problem(
                f"this mask is annotated {times} in the image with the same class "
                f"({_iou_text(lo, hi)}): {_listed(batch, others, lambda r: _where(batch, r))}. "
                "The model is taught to predict it several times, which non-maximum "
                "suppression then fights; keep one",
                At.ann(first), fix=_twins_fix(batch, first, others))
        yield from _unchecked(batch)


def _twins_fix(batch: Batch, first: int, others: list[int]) -> Fix | None:
    """Delete the exact copies of the first (the same mask as written, the same box) where an
    annotation is a record of its own: COCO's and LabelMe's (by pointer; a LabelMe
    annotation of one shape: shapes joined by group_id are named by their first), CVAT's
    shapes and JSONL's one-instance lines (by line, in the first's file)."""
    fmt = batch.info.format
    if fmt not in ("coco", "labelme", "cvat", "records") or (
            fmt == "coco" and "pointer" in batch.anns):
        return None
    geo = geometry.of(batch)
    key = geometry.mask_key(geo, first)
    box = batch.anns.bbox
    same = [r for r in others if geometry.mask_key(geo, r) == key
            and np.array_equal(box[r], box[first], equal_nan=True)]
    what = (f"delete {len(same)} exact cop{'y' if len(same) == 1 else 'ies'} "
            "(kept in FILE.removed.json)")
    if fmt == "labelme":
        parts = np.bincount(geo.polygons.row, minlength=len(batch.anns))
        if any(parts[r] != 1 for r in (first, *same)):
            return None
    if fmt in ("coco", "labelme"):
        pointers = tuple(p for p in (batch.ann_location(r).pointer for r in same) if p)
        return Fix(delete=True, safe=False, targets=pointers, what=what) if pointers else None
    here = batch.ann_location(first)
    locs = [batch.ann_location(r) for r in same]
    # a CVAT shape, or a JSONL line holding one instance (no pointer inside it)
    if not locs or any(loc.path != here.path or loc.line is None
                       or (fmt == "records" and loc.pointer is not None) for loc in locs):
        return None
    return Fix(delete=True, safe=False, lines=tuple(loc.line for loc in locs if loc.line), what=what)


class ConflictingLabels(Rule):
    code = "MC219"
    name = "conflicting-labels"
    summary = "The same object annotated twice with different classes (mask IoU >= 0.95)."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        for rows, lo, hi in _clusters(batch, same_class=False):
            first, others = rows[0], rows[1:]
            cid = int(anns.category_id[first])
            listed = _listed(batch, others, lambda r: f"{_where(batch, r)} class {int(anns.category_id[r])}")
            yield Problem(
                f"this mask, class {cid}, is the same object ({_iou_text(lo, hi)}) as {listed}: "
                "one object, contradictory targets. Decide on one class",
                At.ann(first))
        yield from _unchecked(batch)
