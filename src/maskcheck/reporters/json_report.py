"""`--format json`: a stable contract (version 1) that other tools parse."""

from __future__ import annotations

from typing import Any

import msgspec

from maskcheck import __version__
from maskcheck.model import Report


def to_dict(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": 1,
        "tool": {"name": "maskcheck", "version": __version__},
        "inputs": report.inputs,
        "summary": {"images": report.images, "annotations": report.annotations, **report.counts()},
        "findings": [f.to_dict() for f in report.findings],
    }
    if report.baselined is not None:  # only with --baseline; `findings` then holds the new ones
        out["summary"]["baselined"] = report.baselined
        out["summary"]["baseline_gone"] = report.baseline_gone
    if report.dropped:  # counted in the severities above, not listed in `findings`
        out["summary"]["not_listed"] = {code: n for code, (_, n) in sorted(report.dropped.items())}
    out["summary"]["datasets"] = len(report.inputs)
    out["summary"]["files"] = report.files
    if report.skipped:
        out["skipped"] = [{"path": s.path, "reason": s.reason} for s in report.skipped]
    if report.notes:
        out["notes"] = list(report.notes)
    if report.errors:
        out["errors"] = [{"path": e.path, "message": e.message} for e in report.errors]
    return out


def render(report: Report) -> str:
    return msgspec.json.format(msgspec.json.encode(to_dict(report)), indent=2).decode() + "\n"
