"""`--format example-csv`: one CSV row per finding, for a spreadsheet or a dashboard.

A reporter is anything with a `NAME` (the `--format` name) and `render(report) -> str`: this
module is one, named by the `maskcheck.reporters` entry point. maskcheck writes the text to
stdout or to the file of `--report example-csv=FILE`; a reporter never writes itself.
"""

from __future__ import annotations

import csv
import io

from maskcheck.model import Finding, Report

NAME = "example-csv"
COLUMNS = ("code", "severity", "path", "pointer", "line", "message")
# A spreadsheet runs a cell that starts with one of these as a formula: the data's own text
# (a file name, a class name in a message) must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def row(finding: Finding) -> list[str]:
    loc = finding.location
    return [_cell(v) for v in (finding.code, str(finding.severity), loc.path, loc.pointer,
                               loc.line, finding.message)]


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row(f) for f in report.findings)
    return out.getvalue()
