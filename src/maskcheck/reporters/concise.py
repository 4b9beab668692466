"""`--format concise`: one line per finding, `path:location: CODE message`, for grep and editors."""

from __future__ import annotations

from maskcheck.model import Finding, Report


def line(finding: Finding) -> str:
    # Messages are one line by contract; a stray newline must not split a record in two.
    message = " ".join(finding.message.split())
    return f"{finding.location.short()}: {finding.code} {message}"


def render(report: Report) -> str:
    return "".join(line(f) + "\n" for f in report.findings)
