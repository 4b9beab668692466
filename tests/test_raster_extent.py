"""MC211 judged on the raster: a zero-width spike stretches a polygon's coordinate extent but
not the mask pycocotools fills. The spike filter (`raster.spike_polygons`) must send every
such polygon to the raster and no ordinary one."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from conftest import SHARED, coco_doc
from maskcheck import lint, raster
from maskcheck.geometry import Polygons, PolygonStats, ellipse_polygon
from maskcheck.rules import geometry_boxes
from maskcheck.rules.geometry_boxes import BOX_PIXELS, BOX_RELATIVE, RASTER_SLACK

W, H = 640, 480
IMAGES = [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}]
# a 40 x 40 square whose outline runs down x = 125 to y = 454 and back: a zero-width spike
SPIKE = [[100, 100, 140, 100, 140, 140, 125, 140, 125, 454, 125, 140, 100, 140]]


def coco_ann(aid: int, seg: Any, bbox: list[float]) -> dict[str, Any]:
    return {"id": aid, "image_id": 1, "category_id": 1, "segmentation": seg, "bbox": bbox,
            "area": 1600.0, "iscrowd": 0}


@pytest.fixture
def mc211(write_coco):
    def go(anns: list[dict[str, Any]]) -> list[Any]:
        report = lint([write_coco(coco_doc(images=IMAGES, annotations=anns))], select=["MC211"])
        assert not report.errors
        return [f for f in report.findings if f.code == "MC211"]

    return go


def raster_box(seg: list[list[float]]) -> list[float]:
    return mask_utils.toBbox(mask_utils.merge(mask_utils.frPyObjects(seg, H, W))).tolist()


# ----------------------------------------------------------------------------- the rule
def test_box_fitted_to_a_spike_fires_with_the_raster_heights(mc211):
    assert raster_box(SPIKE) == [100, 100, 40, 40]  # pycocotools fills no pixel of the spike
    found = mc211([coco_ann(1, SPIKE, [100, 100, 40, 354])])
    assert [f.location.pointer for f in found] == ["/annotations/0"]
    assert "bbox [100, 100, 40, 354] is 354 px tall but the rasterized mask is 40 px" in found[0].message
    assert "zero-width spike" in found[0].message and "drop the spike" in found[0].message


def test_box_fitted_to_the_mask_of_a_spike_polygon_is_quiet(mc211):
    # the box the trainer needs: the raster's. Judged on the coordinates it was 314 px short
    assert mc211([coco_ann(1, SPIKE, [100, 100, 40, 40])]) == []


def test_spike_along_the_image_border_and_beyond(mc211):
    # the outline runs up the right border from y = 300 to y = 20 and back down: a retrace
    border = [[600, 300, 640, 300, 640, 20, 640, 300, 640, 340, 600, 340]]
    assert raster_box(border) == [600, 300, 40, 40]
    found = mc211([coco_ann(1, border, [600, 20, 40, 320]), coco_ann(2, border, [600, 300, 40, 40])])
    assert [f.location.pointer for f in found] == ["/annotations/0"]
    assert "320 px tall but the rasterized mask is 40 px" in found[0].message
    # a spike leaving the image: loaders clip the box to the image, as the raster is clipped
    out = [[100, 400, 140, 400, 140, 440, 120, 440, 120, 600, 120, 440, 100, 440]]
    assert mc211([coco_ann(1, out, [100, 400, 40, 40])]) == []
    found = mc211([coco_ann(1, out, [100, 400, 40, 200])])
    assert "200 px tall but the rasterized mask is 40 px" in found[0].message


def test_the_raster_of_all_parts_is_judged(mc211):
    # a spiky part and a plain one: the mask is their merge, [100, 100] to [240, 140]
    parts = [SPIKE[0], [200, 100, 240, 100, 240, 140, 200, 140]]
    assert raster_box(parts) == [100, 100, 140, 40]
    found = mc211([coco_ann(1, parts, [100, 100, 140, 354]), coco_ann(2, parts, [100, 100, 140, 40])])
    assert [f.location.pointer for f in found] == ["/annotations/0"]
    assert "354 px tall but the rasterized mask is 40 px" in found[0].message


def test_spike_whose_box_fits_neither_says_rasterized_mask(mc211):
    found = mc211([coco_ann(1, SPIKE, [300, 300, 40, 354])])
    assert [f.location.pointer for f in found] == ["/annotations/0"]
    assert "does not match its rasterized mask, whose extent is [100, 100, 40, 40]" in found[0].message


# ------------------------------------------------------------------------- the filter
def stats(polys: list[np.ndarray]) -> PolygonStats:
    coords = np.concatenate([p.ravel() for p in polys])
    length = np.array([p.size for p in polys], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
    idx = np.arange(len(polys), dtype=np.int64)
    return PolygonStats(Polygons(idx, np.zeros_like(idx), start, length, coords))


def star(rng: np.random.Generator, rmin: float = 0.4, rmax: float | None = None,
         n: int | None = None) -> np.ndarray:
    """make_coco's polygon: star-shaped around a centre, radii in [rmin, 1] x rmax."""
    n = n or int(rng.integers(6, 40))
    cx, cy = rng.uniform(0.15 * W, 0.85 * W), rng.uniform(0.15 * H, 0.85 * H)
    room = min(cx, W - cx, cy, H - cy) - 1
    rmax = rmax or rng.uniform(min(4.0, room), min(0.3 * H, room))
    step = 2 * np.pi / n
    ang = np.arange(n) * step + rng.uniform(0, 0.8 * step, n)
    rad = rng.uniform(rmin * rmax, rmax, n)
    return np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)].round(2)


def with_spike(rng: np.random.Generator, xy: np.ndarray) -> np.ndarray:
    """A retrace out of vertex k and back: straight to a tip, through 1-5 vertices each way,
    sometimes with the tip written twice."""
    k = int(rng.integers(len(xy)))
    angle = rng.uniform(0, 2 * np.pi)
    tip = np.clip(xy[k] + rng.uniform(8, 300) * np.r_[np.cos(angle), np.sin(angle)], 0, [W, H])
    steps = np.linspace(0, 1, int(rng.integers(1, 6)) + 1)[1:]
    out = [xy[k] + (tip - xy[k]) * t for t in steps]
    if rng.random() < 0.3:
        out.append(tip)
    back = [xy[k] + (tip - xy[k]) * t for t in steps[-2::-1]]
    return np.vstack([xy[:k + 1], np.reshape(out, (-1, 2)), np.reshape(back, (-1, 2)), xy[k:k + 1],
                      xy[k + 1:]]).round(2)


def sharpest_corner(xy: np.ndarray) -> float:
    """The smallest angle, in degrees, between the two edges at any vertex."""
    a, b = np.roll(xy, 1, axis=0) - xy, np.roll(xy, -1, axis=0) - xy
    cos = (a * b).sum(axis=1) / np.hypot(*a.T) / np.hypot(*b.T)
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).min())


def ordinary(rng: np.random.Generator) -> list[np.ndarray]:
    """make_coco's stars whose corners are all wider than 10 degrees (one in a few thousand
    has a sharper tip, which can lose more than SPIKE_REACH to the raster and is rightly a
    candidate), ellipses from 2 px radius, and rectangles at least 3 px on a side."""
    polys = [p for p in (star(rng) for _ in range(3000)) if sharpest_corner(p) > 10]
    polys += [np.array(ellipse_polygon(rng.uniform(50, 590), rng.uniform(50, 430), r, r * 0.6,
                                       decimals=2)).reshape(-1, 2) for r in rng.uniform(2, 45, 200)]
    polys += [np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
              for x, y, w, h in rng.uniform([0, 0, 3, 3], [500, 400, 140, 80], (200, 4))]
    return polys


def test_ordinary_polygons_never_reach_the_raster():
    polys = ordinary(np.random.default_rng(0))
    assert len(polys) > 3300
    assert not stats(polys).spike.any()


def test_make_coco_output_never_reaches_the_raster(tmp_path, monkeypatch):
    make_coco = SHARED / "bench" / "make_coco.py"
    if not make_coco.is_file():
        pytest.skip("../shared/bench/make_coco.py is absent")
    out = tmp_path / "coco.json"
    subprocess.run([sys.executable, str(make_coco), "--images", "300", "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    calls: list[int] = []
    real = raster.raster_extent

    def counting(geo, rows):
        calls.append(len(rows))
        return real(geo, rows)

    monkeypatch.setattr(raster, "raster_extent", counting)
    report = lint([out], select=["MC210", "MC211", "MC212"])
    assert not report.errors and report.findings == []
    assert calls == []


def test_the_filter_misses_no_spike():
    rng = np.random.default_rng(2)
    polys = [with_spike(rng, star(rng)) for _ in range(2000)]
    assert stats(polys).spike.all()


def test_the_filter_misses_nothing_the_raster_would_report():
    """Soundness against pycocotools itself: every polygon whose raster extent is off its
    coordinate extent by more than MC211 allows (tolerance plus RASTER_SLACK) is a
    candidate. Sharp stars, thin stars, tiny ones and spiked ones."""
    rng = np.random.default_rng(3)
    polys = ([star(rng, rmin=0.05, n=int(rng.integers(6, 60))) for _ in range(1500)]
             + [star(rng, rmax=rng.uniform(2, 15)) for _ in range(500)]
             + [with_spike(rng, star(rng)) for _ in range(500)]
             + [star(rng) * [1, 0.02] + [0, 200] for _ in range(300)])  # slivers
    flagged = stats(polys).spike
    off = []
    for xy in polys:
        rle = mask_utils.frPyObjects([xy.ravel().tolist()], H, W)[0]
        if not mask_utils.area(rle):
            off.append(False)
            continue
        x, y, w, h = mask_utils.toBbox(rle)
        got = np.r_[x, y, x + w, y + h]
        coords = np.clip(np.r_[xy.min(axis=0), xy.max(axis=0)], 0, [W, H, W, H])
        tol = np.maximum(BOX_PIXELS, BOX_RELATIVE * np.r_[w, h, w, h]) + RASTER_SLACK
        off.append(bool((np.abs(got - coords) > tol).any()))
    off_arr = np.array(off)
    assert off_arr.sum() > 500  # the case is exercised
    assert not (off_arr & ~flagged).any()


def test_spike_reach_is_the_smallest_raster_tolerance():
    assert raster.SPIKE_REACH == BOX_PIXELS + RASTER_SLACK == geometry_boxes.BOX_PIXELS + 4


def test_a_vertex_far_off_the_image_is_not_rasterized(write_coco):
    """pycocotools walks each edge before clipping: a vertex at 1e12 asked 24 GB of it and
    crashed. Such a polygon is reported (outside the image) and not drawn; a near one is."""
    import resource

    far = [[10, 10, 1e12, 10, 30, 30, 10, 30]]
    near = [[10, 10, 150, 10, 30, 30, 10, 30]]  # beyond the 100-pixel image, within reach
    doc = coco_doc()
    doc["annotations"] = [coco_ann(1, far, [10, 10, 20, 20]), coco_ann(2, near, [10, 10, 20, 20])]
    doc["annotations"][0]["image_id"] = doc["annotations"][1]["image_id"] = 1
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = lint([write_coco(doc)])
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500 * 1024  # KiB
    assert not [f for f in report.findings if f.code == "MC000"]
    by_code = {(f.code, f.location.pointer) for f in report.findings}
    assert {("MC205", "/annotations/0/segmentation/0"), ("MC205", "/annotations/1/segmentation/0")} <= by_code
    assert raster.within_reach(np.array(near[0], dtype=float), 80, 100)
    assert not raster.within_reach(np.array(far[0]), 80, 100)
    assert not raster.within_reach(np.array([1.0, np.inf]), 80, 100)
