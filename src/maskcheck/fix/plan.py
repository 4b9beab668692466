"""Which findings' fixes go into which file, as JSON-pointer edits of its original text.

A finding's fix (model.Fix) sits at the finding's location: a JSON pointer into a JSON file
(COCO, a JSON list of records, a LabelMe file). Those files are edited in place by pointer
(jsonedit: every other byte stays); YOLO rows by line number (lines.py). XML elements and
JSONL lines are not editable yet: such fixes are counted as not applied, with why.
Deletes go first, and an edit inside a record deleted is moot. Two other fixes at one place,
or one inside the other, conflict: the first (in report order) is applied and the other
waits for the next run, where it is judged on the fixed file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from maskcheck.fix import jsonedit, lines
from maskcheck.fix.writing import Snapshot, WriteRefused, read_for_fix
from maskcheck.model import Finding, Report

_EDITABLE = (".json",)


@dataclass
class FileFix:
    """One file's edits: its snapshot (bytes and hash as read), the new bytes, the findings
    the edits repair, and the records they delete (pointer, value, why) for the sidecar
    FILE.removed.json, so that nothing is gone for good."""

    snapshot: Snapshot
    new: bytes
    fixed: list[Finding]
    removed: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Plan:
    files: list[FileFix] = field(default_factory=list)
    held_back: list[Finding] = field(default_factory=list)  # unsafe, without --unsafe-fixes
    not_applied: list[tuple[Finding, str]] = field(default_factory=list)  # and why
    refused: list[WriteRefused] = field(default_factory=list)  # files that cannot be read
    # findings whose fix is one of the whole run (Fix.dataset), by its name: fix/renumber.py
    dataset_fixes: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return any(f.new != f.snapshot.data for f in self.files)


def _pointers(finding: Finding) -> list[str] | None:
    """Where the finding's fix edits: its own records (`Fix.targets`), else its location."""
    fix = finding.fix
    if fix is not None and fix.targets:
        return list(fix.targets)
    one = _pointer(finding)
    return None if one is None else [one]


def _pointer(finding: Finding) -> str | None:
    loc, fix = finding.location, finding.fix
    if loc.pointer is None or loc.line is not None or fix is None:
        return None
    base = loc.pointer
    for _ in range(fix.up):
        base = base.rpartition("/")[0]
    return base + fix.at


def _tokens(pointer: str) -> tuple[str, ...]:
    return jsonedit.parse_pointer(pointer)


def _order(pointer: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in _tokens(pointer))


class _Taken:
    """Pointers already edited, as token tuples: whether a new one equals one, lies inside
    one or holds one, in time linear in its depth (not in the edits made: 100k of them)."""

    def __init__(self) -> None:
        self.full: set[tuple[str, ...]] = set()
        self.above: set[tuple[str, ...]] = set()  # every proper prefix of those

    def add(self, t: tuple[str, ...]) -> None:
        self.full.add(t)
        self.above.update(t[:k] for k in range(len(t)))

    def covers(self, t: tuple[str, ...]) -> bool:
        """`t` is one of them or lies inside one."""
        return any(t[:k] in self.full for k in range(len(t) + 1))

    def overlaps(self, t: tuple[str, ...]) -> bool:
        return self.covers(t) or t in self.above


def make_plan(findings: Iterable[Finding], unsafe: bool) -> Plan:
    """The edits for `findings` (those with a fix), file by file."""
    plan = Plan()
    by_file: dict[str, list[tuple[Finding, list[str]]]] = {}
    by_lines: dict[str, list[Finding]] = {}
    for f in findings:
        if f.fix is None:
            continue
        if not f.fix.safe and not unsafe:
            plan.held_back.append(f)
            continue
        if f.fix.dataset:
            plan.dataset_fixes.setdefault(f.fix.dataset, []).append(f)
            continue
        path = f.location.path
        if f.fix.line_op and f.location.line:
            by_lines.setdefault(path, []).append(f)
            continue
        pointers = _pointers(f)
        if pointers is None or not path.lower().endswith(_EDITABLE):
            plan.not_applied.append((f, "this format's files cannot be fixed yet (JSON files "
                                        "and YOLO rows can)"))
            continue
        by_file.setdefault(path, []).append((f, pointers))
    for path, todo in by_file.items():
        try:
            snap = read_for_fix(Path(path))
        except WriteRefused as exc:
            plan.refused.append(exc)
            continue
        taken = _Taken()
        edits: list[jsonedit.Edit] = []
        fixed: list[Finding] = []
        # deletes first: an edit inside a record that goes is moot (its finding goes with it)
        todo.sort(key=lambda item: not (item[0].fix and item[0].fix.delete))
        gone = _Taken()
        for f, pointers in todo:
            fix = f.fix
            assert fix is not None
            tokens = [_tokens(p) for p in pointers]
            inside = [gone.covers(t) for t in tokens]
            if all(inside):
                fixed.append(f)
                continue
            fresh = [(p, t) for p, t, moot in zip(pointers, tokens, inside, strict=True)
                     if not moot]
            if any(taken.overlaps(t) for _, t in fresh):
                plan.not_applied.append((f, "another fix edits the same value; the next pass "
                                            "judges it on the fixed file"))
                continue
            for p, t in fresh:
                if fix.delete:
                    gone.add(t)
                taken.add(t)
                edits.append(jsonedit.Delete(p) if fix.delete else jsonedit.Replace(p, fix.value))
            fixed.append(f)
        try:
            new = jsonedit.apply_bytes(snap.data, edits)
            deleted = [e.pointer for e in edits if isinstance(e, jsonedit.Delete)]
            values = jsonedit.values_at(snap.data, deleted) if deleted else {}
        except (jsonedit.EditError, ValueError) as exc:
            plan.refused.append(WriteRefused(path, f"cannot be edited: {exc}"))
            continue
        removed, kept = [], set()
        for f in fixed:
            for p in _pointers(f) or []:
                if p in values and p not in kept:
                    kept.add(p)
                    removed.append({"pointer": p, "code": f.code, "why": f.message,
                                    "value": values[p]})
        removed.sort(key=lambda r: _order(str(r["pointer"])))  # in the file's order
        plan.files.append(FileFix(snap, new, fixed, removed))
    for path, todo in by_lines.items():
        _plan_lines(plan, path, todo)
    return plan


def coco_files(report: Report) -> tuple[list[Path], list[str]]:
    """The run's COCO inputs a run-wide fix edits (.json files), and the others it cannot."""
    given = list(dict.fromkeys(i["path"] for i in report.inputs if i["format"] == "coco"))
    return ([Path(g) for g in given if g.lower().endswith(".json")],
            [g for g in given if not g.lower().endswith(".json")])


def file_fix(plan: Plan, path: Path) -> FileFix:
    """The plan's edits of `path` so far, for a run-wide fix to build on: the file is read
    only when no other fix read it. Raises WriteRefused."""
    real = path.resolve()
    for f in plan.files:
        if f.snapshot.path == real:
            return f
    snap = read_for_fix(path)
    ff = FileFix(snap, snap.data, [])
    plan.files.append(ff)
    return ff


def _plan_lines(plan: Plan, path: str, todo: list[Finding]) -> None:
    try:
        snap = read_for_fix(Path(path))
    except WriteRefused as exc:
        plan.refused.append(exc)
        return
    edits: dict[int, str] = {}
    for f in todo:
        assert f.fix is not None and f.location.line is not None
        edits.setdefault(f.location.line, f.fix.line_op)
    new, failed = lines.apply(snap.data, edits)
    fixed = [f for f in todo if f.location.line not in failed]
    plan.not_applied += [(f, "its line no longer reads as it did") for f in todo
                         if f.location.line in failed]
    plan.files.append(FileFix(snap, new, fixed))
