"""The command line: the only module that knows about argv, stdout, stderr and exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from maskcheck import __version__, baseline
from maskcheck.api import DEFAULT_MAX_FINDINGS
from maskcheck.api import lint as run_lint
from maskcheck.catalog import all_rules, find_rule
from maskcheck.cli_help import Command, Group
from maskcheck.cli_progress import LintProgress, progress_allowed
from maskcheck.config import Config, blocked_message, load_config, parse_severity_flags, suggest
from maskcheck.docs import page_text
from maskcheck.engine import DEFAULT_BATCH_IMAGES, Plan
from maskcheck.errors import UsageProblem
from maskcheck.fix.run import Outcome as FixOutcome
from maskcheck.fix.run import fix as run_fix
from maskcheck.gallery import DEFAULT_EXAMPLES
from maskcheck.model import Report, Severity
from maskcheck.plugins import load_entry_points
from maskcheck.pool import WorkerDied
from maskcheck.probe import STYLES, TARGETS, probe_dataset, probe_transform
from maskcheck.probe.codes import page_section
from maskcheck.probe.inputs import DEFAULT_INSTANCES, DEFAULT_SIZE
from maskcheck.probe.target import parse_call_args
from maskcheck.probe.transform import DEFAULT_RUNS
from maskcheck.readers.formats import FORMAT_ORDER, LABELS
from maskcheck.readers.reading import input_formats
from maskcheck.readers.records import FIELDS
from maskcheck.reporters import class_table, outputs
from maskcheck.reporters.formats import FORMATS
from maskcheck.reporters.safe import visible

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _say(message: str) -> None:
    """One line on stderr; a file name in it may hold a newline or an escape sequence."""
    print(f"maskcheck: {visible(message)}", file=sys.stderr)

app = typer.Typer(
    name="maskcheck",
    cls=Group,
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


# How --help names each input format; a format missing here shows its bare NAME
FORMAT_LABELS = LABELS
_READ = ", ".join(FORMAT_LABELS.get(m.NAME, m.NAME) for m in FORMAT_ORDER)
_RULES, _SETUP, _INPUTS, _EXIT, _CONFIG = ("Rule selection", "Training setup", "Inputs",
                                           "Exit status", "Configuration")
_LEVELS = "error, warning, info or never"


@app.command(cls=Command)
def lint(
    paths: Annotated[list[Path], typer.Argument(
        help=f"Annotation files or folders to lint: {_READ}. A folder is searched for every "
             "dataset in it, and the format is detected.", show_default=False)],
    output_format: Annotated[str | None, typer.Option(
        "--format", "-f", metavar="FORMAT", show_default="text; github when GITHUB_ACTIONS=true",
        help=f"Write the report in this format: {', '.join(FORMATS)}.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the report to this file instead of stdout.",
        show_default=False)] = None,
    reports: Annotated[list[str] | None, typer.Option(
        "--report", metavar="FORMAT=FILE", show_default=False,
        help="Also write a report in FORMAT to FILE, e.g. sarif=maskcheck.sarif (repeatable).")] = None,
    statistics: Annotated[bool, typer.Option(
        "--statistics", help="Show a count per rule instead of the findings.")] = False,
    max_examples: Annotated[int, typer.Option(
        metavar="N", help="Show at most N findings per rule in the text report.")] = 10,
    html_examples: Annotated[int, typer.Option(
        min=0, metavar="N", help="Draw at most N findings per rule in the HTML report's "
                                 "gallery.")] = DEFAULT_EXAMPLES,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only error findings, one line each, and no summary.")] = False,
    progress: Annotated[bool, typer.Option(
        help="Show a progress bar on stderr when it is a terminal (the default); "
             "--no-progress hides it.", show_default=False)] = True,
    select: Annotated[list[str] | None, typer.Option(
        metavar="CODE", rich_help_panel=_RULES, show_default="ALL",
        help="Run only these rules: codes, prefixes (MC1) or names, comma-separated or "
             "repeated.")] = None,
    extend_select: Annotated[list[str] | None, typer.Option(
        metavar="CODE", rich_help_panel=_RULES, show_default=False,
        help="Like --select, but add to the rules already selected.")] = None,
    ignore: Annotated[list[str] | None, typer.Option(
        metavar="CODE", rich_help_panel=_RULES, show_default=False,
        help="Skip these rules: codes, prefixes or names.")] = None,
    severity_flags: Annotated[list[str] | None, typer.Option(
        "--severity", metavar="CODE=LEVEL", rich_help_panel=_RULES, show_default=False,
        help="Change a rule's severity, e.g. MC103=warning (repeatable).")] = None,
    target: Annotated[str | None, typer.Option(
        metavar="FRAMEWORK", rich_help_panel=_SETUP,
        show_default="torchvision; yolo for YOLO datasets",
        help="Check labels against this framework's convention: torchvision, detectron2, "
             "mmdet, matterport, yolo or coco.")] = None,
    classes: Annotated[Path | None, typer.Option(
        "--classes", metavar="FILE", rich_help_panel=_SETUP, show_default=False,
        help="Map class names to ids, for formats that label by name: one name per line, "
             "or a YAML/JSON mapping of name to id.")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="FORMAT", rich_help_panel=_INPUTS, show_default=False,
        help=f"Read every path as this format instead of detecting it: "
             f"{', '.join(m.NAME for m in FORMAT_ORDER)}.")] = None,
    images: Annotated[Path | None, typer.Option(
        "--images", metavar="DIR", rich_help_panel=_INPUTS,
        show_default="next to the annotation file",
        help="Look for the image files in DIR and check them (MC3xx).")] = None,
    field_flags: Annotated[list[str] | None, typer.Option(
        "--field", metavar="FIELD=NAME", rich_help_panel=_INPUTS, show_default=False,
        help="Read a JSON record's FIELD (label, mask, bbox, image, labels, masks, boxes, "
             "annotations) from key NAME, e.g. label=cls (repeatable).")] = None,
    fail_on: Annotated[str, typer.Option(
        metavar="LEVEL", rich_help_panel=_EXIT,
        help=f"Exit 1 on findings at or above LEVEL: {_LEVELS}.")] = "error",
    exit_zero: Annotated[bool, typer.Option(
        "--exit-zero", rich_help_panel=_EXIT,
        help="Exit 0 even with findings; unreadable input still exits 2.")] = False,
    baseline_file: Annotated[Path | None, typer.Option(
        "--baseline", metavar="FILE", rich_help_panel=_EXIT, show_default=False,
        help="Report and fail only on findings not recorded in this baseline.")] = None,
    write_baseline: Annotated[Path | None, typer.Option(
        metavar="FILE", rich_help_panel=_EXIT, show_default=False,
        help="Record every current finding in this baseline and exit 0 (2 if an input "
             "is unreadable).")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", rich_help_panel=_CONFIG,
        show_default="the .maskcheck.yaml, maskcheck.yaml or pyproject.toml above the paths",
        help="Use this config file.")] = None,
    allow_plugins: Annotated[bool, typer.Option(
        "--allow-plugins", rich_help_panel=_CONFIG,
        help="Let a config found beside the data import its plugins (run code). Without it, "
             "only --config or a config in the current folder or above may.")] = False,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0, metavar="N", show_default="every core",
        help="Lint in N processes; 1 lints in this one.")] = 0,
    engine: Annotated[str, typer.Option(
        metavar="ENGINE", help="local (this machine's processes, -j) or dask (a Dask "
                               "cluster: --scheduler, else a LocalCluster of -j workers; "
                               "needs maskcheck[dask]).")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        metavar="ADDRESS", show_default=False,
        help="With --engine dask: the cluster's scheduler, e.g. tcp://host:8786. The data "
             "must be on a path every worker can read.")] = None,
    max_findings: Annotated[int, typer.Option(
        min=1, metavar="N", help="Keep the first N findings of each rule and count the "
                                 "others (memory stays bounded).")] = DEFAULT_MAX_FINDINGS,
    batch_size: Annotated[int, typer.Option(help="Images per batch.", hidden=True)] = DEFAULT_BATCH_IMAGES,
) -> None:
    """Lint annotation files and report every defect with its location."""
    load_entry_points()  # before checking --format and --report: plugins may bring reporters
    fmt = output_format or outputs.default_format(to_file=output is not None)
    primary = outputs.Target(outputs.check_format(fmt), output)
    extra = [outputs.parse_target(spec) for spec in reports or ()]
    outputs.check_targets(primary, extra, statistics)
    known = _load_baseline(baseline_file)
    if fail_on not in ("error", "warning", "info", "never"):
        raise UsageProblem(f"--fail-on {fail_on!r}: choose error, warning, info or never")
    config = _config(paths, config_file, select=select, ignore=ignore, extend_select=extend_select,
                     severity=severity_flags, target=target, allow_plugins=allow_plugins)
    blocked = blocked_message(config)
    if blocked is not None:  # said once, then lint on with the config's other settings
        _say(blocked)
    if input_format is not None:
        _check_input_format(input_format)
    config = config.override("command line", format=input_format,
                             fields=_parse_fields(field_flags or []))
    err = Console(stderr=True)
    report = _run_with_progress(paths, batch_size,
                                progress and not quiet and progress_allowed(sys.stderr), err, config,
                                classes=classes, images_dir=images,
                                examples=html_examples if outputs.wants_html(primary, extra)
                                else None, jobs=jobs, max_findings=max_findings,
                                engine=engine, scheduler=scheduler)

    for e in report.errors:
        _say(str(e))
    if write_baseline is not None:
        n = baseline.write(report.findings, write_baseline)
        if not quiet:
            _say(f"recorded {n:,} finding(s) in {write_baseline}")
    if known is not None:
        report = baseline.apply(report, known).report
    outputs.write_all(report, primary, extra, console=_stdout_console(), stdout=sys.stdout,
                      max_examples=max_examples, statistics=statistics, quiet=quiet)
    if exit_zero or write_baseline is not None:
        fail_on = "never"
    raise typer.Exit(_exit_code(report, fail_on))


def _load_baseline(path: Path | None) -> baseline.Baseline | None:
    if path is None:
        return None
    try:
        return baseline.load(path)
    except baseline.BaselineError as exc:
        raise UsageProblem(str(exc)) from None


def _config(paths: list[Path], config_file: Path | None, *, select: list[str] | None,
            ignore: list[str] | None, extend_select: list[str] | None,
            severity: list[str] | None, target: str | None, allow_plugins: bool = False) -> Config:
    """The config file's settings with the command line's applied on top."""
    def flat(values: list[str] | None) -> list[str] | None:  # accept "MC101,MC102" too
        return None if values is None else [v for x in values for v in x.split(",") if v.strip()]

    return load_config(paths, config_file, allow_plugins).override(
        "command line", select=flat(select), ignore=flat(ignore),
        extend_select=flat(extend_select), severity=parse_severity_flags(severity or []),
        target=target)


def _check_input_format(name: str) -> None:
    known = input_formats()  # the built-ins, then the plugin readers
    if name not in known:
        raise UsageProblem(f"--input-format {name!r}: unknown input format"
                           f"{suggest(name, list(known))} (known: {', '.join(known)})")


def _parse_fields(flags: list[str]) -> dict[str, str]:
    """`--field label=cls` flags as {logical field: key in the records}."""
    out: dict[str, str] = {}
    for flag in flags:
        key, sep, name = flag.partition("=")
        key, name = key.strip(), name.strip()
        if not sep or not key or not name:
            raise UsageProblem(f"--field {flag!r}: expected FIELD=NAME, e.g. label=cls")
        if key not in FIELDS:
            raise UsageProblem(f"--field {flag!r}: unknown field {key!r}; known: {', '.join(FIELDS)}")
        out[key] = name
    return out


def _run_with_progress(paths: list[Path], batch_size: int, show: bool, err: Console,
                       config: Config, classes: Path | None = None,
                       images_dir: Path | None = None, examples: int | None = None,
                       jobs: int = 1, max_findings: int | None = None,
                       engine: str = "local", scheduler: str | None = None) -> Report:
    """flags -> config -> api: the plan, reader options and setup are resolved there, once."""
    kw = {"batch_size": batch_size, "config": config, "classes": classes,
          "images_dir": images_dir, "examples": examples, "jobs": jobs,
          "max_findings": max_findings, "engine": engine, "scheduler": scheduler}
    if not show:
        return run_lint(paths, **kw)
    with LintProgress(err) as display:  # api.lint tells it each dataset's size (dataset_read)
        return run_lint(paths, progress=display, **kw)


@app.command("fix", cls=Command)
def fix_command(
    paths: Annotated[list[Path], typer.Argument(
        help="Annotation files or folders to repair (what `lint` reads). Only files inside "
             "these paths are written.", show_default=False)],
    show_diff: Annotated[bool, typer.Option(
        "--diff", help="Print what would change as a unified diff (for `patch -p1`) and write "
                       "nothing; exit 1 when something would change.")] = False,
    unsafe_fixes: Annotated[bool, typer.Option(
        "--unsafe-fixes", help="Also apply the fixes that may pick the wrong value (see each "
                               "rule's Fix safety).")] = False,
    backup: Annotated[bool, typer.Option(
        "--backup/--no-backup", help="Keep the original beside each file written, as FILE.orig "
                                     "(the default).")] = True,
    select: Annotated[list[str] | None, typer.Option(
        metavar="CODE", rich_help_panel=_RULES, show_default="ALL",
        help="Fix only these rules' findings: codes, prefixes or names.")] = None,
    ignore: Annotated[list[str] | None, typer.Option(
        metavar="CODE", rich_help_panel=_RULES, show_default=False,
        help="Leave these rules' findings alone.")] = None,
    target: Annotated[str | None, typer.Option(
        metavar="FRAMEWORK", rich_help_panel=_SETUP, show_default="as lint",
        help="The framework convention, as for lint (MC103 renumbers by it).")] = None,
    classes: Annotated[Path | None, typer.Option(
        "--classes", metavar="FILE", rich_help_panel=_SETUP, show_default=False,
        help="Map class names to ids, as for lint.")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="FORMAT", rich_help_panel=_INPUTS, show_default=False,
        help="Read every path as this format, as for lint.")] = None,
    images: Annotated[Path | None, typer.Option(
        "--images", metavar="DIR", rich_help_panel=_INPUTS, show_default="as lint",
        help="Where the image files are, as for lint.")] = None,
    field_flags: Annotated[list[str] | None, typer.Option(
        "--field", metavar="FIELD=NAME", rich_help_panel=_INPUTS, show_default=False,
        help="Read a JSON record's FIELD from key NAME, as for lint (repeatable).")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", rich_help_panel=_CONFIG, show_default="as lint finds it",
        help="Use this config file.")] = None,
    allow_plugins: Annotated[bool, typer.Option(
        "--allow-plugins", rich_help_panel=_CONFIG,
        help="Let a config found beside the data import its plugins, as for lint.")] = False,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=0, metavar="N", show_default="every core",
        help="Lint in N processes; 1 lints in this one.")] = 0,
) -> None:
    """Repair what is safe to repair, in place (atomically, with a backup), or show the diff.
    It reads the data as lint does with the same options, so it fixes what lint reports."""
    load_entry_points()
    config = _config(paths, config_file, select=select, ignore=ignore, extend_select=None,
                     severity=None, target=target, allow_plugins=allow_plugins)
    blocked = blocked_message(config)
    if blocked is not None:
        _say(blocked)
    if input_format is not None:
        _check_input_format(input_format)
    config = config.override("command line", format=input_format,
                             fields=_parse_fields(field_flags or []))
    outcome = run_fix(paths, show_diff=show_diff, unsafe=unsafe_fixes, backup=backup,
                      config=config, classes=classes, images_dir=images, jobs=jobs)
    for e in outcome.errors:
        _say(str(e))
    if show_diff:
        sys.stdout.write("".join(outcome.diffs))
        n = len(outcome.fixed)  # on stderr, as ruff says it: stdout is the patch
        _say(f"{n:,} fix(es) in {len(outcome.diffs):,} file(s) would be applied" if n else
             "nothing to fix")
        raise typer.Exit(EXIT_ERROR if outcome.errors else EXIT_FINDINGS if outcome.diffs
                         else EXIT_CLEAN)
    for line in fix_summary(outcome, unsafe_fixes):
        typer.echo(line)
    report = outcome.after or outcome.before
    if outcome.errors:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(_exit_code(report, "error"))


def fix_summary(outcome: FixOutcome, unsafe: bool) -> list[str]:
    """What was fixed (per rule), where, and what remains."""
    lines = []
    by_rule = outcome.fixed_by_rule()
    if by_rule:
        rules = ", ".join(f"{code} {n:,}" for code, n in sorted(by_rule.items()))
        kept = ", ".join(str(b) for b in outcome.backups[:3]) + (
            " ..." if len(outcome.backups) > 3 else "")
        lines.append(f"fixed {sum(by_rule.values()):,} finding(s) in {len(outcome.written):,} "
                     f"file(s) ({rules})" + (f"; originals kept as {kept}" if kept else ""))
        if outcome.sidecars:
            lines.append("deleted records kept in " + ", ".join(str(p) for p in outcome.sidecars))
        if outcome.remap is not None and outcome.remap_file is not None:
            pairs = ", ".join(f"{a} -> {b}" for a, b in sorted(outcome.remap.mapping.items()))
            lines.append(f"class ids renumbered in {len(outcome.remap.files)} file(s): {pairs} "
                         f"(written to {outcome.remap_file})")
    else:
        lines.append("nothing to fix")
    remaining = outcome.remaining()
    left = f"{len(remaining):,} finding(s) remain"
    more = outcome.unsafe_fixable() if not unsafe else 0
    if more:
        left += f"; --unsafe-fixes would repair {more:,} of them"
    if outcome.plan.not_applied:
        left += (f"; {len(outcome.plan.not_applied):,} fix(es) not applied "
                 f"({outcome.plan.not_applied[0][1]})")
    lines.append(left + " (maskcheck lint shows them)")
    return lines


@app.command("rules", cls=Command)
def list_rules(
    output_format: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="Print as text or json.")] = "text",
) -> None:
    """List every rule: code, name, default severity, fix safety and summary."""
    load_config()  # plugins: installed ones and those the config here names
    rules = all_rules()
    if output_format == "json":
        import json

        typer.echo(json.dumps([{"code": r.code, "name": r.name, "severity": str(r.severity),
                                "summary": r.summary, "fix": r.fix_safety,
                                "options": [{"name": o.name, "type": o.type.__name__,
                                             "default": o.default, "help": o.help}
                                            for o in r.options]} for r in rules], indent=2))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("code", "name", "severity", "fix", "summary"):
        table.add_column(col)
    for r in rules:  # fix: what `maskcheck fix` does (safe, unsafe: with --unsafe-fixes)
        table.add_row(r.code, r.name, str(r.severity), "" if r.fix_safety == "none" else r.fix_safety,
                      r.summary)
    _stdout_console().print(table)


@app.command(cls=Command)
def explain(rule: Annotated[str, typer.Argument(
        help="A rule code (MC101) or name (string-label).", show_default=False)]) -> None:
    """Print a rule's page: what it checks, why it matters, examples and the fix."""
    load_config()  # a plugin's rule has its page too
    found = find_rule(rule)
    if found is None:
        probe_page = page_section(rule)  # MC6xx probe findings: documented in PROBE.md
        if probe_page is not None:
            sys.stdout.write(probe_page)
            return
        raise UsageProblem(f"no rule {rule!r} (see `maskcheck rules`)")
    text = page_text(found)
    if text is None:
        raise UsageProblem(f"rule {found.code} has no page installed")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


_TRANSFORM, _DATASET = "Transform probe", "Dataset probe"


_PROBE_INPUTS = "Transform inputs"


@app.command(cls=Command)
def probe(
    dataset: Annotated[str | None, typer.Argument(
        help="Probe this Dataset, or the factory that returns one, given as module:attr.",
        show_default=False)] = None,
    transform: Annotated[str | None, typer.Option(
        metavar="MODULE:ATTR", rich_help_panel=_TRANSFORM, show_default=False,
        help="Probe this transform instead of a dataset (a class is constructed first).")] = None,
    style: Annotated[str | None, typer.Option(
        metavar="STYLE", rich_help_panel=_TRANSFORM, show_default="auto",
        help="Call the transform as tuple, torchvision, albumentations or dict does; auto: "
             "albumentations for its objects, else tuple.")] = None,
    init_args: Annotated[list[str] | None, typer.Option(
        "--init-args", metavar="[NAME=]VALUE", rich_help_panel=_TRANSFORM, show_default=False,
        help="Construct the class or call the factory with this argument first, YAML-parsed "
             "(repeatable).")] = None,
    label_field: Annotated[str | None, typer.Option(
        metavar="NAME", rich_help_panel=_TRANSFORM, show_default="the Compose's, else labels",
        help="Pass the labels under this keyword (albumentations).")] = None,
    keys: Annotated[list[str] | None, typer.Option(
        metavar="PART=KEY,...", rich_help_panel=_TRANSFORM, show_default=False,
        help="With --style dict: the record's keys, e.g. image=img,boxes=gt_bboxes,"
             "masks=gt_masks,labels=gt_labels (dotted for nested dicts).")] = None,
    runs: Annotated[int | None, typer.Option(
        min=1, metavar="N", rich_help_panel=_TRANSFORM, show_default="50",
        help="Run the transform N times (at least 1), each on a new sample and seed.")] = None,
    save_failures: Annotated[Path | None, typer.Option(
        metavar="DIR", rich_help_panel=_TRANSFORM, show_default=False,
        help="Write a PNG per failing seed: the input beside the output, labels written on "
             "the masks.")] = None,
    image_size: Annotated[str | None, typer.Option(
        metavar="HxW", rich_help_panel=_PROBE_INPUTS, show_default="480x640",
        help="Image height x width, 32 to 4096 each.")] = None,
    instances: Annotated[str | None, typer.Option(
        metavar="MIN..MAX", rich_help_panel=_PROBE_INPUTS, show_default="4..12",
        help="Instances per image, spread over it from small to large (at most 12).")] = None,
    image_layout: Annotated[str | None, typer.Option(
        metavar="LAYOUT", rich_help_panel=_PROBE_INPUTS,
        show_default="hwc-uint8; chw-uint8 for torchvision",
        help="hwc-uint8, hwc-float, chw-uint8 or chw-float (float: 0 to 1); hwc and chw "
             "alone mean hwc-uint8 and chw-float.")] = None,
    box_format: Annotated[str | None, typer.Option(
        metavar="FORMAT", rich_help_panel=_PROBE_INPUTS,
        show_default="xyxy; the Compose's for albumentations",
        help="xyxy, xywh or cxcywh, or albumentations' pascal_voc, coco, yolo.")] = None,
    normalized: Annotated[bool | None, typer.Option(
        "--normalized", rich_help_panel=_PROBE_INPUTS, show_default=False,
        help="Boxes in 0..1 of the image's width and height.")] = None,
    containers: Annotated[str | None, typer.Option(
        metavar="KIND", rich_help_panel=_PROBE_INPUTS, show_default="auto",
        help="Pass boxes, masks and labels as numpy arrays, Python lists or torch tensors "
             "(tv_tensors); auto: what the transform acts on.")] = None,
    call_args: Annotated[list[str] | None, typer.Option(
        "--call-args", metavar="[NAME=]VALUE", show_default=False,
        help="Pass this argument to every transform call, or to the dataset factory, "
             "YAML-parsed (repeatable).")] = None,
    target: Annotated[str, typer.Option(
        metavar="FRAMEWORK", rich_help_panel=_DATASET,
        help="Check items against this framework's contract: torchvision.")] = "torchvision",
    num_classes: Annotated[int | None, typer.Option(
        min=2, metavar="N", rich_help_panel=_DATASET, show_default=False,
        help="Check labels against the model's num_classes, background included (at least "
             "2).")] = None,
    samples: Annotated[int, typer.Option(
        min=1, metavar="N", rich_help_panel=_DATASET,
        help="Draw N items from the dataset (at least 1).")] = 16,
    repeats: Annotated[int, typer.Option(
        min=1, metavar="N", rich_help_panel=_DATASET,
        help="Fetch each item N times (at least 1), each under its own seed.")] = 3,
    annotations: Annotated[Path | None, typer.Option(
        metavar="FILE", rich_help_panel=_DATASET, show_default=False,
        help="Compare the labels seen with this COCO file's label histogram.")] = None,
    seed: Annotated[int, typer.Option(
        min=0, metavar="N", help="Start the seeds at N (at least 0); --seed S --runs 1 "
                                 "repeats the run a finding names.")] = 0,
    output_format: Annotated[str | None, typer.Option(
        "--format", "-f", metavar="FORMAT", show_default="text",
        help=f"Write the report in this format: {', '.join(FORMATS)}.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Write the report to this file instead of stdout.")] = None,
    reports: Annotated[list[str] | None, typer.Option(
        "--report", metavar="FORMAT=FILE", show_default=False,
        help="Also write a report in FORMAT to FILE, e.g. html=probe.html (repeatable).")] = None,
    fail_on: Annotated[str, typer.Option(
        metavar="LEVEL", help=f"Exit 1 on findings at or above LEVEL: {_LEVELS}.")] = "error",
    max_examples: Annotated[int, typer.Option(
        metavar="N", help="Show at most N findings per code in the text report.")] = 10,
    html_examples: Annotated[int, typer.Option(
        min=0, metavar="N", help="Show at most N failing seeds' pictures in the HTML "
                                 "report.")] = DEFAULT_EXAMPLES,
) -> None:
    """Run a transform or a Dataset on known inputs and check labels, boxes and masks stay in step."""
    fmt = output_format or outputs.default_format(to_file=output is not None)
    primary = outputs.Target(outputs.check_format(fmt), output)
    extra = [outputs.parse_target(spec) for spec in reports or ()]
    outputs.check_targets(primary, extra, statistics=False)
    if fail_on not in ("error", "warning", "info", "never"):
        raise UsageProblem(f"--fail-on {fail_on!r}: choose error, warning, info or never")
    if (dataset is None) == (transform is None):
        raise UsageProblem("give a dataset (module:attr) or --transform module:attr, one of them")
    if (style is not None and style not in STYLES) or target not in TARGETS:
        raise UsageProblem(f"--style: choose {', '.join(STYLES)}; --target: {', '.join(TARGETS)}")
    args, kwargs = parse_call_args(call_args or [])
    if dataset is not None:
        values = locals()
        given = [flag for flag, name in _TRANSFORM_ONLY.items() if values[name] is not None]
        if given:
            raise UsageProblem(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to "
                               "--transform only")
    # the user's code may print: keep stdout for the report (JSON must stay parseable)
    with contextlib.redirect_stdout(sys.stderr):
        if transform is not None:
            init, init_kw = parse_call_args(init_args or [])
            report = probe_transform(
                transform, style=style or "auto", runs=runs or DEFAULT_RUNS, seed=seed,
                label_field=label_field, call_args=args, call_kwargs=kwargs, init_args=init,
                init_kwargs=init_kw, image_size=image_size or DEFAULT_SIZE,
                instances=instances or DEFAULT_INSTANCES, image_layout=image_layout,
                box_format=box_format, normalized=bool(normalized), keys=keys,
                containers=containers or "auto", save_failures=save_failures,
                pictures=html_examples if outputs.wants_html(primary, extra) else 0)
        else:
            report = probe_dataset(dataset, call_args=args, call_kwargs=kwargs, target=target,
                                   num_classes=num_classes, samples=samples, repeats=repeats,
                                   seed=seed, annotations=annotations)
    for e in report.errors:
        print(f"maskcheck: {e}", file=sys.stderr)
    outputs.write_all(report, primary, extra, console=_stdout_console(), stdout=sys.stdout,
                      max_examples=max_examples)
    raise typer.Exit(_exit_code(report, fail_on))


# options that only the transform probe reads: given with a dataset, they would be ignored
_TRANSFORM_ONLY = {"--style": "style", "--init-args": "init_args", "--label-field": "label_field",
                   "--keys": "keys", "--runs": "runs", "--save-failures": "save_failures",
                   "--image-size": "image_size", "--instances": "instances",
                   "--image-layout": "image_layout", "--box-format": "box_format",
                   "--normalized": "normalized", "--containers": "containers"}


@app.command("stats", cls=Command)
def stats(
    paths: Annotated[list[Path], typer.Argument(
        help="Annotation files or folders, as for lint.", show_default=False)],
    output_format: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="Print as text (bars) or json.")] = "text",
    classes: Annotated[Path | None, typer.Option(
        "--classes", metavar="FILE", show_default=False,
        help="Map class names to ids, for formats that label by name (as lint --classes).")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="FORMAT", show_default=False,
        help="Read every path as this format instead of detecting it.")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", show_default=False, help="Use this config file.")] = None,
) -> None:
    """Print instances, images and pixel share per class, per split, as bars."""
    if output_format not in ("text", "json"):
        raise UsageProblem(f"--format {output_format!r}: choose text or json")
    if input_format is not None:
        _check_input_format(input_format)
    config = load_config(paths, config_file).override("command line", format=input_format)
    # no rule runs: the class tables come from the batches as they are read
    report = run_lint(paths, config=config, classes=classes, plan=Plan(rules=[]), examples=0)
    for e in report.errors:
        _say(str(e))
    for skipped in report.skipped:
        _say(f"skipped {skipped.path}: {skipped.reason}")
    if output_format == "json":
        sys.stdout.write(class_table.to_json(report.classes))
    else:
        class_table.render(report.classes, _stdout_console())
    raise typer.Exit(EXIT_ERROR if report.errors else EXIT_CLEAN)


@app.command("config", cls=Command)
def show_config(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Look for the config above these paths.", show_default="the current folder")] = None,
    config_file: Annotated[Path | None, typer.Option(
        "--config", metavar="FILE", show_default=False,
        help="Show this config file instead of the one found.")] = None,
    target: Annotated[str | None, typer.Option(
        metavar="FRAMEWORK", show_default=False, help="Apply this target, as lint --target does.")] = None,
    allow_plugins: Annotated[bool, typer.Option(
        "--allow-plugins", help="Import the config's plugins, as lint --allow-plugins does.")] = False,
    output_format: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", help="Print as text (a config file) or json.")] = "text",
) -> None:
    """Print the effective configuration and where each value came from."""
    import json

    config = load_config(paths or [Path.cwd()], config_file, allow_plugins).override(
        "command line", target=target)
    blocked = blocked_message(config)
    if blocked is not None:
        _say(blocked)
    if output_format == "json":
        settings = {row.key: {"value": row.value, "source": row.source,
                              **({"note": row.note} if row.note else {})}
                    for row in config.effective()}
        typer.echo(json.dumps({"config_file": str(config.path) if config.path else None,
                               "settings": settings}, indent=2, default=str))
        return
    if output_format != "text":
        raise UsageProblem(f"--format {output_format!r}: choose text or json")
    sys.stdout.write(config.dump())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of raising SystemExit.

    Warnings (numpy overflow on hostile numbers, Pillow's decompression bomb) are kept off
    stderr, whose contract is one line per unreadable input: what they mean for the data is
    a finding already. MASKCHECK_DEBUG=1 shows them.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = _main(argv)
    if os.environ.get("MASKCHECK_DEBUG"):
        for w in caught:
            _say(f"warning: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})")
    return code


def _main(argv: list[str] | None) -> int:
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
        _say(str(exc))
        return EXIT_ERROR
    except OSError as exc:  # writing --output, a closed pipe
        _say(f"{exc.filename or ''}: {exc.strerror or exc}")
        return EXIT_ERROR
    except MemoryError:
        print("maskcheck: out of memory", file=sys.stderr)
        return EXIT_ERROR
    except WorkerDied as exc:
        _say(str(exc))
        return EXIT_ERROR
    except Exception as exc:  # never a traceback for the user; MASKCHECK_DEBUG=1 shows it
        if os.environ.get("MASKCHECK_DEBUG"):
            raise
        _say(f"internal error: {type(exc).__name__}: {exc} "
             "(set MASKCHECK_DEBUG=1 for the traceback, and please report it)")
        return EXIT_ERROR
