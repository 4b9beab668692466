"""`maskcheck fix` as a library call: lint, plan the edits, show or write them, lint again."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskcheck.api import lint
from maskcheck.fix import diff, renumber, tidy, unused
from maskcheck.fix.plan import FileFix, Plan, make_plan
from maskcheck.fix.writing import WriteRefused, write_atomic, write_new
from maskcheck.model import Finding, InputError, Report


@dataclass
class Outcome:
    """What a fix run did. `after` is the re-lint of what was written (None with `diff`)."""

    before: Report
    plan: Plan
    diffs: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    sidecars: list[Path] = field(default_factory=list)  # FILE.removed.json: what deletes took
    refused: list[WriteRefused] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    after: Report | None = None
    remap: renumber.Remap | None = None  # the class ids renumbered (MC103), old -> new
    remap_file: Path | None = None

    @property
    def errors(self) -> list[InputError | WriteRefused]:
        """Inputs that could not be read, files that could not be written: exit 2."""
        return [*self.before.errors, *self.plan.refused, *self.refused]

    def fixed_by_rule(self) -> Counter[str]:
        return Counter(f.code for f in self.fixed)

    def remaining(self) -> list[Finding]:
        report = self.after or self.before
        return report.findings

    def unsafe_fixable(self) -> int:
        """Remaining findings that --unsafe-fixes would repair."""
        return sum(1 for f in self.remaining() if f.fix is not None and not f.fix.safe)


# Fixes can uncover others (a box fixed makes two records exact copies): like ruff, fix
# lints again and goes on until a pass changes nothing, at most this many passes.
MAX_PASSES = 10


def fix(paths: Sequence[str | Path], *, show_diff: bool = False, unsafe: bool = False,
        backup: bool = True, **lint_options: Any) -> Outcome:
    """Repair the findings of `paths` that have a fix (safe ones; unsafe too with `unsafe`).

    `show_diff`: only compute the diffs of one pass (`Outcome.diffs`), write nothing.
    Otherwise each file is replaced atomically (fix/writing.py: its backup `FILE.orig`
    first, of the original, unless `backup` is False; refused when it changed since it was
    read), the paths are linted again, and passes go on while they change something.
    `lint_options` are `maskcheck.lint`'s (select, ignore, config, ...). Every finding is
    kept for planning (no --max-findings cap), so one run fixes all that it can.
    """
    options = {**lint_options, "max_findings": None}
    report = lint(paths, **options)
    out = Outcome(before=report, plan=Plan())
    roots = [Path(p) for p in paths]
    for n in range(MAX_PASSES):
        out.plan = make_plan(report.findings, unsafe)
        tidy.apply(out.plan)
        remap = renumber.apply(out.plan, report)
        if remap is None:  # the findings name ids from before a renumbering: the next pass
            unused.apply(out.plan, report)
        out.remap = out.remap or remap
        changed = [f for f in out.plan.files if f.new != f.snapshot.data]
        if show_diff:
            out.diffs = [diff.unified(f.snapshot.given, f.snapshot.data, f.new) for f in changed]
            out.fixed = [x for f in changed for x in f.fixed]
            return out
        written = [f for f in changed if _write(out, f, roots, backup and n == 0)]
        if remap is not None and written:
            try:  # beside the first file renumbered: inside the paths given
                out.remap_file = write_new(remap.files[0].parent / renumber.REMAP_NAME,
                                           remap.text().encode(), roots)
            except WriteRefused as exc:
                out.refused.append(exc)
        if not written:
            break
        report = out.after = lint(paths, **options)
    return out


def _write(out: Outcome, f: FileFix, roots: list[Path], backup: bool) -> bool:
    """One file's new bytes written (its deleted records first, into FILE.removed.json, so
    they are never nowhere); False when refused, said in `out.refused`."""
    try:
        if f.removed:
            out.sidecars.append(write_new(
                f.snapshot.path.with_name(f.snapshot.path.name + ".removed.json"),
                json.dumps(f.removed, indent=1, ensure_ascii=False).encode() + b"\n",
                roots, mode=f.snapshot.mode))
        made = write_atomic(f.snapshot, f.new, backup=backup, allowed_roots=roots)
    except WriteRefused as exc:
        out.refused.append(exc)
        return False
    if f.snapshot.path not in out.written:
        out.written.append(f.snapshot.path)
    out.fixed += f.fixed
    if made is not None:
        out.backups.append(made)
    return True
