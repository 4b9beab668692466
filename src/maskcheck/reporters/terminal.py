"""The rich terminal report: findings grouped by rule, a capped list of examples each."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from maskcheck.model import Finding, Report, Severity
from maskcheck.reporters.safe import visible
from maskcheck.reporters.summary import baseline_line, plural, statistics_text, what_was_checked

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def render(report: Report, console: Console, max_examples: int = 10,
           statistics: bool = False) -> None:
    """Write the report to `console` (the CLI decides where that points, and colours).

    `statistics`: a count per rule instead of the findings (`--statistics`).
    """
    if statistics:
        console.print(statistics_text(report), end="", markup=False, highlight=False,
                      soft_wrap=True)
    by_rule = [] if statistics else sorted(report.findings, key=lambda f: (-f.severity, f.code))
    for (code, rule), group in groupby(by_rule, key=lambda f: (f.code, f.rule)):
        items: list[Finding] = list(group)
        sev = items[0].severity
        head = Text()
        head.append(f"{code} {rule}", style=_STYLE[sev])
        head.append(f"  {sev}  ·  {len(items):,} finding" + ("" if len(items) == 1 else "s"))
        console.print(head)
        for f in items[:max_examples]:
            # visible(): data strings must not drive the terminal; escape(): nor rich markup
            console.print(f"  [dim]{escape(visible(f.location.short()))}[/dim]  "
                          f"{escape(visible(f.message))}",
                          highlight=False, soft_wrap=True)
        if len(items) > max_examples:
            console.print(f"  [dim]… and {len(items) - max_examples:,} more[/dim]")
        console.print()
    _footer(report, console)
    counts = report.counts()
    summary = (f"{what_was_checked(report)}: {plural(counts['error'], 'error')}, "
               f"{plural(counts['warning'], 'warning')}, {counts['info']:,} info")
    style = "bold red" if counts["error"] or report.errors else ("yellow" if counts["warning"] else "green")
    if report.errors:  # their one-line reasons went to stderr
        summary += f"; {len(report.errors)} input(s) could not be read"
    elif not counts["error"] and not counts["warning"]:
        summary += " — clean"  # info findings are notes, not defects
    if report.baselined is not None:
        console.print(baseline_line(report), highlight=False)
    console.print(summary, style=style, highlight=False)


MAX_SKIPPED_SHOWN = 20


def _footer(report: Report, console: Console) -> None:
    """What was not read, and checks that could not run: never a silent skip."""
    if report.skipped:
        n = len(report.skipped)
        console.print(f"skipped, not read ({n:,}):", style="yellow", highlight=False)
        for item in report.skipped[:MAX_SKIPPED_SHOWN]:
            console.print(f"  [dim]{escape(visible(item.path))}[/dim]  {escape(visible(item.reason))}",
                          highlight=False, soft_wrap=True)
        if n > MAX_SKIPPED_SHOWN:
            console.print(f"  [dim]… and {n - MAX_SKIPPED_SHOWN:,} more (--format json lists them "
                          "all)[/dim]", highlight=False)
    for note in report.notes:
        console.print(f"note: {escape(visible(note))}", style="yellow", highlight=False, soft_wrap=True)
