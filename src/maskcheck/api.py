"""The library entry point: lint paths into a Report. Never prints, never exits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from maskcheck import dask_engine
from maskcheck.classstats import ClassTable
from maskcheck.config import Config
from maskcheck.engine import (
    DEFAULT_BATCH_IMAGES,
    Drawn,
    Plan,
    Progress,
    cross_check,
    lint_dataset,
    sort_key,
)
from maskcheck.errors import InputProblem, UsageProblem
from maskcheck.files import Skipped
from maskcheck.gallery import Gallery
from maskcheck.model import InputError, Report
from maskcheck.plugins import load_entry_points
from maskcheck.pool import plan_jobs
from maskcheck.readers import classmap
from maskcheck.readers import reading as readers
from maskcheck.rules.images import image_folder

DEFAULT_MAX_FINDINGS = 10_000  # per rule; the rest are counted (Report.dropped)


ENGINES = ("local", "dask")


@contextlib.contextmanager
def _engine(engine: str, scheduler: str | None, workers: int) -> Iterator[Any]:
    """None for the local engine (this process, or a pool); a Dask client for `dask`."""
    if engine not in ENGINES:
        raise UsageProblem(f"--engine {engine!r}: choose {' or '.join(ENGINES)}")
    if engine != "dask":
        if scheduler is not None:
            raise UsageProblem("--scheduler needs --engine dask")
        yield None
        return
    with dask_engine.session(scheduler, workers) as client:
        yield client


def lint(
    paths: Sequence[str | Path],
    *,
    format: str | None = None,
    plan: Plan | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    severity: dict[str, str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    batch_size: int | None = DEFAULT_BATCH_IMAGES,
    shuffle_seed: int | None = None,
    progress: Progress | None = None,
    config: Config | None = None,
    classes: str | Path | None = None,
    fields: dict[str, str] | None = None,
    images_dir: str | Path | None = None,
    examples: int | None = None,
    jobs: int = 1,
    max_findings: int | None = DEFAULT_MAX_FINDINGS,
    engine: str = "local",
    scheduler: str | None = None,
) -> Report:
    """Lint annotation files or folders. Unreadable inputs land in `report.errors`.

    `config` (see `maskcheck.config.load_config`) carries the training setup, rule selection
    and per-path ignores; the keyword arguments add to it. `classes` is a class map file
    (one name per line, or a YAML/JSON mapping name -> id) for formats that label by name;
    `fields` renames JSON-record fields ({"label": "cls"}). `images_dir` is the folder the
    image file names are relative to (the image-file rules MC3xx look there; without it they
    look next to the annotation file).

    `jobs`: lint each dataset's batches in that many processes (0: every core); the
    findings are those of `jobs=1`. `engine="dask"` folds them on a Dask cluster instead:
    the one at `scheduler` (`tcp://host:8786`), else a LocalCluster of `jobs` workers
    started for this call; the findings are the same. `max_findings`: the first that many
    findings of each rule are kept (None: all), the others counted in `report.dropped`
    and a note.

    `examples` (the HTML report's `--html-examples`) also collects, per dataset, its class
    table (`report.classes`) and, per rule, up to that many findings with a snapshot of
    their image and its instances (`report.gallery`), as the batches pass.
    """
    load_entry_points()  # installed plugins' rules run unless deselected, as built-ins do
    # One path: the keyword arguments are a layer over the config, validated as the command
    # line's flags are, and the plan comes from the result (a `plan` given is used as is)
    config = (config or Config()).override(
        "lint()", format=format, select=list(select) if select is not None else None,
        ignore=list(ignore), severity=severity, options=options, fields=fields)
    plan = plan or config.plan()
    format = config.format
    summaries: dict[str, list[Any]] = {}  # split rules' per-dataset summaries
    report = Report(rules=plan.rules)
    reader_options = config.reader_options()
    if classes is not None:
        try:
            reader_options["classes"] = classmap.load(Path(classes))
        except InputProblem as exc:
            report.errors.append(InputError(exc.path, exc.message))
            return report
    elif config.classes is not None:  # the config's class list is the class map too
        reader_options["classes"] = config_classmap(config)
    if images_dir is not None and not Path(images_dir).is_dir():
        report.errors.append(InputError(str(images_dir), "--images: no such folder"))
        return report
    workers = plan_jobs(jobs)
    unchecked_images: list[str] = []
    gallery = Gallery(per_rule=examples) if examples is not None else None
    classes: list[ClassTable] | None = [] if examples is not None else None
    with _engine(engine, scheduler, workers) as cluster:
        for item in readers.read_all([Path(p) for p in paths], format, reader_options):
            if isinstance(item, InputError):
                report.errors.append(item)
                continue
            if isinstance(item, Skipped):
                report.skipped.append(item)
                continue
            info = item.info
            ctx = config.context(info, images_dir)
            report.inputs.append({"path": info.path, "format": info.format})
            report.images += info.num_images
            report.annotations += info.num_annotations
            report.files += info.num_files
            sized = getattr(progress, "dataset_read", None)  # a display that can show a bar now
            if sized is not None:  # one file per image (SA-1B, per-image folders): count files
                per_file = info.num_files == info.num_images and info.num_files > 1
                sized(info.path, info.num_images, "files" if per_file else "images")
            facts: dict[Any, Any] = {}
            drawn = Drawn()
            report.findings += lint_dataset(item, plan, batch_size, shuffle_seed, progress, summaries, ctx,
                                            facts, gallery, classes, jobs=workers,
                                            max_findings=max_findings, dropped=report.dropped,
                                            drawn=drawn, cluster=cluster)
            report.errors += drawn.errors
            if item.counted:  # read as it went: the counts are known only now
                report.images += drawn.images - info.num_images
                report.annotations += drawn.annotations - info.num_annotations
            folder = facts.get(image_folder)
            if folder is not None and folder.not_found:
                unchecked_images.append(info.path)
            del item  # let a large split go before the next is read
    if unchecked_images:
        shown = ", ".join(unchecked_images[:3]) + (f" and {len(unchecked_images) - 3} more"
                                                   if len(unchecked_images) > 3 else "")
        report.notes.append(f"image files not checked: no image folder found (use --images) for {shown}")
    report.findings += cross_check(plan, summaries)
    if max_findings is not None:
        _cap(report, max_findings)
    if config.per_path_ignores:
        ignored = config.path_ignores()
        report.findings = [f for f in report.findings if not ignored(f)]
    report.findings.sort(key=sort_key)
    if gallery is not None and classes is not None:
        kept = set(report.findings)  # what per-path ignores left
        report.gallery = [e for e in gallery.examples if e.finding in kept]
        report.classes = classes
    return report


def _cap(report: Report, limit: int) -> None:
    """Keep the first `limit` findings of each rule over all datasets, count the rest, and
    say so once per rule."""
    kept: list[Any] = []
    seen: dict[str, int] = {}
    for f in report.findings:
        n = seen[f.code] = seen.get(f.code, 0) + 1
        if n <= limit:
            kept.append(f)
        else:
            sev, before = report.dropped.get(f.code, (f.severity, 0))
            report.dropped[f.code] = (sev, before + 1)
    report.findings = kept
    for code, (_, n) in sorted(report.dropped.items()):
        total = min(seen.get(code, 0), limit) + n
        report.notes.append(f"{code}: the first {limit:,} of {total:,} findings are listed, the "
                            f"other {n:,} only counted (raise the limit with --max-findings)")


def config_classmap(config: Config) -> classmap.ClassMap:
    """`classes:` from the config as a class map for formats that label by name.

    A mapping gives the ids; an ordered list is numbered from the target's first class id
    (1 for torchvision and the default, whose label 0 is the background; 0 for YOLO).
    """
    where = str(config.path) if config.path else "the configuration"
    if isinstance(config.classes, dict):
        return classmap.from_mapping(config.classes, "config classes", where)
    target = config.resolved_target()
    first = 1 if target is None or target.first_id is None else target.first_id
    names = list(config.classes or [])
    cmap = classmap.ClassMap(source="config classes", path=where, by_order=target is None)
    for i, name in enumerate(names):
        cmap.ids.setdefault(name, first + i)
        cmap.entries.append((name, first + i, 0))
    return cmap
