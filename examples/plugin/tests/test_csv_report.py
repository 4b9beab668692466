"""The example reporter: one CSV row per finding, with the exact location columns."""

from __future__ import annotations

import csv
import io
import json

from maskcheck_example_plugin import csv_report

from maskcheck.model import Finding, Location, Report, Severity
from maskcheck.testing import run_example


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_one_row_per_finding_with_its_location():
    doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4},
                      {"id": 2, "file_name": "b.tif", "width": 4, "height": 4}],
           "annotations": [], "categories": []}
    report = run_example("json", json.dumps(doc), "EXP101")
    header, *rows = _rows(csv_report.render(report))
    assert header == ["code", "severity", "path", "pointer", "line", "message"]
    assert [r[:5] for r in rows] == [["EXP101", "warning", report.findings[0].location.path,
                                      "/images/1", ""]]
    assert "b.tif" in rows[0][5]


def test_line_locations_and_text_that_a_spreadsheet_would_run():
    finding = Finding("EXP101", "unexpected-image-extension", Severity.ERROR,
                      "=HYPERLINK(\"x\")\nsecond line", Location("labels/a.txt", line=3))
    rows = _rows(csv_report.render(Report(findings=[finding])))
    assert rows[1] == ["EXP101", "error", "labels/a.txt", "", "3",
                       "'=HYPERLINK(\"x\")\nsecond line"]


def test_no_findings_is_the_header_alone():
    assert csv_report.render(Report(findings=[])) == "code,severity,path,pointer,line,message\n"
