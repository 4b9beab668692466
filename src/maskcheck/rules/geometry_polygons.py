"""Polygon defects: wrong structure, degenerate rings, crossings, bad numbers, off-image points."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from maskcheck import geometry
from maskcheck.model import At, Batch, DatasetInfo, Fix, Problem, SegKind, Severity
from maskcheck.registry import DatasetRule, Option, Rule
from maskcheck.rules._geo import image_size, num, seg_problem


@dataclass
class _EmptyLists:
    masks: bool = False  # some annotation of the file has a polygon or RLE mask
    found: list[Problem] = field(default_factory=list)  # its `segmentation: []` annotations


class MalformedSegmentation(DatasetRule):
    code = "MC201"
    name = "malformed-segmentation"
    summary = "A polygon segmentation of the wrong shape: a flat list, nested too deep, empty lists."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        for row in sorted(geo.structure):
            yield seg_problem(batch, row, geo.structure[row])

    # `segmentation: []` is how many exporters write a box-only annotation: harmless in a
    # detection set, a crash (IndexError in frPyObjects) once the file trains masks. So it
    # is reported only when other annotations of the file carry masks.
    def initial(self, info: DatasetInfo) -> _EmptyLists:
        return _EmptyLists()

    def accumulate(self, state: _EmptyLists, batch: Batch) -> _EmptyLists:
        kind = batch.anns.seg_kind if "seg_kind" in batch.anns else np.zeros(0, dtype=np.uint8)
        # add to the state: a worker may fold several batches into one before merging
        state.masks = state.masks or bool(((kind == SegKind.POLYGONS) | (kind == SegKind.RLE)).any())
        state.found += [seg_problem(batch, r, geometry.EMPTY_LIST)
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
