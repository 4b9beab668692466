"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One rule descriptor per enabled rule (its summary, its page as the full description and
help, a help URI), one result per finding with the artifact URI, a region where a line is
known, the JSON pointer as a logical location, the record's ids as properties, and a
stable partial fingerprint (the baseline fingerprint: code + file + record identity).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import msgspec

from maskcheck import __version__
from maskcheck.baseline import fingerprint
from maskcheck.docs import HELP_URI, page_text
from maskcheck.model import CRASH_CODE, Finding, Location, Report, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "maskcheckIdentity/v1"
INFORMATION_URI = HELP_URI.split("/blob/")[0]
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


@lru_cache(maxsize=4096)  # one call per finding; returns a shared dict, never mutated
def artifact_location(path: str) -> dict[str, Any]:
    """A relative path stays relative to %SRCROOT% (what code scanning expects)."""
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(PurePosixPath(p.as_posix()).as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _descriptor(code: str, name: str, summary: str, severity: Severity,
                page: str | None) -> dict[str, Any]:
    text = page or summary
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": text, "markdown": text},
        "help": {"text": text, "markdown": text},
        "helpUri": HELP_URI.format(code=code),
        "defaultConfiguration": {"level": _LEVEL[severity]},
    }


def _descriptors(report: Report) -> list[dict[str, Any]]:
    out = [_descriptor(r.code, r.name, r.summary, r.severity, page_text(type(r)))
           for r in sorted(report.rules, key=lambda r: r.code)]
    known = {d["id"] for d in out}
    for f in report.findings:  # a crashed rule's MC000, or a rule not in the plan
        if f.code not in known:
            summary = ("A rule crashed; its findings are incomplete." if f.code == CRASH_CODE
                       else f.rule)
            out.append(_descriptor(f.code, f.rule, summary, f.severity, None))
            known.add(f.code)
    return out


def _properties(loc: Location) -> dict[str, Any]:
    return {k: v for k, v in (("pointer", loc.pointer), ("image_id", loc.image_id),
                              ("annotation_id", loc.annotation_id),
                              ("category_id", loc.category_id)) if v is not None}


def _result(f: Finding, index: int, baselined: bool) -> dict[str, Any]:
    loc = f.location
    physical: dict[str, Any] = {"artifactLocation": artifact_location(loc.path)}
    if loc.line is not None:
        physical["region"] = {"startLine": loc.line}
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.pointer:
        location["logicalLocations"] = [{"name": loc.pointer, "fullyQualifiedName": loc.pointer,
                                         "kind": "element"}]
    out: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
    }
    if baselined:  # the report holds only what the baseline did not know
        out["baselineState"] = "new"
    props = _properties(loc)
    if props:
        out["properties"] = props
    return out


def to_dict(report: Report) -> dict[str, Any]:
    rules = _descriptors(report)
    index = {d["id"]: i for i, d in enumerate(rules)}
    invocation: dict[str, Any] = {
        "executionSuccessful": not report.errors and not report.crashed(),
        "toolExecutionNotifications": [
            {"level": "error", "message": {"text": e.message},
             "locations": [{"physicalLocation": {"artifactLocation": artifact_location(e.path)}}]}
            for e in report.errors
        ],
    }
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "maskcheck", "version": __version__,
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
        "results": [_result(f, index[f.code], report.baselined is not None)
                    for f in report.findings],
    }
    if report.baselined is not None:
        run["properties"] = {"baselined": report.baselined,
                             "baseline_gone": report.baseline_gone}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return msgspec.json.format(msgspec.json.encode(to_dict(report)), indent=2).decode() + "\n"
