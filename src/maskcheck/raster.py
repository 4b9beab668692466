"""Zero-width folds in polygon outlines, and masks measured as the trainer rasterizes them.

An outline that runs out along a line and back on itself (a spike or retrace, common along
image borders) encloses nothing there: pycocotools fills no pixel of it, yet its tip sets
the polygon's coordinate extent. Two consumers:

- MC211 judges a box on the raster (`raster_extent`, pycocotools' own C routines) for the
  few polygons whose raster can differ from their coordinates: `spike_polygons` finds them
  with a whole-array test, so an ordinary polygon never reaches the raster.
- MC203 removes such folds (`drop_folds`) before calling a ring self-crossing: a retrace
  overlaps itself (shapely calls it invalid) but has no lobe to fill one way or the other.

A fold is a vertex whose two edges point in opposite directions (negative dot product) and
whose shorter edge ends within `width` of the longer edge's line: |cross| / longest edge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pycocotools import mask as mask_utils

if TYPE_CHECKING:
    from maskcheck.geometry import BatchGeometry

#: A fold whose sides end closer than this (px) is zero-width: a retrace, not a shape
#: (MC203 removes these before calling a ring self-crossing; coordinates rounded to two
#: decimals put a retraced point up to 0.014 px off its line).
ZERO_WIDTH = 0.05
#: Pixels of a tip the raster may drop before MC211 could see it (its smallest tolerance,
#: BOX_PIXELS, plus RASTER_SLACK): a tip that can lose more is a spike candidate.
SPIKE_REACH = 6.0
#: Mean width (area / the extent's diagonal, px) below which a whole polygon is a sliver
#: whose tapered ends the raster may drop over several short edges, none a tip by itself.
THIN = 2.0
#: Rounds of fold removal before a ring is left as it is (each round removes every fold
#: that is not next to another; a retrace of k vertices needs about k rounds).
MAX_FOLD_ROUNDS = 1000
#: Canvas pixels above which a polygon is not rasterized (pycocotools' uint32 counts).
MAX_RASTER_PIXELS = 1 << 31


def _neighbours(ring: np.ndarray, npoly: int) -> tuple[np.ndarray, np.ndarray]:
    """(next, previous) point of each point of the rings `ring` (sorted ring numbers)."""
    m = len(ring)
    counts = np.bincount(ring, minlength=npoly)
    first = np.cumsum(counts) - counts
    last = first + counts - 1
    nxt = np.arange(1, m + 1)
    prv = np.arange(-1, m - 1)
    has = counts > 0
    nxt[last[has]] = first[has]
    prv[first[has]] = last[has]
    return nxt, prv


def _folds(xy: np.ndarray, nxt: np.ndarray, prv: np.ndarray) -> tuple[np.ndarray, ...]:
    """(fold-back, squared cross product, squared edges in and out) at each point."""
    e = xy[nxt] - xy  # the edge leaving each point
    e1 = e[prv]
    dot = e1[:, 0] * e[:, 0] + e1[:, 1] * e[:, 1]
    cross = e1[:, 0] * e[:, 1] - e1[:, 1] * e[:, 0]
    return dot < 0, cross * cross, e1[:, 0] ** 2 + e1[:, 1] ** 2, e[:, 0] ** 2 + e[:, 1] ** 2


def _narrower(cross2: np.ndarray, longer: np.ndarray, width: float) -> np.ndarray:
    """The shorter edge ends within `width` of the longer edge's line: |cross| / longer."""
    return cross2 < width * width * longer


def _without_repeats(xy: np.ndarray, ring: np.ndarray, npoly: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop points equal to their predecessor: a zero-length edge hides the fold beside it."""
    _, prv = _neighbours(ring, npoly)
    same = (xy == xy[prv]).all(axis=1)
    if not same.any():
        return xy, ring
    gone = np.bincount(ring[~same], minlength=npoly) == 0  # every point equal: keep one
    if gone.any():
        counts = np.bincount(ring, minlength=npoly)
        same[(np.cumsum(counts) - counts)[gone & (counts > 0)]] = False
    return xy[~same], ring[~same]


def ring_edges(x: np.ndarray, y: np.ndarray, first: np.ndarray,
               counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) from each point to the next of its ring (rings are the runs `first`,
    `counts`), as contiguous arrays: one shifted subtraction, then the ring ends."""
    last = first + counts - 1
    out = []
    for v in (x, y):
        e = np.empty(len(v))
        np.subtract(v[1:], v[:-1], out=e[:-1])
        e[last] = v[first] - v[last]
        out.append(e)
    return out[0], out[1]


def spike_polygons(xy: np.ndarray, first: np.ndarray, counts: np.ndarray, area: np.ndarray,
                   extent: np.ndarray, *, edges: tuple[np.ndarray, np.ndarray] | None = None,
                   repeats: bool = True) -> np.ndarray:
    """Polygons whose rasterized extent can differ from their coordinate extent by more than
    MC211's tolerance allows, found without rasterizing. Polygon k's points are
    xy[first[k]:first[k] + counts[k]] (an (m, 2) array); `edges` are its `ring_edges`.

    pycocotools fills a pixel of a column where the outline's two crossings are a pixel
    apart, so a tip of angle t loses about the part narrower than a pixel: up to 1 / sin(t)
    along its longer edge, and no more than that edge (past it the outline turns away). A
    tip (edges pointing back, dot < 0) that can lose over SPIKE_REACH and lies that close to
    a side of the polygon's extent, a zero-width fold
    (ZERO_WIDTH) at any length (a retrace through dense vertices has short edges), or a
    polygon under THIN px wide on average (area over its extent's diagonal) and longer than
    SPIKE_REACH is a candidate. Ordinary outlines have none.

    Shifted slices, not gathers, over the points: this runs on every polygon of a lint.
    """
    npoly = len(first)
    out = np.zeros(npoly, dtype=bool)
    if not npoly:
        return out
    last = first + counts - 1
    ex, ey = edges if edges is not None else ring_edges(xy[:, 0], xy[:, 1], first, counts)
    if repeats:
        keep = (ex != 0) | (ey != 0)
        if not keep.all():  # a repeated point hides the fold beside it: drop repeats
            keep[first[np.add.reduceat(keep.astype(np.int64), first) == 0]] = True  # keep one
            counts = np.add.reduceat(keep.astype(np.int64), first)
            return spike_polygons(xy[keep], np.cumsum(counts) - counts, counts, area, extent,
                                  repeats=False)
    ix, iy = np.empty(len(ex)), np.empty(len(ey))  # each point's incoming edge
    ix[1:], iy[1:] = ex[:-1], ey[:-1]
    ix[first], iy[first] = ex[last], ey[last]
    # whole-array arithmetic, then a gather of the few tips: cheaper than gathering the
    # third of all points where the outline turns by over 90 degrees
    back = ix * ex
    back += iy * ey
    back = back < 0
    cross2 = ix * ey
    cross2 -= iy * ex
    cross2 *= cross2
    del ix, iy  # these arrays are a batch's points long: keep few alive at once
    l_out = ex * ex
    l_out += ey * ey
    l_in = np.empty(len(l_out))  # the incoming edge is the previous point's outgoing one
    l_in[1:] = l_out[:-1]
    l_in[first] = l_out[last]
    longer = np.maximum(l_in, l_out)
    zero = back & _narrower(cross2, longer, ZERO_WIDTH)
    loses = np.flatnonzero(back & ~zero & (longer > SPIKE_REACH ** 2)
                           & (cross2 * SPIKE_REACH ** 2 < l_in * l_out))
    if len(loses):
        # what the raster drops lies within `reach` of the tip: only a tip that close to a
        # side of its polygon's extent can move that side (a pixel more for rounding)
        reach = np.sqrt(np.minimum(l_in[loses] * l_out[loses] / cross2[loses], longer[loses])) + 1
        k = np.searchsorted(first, loses, side="right") - 1
        tx, ty = xy[loses, 0], xy[loses, 1]
        side = np.minimum(np.minimum(tx - extent[k, 0], extent[k, 2] - tx),
                          np.minimum(ty - extent[k, 1], extent[k, 3] - ty))
        out[k[side < reach]] = True
    tips = np.flatnonzero(zero)
    if len(tips):
        out[np.searchsorted(first, tips, side="right") - 1] = True
    with np.errstate(invalid="ignore"):
        span = np.hypot(extent[:, 2] - extent[:, 0], extent[:, 3] - extent[:, 1])
        out |= (area < THIN * span) & (span > SPIKE_REACH)
    return out


def drop_folds(xy: np.ndarray, ring: np.ndarray, npoly: int) -> tuple[np.ndarray, np.ndarray]:
    """The rings with zero-width folds (and repeated points) removed, until none is left.

    Removing a fold's tip b from a -> b -> c leaves a -> c, which lies along the retraced
    line: no area is gained or lost. Of adjacent folds only the first goes in a round, so
    that each removal sees its true neighbours.
    """
    for _ in range(MAX_FOLD_ROUNDS):
        xy, ring = _without_repeats(xy, ring, npoly)
        nxt, prv = _neighbours(ring, npoly)
        back, cross2, l_in, l_out = _folds(xy, nxt, prv)
        fold = back & _narrower(cross2, np.maximum(l_in, l_out), ZERO_WIDTH)
        fold &= ~fold[prv]
        small = np.bincount(ring, minlength=npoly)[ring] < 3
        fold &= ~small  # what is left of a ring without area: not cleaned further
        if not fold.any():
            break
        xy, ring = xy[~fold], ring[~fold]
    return xy, ring


# pycocotools walks every edge in fifth-pixel steps before it clips to the image: a vertex at
# 1e12 allocates for 5e12 steps (a hostile file took 24 GB, then a segfault). Polygons
# reaching farther than this many image sizes beyond it are not rasterized.
RASTER_REACH = 4


def within_reach(coords: np.ndarray, h: float, w: float) -> bool:
    """Whether a polygon's numbers are finite and within RASTER_REACH image sizes of it."""
    if not len(coords):
        return True
    reach = RASTER_REACH * max(h, w)
    lo, hi = float(coords.min()), float(coords.max())
    return np.isfinite(lo) and np.isfinite(hi) and lo >= -reach and hi <= max(h, w) + reach


def raster_extent(geo: BatchGeometry, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(extent x0, y0, x1, y1; pixel count) of each annotation `rows`' polygons rasterized at
    its image size by pycocotools (frPyObjects, merge, toBbox: what COCO loaders train on).
    NaN extent where the image size is unknown or too large, or the mask is empty."""
    ext = np.full((len(rows), 4), np.nan)
    area = np.zeros(len(rows))
    p = geo.polygons
    rles: list[dict[str, Any]] = []
    done: list[int] = []
    for k, r in enumerate(rows.tolist()):
        h, w = geo.image_h[r], geo.image_w[r]
        if not (h >= 1 and w >= 1) or h * w > MAX_RASTER_PIXELS:
            continue
        lo, hi = np.searchsorted(p.row, [r, r + 1])
        if not all(within_reach(p.coords[s:s + n], h, w)
                   for s, n in zip(p.start[lo:hi], p.length[lo:hi], strict=True)):
            continue
        polys = [p.coords[s:s + n].tolist() for s, n in zip(p.start[lo:hi], p.length[lo:hi], strict=True)]
        rles.append(mask_utils.merge(mask_utils.frPyObjects(polys, int(h), int(w))))
        done.append(k)
    if rles:
        box = mask_utils.toBbox(rles)
        pixels = np.array([float(mask_utils.area(rle)) for rle in rles])
        found = np.array(done)
        area[found] = pixels
        nonempty = pixels > 0
        ext[found[nonempty]] = np.c_[box[nonempty, :2], box[nonempty, :2] + box[nonempty, 2:]]
    return ext, area
