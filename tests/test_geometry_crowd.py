"""Crowd rules MC220-MC222: exact locations where they fire, and where they must not."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.model import Finding

RLE = {"size": [80, 100], "counts": [1010, 20, 60, 20, 6890]}


@pytest.fixture
def run(write_coco):
    def go(anns: list[Any], code: str) -> list[Finding]:
        report = lint([write_coco(coco_doc(annotations=anns))], select=[code])
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def pointers(found: list[Finding]) -> list[str | None]:
    return [f.location.pointer for f in found]


def test_invalid_iscrowd_fires_on_integers_only(run):
    anns = [ann(1, 1, 1), ann(2, 1, 1, iscrowd=2), ann(3, 2, 1, iscrowd=-1), ann(4, 2, 1, iscrowd="1"),
            ann(5, 2, 1, iscrowd=True)]  # a string or a bool is malformed-record's (MC001)
    found = run(anns, "MC220")
    assert pointers(found) == ["/annotations/1", "/annotations/2"]
    assert "iscrowd is 2" in found[0].message


def test_invalid_iscrowd_quiet_when_absent(run):
    no_flag = ann(2, 1, 1)
    del no_flag["iscrowd"]
    assert run([ann(1, 1, 1, iscrowd=1, segmentation=RLE), no_flag], "MC220") == []


def test_crowd_polygon(run):
    anns = [ann(1, 1, 1, iscrowd=1), ann(2, 1, 1, iscrowd=1, segmentation=RLE), ann(3, 2, 1)]
    assert pointers(run(anns, "MC221")) == ["/annotations/0"]


def test_all_crowd_image(run):
    anns = [ann(1, 1, 1, iscrowd=1, segmentation=RLE), ann(2, 1, 1, iscrowd=1, segmentation=RLE),
            ann(3, 2, 1, iscrowd=1, segmentation=RLE), ann(4, 2, 1)]
    found = run(anns, "MC222")
    assert pointers(found) == ["/images/0"]
    assert found[0].location.image_id == 1 and "all 2 annotations" in found[0].message


def test_all_crowd_image_quiet_on_empty_images(run):
    assert run([ann(1, 1, 1)], "MC222") == []  # image 2 has none at all: MC008's business
