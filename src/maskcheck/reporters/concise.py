"""`--format concise`: one line per finding, `path:location: CODE message`, for grep and editors."""

from __future__ import annotations

from maskcheck.model import Finding, Report
from maskcheck.reporters.safe import visible


def line(finding: Finding) -> str:
    # One line per finding: a newline or an escape sequence from the data is shown, not obeyed.
    return f"{visible(finding.location.short())}: {finding.code} {visible(finding.message)}"


def render(report: Report) -> str:
    return "".join(line(f) + "\n" for f in report.findings)
