"""The map step of a lint: every rule over a run of batches, folded into one Partial.

The serial engine folds all batches of a dataset in one run; a pool worker folds its own
run, and the engine merges the Partials in batch order (the reduce contract of
registry.DatasetRule). What a Partial holds must pickle: findings, rule states, the class
counts and the gallery's snapshots, never a batch.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from maskcheck import classstats
from maskcheck.gallery import Gallery
from maskcheck.model import (
    CRASH_CODE,
    CRASH_NAME,
    At,
    Batch,
    DatasetInfo,
    Finding,
    InputError,
    Location,
    Problem,
    RunContext,
    Severity,
    resolve,
)
from maskcheck.registry import DatasetRule, Rule


@dataclass
class Partial:
    """What a run of batches gave: batch-rule findings, dataset-rule states, the rules that
    crashed (code -> the crash finding), and the HTML report's data."""

    findings: list[Finding] = field(default_factory=list)
    states: dict[str, Any] = field(default_factory=dict)
    crashed: dict[str, Finding] = field(default_factory=dict)
    stats: classstats.ClassStats | None = None
    gallery: Gallery | None = None
    images: int = 0
    annotations: int = 0
    errors: list[InputError] = field(default_factory=list)  # what batches could not read
    ctx: RunContext | None = None  # with the dataset facts, once decided
    limit: int | None = None  # findings kept per rule; the others are only counted
    seen: dict[str, int] = field(default_factory=dict)  # findings per rule, kept or not
    dropped_severity: dict[str, Severity] = field(default_factory=dict)

    def keep(self, finding: Finding) -> None:
        n = self.seen[finding.code] = self.seen.get(finding.code, 0) + 1
        if self.limit is None or n <= self.limit:
            self.findings.append(finding)
        else:
            self.dropped_severity.setdefault(finding.code, finding.severity)

    def dropped(self) -> dict[str, tuple[Severity, int]]:
        """code -> (severity, findings counted but not kept)."""
        kept: dict[str, int] = {}
        for f in self.findings:
            kept[f.code] = kept.get(f.code, 0) + 1
        return {code: (sev, self.seen[code] - kept.get(code, 0))
                for code, sev in self.dropped_severity.items()}


def stamp(severity: Severity, rule: Rule, problems: Iterable[Problem],
          out: list[Finding] | Callable[[Finding], None],
          info: DatasetInfo | None = None, batch: Batch | None = None,
          gallery: Gallery | None = None) -> None:
    """Findings from a rule's problems; logical places (`At`) resolved through the reader.
    `out` is a list or a function that keeps a finding (Partial.keep, which counts past its
    limit). A `gallery` gets the findings placed at a row of `batch`, to snapshot their
    image."""
    keep = out.append if isinstance(out, list) else out
    for p in problems:
        if isinstance(p.location, At):
            if info is None:
                raise ValueError("a logical place needs the dataset it is in")
            loc, order = resolve(p.location, info, batch)
        else:
            loc, order = p.location, p.order
        finding = Finding(rule.code, rule.name, severity, p.message, loc, order, p.fix)
        keep(finding)
        if gallery is not None and batch is not None and isinstance(p.location, At):
            gallery.offer(finding, p.location, batch)


def crash(rule: Rule, path: str, exc: BaseException) -> Finding:
    return Finding(
        CRASH_CODE, CRASH_NAME, Severity.ERROR,
        f"rule {rule.code} {rule.name} crashed on this input ({type(exc).__name__}: {exc}); "
        "its findings are incomplete. Please report this with the file.",
        Location(path=path), (9, 0),
    )


def fold(info: DatasetInfo, rules: list[Rule], severity: Callable[[Rule], Severity],
         batches: Iterable[Batch], ctx: RunContext, *, needed: list[Any],
         gallery: Gallery | None = None, stats: bool = False,
         progress: Callable[[int], None] | None = None, limit: int | None = None) -> Partial:
    """Every rule over `batches`, in their order, from the rules' initial states.

    `needed`: the dataset facts still to decide, on the first batch holding images (empty
    when `ctx` carries them already). `limit`: findings kept per rule, the rest counted."""
    # A batch's rules make thousands of short-lived lists (a polygon each) and no cycle that
    # stays (the batch's own is broken below): the collector, run every 700 of them, cost
    # 5% of a lint. Every 10,000 while folding; as it was afterwards.
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        return _fold(info, rules, severity, batches, ctx, needed=needed, gallery=gallery,
                     stats=stats, progress=progress, limit=limit)
    finally:
        gc.set_threshold(*threshold)


def _fold(info: DatasetInfo, rules: list[Rule], severity: Callable[[Rule], Severity],
          batches: Iterable[Batch], ctx: RunContext, *, needed: list[Any],
          gallery: Gallery | None, stats: bool, progress: Callable[[int], None] | None,
          limit: int | None) -> Partial:
    part = Partial(gallery=gallery, stats=classstats.ClassStats() if stats else None,
                   limit=limit)

    def guarded(rule: Rule, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # a rule bug must never pass silently
            part.crashed.setdefault(rule.code, crash(rule, info.path, exc))
            return None

    for rule in rules:
        if isinstance(rule, DatasetRule):
            part.states[rule.code] = guarded(rule, lambda r=rule: r.initial(info))
    for batch in batches:
        part.errors += batch.errors
        if batch.errors and not len(batch.images) and not len(batch.anns):
            continue  # only carries what a lazy reader could not read: nothing to check
        batch.ctx = ctx  # the facts below are decided from the setup (--images)
        if needed and len(batch.images):  # decided once, before any rule sees a batch
            ctx = replace(ctx, dataset_facts={f: f(batch) for f in needed})
            needed = []
        batch.ctx = ctx
        for rule in rules:
            if rule.code in part.crashed:
                continue
            guarded(rule, lambda r=rule, b=batch: stamp(severity(r), r, list(r.check(b)),
                                                        part.keep, info, b, part.gallery))
            if isinstance(rule, DatasetRule) and rule.code not in part.crashed:
                # adds to the running state (the contract: accumulate adds, never replaces)
                part.states[rule.code] = guarded(
                    rule, lambda r=rule, b=batch: r.accumulate(part.states[r.code], b))
        if part.stats is not None:
            part.stats = classstats.accumulate(part.stats, batch)
        part.images += len(batch.images)
        part.annotations += len(batch.anns)
        if progress is not None:
            progress(len(batch.images))
        # what was derived from the batch (its geometry) points back at it: a cycle that
        # only the cyclic collector would free, which counts objects, not the bytes of their
        # arrays, so several batches' worth piled up. Broken here, each batch goes at once
        batch.cache.clear()
    part.ctx = ctx
    return part


def merge(info: DatasetInfo, rules: list[Rule], a: Partial, b: Partial) -> Partial:
    """`a` then `b` (neighbours in batch order) as one Partial; a rule that crashed in
    either is crashed in both (its first crash is kept)."""
    out = Partial(findings=list(a.findings), crashed={**b.crashed, **a.crashed},
                  images=a.images + b.images, annotations=a.annotations + b.annotations,
                  errors=a.errors + b.errors, ctx=a.ctx or b.ctx, gallery=a.gallery,
                  limit=a.limit, seen=dict(a.seen), dropped_severity=dict(a.dropped_severity))
    kept: dict[str, int] = {}
    for f in a.findings:
        kept[f.code] = kept.get(f.code, 0) + 1
    for f in b.findings:  # a's come first: the first `limit` in batch order stay
        kept[f.code] = kept.get(f.code, 0) + 1
        if out.limit is None or kept[f.code] <= out.limit:
            out.findings.append(f)
        else:
            out.dropped_severity.setdefault(f.code, f.severity)
    for code, n in b.seen.items():
        out.seen[code] = out.seen.get(code, 0) + n
    for code, sev in b.dropped_severity.items():
        out.dropped_severity.setdefault(code, sev)
    for rule in rules:
        if not isinstance(rule, DatasetRule) or rule.code in out.crashed:
            continue
        try:
            out.states[rule.code] = rule.merge(a.states[rule.code], b.states[rule.code])
        except Exception as exc:  # a rule bug must never pass silently
            out.crashed[rule.code] = crash(rule, info.path, exc)
    if a.stats is not None and b.stats is not None:
        out.stats = classstats.merge(a.stats, b.stats)
    if out.gallery is not None and b.gallery is not None and b.gallery is not a.gallery:
        for example in b.gallery.examples:
            out.gallery.add(example)
    return out
