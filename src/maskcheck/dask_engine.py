"""`--engine dask`: the map step over batches on a Dask cluster.

The client has read the dataset (for COCO: its tables; for SA-1B: only the list of files and
shards). The job (the reader's `batch_at`, the rules, the dataset facts) is scattered to every
worker once; each partition (a run of consecutive batch numbers) is one task that folds its
batches (fold.fold), and the Partials are merged pairwise in a tree on the workers, keeping
batch order. The client gathers the root and finalizes as the local engine does, so the
findings are the same. Workers read files themselves: the data must be on a path every
worker can read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from maskcheck.errors import UsageProblem
from maskcheck.fold import Partial, merge
from maskcheck.gallery import Gallery
from maskcheck.model import Batch, DatasetInfo, RunContext, Severity
from maskcheck.pool import Job, fold_run, runs_of
from maskcheck.registry import Rule

CONNECT_TIMEOUT = 5  # seconds to reach a --scheduler before saying it cannot be reached
INSTALL_HINT = "--engine dask needs Dask: pip install 'maskcheck[dask]'"


class ClusterFailed(UsageProblem):
    """The cluster could not run the lint (a worker died, a task did not ship): one line."""


def _merge(job: Job, a: Partial, b: Partial) -> Partial:
    return merge(job.info, job.rules, a, b)


def _quiet_logs() -> None:
    # distributed logs through `logging` (connection retries, worker restarts): the report
    # and the one-line errors say what the user needs
    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def session(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A `distributed.Client`: to `scheduler`, or to a LocalCluster of `workers` processes
    started here and closed at the end. A missing install or an unreachable scheduler is a
    UsageProblem (one line)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageProblem(INSTALL_HINT) from None
    _quiet_logs()
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageProblem(f"--scheduler {scheduler}: cannot reach the scheduler "
                               f"({reason[:200]})") from None
        with client:
            yield client
        return
    cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def _images(part: Partial) -> int:
    return part.images


def fold_on_cluster(client: Any, info: DatasetInfo, rules: list[Rule],
                    severity: Callable[[Rule], Severity], order: list[int],
                    batch_at: Callable[[int], Batch], ctx: RunContext, *,
                    gallery: Gallery | None, stats: bool,
                    progress: Callable[[int], None] | None, limit: int | None = None) -> Partial:
    """Fold the batches `order` (numbers for `batch_at`) on the cluster: one task per
    partition, merged in a tree in batch order. `ctx` must carry the dataset facts."""
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    runs = runs_of(order, workers)
    job = Job(info, rules, severity, batch_at, ctx,
               None if gallery is None else gallery.per_rule, stats, limit)
    shared = None
    try:
        # hash=False: tokenizing a job that carries a dataset's tables would cost a full pass
        [shared] = client.scatter([job], broadcast=True, hash=False)
        level = [client.submit(fold_run, shared, run, pure=False) for run in runs]
        # the bar moves as partitions finish: only their image counts come back here
        counted = [client.submit(_images, part, pure=False) for part in level]
        while len(level) > 1:  # neighbours merge: batch order is kept at every level
            nxt = [client.submit(_merge, shared, a, b, pure=False)
                   for a, b in zip(level[::2], level[1::2], strict=False)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        if progress is not None:
            for done in as_completed(counted):
                progress(done.result())
        total: Partial = level[0].result()
    except Exception as exc:  # a worker lost, a task that cannot be shipped
        raise ClusterFailed(f"--engine dask: the cluster failed on {info.path}: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                            ) from exc
    finally:
        if shared is not None:
            with contextlib.suppress(Exception):
                client.cancel([shared])
    if gallery is not None and total.gallery is not None:
        for example in total.gallery.examples:
            gallery.add(example)
    total.gallery = gallery
    return total
