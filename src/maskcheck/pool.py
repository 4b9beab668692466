"""`--jobs N`: the map step over batches in a pool of forked processes.

The parent has read the dataset; the workers are forked after that, so they share its
tables (copy-on-write) and get only batch numbers to work on. Each folds a run of
consecutive batches (fold.fold) and sends back its Partial; the parent merges them in batch
order and finalizes, as the serial engine does. Fork is what makes this cheap: where the
platform has no fork (or the dataset cannot be cut by batch number), the engine stays
serial.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from maskcheck.fold import Partial, fold, merge
from maskcheck.gallery import Gallery
from maskcheck.model import Batch, Dataset, DatasetInfo, RunContext, Severity
from maskcheck.registry import Rule

RUNS_PER_WORKER = 4  # a slow run does not leave the others idle at the end


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@dataclass
class Job:
    """What a worker folds with: the forked workers inherit it (fork copies it), a Dask
    cluster's get it scattered once (dask_engine.py)."""

    info: DatasetInfo
    rules: list[Rule]
    severity: Callable[[Rule], Severity]
    batch_at: Callable[[int], Batch]
    ctx: RunContext
    per_rule: int | None
    stats: bool
    limit: int | None


_JOB: Job | None = None


def runs_of(order: list[int], workers: int) -> list[list[int]]:
    """Consecutive batch numbers cut into a few runs per worker (the pool's, a cluster's)."""
    step = max(1, -(-len(order) // (max(1, workers) * RUNS_PER_WORKER)))
    return [order[i:i + step] for i in range(0, len(order), step)]


def fold_run(job: Job, order: Sequence[int]) -> Partial:
    """The batches `order`, drawn and folded in a worker."""
    gallery = Gallery(per_rule=job.per_rule) if job.per_rule is not None else None
    return fold(job.info, job.rules, job.severity, (job.batch_at(k) for k in order), job.ctx,
                needed=[], gallery=gallery, stats=job.stats, limit=job.limit)


def _work(order: Sequence[int]) -> Partial:
    assert _JOB is not None, "a pool worker runs only inside fold_in_pool"
    return fold_run(_JOB, order)


def fold_in_pool(dataset: Dataset, rules: list[Rule], severity: Callable[[Rule], Severity],
                 order: list[int], batch_at: Callable[[int], Batch], ctx: RunContext,
                 jobs: int, *, gallery: Gallery | None, stats: bool,
                 progress: Callable[[int], None] | None, limit: int | None = None) -> Partial:
    """Fold the batches `order` (numbers for `batch_at`) in `jobs` processes: runs of
    consecutive numbers, merged in that order. `ctx` must carry the dataset facts."""
    global _JOB
    runs = runs_of(order, jobs)
    _JOB = Job(dataset.info, rules, severity, batch_at, ctx,
                None if gallery is None else gallery.per_rule, stats, limit)
    # the collector would write into the header of every object the workers inherit,
    # copying pages the workers could share with this process: leave those objects alone
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(runs))) as pool:
            total: Partial | None = None
            for part in pool.imap(_work, runs):
                if progress is not None:
                    progress(part.images)
                total = part if total is None else merge(dataset.info, rules, total, part)
    finally:
        _JOB = None
        gc.unfreeze()
    assert total is not None
    if gallery is not None and total.gallery is not None:
        for example in total.gallery.examples:
            gallery.add(example)
    total.gallery = gallery
    return total


def plan_jobs(jobs: int) -> int:
    """`jobs` as asked: 0 means every core."""
    return cores() if jobs <= 0 else jobs

