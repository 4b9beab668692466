"""Decoded geometry of a batch: the one place that calls pycocotools and shapely.

A batch's `segmentation` column holds raw JSON bytes. Polygons are decoded for the whole
batch at once: one msgspec call reads the nesting as raw slices (no number parsed), then
every polygon is joined with its brackets blanked and one more call parses all numbers as
a flat list, giving a float64 coordinate buffer with per-polygon offsets. Only a batch
holding an irregular segmentation (a flat list, `[[]]`, a string inside, 1e999) goes
row by row, to say exactly what is wrong. RLE objects are few (crowd regions): they are
read typed in one call, checked with numpy, and measured with pycocotools' toBbox.
Self-intersection uses shapely 2's vectorized validity test, after a whole-array test
that proves most outlines simple (star-shaped around their vertex mean); a ring shapely
rejects is tested again with its zero-width retraces removed (`raster.drop_folds`).

`of(batch)` returns the batch's `BatchGeometry`, computed once and cached on the batch,
so the twenty-odd geometry rules share one decode. Its parts are lazy: the shapely
validity test or the duplicate search only run when a rule asks for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Any

import msgspec
import numpy as np
import shapely
from pycocotools import mask as mask_utils

from maskcheck import raster
from maskcheck.columns import is_numberish, list_text_numbers
from maskcheck.model import Batch, SegKind

_POLYS = msgspec.json.Decoder(list[list[float]] | None)
_ROWS = msgspec.json.Decoder(list[list[list[float]]])
#: Mask IoU at which two instances are the same object.
SAME_OBJECT_IOU = 0.95
#: Near-duplicate search: pairs of one image whose boxes hold each other's centre (the
#: candidates for mask IoU) beyond which the image is searched for exact duplicates only,
#: and MC218/MC219 say so. Exact duplicates (same mask, byte for byte) are always found.
MAX_OVERLAP_CANDIDATES = 250_000
#: Polygons of more points than this that the linear star-shape test cannot prove simple
#: are not given to shapely's validity test (its time grows with the crossings, ~n^2 for
#: a ring of random points); MC203 reports them as not checked.
MAX_VALIDITY_POINTS = 100_000


@dataclass(frozen=True, slots=True)
class Polygons:
    """Every polygon of a batch: `row` is its annotation's row, `part` its index in that
    annotation's list, and its numbers are `coords[start:start + length]`."""

    row: np.ndarray
    part: np.ndarray
    start: np.ndarray
    length: np.ndarray
    coords: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


def of(batch: Batch) -> BatchGeometry:
    return batch.derived(BatchGeometry)


EMPTY_LIST = ("segmentation is [], an empty list, while other annotations of this file have masks: "
              "mask training code (pycocotools' frPyObjects, torchvision's convert_coco_poly_to_mask) "
              "raises IndexError on it. Give it a polygon or drop it")


def describe_structure(value: Any) -> tuple[str | None, list[list[float]], list[Any]]:
    """(what is wrong, or None; the polygons to use; the numbers written as strings, as
    `columns.TextNumber`s under /segmentation) for a polygon list decoded in Python.

    A numeric string ("1780.60") counts as a number when judging the structure, so the
    message says only what would still be wrong once the quotes go (number-as-string
    reports the strings); a segmentation holding any is not used as geometry.
    """
    if not isinstance(value, list):
        return "segmentation is not a list of polygons", [], []
    if not value:
        return ("segmentation is [], an empty list: no mask at all. pycocotools' frPyObjects "
                "raises IndexError on it; drop the annotation or give it a polygon"), [], []
    if all(is_numberish(v) for v in value):
        return (f"segmentation is a flat list of {len(value)} numbers; COCO expects a list of "
                "polygons, [[x1, y1, x2, y2, ...]]: wrap it in one more list"), [], \
            list_text_numbers(value, "", "segmentation", "the flat polygon")
    polys: list[list[float]] = []
    found: list[Any] = []
    message = None
    for k, poly in enumerate(value):
        if not isinstance(poly, list):
            return (f"segmentation[{k}] is {_short(poly)}, not a polygon (a list of numbers); "
                    "the list mixes polygons and other values"), [], found
        if not poly:
            what = "[[]]" if len(value) == 1 else f"polygon {k} is []"
            return (f"segmentation {what}: an empty polygon. pycocotools cannot rasterize it; "
                    "remove the empty list"), [], found
        if any(isinstance(v, list) for v in poly):
            return (f"segmentation is nested too deep (polygon {k} holds lists); COCO expects "
                    "a list of flat coordinate lists [[x1, y1, ...], ...]"), [], found
        found += list_text_numbers(poly, f"/{k}", f"segmentation[{k}]", f"polygon {k}")
        bad = [v for v in poly if not is_numberish(v)]
        if bad and message is None:
            message = f"polygon {k} holds {_short(bad[0])}, not a number"
        if not bad and not found:
            polys.append([float(v) for v in poly])
    return message, ([] if message or found else polys), found


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, float) or np.isfinite(v) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def loads_raw(raw: Any) -> Any:
    """A raw JSON slice (a segmentation as read) decoded, or None when it does not parse.
    json, not msgspec: a number like 1e999 must become inf here, to be reported as such."""
    try:
        return json.loads(bytes(raw))
    except ValueError:
        return None


class BatchGeometry:
    """Per-annotation geometry of one batch. Arrays are indexed by annotation row."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        anns, imgs = batch.anns, batch.images
        n = self.n = len(anns)
        self.kind = anns.seg_kind if "seg_kind" in anns else np.zeros(n, dtype=np.uint8)
        row = anns.image_row if "image_row" in anns else np.full(n, -1)
        known = row >= 0
        self.image_w = np.full(n, np.nan)
        self.image_h = np.full(n, np.nan)
        if len(imgs) and known.any():
            self.image_w[known] = imgs.width[row[known]]
            self.image_h[known] = imgs.height[row[known]]
        # Messages for polygon annotations whose structure is wrong (row -> message), and
        # their numbers written as strings (row -> columns.TextNumber list).
        self.structure: dict[int, str] = {}
        self.text_numbers: dict[int, list[Any]] = {}
        self.polygons = self._decode_polygons()

    # --- polygons ---------------------------------------------------------------------
    def _decode_polygons(self) -> Polygons:
        rows = np.flatnonzero(self.kind == SegKind.POLYGONS)
        if not len(rows):
            empty = np.zeros(0, dtype=np.int64)
            return Polygons(empty, empty, empty, empty, np.zeros(0))
        raws = self.batch.anns.segmentation[rows].tolist()
        fast = _decode_flat(raws)
        if fast is not None:
            per_row, length, coords = fast
            prow = np.repeat(np.arange(len(rows)), per_row)
        else:
            prow, length, coords = self._decode_rows(rows, raws)
        first = np.flatnonzero(np.r_[True, prow[1:] != prow[:-1]]) if len(prow) else prow
        part = np.arange(len(prow)) - np.repeat(first, np.diff(np.r_[first, len(prow)]))
        start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64) if len(length) else length
        return Polygons(rows[prow].astype(np.int64), part.astype(np.int64), start, length, coords)

    def _decode_rows(self, rows: np.ndarray, raws: list[Any]) -> tuple[np.ndarray, ...]:
        """Row by row, for a batch holding some irregular segmentation: says what is wrong."""
        values = []
        for i, raw in enumerate(raws):
            try:
                values.append(_POLYS.decode(raw))
                continue
            except msgspec.ValidationError:
                pass
            message, polys, found = describe_structure(loads_raw(raw))
            if message is not None:
                self.structure[int(rows[i])] = message
            if found:
                self.text_numbers[int(rows[i])] = found
            # a number beyond float range comes back as inf, for non-finite-coordinate
            values.append(polys or None)
        per_row = np.fromiter((-1 if v is None else len(v) for v in values), np.int64, len(values))
        polys = list(chain.from_iterable(v for v in values if v))
        length = np.fromiter(map(len, polys), np.int64, len(polys))
        # [] (spelled with spaces) and [[]] decode fine but are not masks
        prow = np.repeat(np.arange(len(rows)), np.maximum(per_row, 0))
        bad = per_row <= 0
        bad[prow[length == 0]] = True
        if bad.any():
            for i in np.flatnonzero(bad).tolist():
                if int(rows[i]) not in self.structure and int(rows[i]) not in self.text_numbers:
                    message, _, _ = describe_structure(loads_raw(raws[i]))
                    self.structure[int(rows[i])] = message or "segmentation is not a list of polygons"
            keep = ~bad[prow]
            polys = [q for q, k in zip(polys, keep.tolist(), strict=True) if k]
            length, prow = length[keep], prow[keep]
        coords = np.fromiter(chain.from_iterable(polys), np.float64, int(length.sum()))
        return prow, length, coords

    @cached_property
    def poly(self) -> PolygonStats:
        return PolygonStats(self.polygons)

    @cached_property
    def validity_unchecked(self) -> np.ndarray:
        """Indices of polygons not proven simple and over MAX_VALIDITY_POINTS: not tested."""
        self.self_intersecting  # noqa: B018 - sets _validity_unchecked
        return getattr(self, "_validity_unchecked", np.zeros(0, dtype=np.int64))

    @cached_property
    def self_intersecting(self) -> np.ndarray:
        """Indices of polygons whose ring crosses itself (shapely's validity test)."""
        st = self.poly
        test = np.flatnonzero(st.usable & (st.points >= 4) & ~st.collinear)
        if not len(test):
            return test
        xy, ring = st.points_of(test)
        with np.errstate(over="ignore", invalid="ignore"):
            simple = _star_shaped(xy, ring, st.points[test])
        if simple.all():
            return test[:0]
        test = test[~simple]
        keep = ~simple[ring]
        xy = xy[keep]
        # GEOS's validity test grows with the number of crossings (a ring of random points
        # has ~n^2): outlines over the cap are left untested, and MC203 says so
        big = st.points[test] > MAX_VALIDITY_POINTS
        if big.any():
            self._validity_unchecked = test[big]
            xy = xy[~np.repeat(big, st.points[test])]
            test = test[~big]
            if not len(test):
                return test
        ring = np.repeat(np.arange(len(test)), st.points[test])
        rings = shapely.linearrings(xy, indices=ring)
        polys = shapely.polygons(rings)
        invalid = ~shapely.is_valid(polys)
        if not invalid.any():
            return test[invalid]
        crossing = test[invalid][_crossing(polys[invalid])]
        return crossing[~_valid_once_unfolded(st, crossing)] if len(crossing) else crossing

    # --- RLE --------------------------------------------------------------------------
    @cached_property
    def rle(self) -> RleStats:
        return RleStats(self)

    # --- per-annotation mask summary --------------------------------------------------
    @cached_property
    def mask(self) -> MaskSummary:
        return MaskSummary(self)

    @cached_property
    def perimeter(self) -> np.ndarray:
        """Each annotation's outline length in pixels (0 where it has no usable polygon)."""
        st, p = self.poly, self.polygons
        return np.bincount(p.row, weights=st.perimeter, minlength=self.n) if len(p) else np.zeros(self.n)

    @cached_property
    def same_objects(self) -> SameObjects:
        """Duplicate edges (masks of one image with IoU >= SAME_OBJECT_IOU), linear in size."""
        return _same_objects(self)

    @property
    def same_object_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(i, j, mask IoU) edges connecting every set of same-object masks (not every pair)."""
        so = self.same_objects
        return so.a, so.b, so.iou


def _star_shaped(xy: np.ndarray, ring: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Polygons proven simple without shapely: seen from the mean of its vertices, each
    edge turns strictly the same way by less than a half-turn and the turns add up to
    one full turn. Then every edge sweeps its own angular sector around that point, so no
    two edges can cross (the polygon is star-shaped). Most annotated outlines pass; the
    rest go to shapely's validity test."""
    first = np.concatenate([[0], np.cumsum(points)[:-1]])
    centre = np.add.reduceat(xy, first, axis=0) / points[:, None]
    v = xy - centre[ring]
    nxt = np.arange(1, len(v) + 1)
    nxt[np.cumsum(points) - 1] = first
    cross = v[:, 0] * v[nxt, 1] - v[:, 1] * v[nxt, 0]
    dot = v[:, 0] * v[nxt, 0] + v[:, 1] * v[nxt, 1]
    turn = np.arctan2(cross, dot)
    pos = np.logical_and.reduceat(cross > 0, first)
    neg = np.logical_and.reduceat(cross < 0, first)
    total = np.abs(np.add.reduceat(turn, first))
    return (pos | neg) & (np.abs(total - 2 * np.pi) < 1e-6)


def _decode_flat(raws: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(polygons per row, numbers per polygon, every number) when every row is regular.

    All rows are decoded in one call as lists of lists of numbers, and the counts read off
    the lists: one pass over the bytes (bracket-blanking and comma-counting cost two more).
    Anything irregular (a flat list, nesting too deep, an empty row or polygon, a string,
    a number out of range) makes it return None.
    """
    try:
        rows = _ROWS.decode(b"[" + b",".join(raws) + b"]")
    except msgspec.DecodeError:  # ValidationError too
        return None
    per_row = np.fromiter(map(len, rows), np.int64, len(rows))
    if not per_row.all():
        return None
    polys = list(chain.from_iterable(rows))
    length = np.fromiter(map(len, polys), np.int64, len(polys))
    if not length.all():
        return None
    return per_row, length, np.fromiter(chain.from_iterable(polys), np.float64, int(length.sum()))


class PolygonStats:
    """Per-polygon measures: point counts, finiteness, shoelace area, extent."""

    def __init__(self, p: Polygons) -> None:
        # coordinates like 1e300 overflow in products: they give inf, not a warning on stderr
        with np.errstate(over="ignore", invalid="ignore"):
            self._measure(p)

    def _measure(self, p: Polygons) -> None:
        self.p = p
        self.odd = p.length % 2 == 1
        self.points = p.length // 2
        finite = np.isfinite(p.coords)
        if len(p):
            self.finite = np.logical_and.reduceat(finite, p.start) if len(p.coords) else np.ones(0, bool)
        else:
            self.finite = np.ones(0, dtype=bool)
        self.usable = ~self.odd & (self.points >= 3) & self.finite
        n = len(p)
        self.area = np.full(n, np.nan)
        self.perimeter = np.zeros(n)
        # all points on one line: no area at all (a bow-tie's lobes can also cancel to 0)
        self.collinear = np.zeros(n, dtype=bool)
        self.extent = np.full((n, 4), np.nan)
        # a zero-width fold, a tip the raster can cut short beyond MC211's tolerance, or a
        # sliver: the raster may not reach the coordinate extent (raster.spike_polygons);
        # MC211 rasterizes these few
        self.spike = np.zeros(n, dtype=bool)
        use = np.flatnonzero(self.usable)
        if len(use):
            xy, _ = self.points_of(use)
            x, y = xy[:, 0], xy[:, 1]
            counts = self.points[use]
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])
            # each point's edge to the next point of its ring, from shifted slices (no gathers)
            ex, ey = raster.ring_edges(x, y, first, counts)
            # x_i y_i+1 - x_i+1 y_i, written with the edge: the same sum, no gather
            self.area[use] = 0.5 * np.abs(np.add.reduceat(x * ey - ex * y, first))
            self.perimeter[use] = np.add.reduceat(np.hypot(ex, ey), first)
            vx, vy = x - np.repeat(x[first], counts), y - np.repeat(y[first], counts)
            spread = np.add.reduceat(np.abs(vx * ey - ex * vy), first)
            self.collinear[use] = spread <= 1e-9 * np.maximum(self.perimeter[use], 1.0) ** 2
            self.extent[use, 0] = np.minimum.reduceat(x, first)
            self.extent[use, 1] = np.minimum.reduceat(y, first)
            self.extent[use, 2] = np.maximum.reduceat(x, first)
            self.extent[use, 3] = np.maximum.reduceat(y, first)
            self.spike[use] = ~self.collinear[use] & raster.spike_polygons(
                xy, first, counts, self.area[use], self.extent[use], edges=(ex, ey))

    def points_of(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(points (m, 2), polygon number of each point) for the even-length polygons `which`."""
        p = self.p
        lengths = p.length[which]
        if (len(which) == len(p) and (which[1:] > which[:-1]).all()
                and int(lengths.sum()) == len(p.coords)):
            # every polygon, in order (a clean batch): the points are the numbers as they lie
            return p.coords.reshape(-1, 2).copy(), np.repeat(np.arange(len(which)), lengths // 2)
        total = int(lengths.sum())
        base = np.repeat(p.start[which] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        flat = p.coords[base + np.arange(total)]
        ring = np.repeat(np.arange(len(which)), lengths // 2)
        return flat.reshape(-1, 2), ring


class RleStats:
    """Validated RLE masks: problems by row, and size, area and extent of the good ones."""

    def __init__(self, geo: BatchGeometry) -> None:
        n = geo.n
        self.rows = np.flatnonzero(geo.kind == SegKind.RLE)
        self.problem: dict[int, str] = {}
        self.size = np.full((n, 2), -1, dtype=np.int64)  # (h, w) as written
        self.area = np.full(n, np.nan)
        self.extent = np.full((n, 4), np.nan)
        self.runs: dict[int, np.ndarray] = {}  # run lengths of the good masks (point lookups)
        good: list[int] = []
        objs: list[dict[str, Any]] = []
        seg = geo.batch.anns.segmentation if len(self.rows) else None
        raws = [seg[r] for r in self.rows] if seg is not None else []
        try:  # typed and in one call; a bad object sends the batch to the per-row path
            typed = _BATCH_RLE.decode(b"[" + b",".join(raws) + b"]") if raws else []
        except msgspec.ValidationError:
            typed = [None] * len(raws)
        for r, raw, fast in zip(self.rows.tolist(), raws, typed, strict=True):
            if fast is not None and (fast.size[0] >= 0 and fast.size[1] >= 0):
                size, counts, runs, message = check_runs(fast.size, fast.counts)
            else:
                size, counts, runs, message = check_rle(loads_raw(raw))
            if size is not None:
                self.size[r] = size
            if message is not None:
                self.problem[r] = message
                continue
            good.append(r)
            self.runs[r] = runs
            objs.append({"size": list(size), "counts": counts})
            # the foreground runs, summed here: pycocotools' area() overflows a uint8
            # under numpy 2 when given more than 255 masks at once
            self.area[r] = float(runs[1::2].sum())
        if good:
            rles = [_to_coco_rle(o) for o in objs]
            box = mask_utils.toBbox(rles)
            self.extent[good] = np.c_[box[:, :2], box[:, :2] + box[:, 2:]]
            self.rles = dict(zip(good, rles, strict=True))
        else:
            self.rles = {}


def pixels_on(rle: RleStats, rows: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether pixel (x[i], y[i]) (integers inside the mask's size) of good RLE mask rows[i]
    is foreground, for every query at once. COCO's RLE is column-major and alternates
    background and foreground runs, starting with background: the run holding pixel
    x * h + y is found by one search over every mask's runs laid end to end."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    masks, which = np.unique(rows, return_inverse=True)
    runs = [rle.runs[int(r)] for r in masks]
    ends = np.cumsum(np.concatenate(runs))
    n_runs = np.fromiter(map(len, runs), dtype=np.int64, count=len(runs))
    first_run = np.r_[0, np.cumsum(n_runs)[:-1]]
    pixels = np.fromiter((int(r.sum()) for r in runs), dtype=np.int64, count=len(runs))
    before = np.r_[0, np.cumsum(pixels)[:-1]]  # pixels of the masks laid before each
    k = np.searchsorted(ends, before[which] + x * rle.size[rows, 0] + y, side="right")
    return (k - first_run[which]) % 2 == 1


def _to_coco_rle(obj: dict[str, Any]) -> dict[str, Any]:
    h, w = obj["size"]
    counts = obj["counts"]
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts.encode()}
    return mask_utils.frPyObjects([{"size": [h, w], "counts": counts}], h, w)[0]


_NO_RUNS = np.zeros(0, dtype=np.int64)
MAX_RLE_PIXELS = 1 << 31  # larger masks overflow pycocotools' uint32 counts


class _Rle(msgspec.Struct):
    size: tuple[int, int]
    counts: list[int] | str


_BATCH_RLE = msgspec.json.Decoder(list[_Rle])


def decode_rle_string(text: str) -> np.ndarray | str:
    """COCO's compressed counts (LEB128-like, 5 bits a char, deltas from index 3) as run
    lengths, or a message saying why the string cannot be decoded."""
    try:
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64)
    except UnicodeEncodeError as exc:
        return f"character {text[exc.start]!r} at position {exc.start} is not ASCII: not COCO RLE"
    if not len(data):
        return np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero((data < 48) | (data > 111))
    if len(bad):
        return (f"character {text[int(bad[0])]!r} at position {int(bad[0])} is outside COCO's "
                "RLE alphabet ('0'..'o')")
    c = data - 48
    more = (c & 0x20) != 0
    if more[-1]:
        return "the string ends in the middle of a number (cut off?)"
    end = np.flatnonzero(~more)
    start = np.r_[0, end[:-1] + 1]
    if int((end - start).max()) > 12:
        return "a run length has more than 12 characters: not COCO RLE"
    token = np.repeat(np.arange(len(end)), end - start + 1)
    shift = 5 * (np.arange(len(c)) - start[token])
    values = np.bincount(token, weights=((c & 0x1F) << shift).astype(np.float64)).astype(np.int64)
    last = c[end]
    neg = (last & 0x10) != 0
    values[neg] -= np.int64(1) << (5 * (end - start + 1))[neg]
    runs = values.copy()
    if len(runs) > 2:
        runs[3::2] = values[1] + np.cumsum(values[3::2])
        runs[4::2] = values[2] + np.cumsum(values[4::2])
    return runs


def check_rle(value: Any) -> tuple[tuple[int, int] | None, Any, np.ndarray, str | None]:
    """(size, counts as written, run lengths, problem) of a decoded RLE object."""
    if not isinstance(value, dict):
        return None, None, _NO_RUNS, "segmentation is not an RLE object"
    missing = [k for k in ("size", "counts") if k not in value]
    if missing:
        return None, None, _NO_RUNS, f"RLE object lacks {' and '.join(map(repr, missing))}"
    size = value["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size)):
        return None, None, _NO_RUNS, f"RLE size must be [height, width] as two integers, got {_short(size)}"
    h, w = size
    if h < 0 or w < 0:
        return (h, w), None, _NO_RUNS, f"RLE size [{h}, {w}] is negative"
    return check_runs((h, w), value["counts"])


def _int_array(values: list[Any]) -> np.ndarray | None:
    """The list as int64, or None when some value is not an integer (bools included)."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    try:
        arr = np.array(values)
    except (OverflowError, ValueError):
        return None
    return arr.astype(np.int64) if arr.dtype.kind in "iu" and arr.ndim == 1 else None


def check_runs(size: tuple[int, int], counts: Any) -> tuple[tuple[int, int], Any, np.ndarray, str | None]:
    h, w = size
    if isinstance(counts, str):
        runs = decode_rle_string(counts)
        if isinstance(runs, str):
            return (h, w), None, _NO_RUNS, f"RLE counts string cannot be decoded: {runs}"
    elif isinstance(counts, list) and (runs := _int_array(counts)) is not None:
        pass
    else:
        return (h, w), None, _NO_RUNS, "RLE counts must be a list of integers or a COCO counts string"
    neg = np.flatnonzero(runs < 0)
    if len(neg):
        return ((h, w), None, _NO_RUNS,
                f"RLE counts hold a negative run ({int(runs[neg[0]])} at position {int(neg[0])}); "
                "run lengths cannot be negative")
    if h * w > MAX_RLE_PIXELS:  # pycocotools keeps sizes and runs in uint32
        return ((h, w), None, _NO_RUNS,
                f"RLE size [{h}, {w}] has {h * w:,} pixels, over the {MAX_RLE_PIXELS:,} that "
                "pycocotools' 32-bit counts can hold: not decoded")
    big = np.flatnonzero(runs > h * w)  # bounded first, so the int64 sum cannot wrap round
    total = int(runs.sum()) if not len(big) else sum(runs.tolist())
    if total != h * w:
        return ((h, w), None, _NO_RUNS,
                f"RLE counts sum to {total:,} pixels but size [{h}, {w}] has {h * w:,}: decoding "
                "it writes past the mask or leaves it short (pycocotools does not check)")
    return (h, w), counts, runs, None


class MaskSummary:
    """One mask per annotation: its area, extent and whether it can be measured at all.

    Polygon annotations use the polygons' own geometry (shoelace area, coordinate
    extent): that is what the stored box and area were computed from, so no
    rasterization error enters the comparison.
    """

    def __init__(self, geo: BatchGeometry) -> None:
        n = geo.n
        st = geo.poly
        p = geo.polygons
        self.area = np.full(n, np.nan)
        self.extent = np.full((n, 4), np.nan)
        self.measured = np.zeros(n, dtype=bool)
        # an annotation is measured when all its polygons are usable
        if len(p):
            bad_rows = np.unique(p.row[~st.usable])
            use = st.usable
            rows = p.row[use]
            if len(rows):
                self.area_sum = np.bincount(rows, weights=st.area[use], minlength=n)
                first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
                urow = rows[first]
                ext = st.extent[use]
                self.area[urow] = self.area_sum[urow]
                self.extent[urow, 0] = np.minimum.reduceat(ext[:, 0], first)
                self.extent[urow, 1] = np.minimum.reduceat(ext[:, 1], first)
                self.extent[urow, 2] = np.maximum.reduceat(ext[:, 2], first)
                self.extent[urow, 3] = np.maximum.reduceat(ext[:, 3], first)
                self.measured[urow] = True
            self.measured[bad_rows] = False
            self.area[bad_rows] = np.nan
            self.extent[bad_rows] = np.nan
        rle = geo.rle
        good = np.isfinite(rle.area)
        self.area[good] = rle.area[good]
        self.extent[good] = rle.extent[good]
        self.measured |= good
        self.is_rle = good


def mask_rles(geo: BatchGeometry, rows: np.ndarray) -> list[dict[str, Any]]:
    """pycocotools RLEs of the measured masks `rows` (polygons rasterized at image size)."""
    p = geo.polygons
    out = []
    for r in rows.tolist():
        rle = geo.rle.rles.get(r)
        if rle is not None:
            out.append(rle)
            continue
        h, w = geo.image_h[r], geo.image_w[r]  # callers pass rows of images of known size
        lo, hi = np.searchsorted(p.row, [r, r + 1])
        # far-off vertices clipped to the reach pycocotools can walk (raster.RASTER_REACH):
        # for an overlap measure inside the image that is close enough
        reach = raster.RASTER_REACH * max(h, w)
        polys = [np.clip(np.nan_to_num(p.coords[s:s + n]), -reach, max(h, w) + reach).tolist()
                 for s, n in zip(p.start[lo:hi], p.length[lo:hi], strict=True)]
        out.append(mask_utils.merge(mask_utils.frPyObjects(polys, int(h), int(w))))
    return out


def _iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    if list(a["size"]) != list(b["size"]):
        return 0.0  # an RLE of another size: rle-size-mismatch reports it
    return float(mask_utils.iou([a], [b], [0])[0, 0])


@dataclass(frozen=True, slots=True)
class SameObjects:
    """Edges between masks of one image that are the same object (IoU >= SAME_OBJECT_IOU).

    Not every pair: enough edges to connect each set of duplicates, and each set of
    duplicates of one class through edges of that class, so that connected components are
    the duplicate clusters. `unchecked` maps an image row to the number of candidate pairs
    found when its near-duplicate search stopped at MAX_OVERLAP_CANDIDATES.
    """

    a: np.ndarray
    b: np.ndarray
    iou: np.ndarray
    unchecked: dict[int, int]


def mask_key(geo: BatchGeometry, r: int) -> bytes:
    """The mask exactly as written (RLE counts and size, or polygon numbers and lengths)."""
    rle = geo.rle.rles.get(r)
    if rle is not None:
        h, w = rle["size"]
        return b"R%d,%d:" % (h, w) + bytes(rle["counts"])
    p = geo.polygons
    lo, hi = np.searchsorted(p.row, [r, r + 1])
    start, end = int(p.start[lo]), int(p.start[hi - 1] + p.length[hi - 1])
    return b"P" + p.length[lo:hi].tobytes() + b":" + p.coords[start:end].tobytes()


def _centre_pairs(ext: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(i, j) with i < j whose boxes hold each other's centre, and how many were found.

    Box IoU >= 0.8 (needed for mask IoU >= 0.95) implies each box holds the other's
    centre, so an STRtree query of centres against boxes finds every candidate. Queried
    in chunks so that no chunk can return more than MAX_OVERLAP_CANDIDATES pairs; the
    search stops (and says how far it got) once that many were found.
    """
    n = len(ext)
    boxes = shapely.box(ext[:, 0], ext[:, 1], ext[:, 2], ext[:, 3])
    tree = shapely.STRtree(boxes)
    cx, cy = (ext[:, 0] + ext[:, 2]) / 2, (ext[:, 1] + ext[:, 3]) / 2
    centres = shapely.points(cx, cy)
    step = max(1, MAX_OVERLAP_CANDIDATES // n)
    found_i, found_j, total = [], [], 0
    for lo in range(0, n, step):
        q, t = tree.query(centres[lo:lo + step], predicate="intersects")
        q = q + lo
        keep = q < t
        total += int(keep.sum())
        found_i.append(q[keep])
        found_j.append(t[keep])
        if total > MAX_OVERLAP_CANDIDATES:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), total
    return np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64), total


SMALL_IMAGE = 64  # instances per image below which all pairs are tried, without a tree


def _pairs_within(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j), i < j, inside each run [start, start + count): vectorized over runs."""
    pos = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)  # place in run
    elem = np.repeat(starts, counts) + pos
    partners = np.repeat(counts, counts) - 1 - pos  # elements after this one in its run
    a = np.repeat(elem, partners)
    first = np.repeat(np.cumsum(partners) - partners, partners)
    b = a + 1 + (np.arange(len(a)) - first)
    return a.astype(np.int64), b.astype(np.int64)


def _same_objects(geo: BatchGeometry) -> SameObjects:
    none = np.zeros(0, dtype=np.int64)
    m = geo.mask
    anns = geo.batch.anns
    image_row = anns.image_row if "image_row" in anns else np.full(geo.n, -1)
    sized = (geo.image_w >= 1) & (geo.image_h >= 1)  # NaN compares False: unknown sizes drop out
    cand = np.flatnonzero(m.measured & (image_row >= 0) & (m.area > 0) & sized)
    if len(cand) < 2:
        return SameObjects(none, none, np.zeros(0), {})
    ok = anns.category_id_ok if "category_id_ok" in anns else np.zeros(geo.n, dtype=bool)
    cls = anns.category_id if "category_id" in anns else np.zeros(geo.n, dtype=np.int64)
    edges_a: list[int] = []
    edges_b: list[int] = []
    edges_v: list[float] = []
    # 1. exact duplicates, by hashing the mask as written: linear however many copies.
    # Each group keeps one representative; per class, its members are chained and the
    # class's first member is linked to the representative.
    # Only masks that share image, area and extent can be identical, so the exact key (the
    # bytes as written) is built for those few, not for every annotation.
    fp = np.column_stack([image_row[cand].astype(np.float64), m.area[cand], m.extent[cand]])
    order = np.lexsort(fp.T[::-1])
    sorted_fp = fp[order]
    new_group = np.r_[True, np.any(sorted_fp[1:] != sorted_fp[:-1], axis=1)]
    group_id = np.cumsum(new_group) - 1
    sizes = np.bincount(group_id)
    in_order = cand[order]
    shared = sizes[group_id] > 1
    groups: dict[Any, list[int]] = {}
    for k, r in zip(group_id[shared].tolist(), in_order[shared].tolist(), strict=True):
        groups.setdefault((k, mask_key(geo, r)), []).append(r)
    leaders: dict[int, dict[Any, int]] = {}  # representative -> class -> first member
    reps = in_order[~shared].tolist()  # a mask no other shares is its own representative
    for members in groups.values():
        rep = members[0]
        reps.append(rep)
        lead: dict[Any, int] = {}
        for r in members:
            c = int(cls[r]) if ok[r] else ("row", r)
            prev = lead.get(c)
            if prev is None:
                lead[c] = r
                if r != rep:
                    edges_a.append(rep)
                    edges_b.append(r)
                    edges_v.append(1.0)
            else:
                edges_a.append(prev)
                edges_b.append(r)
                edges_v.append(1.0)
        leaders[rep] = lead
    def _alone(r: int) -> dict[Any, int]:
        return {int(cls[r]) if ok[r] else ("row", r): r}

    # 2. near duplicates among the representatives, image by image: candidates whose
    # boxes hold each other's centre, then extent IoU and area ratio, then mask IoU.
    unchecked: dict[int, int] = {}
    rep_arr = np.array(sorted(reps), dtype=np.int64)
    img = image_row[rep_arr]
    order = np.argsort(img, kind="stable")
    rep_arr, img = rep_arr[order], img[order]
    first = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
    bounds = np.r_[first, len(img)]
    pa, pb = [], []
    counts = np.diff(bounds)
    small = (counts >= 2) & (counts <= SMALL_IMAGE)
    all_pairs = counts * (counts - 1) // 2
    for k in np.flatnonzero(small & (all_pairs > MAX_OVERLAP_CANDIDATES)).tolist():
        unchecked[int(img[bounds[k]])] = int(all_pairs[k])  # only when the cap is set that low
    small &= all_pairs <= MAX_OVERLAP_CANDIDATES
    if small.any():  # every pair of an image with few instances, for all such images at once
        a, b = _pairs_within(bounds[:-1][small], counts[small])
        pa.append(rep_arr[a])
        pb.append(rep_arr[b])
    for k in np.flatnonzero(counts > SMALL_IMAGE).tolist():
        rows = rep_arr[bounds[k]:bounds[k + 1]]
        i, j, total = _centre_pairs(m.extent[rows])
        if total > MAX_OVERLAP_CANDIDATES:
            unchecked[int(img[bounds[k]])] = total
            continue
        pa.append(rows[i])
        pb.append(rows[j])
    if pa:
        a, b = np.concatenate(pa), np.concatenate(pb)
        ea, eb = m.extent[a], m.extent[b]
        ix = np.clip(np.minimum(ea[:, 2], eb[:, 2]) - np.maximum(ea[:, 0], eb[:, 0]), 0, None)
        iy = np.clip(np.minimum(ea[:, 3], eb[:, 3]) - np.maximum(ea[:, 1], eb[:, 1]), 0, None)
        inter = ix * iy
        area_a = (ea[:, 2] - ea[:, 0]) * (ea[:, 3] - ea[:, 1])
        area_b = (eb[:, 2] - eb[:, 0]) * (eb[:, 3] - eb[:, 1])
        union = area_a + area_b - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            box_iou = np.where(union > 0, inter / union, 0.0)
            ratio = np.minimum(m.area[a], m.area[b]) / np.maximum(m.area[a], m.area[b])
        keep = (box_iou >= 0.8) & (ratio >= SAME_OBJECT_IOU)
        a, b = a[keep], b[keep]
        if len(a):
            rows = np.unique(np.r_[a, b])
            rles = dict(zip(rows.tolist(), mask_rles(geo, rows), strict=True))
            for x, y in zip(a.tolist(), b.tolist(), strict=True):
                v = _iou(rles[x], rles[y])
                if v < SAME_OBJECT_IOU:
                    continue
                edges_a.append(x)
                edges_b.append(y)
                edges_v.append(v)
                # the same object in both groups: link their members class by class
                lx, ly = leaders.get(x) or _alone(x), leaders.get(y) or _alone(y)
                for c in lx.keys() & ly.keys():
                    if (lx[c], ly[c]) != (x, y):
                        edges_a.append(lx[c])
                        edges_b.append(ly[c])
                        edges_v.append(v)
    return SameObjects(np.array(edges_a, dtype=np.int64), np.array(edges_b, dtype=np.int64),
                       np.array(edges_v, dtype=np.float64), unchecked)


# ------------------------------------------------------------------------------- encoding
def encode_mask(bits: np.ndarray, height: int, width: int, top: int = 0, left: int = 0) -> dict[str, Any]:
    """COCO RLE (compressed) of a mask given at its own size, placed at (top, left) on an
    height x width canvas: the one place readers turn a bitmap into RLE.

    The canvas is never allocated: a mask shape on a 60000 x 60000 image costs its own
    pixels, not 3.6 GB. The part of `bits` outside the canvas is cut off. Raises ValueError
    for a canvas larger than pycocotools' uint32 counts can describe.
    """
    height, width, top, left = int(height), int(width), int(top), int(left)
    if height <= 0 or width <= 0 or height * width > MAX_RLE_PIXELS:
        raise ValueError(f"a {width}x{height} canvas cannot be encoded (over {MAX_RLE_PIXELS:,} pixels "
                         "or not positive)")
    bits = np.asarray(bits, dtype=bool)
    y0, x0 = max(top, 0), max(left, 0)
    crop = bits[y0 - top:max(height - top, 0), x0 - left:max(width - left, 0)]
    h, w = crop.shape
    if not h or not w or not crop.any():
        return _to_coco_rle({"size": [height, width], "counts": [height * width]})
    if height * width <= 4 * h * w:  # the canvas costs little more than the mask: C is faster
        canvas = np.zeros((height, width), dtype=np.uint8, order="F")
        canvas[y0:y0 + h, x0:x0 + w] = crop
        return mask_utils.encode(canvas)
    # per crop column, the rows where a run starts and ends (zero rows above and below keep
    # runs inside their column, as they are on the canvas unless the crop spans it)
    padded = np.zeros((w, h + 2), dtype=np.int8)
    padded[:, 1:-1] = crop.T
    step = np.diff(padded, axis=1)
    col_s, row_s = np.nonzero(step == 1)
    col_e, row_e = np.nonzero(step == -1)
    base = (x0 + np.arange(w, dtype=np.int64)) * height + y0
    starts = base[col_s] + row_s
    ends = base[col_e] + row_e
    # a run ending at the bottom of one column and the next starting at the top join
    keep_s = np.ones(len(starts), dtype=bool)
    keep_e = np.ones(len(ends), dtype=bool)
    touching = ends[:-1] == starts[1:]
    keep_e[:-1] &= ~touching
    keep_s[1:] &= ~touching
    return _rle_from_runs(starts[keep_s], ends[keep_e], height, width)


def _rle_from_runs(starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> dict[str, Any]:
    """Compressed RLE of an height x width canvas whose ones are the column-major runs
    [starts[k], ends[k]) (sorted, not touching)."""
    edges = np.empty(2 * len(starts) + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, height * width
    edges[1:-1:2], edges[2:-1:2] = starts, ends
    counts = np.diff(edges)
    if counts[-1] == 0:  # a mask reaching the canvas's last pixel ends on a run of ones
        counts = counts[:-1]
    return _to_coco_rle({"size": [height, width], "counts": counts.tolist()})


def ellipse_polygon(cx: float, cy: float, rx: float, ry: float, *, decimals: int | None = None,
                    sides: int = 32) -> list[float]:
    """An ellipse (a circle when rx == ry) as the flat [x0, y0, x1, y1, ...] 32-gon that
    converters write for LabelMe circles and CVAT ellipses."""
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])
    return (ring.round(decimals) if decimals is not None else ring).ravel().tolist()


def rle_json(rle: dict[str, Any]) -> bytes:
    """A compressed pycocotools RLE as the COCO JSON segmentation readers store."""
    return msgspec.json.encode({"size": [int(v) for v in rle["size"]],
                                "counts": rle["counts"].decode("ascii")})


def rle_area_bbox(rle: dict[str, Any]) -> tuple[float, list[float]]:
    """(area, [x, y, w, h]) of one compressed RLE, from pycocotools' C routines."""
    return float(mask_utils.area(rle)), [float(v) for v in mask_utils.toBbox(rle).tolist()]


Encoded = tuple[dict[str, Any], float, list[float]]  # (compressed RLE, area, [x, y, w, h])


def encode_label_image(labels: np.ndarray, ids: list[int]) -> dict[int, Encoded]:
    """{id: (compressed RLE, area, [x, y, w, h])} for each id of an instance-label image, in
    one pass: pixels are sorted by id once, so 65,535 instances cost one sort, not 65,535
    comparisons of the whole image."""
    height, width = labels.shape
    if len(ids) <= 64:  # few instances: one C encode of each id's bitmap is fastest and small
        fortran = np.asfortranarray(labels)
        out_few: dict[int, Encoded] = {}
        for inst in ids:
            rle = mask_utils.encode(np.asfortranarray((fortran == inst).view(np.uint8)))
            out_few[int(inst)] = (rle, *rle_area_bbox(rle))
        return out_few
    flat = labels.ravel(order="F")  # COCO runs go down the columns
    wanted = np.isin(flat, np.asarray(ids, dtype=flat.dtype))
    pos = np.flatnonzero(wanted)
    vals = flat[pos]
    order = np.argsort(vals, kind="stable")  # positions stay ascending within an id
    pos, vals = pos[order], vals[order]
    bounds = np.flatnonzero(np.diff(vals)) + 1
    out: dict[int, Encoded] = {}
    for p in np.split(pos, bounds):
        if not len(p):
            continue
        inst = int(flat[p[0]])
        gaps = np.flatnonzero(np.diff(p) != 1)
        starts = np.concatenate([p[:1], p[gaps + 1]])
        ends = np.concatenate([p[gaps] + 1, p[-1:] + 1])
        rle = _rle_from_runs(starts, ends, height, width)
        xs, ys = p // height, p % height
        x0, y0 = float(xs.min()), float(ys.min())
        out[inst] = (rle, float(len(p)), [x0, y0, float(xs.max()) + 1 - x0, float(ys.max()) + 1 - y0])
    return out


# ------------------------------------------------------------------ crossings vs retraces
def _crossing(polys: np.ndarray) -> np.ndarray:
    """Which invalid polygons cross themselves. "Ring Self-intersection" is a ring touching
    itself at one point (a pinch): rasterizers fill it as intended, so it is not counted."""
    reasons = shapely.is_valid_reason(polys)
    return np.array([r.startswith("Self-intersection") for r in reasons], dtype=bool)


def _valid_once_unfolded(st: PolygonStats, which: np.ndarray) -> np.ndarray:
    """Polygons `which` whose ring is valid once its zero-width folds are removed: a retrace
    (out along a line and back) overlaps itself, so shapely calls it invalid, but it has no
    lobe: pycocotools fills the same mask with or without it. A crossing has lobes either
    way and stays."""
    xy, ring = st.points_of(which)
    xy, ring = raster.drop_folds(xy, ring, len(which))
    left = np.bincount(ring, minlength=len(which))
    out = left < 3  # nothing left to cross (a ring with area keeps 3 points)
    keep = ~out[ring]
    if keep.any():
        ids = np.flatnonzero(~out)
        _, dense = np.unique(ring[keep], return_inverse=True)
        polys = shapely.polygons(shapely.linearrings(xy[keep], indices=dense))
        out[ids] = shapely.is_valid(polys) | ~_crossing(polys)
    return out

