"""The plugin's tests use maskcheck's public harness: the page examples, and exact locations."""

from __future__ import annotations

import json

from maskcheck_example_plugin.rules import UnexpectedImageExtension

from maskcheck.docs import first_fence, page_text, sections
from maskcheck.testing import run_example


def test_page_examples():
    found = sections(page_text(UnexpectedImageExtension))
    bad, good = first_fence(found["Example"]), first_fence(found["Use instead"])
    assert [f.code for f in run_example(*bad, "EXP101").findings] == ["EXP101"]
    assert run_example(*good, "EXP101").findings == []


def test_location_and_option():
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4},
                      {"id": 2, "file_name": "b.tif", "width": 4, "height": 4}],
           "annotations": [], "categories": []}
    report = run_example("json", json.dumps(doc), "EXP101")
    assert [(f.location.pointer, f.location.image_id) for f in report.findings] == [("/images/1", 2)]
    report = run_example("json", json.dumps(doc), "EXP101", options={"EXP101": {"extensions": "jpg,tif"}})
    assert report.findings == []
