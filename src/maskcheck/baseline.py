"""Baselines: record today's findings so that only new ones fail a run.

A finding is remembered by a fingerprint built from its rule code and a *stable identity*
of the record it is about, never from its message text or array index alone, so the
baseline survives re-ordered records and edits elsewhere in the file:

- the file, relative to the baseline file's folder (so the baseline works from any
  working directory), or as given when it cannot be made relative;
- the most specific id the location carries: annotation id (with its image id, since
  duplicate annotation ids on different images are different records), else image id
  (with the category id when there is one), else category id;
- the JSON pointer only when the record has no usable id (an id of the wrong type, a
  malformed record), and the line only when there is neither (line-based formats, where
  one file holds one image).

Fingerprints are a multiset: two findings of one rule on one record (say, two defects of
one polygon) need two baseline entries. Library code: nothing here prints.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from maskcheck import __version__
from maskcheck.model import CRASH_CODE, Finding, Location, Report

BASELINE_VERSION = 1


class BaselineError(ValueError):
    """A baseline file that cannot be read; the message names the file."""


@lru_cache(maxsize=4096)  # one call per finding; a report can hold a million of them
def normalize_path(path: str, base_dir: Path | None) -> str:
    """`path` relative to `base_dir` (POSIX separators), or cleaned up as given."""
    if base_dir is not None:
        try:
            rel = os.path.relpath(Path(path).resolve(), base_dir.resolve())
        except ValueError:  # another drive on Windows: keep it as given
            rel = path
        return PurePosixPath(Path(rel).as_posix()).as_posix()
    return PurePosixPath(Path(path).as_posix()).as_posix()


def identity(location: Location) -> str:
    """The stable part of a location, without the path: see the module docstring."""
    loc = location
    if loc.annotation_id is not None:
        parts = [("image", loc.image_id), ("annotation", loc.annotation_id)]
    elif loc.image_id is not None:
        parts = [("image", loc.image_id), ("category", loc.category_id)]
    elif loc.category_id is not None:
        parts = [("category", loc.category_id)]
    elif loc.pointer is not None:
        parts = [("pointer", loc.pointer)]
    elif loc.line is not None:
        parts = [("line", loc.line)]
    else:
        parts = []
    return " ".join(f"{key}={_value(value)}" for key, value in parts if value is not None)


def _value(value: object) -> str:
    # JSON spelling keeps 3 and "3" apart: a fix of the id's type is a different record.
    return str(value) if type(value) is int else json.dumps(value)


def key(finding: Finding, base_dir: Path | None = None) -> str:
    """The human-readable fingerprint source: `MC101 ann.json image=3 annotation=17`."""
    return " ".join(
        p for p in (finding.code, normalize_path(finding.location.path, base_dir),
                    identity(finding.location)) if p
    )


def fingerprint(finding: Finding, base_dir: Path | None = None) -> str:
    """A short stable hash of `key` (used by the baseline file and SARIF)."""
    return hashlib.sha256(key(finding, base_dir).encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Entry:
    fingerprint: str
    code: str
    path: str
    # For the humans reviewing the file; never used for matching:
    record: str  # the identity the fingerprint hashes, e.g. `image=3 annotation=17`
    message: str


@dataclass(frozen=True, slots=True)
class Baseline:
    entries: tuple[Entry, ...]
    base_dir: Path

    def counts(self) -> Counter[str]:
        return Counter(e.fingerprint for e in self.entries)


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply` returns: the report of new findings and the two counts to show."""

    report: Report
    baselined: int  # findings matched by the baseline (not reported)
    gone: int  # baseline entries in scope that no finding matched any more


def _baselinable(findings: Iterable[Finding]) -> list[Finding]:
    # A crashed rule means incomplete results: never hide it behind a baseline.
    return [f for f in findings if f.code != CRASH_CODE]


def build(findings: Iterable[Finding], baseline_path: Path) -> Baseline:
    base_dir = baseline_path.resolve().parent
    entries = sorted(
        (Entry(fingerprint(f, base_dir), f.code, normalize_path(f.location.path, base_dir),
               identity(f.location), f.message) for f in _baselinable(findings)),
        key=lambda e: (e.path, e.code, e.fingerprint, e.message),
    )
    return Baseline(tuple(entries), base_dir)


def dumps(baseline: Baseline) -> str:
    doc = {
        "version": BASELINE_VERSION,
        "tool": {"name": "maskcheck", "version": __version__},
        "findings": [{"fingerprint": e.fingerprint, "code": e.code, "path": e.path,
                      "record": e.record, "message": e.message} for e in baseline.entries],
    }
    return msgspec.json.format(msgspec.json.encode(doc), indent=1).decode() + "\n"


def write(findings: Iterable[Finding], baseline_path: Path) -> int:
    """Write the baseline file; returns how many findings it records."""
    baseline = build(findings, baseline_path)
    baseline_path.write_text(dumps(baseline), encoding="utf-8")
    return len(baseline.entries)


def load(baseline_path: Path) -> Baseline:
    where = str(baseline_path)
    try:
        text = baseline_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{where}: no such baseline file (create it with --write-baseline)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{where}: cannot read the baseline: {exc}") from None
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{where}: not a maskcheck baseline (JSON error at line "
                            f"{exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{where}: not a maskcheck baseline (no \"findings\" list)")
    if doc.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{where}: baseline version {doc.get('version')!r} is not supported "
                            f"(expected {BASELINE_VERSION}); write a new one with --write-baseline")
    entries = []
    for i, item in enumerate(doc["findings"]):
        if not (isinstance(item, dict) and isinstance(item.get("fingerprint"), str)
                and isinstance(item.get("code"), str) and isinstance(item.get("path"), str)):
            raise BaselineError(f"{where}: /findings/{i} needs string \"fingerprint\", \"code\" "
                                "and \"path\"")
        entries.append(Entry(item["fingerprint"], item["code"], item["path"],
                             str(item.get("record", "")), str(item.get("message", ""))))
    return Baseline(tuple(entries), baseline_path.resolve().parent)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or r in ("", ".") or path.startswith(r.rstrip("/") + "/") for r in roots)


def apply(report: Report, baseline: Baseline) -> Applied:
    """Drop the findings the baseline knows; count the baseline entries that went away.

    An entry only counts as gone when this run could have seen it again: its rule is
    enabled and its file is one of (or under one of) the inputs. Linting one file of a
    baselined dataset, or with `--select`, does not report the rest as fixed.
    """
    remaining = baseline.counts()
    new: list[Finding] = []
    baselined = 0
    for f in report.findings:
        fp = fingerprint(f, baseline.base_dir) if f.code != CRASH_CODE else None
        if fp is not None and remaining[fp] > 0:
            remaining[fp] -= 1
            baselined += 1
        else:
            new.append(f)
    enabled = {r.code for r in report.rules}
    roots = [normalize_path(str(i["path"]), baseline.base_dir) for i in report.inputs]
    gone = 0
    seen: Counter[str] = Counter()
    for e in baseline.entries:
        seen[e.fingerprint] += 1
        # the first `remaining` copies of a fingerprint are the unmatched ones
        if seen[e.fingerprint] <= remaining[e.fingerprint] and (
                e.code in enabled and _under(e.path, roots)):
            gone += 1
    return Applied(replace(report, findings=new, baselined=baselined, baseline_gone=gone),
                   baselined, gone)
