"""`maskcheck fix` as a library call: lint, plan the edits, show or write them, lint again."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskcheck.api import lint
from maskcheck.fix import diff, renumber
from maskcheck.fix.plan import Plan, make_plan
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


def fix(paths: Sequence[str | Path], *, show_diff: bool = False, unsafe: bool = False,
        backup: bool = True, **lint_options: Any) -> Outcome:
    """Repair the findings of `paths` that have a fix (safe ones; unsafe too with `unsafe`).

    `show_diff`: only compute the diffs (`Outcome.diffs`), write nothing. Otherwise each file
    is replaced atomically (fix/writing.py: its backup `FILE.orig` first unless `backup` is
    False, refused when it changed since it was read), then the paths are linted again.
    `lint_options` are `maskcheck.lint`'s (select, ignore, config, ...). Every finding is
    kept for planning (no --max-findings cap), so one run fixes all that it can.
    """
    options = {**lint_options, "max_findings": None}
    before = lint(paths, **options)
    plan = make_plan(before.findings, unsafe)
    remap = renumber.apply(plan, before)
    out = Outcome(before=before, plan=plan, remap=remap)
    roots = [Path(p) for p in paths]
    for f in plan.files:
        if f.new == f.snapshot.data:
            continue
        if show_diff:
            out.diffs.append(diff.unified(f.snapshot.given, f.snapshot.data, f.new))
            out.fixed += f.fixed
            continue
        try:
            if f.removed:  # the deleted records first: no moment where they exist nowhere
                out.sidecars.append(write_new(
                    f.snapshot.path.with_name(f.snapshot.path.name + ".removed.json"),
                    json.dumps(f.removed, indent=1, ensure_ascii=False).encode() + b"\n",
                    roots, mode=f.snapshot.mode))
            made = write_atomic(f.snapshot, f.new, backup=backup, allowed_roots=roots)
        except WriteRefused as exc:
            out.refused.append(exc)
            continue
        out.written.append(f.snapshot.path)
        out.fixed += f.fixed
        if made is not None:
            out.backups.append(made)
    if remap is not None and not show_diff and any(p in out.written for p in
                                                    (read_path(f) for f in remap.files)):
        try:  # beside the first file renumbered: inside the paths given
            out.remap_file = write_new(remap.files[0].parent / renumber.REMAP_NAME,
                                       remap.text().encode(), roots)
        except WriteRefused as exc:
            out.refused.append(exc)
    if not show_diff and out.written:
        out.after = lint(paths, **options)
    return out


def read_path(path: Path) -> Path:
    return path.resolve()
