"""Box rules MC208-MC212: exact locations where they fire, and clean cases where they must not."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.model import Finding

A = [[10, 10, 30, 10, 30, 30, 10, 30]]  # extent [10, 10, 20, 20]
B = [[50, 40, 70, 40, 70, 60, 50, 60]]  # extent [50, 40, 20, 20]


@pytest.fixture
def run(write_coco):
    def go(anns: list[Any], code: str, **options: Any) -> list[Finding]:
        report = lint([write_coco(coco_doc(annotations=anns))], select=[code],
                      options={code: options} if options else None)
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def a(aid: int, image: int, seg: Any, bbox: Any, **extra: Any) -> dict[str, Any]:
    return ann(aid, image, 1, segmentation=seg, bbox=bbox, **extra)


def pointers(found: list[Finding]) -> list[str | None]:
    return [f.location.pointer for f in found]


# --------------------------------------------------------------- MC208 invalid-box-size
def test_invalid_box_size_fires(run):
    anns = [a(1, 1, A, [10, 10, 20, 20]), a(2, 1, A, [10, 10, 0, 20]), a(3, 2, A, [30, 30, -20, -20])]
    found = run(anns, "MC208")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "width 0 and height 20" in found[0].message
    assert "reversed" in found[1].message


def test_invalid_box_size_quiet_without_box(run):
    no_box = ann(2, 1, 1)
    del no_box["bbox"]
    assert run([a(1, 1, A, [10, 10, 0.5, 0.5]), no_box, a(3, 1, A, "bad")], "MC208") == []


# --------------------------------------------------------------- MC209 box-outside-image
def test_box_outside_fires(run):
    anns = [a(1, 1, A, [10, 10, 20, 20]), a(2, 1, A, [90, 10, 30, 20]), a(3, 2, A, [-10, -10, 20, 20])]
    found = run(anns, "MC209")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "x 90..120" in found[0].message and "100x80" in found[0].message


def test_box_outside_tolerance(run):
    anns = [a(1, 1, A, [0, 0, 100.5, 80.5]), a(2, 1, A, [-0.9, 0, 10, 10])]
    assert run(anns, "MC209") == []
    assert pointers(run(anns, "MC209", tolerance=0.1)) == ["/annotations/0", "/annotations/1"]


# --------------------------------------------------------------- MC210 box-convention
def test_box_convention_fires(run):
    anns = [a(1, 1, A, [10, 10, 20, 20]), a(2, 1, A, [10, 10, 30, 30]), a(3, 2, A, [20, 20, 20, 20])]
    found = run(anns, "MC210")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "[x1, y1, x2, y2]" in found[0].message and "[10, 10, 20, 20] here" in found[0].message
    assert "centre" in found[1].message


def test_box_convention_quiet_at_origin(run):
    # a box at (0, 0) reads the same in both conventions: it fits as [x, y, w, h]
    assert run([a(1, 1, [[0, 0, 20, 0, 20, 20, 0, 20]], [0, 0, 20, 20])], "MC210") == []


# --------------------------------------------------------------- MC211 box-mask-mismatch
def test_box_mask_mismatch_fires(run):
    anns = [a(1, 1, A, [10, 10, 20, 20]), a(2, 1, A, [60, 40, 20, 20]), a(3, 2, A, [10, 10, 20, 26])]
    found = run(anns, "MC211")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "extent is [10, 10, 20, 20]" in found[0].message and "50 px off" in found[0].message


def test_box_mask_mismatch_tolerates_rasterization(run):
    anns = [a(1, 1, A, [10, 10, 21, 21]), a(2, 1, A, [9, 9, 22, 22]),  # a pixel each side
            a(3, 1, [[10, 10, 210, 10, 210, 70, 10, 70]], [5, 10, 210, 60]),  # 5% of 200 px
            a(4, 1, [[1, 2, 3, 4]], [50, 50, 10, 10]),  # no usable mask: not judged
            ann(5, 1, 1, segmentation={"size": [80, 100], "counts": [1010, 20, 60, 20, 6890]},
                bbox=[12, 50, 2, 20], iscrowd=1)]
    assert run(anns, "MC211") == []


# --------------------------------------------------------------- MC212 instance-misalignment
def test_instance_misalignment_fires_once_per_pair(run):
    anns = [a(1, 1, A, [50, 40, 20, 20]), a(2, 1, B, [10, 10, 20, 20]),  # swapped pair
            a(3, 2, A, [10, 10, 20, 20])]
    found = run(anns, "MC212")
    assert pointers(found) == ["/annotations/0"]
    assert "annotation 2 (/annotations/1)" in found[0].message
    # the pair is not also reported as two box-mask mismatches
    assert run(anns, "MC211") == []


def test_instance_misalignment_quiet_across_images_and_one_way(run):
    anns = [a(1, 1, A, [50, 40, 20, 20]), a(2, 2, B, [10, 10, 20, 20]),  # different images
            a(3, 3, A, [50, 40, 20, 20]), a(4, 3, B, [50, 40, 20, 20])]  # one-way fit only
    assert run(anns, "MC212") == []
    assert pointers(run(anns, "MC211")) == ["/annotations/0", "/annotations/1", "/annotations/2"]
