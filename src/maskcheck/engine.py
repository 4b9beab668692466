"""The plan (which rules, at which severity) and the map/reduce over batches."""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from maskcheck import classstats, dask_engine
from maskcheck.catalog import all_rules, find_rule
from maskcheck.classstats import ClassTable
from maskcheck.errors import UsageProblem
from maskcheck.fold import Partial, crash, fold, stamp
from maskcheck.gallery import Gallery
from maskcheck.model import (
    Batch,
    Dataset,
    DatasetInfo,
    Finding,
    InputError,
    Problem,
    RunContext,
    Severity,
)
from maskcheck.pool import can_fork, fold_in_pool
from maskcheck.registry import DatasetRule, Rule, SplitRule

DEFAULT_BATCH_IMAGES = 4096
# In a pool, smaller runs: each worker's transient memory is a batch's, and with two of
# them at work the COCO-train-sized bench file peaks at 1,230 MiB (PSS of the tree) with
# 256 images a batch against 1,470 MiB with 4,096
POOL_BATCH_IMAGES = 256

Progress = Callable[[int], None]  # called with the number of images just linted


@dataclass
class Drawn:
    """What the batches held, counted as they passed (for readers that read as they go),
    and the files they found unreadable."""

    images: int = 0
    annotations: int = 0
    errors: list[InputError] = field(default_factory=list)


@dataclass
class Plan:
    rules: list[Rule]
    severity: dict[str, Severity] = field(default_factory=dict)

    def severity_of(self, rule: Rule) -> Severity:
        return self.severity.get(rule.code, rule.severity)


def match_rules(selector: str) -> list[type[Rule]]:
    """Rules matching a code, a code prefix (`MC1`) or a name; `ALL` matches every rule."""
    sel = selector.strip()
    if sel.upper() == "ALL":
        return all_rules()
    rule = find_rule(sel)
    if rule is not None:
        return [rule]
    return [r for r in all_rules() if r.code.upper().startswith(sel.upper())]


def _nomatch_rules(flag: str, sel: str) -> UsageProblem:
    import difflib

    choices = {n.casefold(): n for r in all_rules() for n in (r.code, r.name)}
    close = difflib.get_close_matches(sel.strip().casefold(), list(choices), n=1, cutoff=0.6)
    hint = f"; did you mean {choices[close[0]]!r}?" if close else ""
    return UsageProblem(f"{flag} {sel!r} matches no rule{hint} (see `maskcheck rules`)")


def make_plan(
    select: Sequence[str] | None = None,
    ignore: Sequence[str] = (),
    severity: dict[str, str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    extend_select: Sequence[str] = (),
) -> Plan:
    """Build the rule instances; a selector that matches nothing is a usage error.

    `select` replaces the default (every rule), `extend_select` adds to it, and `ignore`
    removes from the result whatever the order the selectors came in.
    """
    chosen: list[type[Rule]] = []
    for flag, sels in (("--select", select or ["ALL"]), ("--extend-select", extend_select)):
        for sel in sels:
            found = match_rules(sel)
            if not found:
                raise _nomatch_rules(flag, sel)
            chosen += [r for r in found if r not in chosen]
    for sel in ignore:
        found = match_rules(sel)
        if not found:
            raise _nomatch_rules("--ignore", sel)
        chosen = [r for r in chosen if r not in found]
    sev: dict[str, Severity] = {}
    for key, level in (severity or {}).items():
        found = match_rules(key)
        if not found:
            raise _nomatch_rules("--severity", key)
        try:
            parsed = Severity.parse(level)
        except ValueError as exc:
            raise UsageProblem(f"--severity {key}={level}: {exc}") from None
        sev.update({r.code: parsed for r in found})
    opts = options or {}
    rules = []
    for cls in sorted(chosen, key=lambda r: r.code):
        try:
            rules.append(cls(**opts.get(cls.code, opts.get(cls.name, {}))))
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
    return Plan(rules=rules, severity=sev)


def _stamp(plan: Plan, rule: Rule, problems: Iterable[Problem], out: list[Finding],
           info: DatasetInfo | None = None, batch: Batch | None = None) -> None:
    stamp(plan.severity_of(rule), rule, problems, out, info, batch)


def applies(rule: Rule, info: DatasetInfo) -> bool:
    """A format's rules run on that format only, class rules only where there are classes."""
    return ((rule.formats is None or info.format in rule.formats)
            and not (rule.needs_classes and info.class_agnostic))


def lint_dataset(
    dataset: Dataset,
    plan: Plan,
    batch_size: int | None = DEFAULT_BATCH_IMAGES,
    shuffle_seed: int | None = None,
    progress: Progress | None = None,
    summaries: dict[str, list[Any]] | None = None,
    ctx: RunContext | None = None,
    facts: dict[Any, Any] | None = None,
    gallery: Gallery | None = None,
    classes: list[ClassTable] | None = None,
    jobs: int = 1,
    max_findings: int | None = None,
    dropped: dict[str, tuple[Severity, int]] | None = None,
    drawn: Drawn | None = None,
    cluster: Any = None,
) -> list[Finding]:
    """Map every rule over the batches, reduce the dataset rules, return the findings.

    `ctx` is the user's setup for this dataset (`Config.context`): every batch carries it
    (`batch.ctx`) and `finalize` / `summarize` receive it. The dataset facts the rules need
    are decided on the first batch with images and also written into `facts`.

    Each batch is accumulated into the running state of every dataset rule (the contract:
    `accumulate` adds to the state it is given; see registry). With `jobs` > 1 runs of
    batches are folded in a pool of forked processes and their states merged in batch
    order (pool.py); the findings are the same. Split rules (`summarize`/`cross_check`)
    append this dataset's summary to `summaries[code]`; call `cross_check` once every
    dataset has been linted.

    For the HTML report: `gallery` snapshots the images of findings placed at rows, and
    `classes` gets this dataset's class table, both from the batches as they pass.

    `max_findings`: the first that many findings of each rule are kept, the others only
    counted, into `dropped` (code -> (severity, count)): memory stays bounded whatever a
    rule finds.

    `drawn` gets the images and annotations the batches held and the reader errors met
    while drawing them.

    `cluster`: a `distributed.Client` (`--engine dask`, dask_engine.py): the batches are
    folded on its workers, as the pool folds them, and merged there in a tree.
    """
    info = dataset.info
    ctx = ctx or RunContext()
    rules = [r for r in plan.rules if applies(r, info)]
    needed = list(dict.fromkeys(f for r in rules for f in r.dataset_facts))
    if batch_size == DEFAULT_BATCH_IMAGES and dataset.batch_images:
        batch_size = dataset.batch_images
    elif (jobs > 1 or cluster is not None) and batch_size == DEFAULT_BATCH_IMAGES:
        batch_size = POOL_BATCH_IMAGES
    indexed = dataset.indexed(batch_size) if dataset.indexed is not None else None
    count = indexed[0] if indexed is not None else 0
    if cluster is not None and indexed is not None:
        part = _pooled(indexed, ctx, needed, shuffle_seed, functools.partial(
            dask_engine.fold_on_cluster, cluster, info, rules, plan.severity_of),
            gallery=gallery, stats=classes is not None, progress=progress, limit=max_findings)
    # a pool pays when there are several batches of images (not one and its orphans)
    elif jobs > 1 and count > 1 and info.num_images > (batch_size or info.num_images) and can_fork():
        part = _pooled(indexed, ctx, needed, shuffle_seed, functools.partial(
            fold_in_pool, dataset, rules, plan.severity_of, jobs=jobs),
            gallery=gallery, stats=classes is not None, progress=progress, limit=max_findings)
    else:
        batches: Iterable[Batch] = dataset.batches(batch_size)
        if shuffle_seed is not None:
            batches = list(batches)
            random.Random(shuffle_seed).shuffle(batches)
        part = fold(info, rules, plan.severity_of, batches, ctx, needed=needed,
                    gallery=gallery, stats=classes is not None, progress=progress,
                    limit=max_findings)
    ctx = part.ctx or ctx
    if drawn is not None:
        drawn.images += part.images
        drawn.annotations += part.annotations
        drawn.errors += part.errors
    if facts is not None:
        facts.update(ctx.dataset_facts)
    broken = set(part.crashed)

    def guarded(rule: Rule, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # a rule bug must never pass silently
            broken.add(rule.code)
            part.crashed[rule.code] = crash(rule, info.path, exc)
            return None

    for rule in rules:
        if not isinstance(rule, DatasetRule) or rule.code in broken:
            continue
        state = part.states[rule.code]
        guarded(rule, lambda r=rule, st=state: stamp(plan.severity_of(r), r,
                                                     list(_call(r.finalize, st, info, ctx)),
                                                     part.keep, info))
        if summaries is not None and isinstance(rule, SplitRule) and rule.code not in broken:
            summary = guarded(rule, lambda r=rule, st=state: _call(r.summarize, st, info, ctx))
            if rule.code not in broken:
                summaries.setdefault(rule.code, []).append(summary)
    if classes is not None and part.stats is not None:
        classes.append(classstats.table(part.stats, info))
    if dropped is not None:
        for code, (sev, n) in part.dropped().items():
            dropped[code] = (sev, dropped.get(code, (sev, 0))[1] + n)
    return part.findings + list(part.crashed.values())


def _pooled(indexed: tuple[int, Callable[[int], Batch]], ctx: RunContext, needed: list[Any],
            shuffle_seed: int | None, fold_runs: Callable[..., Partial], **kw: Any) -> Partial:
    """The batches by number, folded elsewhere by `fold_runs(order, batch_at, ctx, **kw)`
    (a pool, a cluster) with the dataset facts decided here first, as fold would."""
    count, batch_at = indexed
    order = list(range(count))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    if needed:  # decided on the first batch with images, as fold would
        first = next((b for b in (batch_at(k) for k in order) if len(b.images)), None)
        if first is not None:
            first.ctx = ctx
            ctx = replace(ctx, dataset_facts={f: f(first) for f in needed})
    return fold_runs(order, batch_at, ctx, **kw)


def run_finalize(rule: DatasetRule, state: Any, info: DatasetInfo,
                 ctx: RunContext | None = None) -> list[Problem]:
    """A dataset rule's problems from its final state (for folds driven outside the engine)."""
    return list(_call(rule.finalize, state, info, ctx or RunContext()))


def run_summarize(rule: SplitRule, state: Any, info: DatasetInfo, ctx: RunContext | None = None) -> Any:
    return _call(rule.summarize, state, info, ctx or RunContext())


def _call(hook: Callable[..., Any], state: Any, info: DatasetInfo, ctx: RunContext) -> Any:
    """`hook(state, info, ctx)`, or `hook(state, info)` for a rule that needs no setup (and
    plugin rules written for 0.1)."""
    if _takes_ctx(getattr(hook, "__func__", hook)):
        return hook(state, info, ctx)
    return hook(state, info)


@functools.cache
def _takes_ctx(fn: Callable[..., Any]) -> bool:
    params = list(inspect.signature(fn).parameters.values())
    return len(params) >= 4 or any(p.kind is p.VAR_POSITIONAL for p in params)  # self, state, info, ctx


def cross_check(plan: Plan, summaries: dict[str, list[Any]]) -> list[Finding]:
    """Run each split rule over the summaries of every dataset linted together."""
    findings: list[Finding] = []
    for rule in plan.rules:
        if not isinstance(rule, SplitRule) or rule.code not in summaries:
            continue
        try:
            _stamp(plan, rule, list(rule.cross_check(summaries[rule.code])), findings)
        except Exception as exc:  # a rule bug must never pass silently
            paths = {getattr(s, "path", "") for s in summaries[rule.code]}
            findings.append(crash(rule, ", ".join(sorted(paths)), exc))
    return findings


def sort_key(f: Finding) -> tuple:
    return (f.location.path, f.code, f.order, f.message)
