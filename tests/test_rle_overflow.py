"""Crafted RLE counts (huge, negative, overflowing int64, not integers): one MC207, no crash."""

from __future__ import annotations

import json

import pytest

from maskcheck.api import lint
from maskcheck.cli import main

CASES = [
    ([2, 2], [9223372036854775807, 9223372036854775807, 3], "18,446,744,073,709,551,617"),
    ([2, 2], [-1, 5], "negative run"),
    ([2, 2], [1e30], "list of integers"),
    ([100000, 100000], [10000000000], "32-bit counts"),
    ([2, 2], "zz!!garbage", "cannot be decoded"),
]


def coco(size, counts):
    h, w = size
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": w, "height": h}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 1,
                             "bbox": [0, 0, 1, 1],
                             "segmentation": {"size": size, "counts": counts}}]}


@pytest.mark.parametrize(("size", "counts", "text"), CASES)
def test_coco_crafted_rle_is_one_finding(tmp_path, size, counts, text):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(coco(size, counts)))
    report = lint([path], select=["MC0", "MC2"])
    codes = [f.code for f in report.findings]
    assert codes == ["MC207"], [(f.code, f.message) for f in report.findings]
    assert report.findings[0].location.pointer == "/annotations/0/segmentation"
    assert text in report.findings[0].message
    assert main(["lint", str(path), "--select", "MC0,MC2"]) == 1


@pytest.mark.parametrize(("size", "counts", "text"), CASES)
def test_records_crafted_rle_is_one_finding(tmp_path, size, counts, text):
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"image_id": 1, "label": 1,
                                 "mask": {"size": size, "counts": counts}}]))
    report = lint([path], select=["MC0", "MC2"])
    mc = [f for f in report.findings if f.code in ("MC000", "MC207")]
    assert [f.code for f in mc] == ["MC207"], [(f.code, f.message) for f in report.findings]
    assert text in mc[0].message
