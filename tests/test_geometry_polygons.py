"""Polygon rules MC201-MC205: exact locations where they fire, and clean cases where they must not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conftest import ann, coco_doc
from maskcheck import geometry, lint
from maskcheck.model import Finding
from maskcheck.readers import coco

SQUARE = [[10, 10, 20, 10, 20, 20, 10, 20]]
BOWTIE = [[10, 10, 40, 30, 40, 10, 10, 20]]


@pytest.fixture
def run(write_coco):
    """run(annotations, code, images=None, **options) -> findings of `code` alone."""

    def go(anns: list[Any], code: str, images: list[Any] | None = None, **options: Any) -> list[Finding]:
        doc = coco_doc(images=images, annotations=anns)
        report = lint([write_coco(doc)], select=[code], options={code: options} if options else None)
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def pointers(found: list[Finding]) -> list[str | None]:
    return [f.location.pointer for f in found]


# --------------------------------------------------------------- MC201 malformed-segmentation
@pytest.mark.parametrize(("seg", "words"), [
    ([10, 10, 20, 10, 20, 20], "flat list of 6 numbers"),
    ([[[10, 10, 20, 10, 20, 20]]], "nested too deep"),
    ([[]], "[[]]"),
    ([SQUARE[0], []], "polygon 1 is []"),
    ([[10, 10, "n/a", 10, 20, 20]], 'holds "n/a", not a number'),  # "20" is MC009's
    ([[10, 10, None, 10, 20, 20]], "holds null"),
    ([[10, 10, True, 10, 20, 20]], "not a number"),
    ([SQUARE[0], 5], "segmentation[1] is 5"),
])
def test_malformed_segmentation_fires(run, seg, words):
    found = run([ann(1, 1, 1), ann(2, 1, 1, segmentation=seg)], "MC201")
    assert pointers(found) == ["/annotations/1/segmentation"]
    assert found[0].location.annotation_id == 2
    assert words in found[0].message


def test_malformed_segmentation_empty_list_with_spaces(write_coco):
    # "[ ]": the reader calls it EMPTY like "[]"; the rule reports both
    path = write_coco(coco_doc())
    text = path.read_text().replace('"segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]',
                                    '"segmentation": [ ]', 1)
    path.write_text(text)
    found = [f for f in lint([path], select=["MC201"]).findings]
    assert pointers(found) == ["/annotations/0/segmentation"]
    assert "empty list" in found[0].message


def test_malformed_segmentation_quiet_on_good_and_other_kinds(run):
    anns = [ann(1, 1, 1), ann(2, 1, 1, segmentation=[SQUARE[0], SQUARE[0]]),
            ann(3, 1, 1, segmentation={"size": [80, 100], "counts": [0, 8000]}),
            ann(4, 1, 1, segmentation=5),  # malformed-record's (MC001), not ours
            ann(5, 1, 1, segmentation=[])]
    found = run(anns, "MC201")
    assert pointers(found) == ["/annotations/4/segmentation"]  # only the [] one


# --------------------------------------------------------------- MC202 degenerate-polygon
def test_degenerate_polygon_fires_per_polygon(run):
    anns = [ann(1, 1, 1, segmentation=[SQUARE[0], [10, 10, 20, 10, 20]]),
            ann(2, 1, 1, segmentation=[[10, 10, 20, 10]]),
            ann(3, 2, 1, segmentation=[[10, 10]]),
            ann(4, 2, 1, segmentation=[[10, 10, 20, 20, 30, 30, 40, 40]]),
            ann(5, 2, 1)]
    found = run(anns, "MC202")
    assert pointers(found) == ["/annotations/0/segmentation/1", "/annotations/1/segmentation/0",
                               "/annotations/2/segmentation/0", "/annotations/3/segmentation/0"]
    assert "odd number" in found[0].message
    assert "as a box" in found[1].message
    assert "1 point;" in found[2].message
    assert "no area" in found[3].message


def test_degenerate_polygon_quiet_on_triangles_and_bowties(run):
    anns = [ann(1, 1, 1, segmentation=[[10, 10, 20, 10, 15, 20]]), ann(2, 1, 1, segmentation=BOWTIE),
            ann(3, 1, 1, segmentation=[[10, 10, 30, 30, 30, 10, 10, 30]])]  # symmetric bow-tie: 0 net area
    assert run(anns, "MC202") == []


# --------------------------------------------------------------- MC203 self-intersecting-polygon
def test_self_intersecting_fires(run):
    anns = [ann(1, 1, 1), ann(2, 1, 1, segmentation=[SQUARE[0], BOWTIE[0]]),
            ann(3, 2, 1, segmentation=[[10, 10, 30, 30, 30, 10, 10, 30]])]
    found = run(anns, "MC203")
    assert pointers(found) == ["/annotations/1/segmentation/1", "/annotations/2/segmentation/0"]
    assert found[0].location.annotation_id == 2


def test_self_intersecting_quiet_on_simple_concave_and_pinched(run):
    concave = [[10, 10, 40, 10, 40, 40, 25, 20, 10, 40]]  # an arrow head: not star-shaped from its mean
    pinched = [[10, 10, 30, 10, 20, 20, 30, 30, 10, 30, 20, 20]]  # touches itself at (20, 20)
    spiral = [[0, 0, 60, 0, 60, 60, 10, 60, 10, 20, 40, 20, 40, 40, 30, 40, 30, 30, 20, 30, 20, 50,
               50, 50, 50, 10, 0, 10]]
    anns = [ann(1, 1, 1, segmentation=concave), ann(2, 1, 1, segmentation=pinched),
            ann(3, 1, 1, segmentation=spiral), ann(4, 1, 1)]
    assert run(anns, "MC203") == []


def test_star_shaped_fast_path_agrees_with_shapely():
    import shapely

    rng = np.random.default_rng(0)
    polys = []
    for _ in range(300):
        n = int(rng.integers(4, 12))
        polys.append(rng.uniform(0, 50, (n, 2)))  # random point orders: many cross
    xy = np.concatenate(polys)
    points = np.array([len(p) for p in polys])
    ring = np.repeat(np.arange(len(polys)), points)
    proven = geometry._star_shaped(xy, ring, points)
    valid = shapely.is_valid(shapely.polygons(shapely.linearrings(xy, indices=ring)))
    assert proven.any() and not proven.all()
    assert not (proven & ~valid).any(), "the fast path called a crossing polygon simple"


# --------------------------------------------------------------- MC204 non-finite-coordinate
def test_non_finite_fires_on_polygon(write_coco):
    path = write_coco(coco_doc(annotations=[ann(i, 1, 1, segmentation=SQUARE) for i in (1, 2, 3)]))
    text = path.read_text().replace("[[10, 10, 20, 10, 20, 20, 10, 20]]",
                                    "[[10, 10, 1e999, 10, 20, 20, 10, 20]]", 2)
    path.write_text(text)
    found = [f for f in lint([path], select=["MC204", "MC201"]).findings]
    assert [(f.code, f.location.pointer) for f in found] == [
        ("MC204", "/annotations/0/segmentation/0"), ("MC204", "/annotations/1/segmentation/0")]


def test_non_finite_quiet_on_clean(run):
    assert run([ann(1, 1, 1), ann(2, 2, 1, segmentation=[[0.5, 0.25, 99.75, 0, 50, 79.9]])], "MC204") == []


# --------------------------------------------------------------- MC205 polygon-outside-image
def test_polygon_outside_fires(run):
    anns = [ann(1, 1, 1), ann(2, 1, 1, segmentation=[SQUARE[0], [90, 10, 130, 10, 130, 30]]),
            ann(3, 2, 1, segmentation=[[-5, 10, 20, 10, 20, 20]])]
    found = run(anns, "MC205")
    assert pointers(found) == ["/annotations/1/segmentation/1", "/annotations/2/segmentation/0"]
    assert "2 of 3 polygon points lie outside the 100x80 image" in found[0].message


def test_polygon_outside_tolerance(run):
    edge = [ann(1, 1, 1, segmentation=[[0, 0, 100, 0, 100, 80, 0, 80]]),
            ann(2, 1, 1, segmentation=[[-0.5, 0, 100.9, 0, 100, 80.5]])]
    assert run(edge, "MC205") == []
    assert pointers(run(edge, "MC205", tolerance=0.25)) == ["/annotations/1/segmentation/0"]


def test_polygon_outside_quiet_without_image_size(run):
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg", "width": 0, "height": 0}]
    anns = [ann(1, 1, 1, segmentation=[[500, 500, 600, 500, 600, 600]]),
            ann(2, 2, 1, segmentation=[[500, 500, 600, 500, 600, 600]]),
            ann(3, 99, 1, segmentation=[[500, 500, 600, 500, 600, 600]])]  # an orphan
    assert run(anns, "MC205", images=images) == []


# --------------------------------------------------------------- the decoder itself
def _geometry(write_coco, anns: list[Any]) -> geometry.BatchGeometry:
    ds = coco.read_file(write_coco(coco_doc(annotations=anns)))
    return geometry.of(next(ds.batches(None)))


def test_fast_and_row_decoders_agree(write_coco):
    anns = [ann(i, 1 + i % 2, 1, segmentation=[[i, 1, i + 5.5, 1, i + 5.5, 7, 1, 7]] * (1 + i % 3))
            for i in range(1, 30)]
    geo = _geometry(write_coco, anns)
    p = geo.polygons
    rows = np.flatnonzero(geo.kind == 1)
    raws = [geo.batch.anns.segmentation[r] for r in rows]
    prow, length, coords = geo._decode_rows(rows, raws)
    assert geometry._decode_flat(raws) is not None
    assert np.array_equal(p.coords, coords) and np.array_equal(p.length, length)
    assert np.array_equal(p.row, rows[prow])
    expected = [k for r in range(geo.n) for k in range(int((p.row == r).sum()))]
    assert p.part.tolist() == expected and max(expected) == 2


def test_irregular_rows_keep_the_good_rows(write_coco):
    anns = [ann(1, 1, 1), ann(2, 1, 1, segmentation=[[]]), ann(3, 1, 1, segmentation=[[1, 2, 3, 4, 5, 6]])]
    geo = _geometry(write_coco, anns)
    assert sorted(geo.structure) == [1]
    assert geo.polygons.row.tolist() == [0, 2]
    assert geo.mask.area.tolist()[0] == 100.0 and np.isnan(geo.mask.area[1])


def test_cache_decodes_once(write_coco):
    ds = coco.read_file(write_coco(coco_doc()))
    batch = next(ds.batches(None))
    assert geometry.of(batch) is geometry.of(batch)


def test_empty_list_only_matters_where_the_file_has_masks(write_coco):
    box_only = [ann(1, 1, 1, segmentation=[]), ann(2, 2, 1, segmentation=[])]
    path = write_coco(coco_doc(annotations=box_only))
    assert lint([path], select=["MC201"]).findings == []  # a detection file: box-only is normal
    mixed = [ann(1, 1, 1, segmentation=[]), ann(2, 2, 1)]  # the mask sits in another batch
    path = write_coco(coco_doc(annotations=mixed), "mixed.json")
    for size in (None, 1):
        found = lint([path], select=["MC201"], batch_size=size).findings
        assert pointers(found) == ["/annotations/0/segmentation"]
        assert "while other annotations of this file have masks" in found[0].message


def test_huge_coordinates_warn_nothing_on_stderr(write_coco):
    import warnings

    big = [[1e300, 1e300, 3e300, 1e300, 3e300, 3e300, 1e300, 3e300]]
    path = write_coco(coco_doc(annotations=[ann(1, 1, 1, segmentation=big), ann(2, 1, 1)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = lint([path], select=["MC2"])
    assert not [f for f in report.findings if f.code == "MC000"]
    assert "MC205" in {f.code for f in report.findings}


def test_self_intersecting_over_the_point_cap_says_not_checked(run):
    # a ring of 500k random points: over MAX_VALIDITY_POINTS shapely's test is skipped,
    # and the polygon is reported as not checked, at its own pointer (never silently)
    xy = np.random.default_rng(0).uniform(0, 60, (500_000, 2)).round(2)
    found = run([ann(1, 1, 1, segmentation=[xy.ravel().tolist()])], "MC203")
    assert pointers(found) == ["/annotations/0/segmentation/0"]
    assert "500,000 points was not checked" in found[0].message
    assert "MAX_VALIDITY_POINTS" in found[0].message


def test_long_simple_polygon_is_still_proven_simple(run):
    t = np.linspace(0, 2 * np.pi, 200_000, endpoint=False)
    ring = np.c_[5e4 + 4e4 * np.cos(t), 5e4 + 4e4 * np.sin(t)].ravel().round(3).tolist()
    assert run([ann(1, 1, 1, segmentation=[ring])], "MC203") == []
