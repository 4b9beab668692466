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
def test_duplicate_instance_fires_once_at_the_first_of_the_cluster(run):
    anns = [a(1, 1), a(2, 1, seg=B), a(3, 1, seg=[[10, 10, 30, 10, 30, 30.2, 10, 30.2]]), a(4, 2)]
    found = run(anns, "MC218")
    assert pointers(found) == ["/annotations/0"]
    assert "annotated again" in found[0].message
    assert "annotation 3 (/annotations/2)" in found[0].message and "IoU 1.00" in found[0].message


def test_duplicate_instance_quiet_on_different_class_or_overlap(run):
    half = [[10, 10, 30, 10, 30, 20, 10, 20]]
    anns = [a(1, 1), a(2, 1, cat=2), a(3, 2), a(4, 2, seg=half), a(5, 2, seg=B)]
    assert run(anns, "MC218") == []


def test_conflicting_labels_fires(run):
    anns = [a(1, 1), a(2, 1, cat=2), a(3, 2), a(4, 2, seg=B, cat=2)]
    found = run(anns, "MC219")
    assert pointers(found) == ["/annotations/0"]
    assert ("class 1, is the same object (IoU 1.00) as annotation 2 (/annotations/1) class 2"
            in found[0].message)
    assert run(anns, "MC218") == []


def test_duplicates_between_polygon_and_rle(run):
    import numpy as np
    from pycocotools import mask as mask_utils

    m = np.zeros((80, 100), dtype=np.uint8)
    m[10:30, 10:30] = 1  # the pixels polygon A covers
    rle = mask_utils.encode(np.asfortranarray(m))
    anns = [a(1, 1), a(2, 1, seg={"size": [80, 100], "counts": rle["counts"].decode()})]
    assert pointers(run(anns, "MC218")) == ["/annotations/0"]


def test_duplicate_instance_1000_copies_is_one_finding(run):
    # 1,000 identical instances in one image: once 499,500 pairwise findings (and images
    # over 1,000 instances were skipped silently); now one cluster, its ids capped at 10
    anns = [a(i, 1) for i in range(1, 1201)] + [a(2000, 1, seg=B), a(2001, 1, seg=B, cat=2)]
    found = run(anns, "MC218")
    assert pointers(found) == ["/annotations/0"]
    assert "annotated 1,199 more times" in found[0].message
    assert "annotation 2 (/annotations/1)" in found[0].message
    assert "annotation 11 (/annotations/10)" in found[0].message
    assert "annotation 12 (" not in found[0].message and "and 1,189 more" in found[0].message
    conflict = run(anns, "MC219")
    assert pointers(conflict) == ["/annotations/1200"]
    assert "annotation 2001 (/annotations/1201) class 2" in conflict[0].message


def test_duplicate_clusters_chain_and_split_by_class(run):
    # 1 ~ 2 (identical), 2 ~ 3 (IoU 0.95): one chain; 4 is another class on 1's mask
    near = [[10, 10, 30, 10, 30, 30.6, 10, 30.6]]
    anns = [a(1, 1), a(2, 1), a(3, 1, seg=near), a(4, 1, cat=2), a(5, 2), a(6, 2, seg=B)]
    found = run(anns, "MC218")
    assert pointers(found) == ["/annotations/0"]
    assert "annotated 2 more times" in found[0].message and "IoU 0.95 to 1.00" in found[0].message
    conflict = run(anns, "MC219")
    assert pointers(conflict) == ["/annotations/0"]
    assert "annotation 4 (/annotations/3) class 2" in conflict[0].message


def test_duplicate_search_over_the_cap_says_so(run, monkeypatch):
    from maskcheck import geometry

    monkeypatch.setattr(geometry, "MAX_OVERLAP_CANDIDATES", 5)
    # 6 masks with the same centre and slightly different sizes: 15 candidate pairs
    rings = [[[10 - d, 10 - d, 30 + d, 10 - d, 30 + d, 30 + d, 10 - d, 30 + d]] for d in
             (0, 0.1, 0.2, 0.3, 0.4, 0.5)]
    anns = [a(i + 1, 1, seg=r) for i, r in enumerate(rings)] + [a(7, 1), a(8, 2), a(9, 2)]
    for code in ("MC218", "MC219"):
        found = run(anns, code)
        capped = [f for f in found if f.message.startswith("not searched")]
        assert [(f.location.pointer, f.location.image_id) for f in capped] == [("/images/0", 1)]
        assert "MAX_OVERLAP_CANDIDATES" in capped[0].message and "over 5 pairs" in capped[0].message
    # the exact duplicate (1 and 7) is still found there, and image 2 is searched in full
    assert pointers([f for f in run(anns, "MC218") if not f.message.startswith("not")]) == [
        "/annotations/0", "/annotations/7"]
