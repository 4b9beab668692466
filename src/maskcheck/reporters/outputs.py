"""Write every report a run asked for: the one on stdout (or `--output`) and each
`--report FORMAT=FILE`. The CLI parses options and picks the console; this does the rest.

The formats are `text`, the built-ins of reporters/formats.py, then the reporters of the
`maskcheck.reporters` plugins loaded in this process (`reporters()`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import msgspec
from rich.console import Console

from maskcheck.errors import UsageProblem
from maskcheck.model import Report, Severity
from maskcheck.plugins import PluginError, builtin_clash, loaded_reporters
from maskcheck.reporters import concise, json_report, terminal
from maskcheck.reporters.formats import FORMATS, REPORTERS, Reporter
from maskcheck.reporters.summary import statistics_rows, statistics_text

STATISTICS_FORMATS = ("text", "concise", "json")


@dataclass(frozen=True, slots=True)
class Target:
    format: str
    path: Path | None = None  # None: standard output


def default_format(environ: Mapping[str, str] = os.environ, to_file: bool = False) -> str:
    """`github` on stdout inside GitHub Actions (annotations on the pull request), else `text`.

    Workflow commands only work in the job log, so `--output FILE` keeps the text report.
    """
    return "github" if environ.get("GITHUB_ACTIONS") == "true" and not to_file else "text"


def reporters() -> dict[str, Reporter]:
    """Every format but `text`: the built-ins, then plugins' (one taking a built-in's name
    is an error naming the plugin)."""
    out = dict(REPORTERS)
    for key, reporter in loaded_reporters():
        if reporter.NAME in FORMATS:
            raise builtin_clash(key, "reporter", reporter.NAME)
        out[reporter.NAME] = _named(key, reporter.render)
    return out


def _named(key: str, render: Reporter) -> Reporter:
    """A plugin's render whose failure names the plugin instead of looking like maskcheck's."""
    def run(report: Report) -> str:
        try:
            text = render(report)
        except Exception as exc:
            raise PluginError(f"{key} failed to render the report: {type(exc).__name__}: "
                              f"{exc}") from None
        if not isinstance(text, str):
            raise PluginError(f"{key} failed to render the report: render() returned "
                              f"{type(text).__name__}, not str")
        return text
    return run


def check_format(fmt: str, option: str = "--format") -> str:
    known = ("text", *reporters())
    if fmt not in known:
        raise UsageProblem(f"{option} {fmt!r}: choose one of {', '.join(known)}")
    return fmt


def parse_target(spec: str) -> Target:
    """`sarif=results.sarif` -> Target("sarif", Path("results.sarif"))."""
    fmt, sep, file = spec.partition("=")
    if not sep or not fmt.strip() or not file.strip():
        raise UsageProblem(f"--report {spec!r}: write it as FORMAT=FILE, for example "
                           "--report sarif=maskcheck.sarif")
    return Target(check_format(fmt.strip(), "--report"), Path(file.strip()))


def check_targets(primary: Target, extra: Sequence[Target], statistics: bool) -> None:
    """Usage errors found before any linting: a file named twice, --statistics misused."""
    seen: set[Path] = set()
    for t in (primary, *extra):
        if t.path is None:
            continue
        where = t.path.resolve()
        if where in seen:
            raise UsageProblem(f"{t.path}: named by more than one report; give each its own file")
        seen.add(where)
    if statistics and primary.format not in STATISTICS_FORMATS:
        raise UsageProblem(f"--statistics works with --format {', '.join(STATISTICS_FORMATS)}, "
                           f"not {primary.format}")


def errors_only(report: Report) -> Report:
    """`--quiet`: the report restricted to findings of severity error."""
    return replace(report, findings=[f for f in report.findings if f.severity >= Severity.ERROR])


def _json_with_statistics(report: Report) -> str:
    doc = json_report.to_dict(report)
    doc["statistics"] = [{"code": code, "rule": rule, "severity": str(sev), "count": n}
                         for n, code, rule, sev in statistics_rows(report)]
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode() + "\n"


def _stdout_text(report: Report, fmt: str, statistics: bool, quiet: bool) -> str | None:
    """The stdout report as text, or None when it is the rich text report."""
    if statistics and fmt in ("text", "concise") and (quiet or fmt == "concise"):
        return statistics_text(report)
    if statistics and fmt == "json":
        return _json_with_statistics(report)
    if quiet and fmt == "text":  # no headings, no summary, no colour: one line each
        return concise.render(report)
    if fmt == "text":
        return None
    return reporters()[fmt](report)


def write_all(report: Report, primary: Target, extra: Sequence[Target], *,
              console: Console, stdout: TextIO, max_examples: int = 10,
              statistics: bool = False, quiet: bool = False) -> None:
    """Write each `extra` report to its file, then the primary one.

    `--statistics` and `--quiet` shape the primary report only; the files always get the
    complete report, since machines read them. `console` draws the rich text report on
    stdout; the CLI creates it so that NO_COLOR and non-terminals get no colour codes.
    """
    for t in extra:
        if t.path is None:
            raise ValueError(f"a {t.format} report needs a file")
        if t.format == "text":
            _write_rich(report, t.path, max_examples, statistics=False)
        else:
            t.path.write_text(reporters()[t.format](report), encoding="utf-8")
    shown = errors_only(report) if quiet else report
    text = _stdout_text(shown, primary.format, statistics, quiet)
    # the text report ends by saying where the pictures are
    footer = [f"HTML report: {t.path}" for t in extra if t.format == "html"]
    if primary.path is not None:
        if text is None:
            _write_rich(shown, primary.path, max_examples, statistics, footer)
        else:
            primary.path.write_text(text, encoding="utf-8")
    elif text is None:
        terminal.render(shown, console, max_examples, statistics=statistics)
        for line in footer:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        stdout.write(text)
        stdout.flush()


def _write_rich(report: Report, path: Path, max_examples: int, statistics: bool,
                footer: Sequence[str] = ()) -> None:
    with path.open("w", encoding="utf-8") as fh:
        console = Console(file=fh, no_color=True, width=200, highlight=False)
        terminal.render(report, console, max_examples, statistics=statistics)
        for line in footer:
            console.print(line, markup=False, soft_wrap=True)


def wants_html(primary: Target, extra: Sequence[Target]) -> bool:
    """Whether any report is HTML: then the run collects the gallery and class tables."""
    return any(t.format == "html" for t in (primary, *extra))
