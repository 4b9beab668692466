"""`--format github`: GitHub Actions workflow commands, shown as annotations on the diff.

`::error file=ann.json,line=3,title=MC101::message`. Severity maps to error, warning and
notice. The format is the default when `GITHUB_ACTIONS=true` and no `--format` is given.
"""

from __future__ import annotations

from maskcheck.model import Finding, Report, Severity
from maskcheck.reporters.safe import visible
from maskcheck.reporters.summary import baseline_line

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _escape_data(text: str) -> str:
    # The runner's escaping rules (actions/toolkit, command.ts): data escapes % CR LF. The
    # log viewer renders ANSI sequences, so every control character is made visible first.
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # Property values additionally escape the separators `:` and `,`.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(finding: Finding) -> str:
    loc = finding.location
    props = [f"file={_escape_property(loc.path)}"]
    if loc.line is not None:
        props.append(f"line={loc.line}")
    props.append(f"title={_escape_property(finding.code)}")
    # The annotation shows the file and line; the pointer (where there is no line) and
    # the rule name go into the text so the record can still be found.
    where = f" at {loc.pointer}" if loc.line is None and loc.pointer else ""
    text = f"{finding.rule}{where}: {finding.message}"
    return f"::{_COMMAND[finding.severity]} {','.join(props)}::{_escape_data(text)}"


def render(report: Report) -> str:
    lines = [command(f) for f in report.findings]
    lines += [f"::error file={_escape_property(e.path)},title=unreadable input::"
              f"{_escape_data(e.message)}" for e in report.errors]
    counts = report.counts()
    lines.append(f"maskcheck: {report.images:,} images, {report.annotations:,} annotations: "
                 f"{counts['error']:,} errors, {counts['warning']:,} warnings, "
                 f"{counts['info']:,} info"
                 + (f"; {baseline_line(report)}" if report.baselined is not None else ""))
    return "\n".join(lines) + "\n"
