"""The command line: the only module that knows about argv, stdout, stderr and exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from maskcheck import __version__
from maskcheck.api import lint as run_lint
from maskcheck.engine import DEFAULT_BATCH_IMAGES, make_plan
from maskcheck.errors import UsageProblem
from maskcheck.model import Report, Severity
from maskcheck.registry import all_rules, find_rule
from maskcheck.reporters import FORMATS, REPORTERS, terminal

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="maskcheck",
    help="Lint instance-segmentation datasets for the defects that break training.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"maskcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """maskcheck: lint COCO instance-segmentation annotations."""


def _stdout_console() -> Console:
    return Console(highlight=False, no_color=bool(os.environ.get("NO_COLOR")) or None)


def _exit_code(report: Report, fail_on: str) -> int:
    if report.errors or report.crashed():
        return EXIT_ERROR
    if fail_on == "never":
        return EXIT_CLEAN
    worst = report.worst()
    return EXIT_FINDINGS if worst is not None and worst >= Severity.parse(fail_on) else EXIT_CLEAN


@app.command()
def lint(
    paths: Annotated[list[Path], typer.Argument(help="Annotation files (.json, .json.gz) or folders.",
                                                show_default=False)],
    output_format: Annotated[str, typer.Option("--format", "-f",
                                               help=f"Output format: {', '.join(FORMATS)}.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the report to this file.")] = None,
    fail_on: Annotated[str, typer.Option(help="Exit 1 on findings at or above: error, warning, "
                                              "info, never.")] = "error",
    select: Annotated[list[str] | None, typer.Option(help="Only these rules (code, prefix or name).")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Skip these rules (code, prefix or name).")] = None,
    max_examples: Annotated[int, typer.Option(help="Findings shown per rule in the text report.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Images per batch.", hidden=True)] = DEFAULT_BATCH_IMAGES,
    progress: Annotated[bool, typer.Option(help="Progress on stderr (default: when a terminal).")] = True,
) -> None:
    """Lint annotation files and report every defect with its location."""
    if output_format not in FORMATS:
        raise UsageProblem(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
    if fail_on not in ("error", "warning", "info", "never"):
        raise UsageProblem(f"--fail-on {fail_on!r}: choose error, warning, info or never")
    plan = make_plan(select=select, ignore=ignore or ())
    err = Console(stderr=True)
    report = _run_with_progress(paths, plan, batch_size, progress and err.is_terminal, err)

    for e in report.errors:
        print(f"maskcheck: {e}", file=sys.stderr)
    if output_format == "text":
        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                terminal.render(report, Console(file=fh, no_color=True, width=200), max_examples)
        else:
            terminal.render(report, _stdout_console(), max_examples)
    else:
        text = REPORTERS[output_format](report)
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    raise typer.Exit(_exit_code(report, fail_on))


def _run_with_progress(paths: list[Path], plan, batch_size: int, show: bool, err: Console) -> Report:
    if not show:
        return run_lint(paths, plan=plan, batch_size=batch_size)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("linting: {task.completed:,} images"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("lint", total=None)
        return run_lint(paths, plan=plan, batch_size=batch_size,
                        progress=lambda n: bar.advance(task, n))


@app.command("rules")
def list_rules(
    output_format: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List every rule: code, name, default severity and summary."""
    rules = all_rules()
    if output_format == "json":
        import json

        typer.echo(json.dumps([{"code": r.code, "name": r.name, "severity": str(r.severity),
                                "summary": r.summary,
                                "options": [{"name": o.name, "type": o.type.__name__,
                                             "default": o.default, "help": o.help}
                                            for o in r.options]} for r in rules], indent=2))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("code", "name", "severity", "summary"):
        table.add_column(col)
    for r in rules:
        table.add_row(r.code, r.name, str(r.severity), r.summary)
    _stdout_console().print(table)


@app.command()
def explain(rule: Annotated[str, typer.Argument(help="A rule code (MC101) or name (string-label).")]) -> None:
    """Print a rule's page: what it checks, why it matters, examples and the fix."""
    from maskcheck.docs import page_text

    found = find_rule(rule)
    if found is None:
        raise UsageProblem(f"no rule {rule!r} (see `maskcheck rules`)")
    text = page_text(found)
    if text is None:
        raise UsageProblem(f"rule {found.code} has no page installed")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising SystemExit."""
    try:
        result = app(args=argv, prog_name="maskcheck", standalone_mode=False)
        return result if isinstance(result, int) else EXIT_CLEAN
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            print(f"maskcheck: {exc.format_message()}", file=sys.stderr)
        return EXIT_ERROR
    except typer.Abort:
        print("maskcheck: aborted", file=sys.stderr)
        return EXIT_ERROR
    except UsageProblem as exc:
        print(f"maskcheck: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # writing --output, a closed pipe
        print(f"maskcheck: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print("maskcheck: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # never a traceback for the user; MASKCHECK_DEBUG=1 shows it
        if os.environ.get("MASKCHECK_DEBUG"):
            raise
        print(f"maskcheck: internal error: {type(exc).__name__}: {exc} "
              "(set MASKCHECK_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return EXIT_ERROR
