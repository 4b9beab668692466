"""Polygon defects: wrong structure, degenerate rings, crossings, bad numbers, off-image points."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from maskcheck import geometry
from maskcheck.model import At, Batch, DatasetInfo, Fix, Location, Problem, SegKind, Severity
from maskcheck.registry import DatasetRule, Option, Rule
from maskcheck.rules._geo import image_size, num, seg_problem, segment_location
from maskcheck.tidy import tidy


@dataclass
class _EmptyLists:
    masks: bool = False  # some annotation of the file has a polygon or RLE mask
    found: list[Problem] = field(default_factory=list)  # its `segmentation: []` annotations


class MalformedSegmentation(DatasetRule):
    code = "MC201"
    name = "malformed-segmentation"
    summary = "A polygon segmentation of the wrong shape: a flat list, nested too deep, empty lists."
    severity = Severity.ERROR
    fix_safety = "unsafe"  # empty polygons deleted (a box-only record with them); a flat list wrapped

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        coco = batch.info.format == "coco" and "pointer" not in batch.anns
        for row in sorted(geo.structure):
            problem = seg_problem(batch, row, geo.structure[row])
            yield replace(problem, fix=_structure_fix(batch, row, problem.location)) if coco else problem

    # `segmentation: []` is how many exporters write a box-only annotation: harmless in a
    # detection set, a crash (IndexError in frPyObjects) once the file trains masks. So it
    # is reported only when other annotations of the file carry masks.
    def initial(self, info: DatasetInfo) -> _EmptyLists:
        return _EmptyLists()

    def accumulate(self, state: _EmptyLists, batch: Batch) -> _EmptyLists:
        kind = batch.anns.seg_kind if "seg_kind" in batch.anns else np.zeros(0, dtype=np.uint8)
        # add to the state: a worker may fold several batches into one before merging
        state.masks = state.masks or bool(((kind == SegKind.POLYGONS) | (kind == SegKind.RLE)).any())
        coco = batch.info.format == "coco" and "pointer" not in batch.anns
        gone = Fix(delete=True, safe=False, up=1, what="delete the annotation, which has no mask "
                                                       "(kept in FILE.removed.json)") if coco else None
        state.found += [replace(seg_problem(batch, r, geometry.EMPTY_LIST), fix=gone)
                        for r in np.flatnonzero(kind == SegKind.EMPTY).tolist()]
        return state

    def merge(self, a: _EmptyLists, b: _EmptyLists) -> _EmptyLists:
        return _EmptyLists(a.masks or b.masks, a.found + b.found)

    def finalize(self, state: _EmptyLists, info: DatasetInfo) -> Iterator[Problem]:
        if state.masks:
            yield from state.found


class DegeneratePolygon(Rule):
    code = "MC202"
    name = "degenerate-polygon"
    summary = "A polygon with fewer than 3 points, an odd number of coordinates, or zero area."
    severity = Severity.ERROR
    fix_safety = "unsafe"  # deleted: the outline may have lost points that mattered

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        st, p = geo.poly, geo.polygons
        bad = st.odd | (st.points < 3) | (st.usable & st.collinear)
        # the fix deletes the polygon, or its annotation when it has no other: COCO's lists of
        # polygons, LabelMe's and CVAT's shapes, records of one instance each (records'
        # parallel lists would fall out of step)
        fixes = _delete_fixes(batch, p.row, bad) if batch.info.format in _DELETABLE else {}
        for i in np.flatnonzero(bad).tolist():
            n = int(p.length[i])
            if n % 2:
                msg = (f"polygon has {n} coordinates, an odd number: x and y no longer pair up, "
                       "so every point after the first missing value is shifted")
            elif n == 4:
                msg = ("polygon has only 2 points (4 numbers); pycocotools' frPyObjects reads a "
                       "4-number list as a box [x, y, w, h] and rasterizes a rectangle instead")
            elif n < 6:
                msg = f"polygon has {n // 2} point{'s' if n // 2 != 1 else ''}; a polygon needs at least 3"
            else:
                msg = (f"polygon of {n // 2} points encloses no area (all points on one line): "
                       "it rasterizes to an empty or one-pixel-wide mask")
            problem = seg_problem(batch, int(p.row[i]), msg, int(p.part[i]))
            yield replace(problem, fix=fixes.get(int(p.row[i])))


def _structure_fix(batch: Batch, row: int, loc: Location) -> Fix | None:
    """A COCO segmentation of the wrong shape that one edit repairs: empty polygons deleted
    (the annotation, when it has no other), a flat polygon wrapped in its list."""
    seg = geometry.loads_raw(batch.anns.segmentation[row])
    if not isinstance(seg, list) or not seg or loc.pointer is None:
        return None
    if all(type(v) in (int, float) for v in seg) and len(seg) >= 6 and len(seg) % 2 == 0:
        return Fix([seg], what=f"wrap the flat list of {len(seg)} numbers as one polygon")
    empty = [k for k, v in enumerate(seg) if v == []]
    if not empty:
        return None
    if len(empty) == len(seg):
        return Fix(delete=True, safe=False, up=1,
                   what="delete the annotation, whose only polygons are empty (kept in FILE.removed.json)")
    return Fix(delete=True, safe=False, targets=tuple(f"{loc.pointer}/{k}" for k in empty),
               what=f"delete {len(empty)} empty polygon{'s' if len(empty) > 1 else ''} "
                    "(kept in FILE.removed.json)")


_DELETABLE = ("coco", "labelme", "cvat", "records")


def _in_parallel_lists(batch: Batch) -> np.ndarray:
    """Per annotation row: one position of an image record's parallel lists (labels, masks,
    boxes), which a delete would put out of step."""
    imgs, anns = batch.images, batch.anns
    if "n_labels" not in imgs or "image_row" not in anns:
        return np.zeros(len(anns), dtype=bool)
    counts = np.column_stack([imgs.n_labels, imgs.n_masks, imgs.n_boxes])
    listed = (counts >= 0).any(axis=1)
    row = anns.image_row
    return np.where(row >= 0, listed[np.clip(row, 0, None)], False) if len(listed) else (
        np.zeros(len(anns), dtype=bool))


def _delete_fixes(batch: Batch, rows: np.ndarray, bad: np.ndarray) -> dict[int, Fix]:
    """Per annotation row: delete the bad polygon, or the annotation when all are bad."""
    n = len(batch.anns)
    total = np.bincount(rows, minlength=n)
    broken = np.bincount(rows[bad], minlength=n)
    own = "pointer" in batch.anns  # a shape, a record: the location is the annotation itself
    parallel = _in_parallel_lists(batch)
    out = {}
    for r in np.flatnonzero(broken).tolist():
        if own and total[r] != 1:
            continue  # shapes joined by group_id: the location names only the first of them
        if parallel[r]:
            continue
        whole = own or broken[r] == total[r]
        out[r] = Fix(delete=True, safe=False, up=0 if own or not whole else 2,
                     what=("delete the annotation, whose every polygon is degenerate"
                           if whole else "delete the polygon") + " (kept in FILE.removed.json)")
    return out


class SelfIntersectingPolygon(Rule):
    code = "MC203"
    name = "self-intersecting-polygon"
    summary = "A polygon whose outline crosses itself (a bow-tie)."
    severity = Severity.WARNING

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        p = geo.polygons
        for i in geo.self_intersecting.tolist():
            yield seg_problem(
                batch, int(p.row[i]),
                f"polygon of {int(p.length[i]) // 2} points crosses itself: the crossed lobes are "
                "filled or left out depending on the rasterizer's fill rule, and shapely-based "
                "tools call it invalid. Reorder the points or split it into simple polygons",
                int(p.part[i]))
        for i in geo.validity_unchecked.tolist():
            yield seg_problem(
                batch, int(p.row[i]),
                f"polygon of {int(p.length[i]) // 2:,} points was not checked for crossings: it "
                f"is over the {geometry.MAX_VALIDITY_POINTS:,}-point cap (MAX_VALIDITY_POINTS) "
                "for the full test and not provably simple. An outline this long is rarely "
                "meant; simplify it (e.g. shapely's simplify) and lint again",
                int(p.part[i]))


class NonFiniteCoordinate(Rule):
    code = "MC204"
    name = "non-finite-coordinate"
    summary = "A polygon point or a box value that is infinite or NaN."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        st, p = geo.poly, geo.polygons
        for i in np.flatnonzero(~st.finite).tolist():
            yield seg_problem(batch, int(p.row[i]),
                              "polygon holds a non-finite coordinate (infinity or NaN): the mask "
                              "cannot be rasterized and losses turn into NaN", int(p.part[i]))
        anns = batch.anns
        if "bbox" not in anns or not len(anns):
            return
        box = anns.bbox
        present = anns.has_bbox if "has_bbox" in anns else np.ones(len(anns), dtype=bool)
        if "raw_bbox" in anns:  # malformed boxes are NaN here and reported by malformed-record
            present = present & np.array([v is None for v in anns.raw_bbox], dtype=bool)
        bad = present & ~np.isfinite(box).all(axis=1)
        for r in np.flatnonzero(bad).tolist():
            yield Problem(f"bbox {list(map(float, box[r]))} holds a non-finite value: box regression "
                          "targets become NaN", At.ann(r))


class PolygonOutsideImage(Rule):
    code = "MC205"
    name = "polygon-outside-image"
    summary = "Polygon points lying outside the image by more than a small tolerance."
    severity = Severity.ERROR
    options = (Option("tolerance", float, 1.0, "pixels a point may lie outside the image"),)

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        st, p = geo.poly, geo.polygons
        use = np.flatnonzero(st.usable)
        if not len(use):
            return
        w, h = image_size(batch)
        tol = self.opts["tolerance"]
        # the polygon's extent decides; points are counted only for the polygons it flags
        e = st.extent[use]
        pw, ph = w[p.row[use]], h[p.row[use]]
        with np.errstate(invalid="ignore"):
            use = use[(e[:, 0] < -tol) | (e[:, 1] < -tol) | (e[:, 2] > pw + tol) | (e[:, 3] > ph + tol)]
        if not len(use):
            return
        xy, ring = st.points_of(use)
        pw, ph = w[p.row[use]][ring], h[p.row[use]][ring]
        with np.errstate(invalid="ignore"):
            out = ((xy[:, 0] < -tol) | (xy[:, 1] < -tol) | (xy[:, 0] > pw + tol)
                   | (xy[:, 1] > ph + tol))
        if not out.any():
            return
        count = np.bincount(ring[out], minlength=len(use))
        for k in np.flatnonzero(count).tolist():
            i = int(use[k])
            r = int(p.row[i])
            x0, y0, x1, y1 = st.extent[i]
            yield seg_problem(
                batch, r,
                f"{int(count[k])} of {int(st.points[i])} polygon points lie outside the "
                f"{num(w[r])}x{num(h[r])} image (x from {num(x0)} to {num(x1)}, y from {num(y0)} to "
                f"{num(y1)}; tolerance {num(tol)} px): the "
                "mask is clipped, or the coordinates belong to another image size or scale",
                int(p.part[i]))


@dataclass
class _Untidy:
    polygons: int = 0
    kinds: tuple[int, int, int] = (0, 0, 0)  # polygons clipped, with a repeated point, closing
    first: list[tuple[tuple, Location]] = field(default_factory=list)  # in source order


class UntidyPolygon(DatasetRule):
    code = "MC223"
    name = "untidy-polygon"
    summary = ("Polygons with a point repeated, a last point repeating the first, or points "
               "just outside the image: harmless, and `maskcheck fix` tidies them.")
    severity = Severity.INFO
    formats = frozenset({"coco"})  # the fix edits COCO polygons; other formats' are left
    fix_safety = "safe"  # the same outline: only points that add nothing, or off by a pixel
    options = (Option("tolerance", float, 1.0, "pixels a point may lie outside the image and "
                                               "be clipped (polygon-outside-image's default)"),)
    EXAMPLES = 3  # locations named in the one finding

    def initial(self, info: DatasetInfo) -> _Untidy:
        return _Untidy()

    def accumulate(self, state: _Untidy, batch: Batch) -> _Untidy:
        found = _untidy(batch, self.opts["tolerance"])
        if not found:
            return state
        p = geometry.of(batch).polygons
        # a batch's rows need not be in the file's order: the first by source order
        keyed = [((*batch.ann_order(int(p.row[i])), int(p.part[i])), i) for i, _ in found]
        first = [(key, segment_location(batch, int(p.row[i]), int(p.part[i])))
                 for key, i in heapq.nsmallest(self.EXAMPLES, keyed)]
        kinds = tuple(sum(k[j] for _, k in found) for j in range(3))
        return self.merge(state, _Untidy(len(found), kinds, first))  # type: ignore[arg-type]

    def merge(self, a: _Untidy, b: _Untidy) -> _Untidy:
        first = sorted(a.first + b.first, key=lambda t: t[0])[:self.EXAMPLES]
        kinds = tuple(x + y for x, y in zip(a.kinds, b.kinds, strict=True))
        return _Untidy(a.polygons + b.polygons, kinds, first)  # type: ignore[arg-type]

    def finalize(self, state: _Untidy, info: DatasetInfo) -> Iterator[Problem]:
        if not state.polygons:
            return
        n, (clipped, repeated, closing) = state.polygons, state.kinds
        parts = [f"{c:,} {what}" for c, what in (
            (clipped, f"with points at most {num(self.opts['tolerance'])} px outside the image"),
            (repeated, "with a point repeated right after itself"),
            (closing, "ending on their first point again")) if c]
        where = ", ".join(loc.pointer or loc.short() for _, loc in state.first)
        order, loc = state.first[0]
        yield Problem(
            f"{n:,} polygon{'s' if n != 1 else ''} can be tidied ({'; '.join(parts)}; first at "
            f"{where}): pycocotools rasterizes them the same, but code that clips, simplifies "
            "or converts polygons (augmentations, YOLO export) meets zero-length edges and "
            "points off the image. `maskcheck fix` tidies them (the outline moves by at most "
            "the tolerance)",
            loc, order,
            fix=Fix(self.opts["tolerance"], dataset="tidy-polygons",
                    what=f"tidy {n:,} polygon{'s' if n != 1 else ''}: repeated points "
                         "dropped, points just outside clipped to the edge"))


def _untidy(batch: Batch, tolerance: float) -> list[tuple[int, tuple[bool, bool, bool]]]:
    """The batch's polygons that `tidy` changes, with what it does to each (clipped,
    repeated point, closing point). Cheap tests over the flat coordinates pick the
    candidates (no per-point copy: this runs on every polygon of every file); `tidy`
    itself, which the fix runs, decides."""
    geo = geometry.of(batch)
    p, st = geo.polygons, geo.poly
    if not len(p):
        return []
    c = p.coords
    start, length = p.start, p.length
    even = (length >= 6) & (length % 2 == 0)
    n = len(p)
    # a point equal to the next: c[j:j+2] == c[j+2:j+4], j at an even offset in its polygon
    again = np.zeros(n, dtype=bool)
    if len(c) >= 4:
        same = c[2:] == c[:-2]
        hits = np.flatnonzero(same[:-1] & same[1:])
        if len(hits):
            k = np.searchsorted(start, hits, side="right") - 1
            inside = ((hits - start[k]) % 2 == 0) & (hits + 3 < start[k] + length[k])
            again[k[inside]] = True
    last = np.where(even, start + length - 2, start)
    closing = even & (c[np.minimum(start, len(c) - 1)] == c[np.minimum(last, len(c) - 1)]) & (
        c[np.minimum(start + 1, len(c) - 1)] == c[np.minimum(last + 1, len(c) - 1)])
    w, h = image_size(batch)
    e, pw, ph = st.extent, w[p.row], h[p.row]
    with np.errstate(invalid="ignore"):
        out = (e[:, 0] < 0) | (e[:, 1] < 0) | (e[:, 2] > pw) | (e[:, 3] > ph)
    found = []
    for i in np.flatnonzero(even & (out | again | closing)).tolist():
        r = int(p.row[i])
        size = [float(v) if np.isfinite(v) else None for v in (w[r], h[r])]
        a = int(start[i])
        if tidy(c[a:a + int(length[i])].tolist(), *size, tolerance) is not None:
            found.append((i, (bool(out[i]), bool(again[i]), bool(closing[i]))))
    return found
