"""`--jobs N`: the map step over batches in a pool of forked processes.

The parent has read the dataset; the workers are forked after that, so they share its
tables (copy-on-write) and get only batch numbers to work on. N jobs are the parent and
N - 1 workers: each takes the next run of consecutive batches as it gets free (a shared
counter), folds it (fold.fold) and, in a worker, sends back its Partial; the parent merges
them in batch order and finalizes, as the serial engine does. The parent folding too saves
a process (its memory, and a core left idle while it waits). Fork is what makes this
cheap: where the platform has no fork (or the dataset cannot be cut by batch number), the
engine stays serial.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
# Set before the workers fork, as _JOB is: the runs, the next one to take, and where a
# worker puts (run number, Partial or the exception that stopped it)
_RUNS: list[list[int]] = []
_NEXT: Any = None
_DONE: Any = None


def runs_of(order: list[int], workers: int) -> list[list[int]]:
    """Consecutive batch numbers cut into a few runs per worker (the pool's, a cluster's)."""
    step = max(1, -(-len(order) // (max(1, workers) * RUNS_PER_WORKER)))
    return [order[i:i + step] for i in range(0, len(order), step)]


def fold_run(job: Job, order: Sequence[int]) -> Partial:
    """The batches `order`, drawn and folded in a worker."""
    gallery = Gallery(per_rule=job.per_rule) if job.per_rule is not None else None
    return fold(job.info, job.rules, job.severity, (job.batch_at(k) for k in order), job.ctx,
                needed=[], gallery=gallery, stats=job.stats, limit=job.limit)


def _take() -> int | None:
    """The next run nobody has taken, or None."""
    with _NEXT.get_lock():
        k = _NEXT.value
        if k >= len(_RUNS):
            return None
        _NEXT.value = k + 1
    return k


def _work() -> None:
    """A worker's loop: fold runs until none is left, each sent back as it is done."""
    assert _JOB is not None, "a pool worker runs only inside fold_in_pool"
    while (k := _take()) is not None:
        try:
            _DONE.put((k, fold_run(_JOB, _RUNS[k])))
        except BaseException as exc:  # the parent raises it
            _DONE.put((k, exc))
            return


def fold_in_pool(dataset: Dataset, rules: list[Rule], severity: Callable[[Rule], Severity],
                 order: list[int], batch_at: Callable[[int], Batch], ctx: RunContext,
                 jobs: int, *, gallery: Gallery | None, stats: bool,
                 progress: Callable[[int], None] | None, limit: int | None = None) -> Partial:
    """Fold the batches `order` (numbers for `batch_at`) in `jobs` processes, this one
    included: runs of consecutive numbers, merged in that order. `ctx` must carry the
    dataset facts."""
    global _JOB, _RUNS, _NEXT, _DONE
    # twice a cluster's runs: taken as the processes get free, the last ones end closer together
    runs = runs_of(order, 2 * jobs)
    job = Job(dataset.info, rules, severity, batch_at, ctx,
              None if gallery is None else gallery.per_rule, stats, limit)
    fork = multiprocessing.get_context("fork")
    _JOB, _RUNS, _NEXT, _DONE = job, runs, fork.Value("q", 0), fork.Queue()
    parts: dict[int, Partial] = {}
    total: Partial | None = None
    merged = 0

    def keep(k: int, part: Partial | BaseException) -> None:
        nonlocal total, merged
        if isinstance(part, BaseException):
            raise part
        if progress is not None:
            progress(part.images)
        parts[k] = part
        while merged in parts:  # in batch order, as soon as the runs before it are in
            nxt = parts.pop(merged)
            total = nxt if total is None else merge(dataset.info, rules, total, nxt)
            merged += 1

    workers = min(jobs, len(runs)) - 1
    # the collector would write into the header of every object the workers inherit,
    # copying pages the workers could share with this process: leave those objects alone
    gc.freeze()
    # plain processes, not a multiprocessing.Pool: a Pool replaces a worker that was killed
    # (the out-of-memory killer) and waits for its lost task for ever; a process's exit code
    # says it died
    procs = [fork.Process(target=_work, daemon=True) for _ in range(workers)]
    try:
        for proc in procs:
            proc.start()
        while (k := _take()) is not None:
            keep(k, fold_run(job, runs[k]))
            while not _DONE.empty():
                keep(*_DONE.get())
        while merged + len(parts) < len(runs):  # the workers' last runs
            try:
                keep(*_DONE.get(timeout=0.5))
            except queue.Empty:
                _check(procs)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        _JOB, _RUNS, _NEXT, _DONE = None, [], None, None
        gc.unfreeze()
    assert total is not None and merged == len(runs)
    if gallery is not None and total.gallery is not None:
        for example in total.gallery.examples:
            gallery.add(example)
    total.gallery = gallery
    return total


class WorkerDied(RuntimeError):
    """A pool worker ended before its run was done: killed (by the out-of-memory killer,
    most often), or gone without a word."""


def _check(procs: list[Any]) -> None:
    """Raise WorkerDied when a worker died, or when all ended with a run still missing
    (called once the queue has been empty for a while)."""
    for proc in procs:
        code = proc.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            raise WorkerDied(f"a worker process was killed by {name}"
                             + (" (most likely the system's out-of-memory killer): lint with "
                                "fewer processes (-j) or on a machine with more memory"
                                if -code == signal.SIGKILL else ""))
    if procs and all(proc.exitcode is not None for proc in procs):
        codes = sorted({proc.exitcode for proc in procs})
        raise WorkerDied(f"the worker processes ended (exit code {', '.join(map(str, codes))}) "
                         "with work undone")


def plan_jobs(jobs: int) -> int:
    """`jobs` as asked: 0 means every core."""
    return cores() if jobs <= 0 else jobs

