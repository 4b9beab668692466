"""The library entry point: lint paths into a Report. Never prints, never exits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from maskcheck import readers
from maskcheck.engine import DEFAULT_BATCH_IMAGES, Plan, Progress, lint_dataset, make_plan, sort_key
from maskcheck.model import InputError, Report


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
) -> Report:
    """Lint annotation files or folders. Unreadable inputs land in `report.errors`."""
    plan = plan or make_plan(select=select, ignore=ignore, severity=severity, options=options)
    report = Report(rules=plan.rules)
    for item in readers.read_all([Path(p) for p in paths], format):
        if isinstance(item, InputError):
            report.errors.append(item)
            continue
        info = item.info
        report.inputs.append({"path": info.path, "format": info.format})
        report.images += info.num_images
        report.annotations += info.num_annotations
        report.findings += lint_dataset(item, plan, batch_size, shuffle_seed, progress)
        del item  # let a large split go before the next is read
    report.findings.sort(key=sort_key)
    return report
