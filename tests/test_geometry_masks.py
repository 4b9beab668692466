"""Mask rules MC213-MC215, MC218-MC219: exact locations where they fire, and where they must not."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.model import Finding

A = [[10, 10, 30, 10, 30, 30, 10, 30]]  # area 400, extent [10, 10, 20, 20]
B = [[50, 40, 70, 40, 70, 60, 50, 60]]
CATS = [{"id": 1, "name": "defect_type_a"}, {"id": 2, "name": "defect_type_b"}]


@pytest.fixture
def run(write_coco):
    def go(anns: list[Any], code: str, **options: Any) -> list[Finding]:
        report = lint([write_coco(coco_doc(annotations=anns, categories=CATS))], select=[code],
                      options={code: options} if options else None)
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def a(aid: int, image: int, seg: Any = None, cat: int = 1, **extra: Any) -> dict[str, Any]:
    out = ann(aid, image, cat, segmentation=A if seg is None else seg, bbox=[10, 10, 20, 20], area=400)
    out.update(extra)
    return out


def pointers(found: list[Finding]) -> list[str | None]:
    return [f.location.pointer for f in found]


# --------------------------------------------------------------- MC213 area-mismatch
def test_area_mismatch_fires_with_the_cause(run):
    anns = [a(1, 1), a(2, 1, area=8000), a(3, 1, seg=[[10, 10, 30, 10, 20, 30]], area=400),
            a(4, 2, area=250)]
    found = run(anns, "MC213")
    assert pointers(found) == ["/annotations/1", "/annotations/2", "/annotations/3"]
    assert "whole image's area" in found[0].message
    assert "the box's area" in found[1].message
    assert "differs from the mask's area 400 by 38%" in found[2].message


def test_area_mismatch_tolerance_and_rasterized_areas(run):
    # a stored rasterized area differs from the exact polygon area by about half the outline
    anns = [a(1, 1, area=450), a(2, 1, seg=[[10, 10, 13, 10, 13, 13, 10, 13]], area=12),
            a(3, 1, seg={"size": [80, 100], "counts": [1010, 20, 60, 20, 6890]}, area=45, iscrowd=1),
            ann(4, 2, 1)]  # conftest's square: area 100 as stored
    no_area = a(5, 2)
    del no_area["area"]
    assert run([*anns, no_area], "MC213") == []
    assert pointers(run(anns, "MC213", tolerance=0.01)) == ["/annotations/0", "/annotations/2"]


# --------------------------------------------------------------- MC214 empty-mask
def test_empty_mask_fires_on_rle(run):
    empty = {"size": [80, 100], "counts": [8000]}
    anns = [a(1, 1), a(2, 1, seg=empty, iscrowd=1), a(3, 2, seg={"size": [80, 100], "counts": "Pj7"})]
    found = run(anns, "MC214")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]


def test_empty_mask_quiet(run):
    anns = [a(1, 1), a(2, 1, seg={"size": [80, 100], "counts": [0, 8000]}),
            a(3, 1, seg={"size": [80, 100], "counts": [10]})]  # invalid-rle's, not empty
    assert run(anns, "MC214") == []


# --------------------------------------------------------------- MC215 tiny-instance
def test_tiny_instance_fires_below_min_area(run):
    anns = [a(1, 1), a(2, 1, seg=[[10, 10, 12, 10, 12, 12, 10, 12]]),
            a(3, 2, seg=[[10, 10, 14, 10, 14, 14, 10, 14]])]
    assert pointers(run(anns, "MC215")) == ["/annotations/1"]
    found = run(anns, "MC215", min_area=20)
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "covers 16 pixels (below min_area 20)" in found[1].message


# --------------------------------------------------------------- MC218 / MC219
def test_duplicate_instance_fires_on_the_later_one(run):
    anns = [a(1, 1), a(2, 1, seg=B), a(3, 1, seg=[[10, 10, 30, 10, 30, 30.2, 10, 30.2]]), a(4, 2)]
    found = run(anns, "MC218")
    assert pointers(found) == ["/annotations/2"]
    assert "annotation 1 (/annotations/0)" in found[0].message and "IoU 1.00" in found[0].message


def test_duplicate_instance_quiet_on_different_class_or_overlap(run):
    half = [[10, 10, 30, 10, 30, 20, 10, 20]]
    anns = [a(1, 1), a(2, 1, cat=2), a(3, 2), a(4, 2, seg=half), a(5, 2, seg=B)]
    assert run(anns, "MC218") == []


def test_conflicting_labels_fires(run):
    anns = [a(1, 1), a(2, 1, cat=2), a(3, 2), a(4, 2, seg=B, cat=2)]
    found = run(anns, "MC219")
    assert pointers(found) == ["/annotations/1"]
    assert "class 2, that one class 1" in found[0].message
    assert run(anns, "MC218") == []


def test_duplicates_between_polygon_and_rle(run):
    import numpy as np
    from pycocotools import mask as mask_utils

    m = np.zeros((80, 100), dtype=np.uint8)
    m[10:30, 10:30] = 1  # the pixels polygon A covers
    rle = mask_utils.encode(np.asfortranarray(m))
    anns = [a(1, 1), a(2, 1, seg={"size": [80, 100], "counts": rle["counts"].decode()})]
    assert pointers(run(anns, "MC218")) == ["/annotations/1"]
