"""Which findings' fixes go into which file, as JSON-pointer edits of its original text.

A finding's fix (model.Fix) sits at the finding's location: a JSON pointer into a JSON file
(COCO, a JSON list of records, a LabelMe file), edited in place by pointer (jsonedit: every
other byte stays); a JSONL line, its record edited the same way as a document of its own;
a YOLO row by line number (lines.py); an XML element by the line of its start tag
(xmledit.py). A fix whose place is not in the file as its rule expects is counted as not
applied, with why, and the file's other fixes still land.
Deletes go first, and an edit inside a record deleted is moot. Two other fixes at one place,
or one inside the other, conflict: the first (in report order) is applied and the other
waits for the next run, where it is judged on the fixed file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskcheck.columns import unquote_numbers
from maskcheck.fix import jsonedit, lines, xmledit
from maskcheck.fix.writing import Snapshot, WriteRefused, read_for_fix
from maskcheck.model import Finding, Fix, Report

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


def _pointers(finding: Finding, in_line: bool = False) -> list[str] | None:
    """Where the finding's fix edits: its own records (`Fix.targets`), else its location.
    `in_line`: the pointer is into the finding's line (a JSONL record), "" the whole line."""
    fix = finding.fix
    if fix is not None and fix.targets:
        return list(fix.targets)
    one = _pointer(finding, in_line)
    return None if one is None else [one]


def _pointer(finding: Finding, in_line: bool = False) -> str | None:
    loc, fix = finding.location, finding.fix
    if fix is None:
        return None
    if in_line:
        base = loc.pointer or ""
    elif loc.pointer is None or loc.line is not None:
        return None
    else:
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


_Todo = list[tuple[Finding, list[str]]]
_WAIT = "another fix edits the same value; the next pass judges it on the fixed file"
_XML = (".xml",)  # located by line, edited by element (fix/xmledit.py)


def make_plan(findings: Iterable[Finding], unsafe: bool) -> Plan:
    """The edits for `findings` (those with a fix), file by file."""
    plan = Plan()
    by_file: dict[str, _Todo] = {}
    by_jsonl: dict[str, _Todo] = {}
    by_lines: dict[str, list[Finding]] = {}
    by_xml: dict[str, list[Finding]] = {}
    for f in findings:
        if f.fix is None:
            continue
        if not f.fix.safe and not unsafe:
            plan.held_back.append(f)
            continue
        if f.fix.dataset:
            plan.dataset_fixes.setdefault(f.fix.dataset, []).append(f)
            continue
        path, line = f.location.path, f.location.line
        if f.fix.line_op and line:
            by_lines.setdefault(path, []).append(f)
            continue
        if path.lower().endswith(_XML):
            by_xml.setdefault(path, []).append(f)
            continue
        if f.fix.lines and line is None:  # lines of a file not read by line: never made
            plan.not_applied.append((f, "its records are named by line in a file without lines"))
            continue
        pointers = [] if f.fix.lines else _pointers(f, in_line=line is not None)
        if pointers is not None and line is not None and not f.fix.targets:
            by_jsonl.setdefault(path, []).append((f, pointers))
        elif pointers is not None and line is None and path.lower().endswith(_EDITABLE):
            by_file.setdefault(path, []).append((f, pointers))
        else:
            plan.not_applied.append((f, "this format's files cannot be fixed yet (JSON, JSONL "
                                        "and XML files and YOLO rows can)"))
    for path, todo in by_file.items():
        try:
            snap = read_for_fix(Path(path))
        except WriteRefused as exc:
            plan.refused.append(exc)
            continue
        try:
            new, fixed, removed = _edit_document(plan, snap.data, todo)
        except (jsonedit.EditError, ValueError) as exc:
            plan.refused.append(WriteRefused(path, f"cannot be edited: {exc}"))
            continue
        removed.sort(key=lambda r: _order(str(r["pointer"])))  # in the file's order
        plan.files.append(FileFix(snap, new, fixed, removed))
    for path, todo in by_jsonl.items():
        _plan_jsonl(plan, path, todo)
    for path, found in by_lines.items():
        _plan_lines(plan, path, found)
    for path, found in by_xml.items():
        _plan_xml(plan, path, found)
    return plan


def _choose(todo: _Todo, read: dict[str, Any] | None = None
            ) -> tuple[list[jsonedit.Edit], list[Finding], list[tuple[Finding, str]]]:
    """The edits of one JSON document, the findings they repair, and those that wait: deletes
    first (an edit inside a record that goes is moot, its finding goes with it); of two
    fixes at one place, or one inside the other, the first in report order. `read`: the
    document's values at the pointers of fixes computed from them (Fix.op)."""
    taken, gone = _Taken(), _Taken()
    edits: list[jsonedit.Edit] = []
    fixed: list[Finding] = []
    waiting: list[tuple[Finding, str]] = []
    for f, pointers in sorted(todo, key=lambda item: not (item[0].fix and item[0].fix.delete)):
        fix = f.fix
        assert fix is not None
        tokens = [_tokens(p) for p in pointers]
        inside = [gone.covers(t) for t in tokens]
        if all(inside):
            fixed.append(f)
            continue
        fresh = [(p, t) for p, t, moot in zip(pointers, tokens, inside, strict=True) if not moot]
        if any(taken.overlaps(t) for _, t in fresh):
            waiting.append((f, _WAIT))
            continue
        for p, t in fresh:
            if fix.delete:
                gone.add(t)
            taken.add(t)
            edits.append(jsonedit.Delete(p) if fix.delete else jsonedit.Replace(p, _value(fix, p, read)))
        fixed.append(f)
    return edits, fixed, waiting


def _value(fix: Fix, pointer: str, read: dict[str, Any] | None) -> Any:
    if fix.op == "unquote" and read is not None:
        return unquote_numbers(read[pointer], bool(fix.value))
    return fix.value


def _edit_document(plan: Plan, data: bytes, todo: _Todo, line: int | None = None
                   ) -> tuple[bytes, list[Finding], list[dict[str, object]]]:
    """One JSON document (a file, or a JSONL line) with `todo`'s fixes spliced in, the
    findings repaired, and what its deletes took (pointer, code, why, value). A fix whose
    place is not in the document as its rule expects (a value the finding named is gone) is
    not applied, with why; the others are. Raises EditError: not JSON."""
    missing: dict[str, str] = {}
    wanted = [p for f, ps in todo if f.fix is not None and f.fix.op for p in ps]
    read = jsonedit.values_at(data, wanted, missing) if wanted else {}
    edits, fixed, waiting = _choose([(f, ps) for f, ps in todo if not any(p in missing for p in ps)],
                                    read)
    new = jsonedit.apply_bytes(data, edits, missing)
    if missing:  # drop every fix that needs one of them, then splice the rest again
        lost = [(f, ps) for f, ps in todo if any(p in missing for p in ps)]
        plan.not_applied += [(f, "its place is not in the file as the fix expects: "
                                 + next(missing[p] for p in ps if p in missing))
                             for f, ps in lost]
        lost_ids = {id(f) for f, _ in lost}
        edits, fixed, waiting = _choose([(f, ps) for f, ps in todo if id(f) not in lost_ids], read)
        new = jsonedit.apply_bytes(data, edits)
    plan.not_applied += waiting
    deleted = [e.pointer for e in edits if isinstance(e, jsonedit.Delete)]
    values = jsonedit.values_at(data, deleted) if deleted else {}
    removed, kept = [], set()
    at_line = {} if line is None else {"line": line}
    for f in fixed:
        for p in _pointers(f, line is not None) or []:
            if p in values and p not in kept:
                kept.add(p)
                removed.append({**at_line, "pointer": p, "code": f.code, "why": f.message,
                                "value": values[p]})
    return new, fixed, removed


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


def _plan_jsonl(plan: Plan, path: str, todo: _Todo) -> None:
    """JSON lines: each line's record edited as a document of its own (its line ending and
    every other line kept); a delete of a whole record takes its line."""
    try:
        snap = read_for_fix(Path(path))
    except WriteRefused as exc:
        plan.refused.append(exc)
        return
    rows = snap.data.split(b"\n")  # as the reader numbers them
    by_line: dict[int, _Todo] = {}
    twins: dict[int, Finding] = {}  # lines a fix deletes by number (Fix.lines): exact copies
    for f, pointers in todo:
        assert f.location.line is not None and f.fix is not None
        for n in f.fix.lines:
            twins.setdefault(n, f)
        if not f.fix.lines:
            by_line.setdefault(f.location.line, []).append((f, pointers))
    fixed: list[Finding] = []
    removed: list[dict[str, object]] = []
    for n, f in sorted(twins.items()):
        by_line.setdefault(n, [])
        by_line[n].insert(0, (f, [""]))
    for n, here in sorted(by_line.items()):
        if not 1 <= n <= len(rows):
            plan.not_applied += [(f, "its line no longer reads as it did") for f, _ in here]
            continue
        text = rows[n - 1]
        body = text[:-1] if text.endswith(b"\r") else text
        whole = next((f for f, ps in here if f.fix and f.fix.delete and "" in ps), None)
        try:
            if whole is not None:  # the line goes: every other fix of it with it
                value = json.loads(body)
                rows[n - 1] = None  # type: ignore[call-overload]
                fixed += [f for f, _ in here if not f.fix.lines]  # those count below
                removed.append({"line": n, "pointer": "", "code": whole.code,
                                "why": whole.message, "value": value})
                continue
            new, done, took = _edit_document(plan, body, here, line=n)
        except (jsonedit.EditError, ValueError) as exc:
            plan.not_applied += [(f, f"its line cannot be edited: {exc}") for f, _ in here]
            continue
        if b"\n" in new or b"\r" in new:  # never: a record stays on its line
            plan.not_applied += [(f, "the fixed record would not fit on its line") for f, _ in here]
            continue
        rows[n - 1] = new + text[len(body):]
        fixed += done
        removed += took
    # a delete by line counts once all its lines went
    failed = {id(f) for f, _ in plan.not_applied}
    fixed += [f for f in {id(f): f for f in twins.values()}.values() if id(f) not in failed]
    kept = [r for r in rows if r is not None]
    new_data = b"\n".join(kept)
    if len(kept) < len(rows) and not new_data.endswith(b"\n") and snap.data.endswith(b"\n"):
        new_data += b"\n"  # the last line went: the file still ends as it did
    plan.files.append(FileFix(snap, new_data, fixed, removed))


# CVAT's shapes: the elements an annotation is, one each (their <attribute>s go with them)
_CVAT_SHAPES = frozenset({"box", "polygon", "polyline", "points", "mask", "ellipse", "cuboid",
                          "skeleton", "tag"})
_VOC_BOX = ("xmin", "ymin", "xmax", "ymax")


def _plan_xml(plan: Plan, path: str, found: list[Finding]) -> None:
    """XML: CVAT shapes deleted, VOC <bndbox> coordinates rewritten, each found by the line
    of its start tag (fix/xmledit.py); every other byte kept."""
    try:
        snap = read_for_fix(Path(path))
        els = xmledit.elements(snap.data)
    except WriteRefused as exc:
        plan.refused.append(exc)
        return
    except xmledit.XmlEditError as exc:
        plan.not_applied += [(f, f"the file cannot be edited: {exc}") for f in found]
        return
    root = els[0].tag if els else ""
    starts: dict[int, list[int]] = {}
    for k, e in enumerate(els):
        starts.setdefault(e.line, []).append(k)
    deletes: dict[int, Finding] = {}
    texts: dict[int, str] = {}
    fixed: list[Finding] = []
    for f in sorted(found, key=lambda f: not (f.fix and f.fix.delete)):
        fix = f.fix
        assert fix is not None and f.location.line is not None
        if fix.delete:
            ks, why = _shapes(els, starts, root, fix.lines or (f.location.line,))
            if why:
                plan.not_applied.append((f, why))
                continue
            for k in ks:
                deletes.setdefault(k, f)
            fixed.append(f)
            continue
        if root != "annotation" or fix.at != "/bbox":
            plan.not_applied.append((f, "this fix cannot be written in this XML format"))
            continue
        ks, why = _bndbox(els, starts, f.location.line)
        if why:
            plan.not_applied.append((f, why))
        elif any(_inside(els, k, d) for k in ks for d in deletes):
            fixed.append(f)  # its object goes
        elif any(k in texts for k in ks):
            plan.not_applied.append((f, _WAIT))
        else:
            x, y, w, h = fix.value
            # VOC's devkit counts pixels from 1, corners inclusive: the mask's extent
            # [x, x + w) is xmin = x + 1, xmax = x + w
            texts.update(zip(ks, (_voc_number(v) for v in (x + 1, y + 1, x + w, y + h)),
                             strict=True))
            fixed.append(f)
    # a deleted element inside another deleted one goes with it
    keep = {id(e) for e in xmledit.outermost([els[k] for k in deletes])}
    outer = {k: f for k, f in deletes.items() if id(els[k]) in keep}
    try:
        new = xmledit.splice(snap.data, [els[k] for k in outer],
                             [(els[k], text) for k, text in texts.items()], before=els)
    except xmledit.XmlEditError as exc:
        plan.not_applied += [(f, f"the file cannot be edited: {exc}") for f in fixed]
        return
    removed: list[dict[str, object]] = [
        {"line": els[k].line, "code": f.code, "why": f.message,
         "value": snap.data[els[k].start:els[k].end].decode("utf-8", "replace")}
        for k, f in sorted(outer.items())]
    plan.files.append(FileFix(snap, new, fixed, removed))


def _inside(els: list[xmledit.Element], k: int, outer: int) -> bool:
    return els[outer].start <= els[k].start and els[k].end <= els[outer].end


def _children(els: list[xmledit.Element], k: int) -> list[int]:
    out, j = [], k + 1
    while j < len(els) and els[j].start < els[k].end:
        if els[j].parent == k:
            out.append(j)
        j += 1
    return out


def _shapes(els: list[xmledit.Element], starts: dict[int, list[int]], root: str,
            at: Iterable[int]) -> tuple[list[int], str]:
    """The CVAT shape element starting on each line, or why there is not exactly one."""
    if root != "annotations":
        return [], "only CVAT shapes are deleted in XML files"
    out = []
    for n in at:
        ks = [k for k in starts.get(n, []) if els[k].tag in _CVAT_SHAPES and els[k].parent >= 0
              and els[els[k].parent].tag in ("image", "track", "skeleton")]
        if len(ks) != 1:
            return [], (f"{'no' if not ks else 'more than one'} shape element starts on line "
                        f"{n}: the fix cannot tell which to delete")
        out += ks
    return out, ""


def _bndbox(els: list[xmledit.Element], starts: dict[int, list[int]], line: int
            ) -> tuple[list[int], str]:
    """A VOC object's xmin, ymin, xmax, ymax elements, the object starting on `line`."""
    objs = [k for k in starts.get(line, []) if els[k].tag == "object" and els[k].parent == 0]
    if len(objs) != 1:
        return [], f"{'no' if not objs else 'more than one'} <object> starts on line {line}"
    boxes = [k for k in _children(els, objs[0]) if els[k].tag == "bndbox"]
    if len(boxes) != 1:
        return [], f"the <object> on line {line} has {len(boxes)} <bndbox> elements"
    coords = {els[k].tag: k for k in _children(els, boxes[0])}
    if sorted(coords) != sorted(_VOC_BOX) or len(_children(els, boxes[0])) != 4:
        return [], f"the <bndbox> of the <object> on line {line} is not xmin, ymin, xmax, ymax"
    return [coords[t] for t in _VOC_BOX], ""


def _voc_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(float(v), 3))


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
