"""Exact duplicate search over more (id, index) pairs than memory should hold.

A duplicate-id rule must see every id, and SA-1B has 1.1B masks: 16 bytes a pair is 17.6 GB.
`Pairs` keeps up to `MEMORY_PAIRS` pairs in memory (64 MiB) and writes the rest to disk,
hash-partitioned by id: each spill is one file whose pairs are grouped by partition, with
the partition offsets kept in the state (PARTITIONS + 1 ints a spill). Equal ids always land
in one partition, so `repeats` reads one partition of every spill at a time: its memory is
the dataset's pairs / PARTITIONS (69 MB of SA-1B's), and its answer is the in-memory one.

The state pickles as paths and offsets, so pool workers can spill and the parent reads
their files; the spill folder must be one the finalizing process can read
(MASKCHECK_SPILL_DIR, else the system's temporary folder: on a Dask cluster of several
machines, a shared path). Files are removed once read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MEMORY_PAIRS = 4 * 1024**2  # pairs held before a spill: 64 MiB of int64 pairs
PARTITIONS = 256
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads consecutive ids evenly
_SHIFT = np.uint64(64 - 8)  # top 8 bits: PARTITIONS = 256
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class Spilled:
    """One spill file: int64 (id, index) rows grouped by partition, `offsets` in rows."""

    path: str
    offsets: np.ndarray


@dataclass
class Pairs:
    ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    index: np.ndarray = field(default_factory=lambda: _EMPTY)
    spilled: list[Spilled] = field(default_factory=list)

    def add(self, ids: np.ndarray, index: np.ndarray) -> Pairs:
        return self.merge(Pairs(ids.astype(np.int64, copy=False), index.astype(np.int64, copy=False)))

    def merge(self, other: Pairs) -> Pairs:
        out = Pairs(np.concatenate([self.ids, other.ids]), np.concatenate([self.index, other.index]),
                    self.spilled + other.spilled)
        if len(out.ids) > MEMORY_PAIRS:
            out.spilled.append(_spill(out.ids, out.index))
            out.ids, out.index = _EMPTY, _EMPTY
        return out

    def __len__(self) -> int:
        return len(self.ids) + sum(int(s.offsets[-1]) for s in self.spilled)


def _partition(ids: np.ndarray) -> np.ndarray:
    return ((ids.view(np.uint64) * _GOLDEN) >> _SHIFT).astype(np.int64)


def spill_dir() -> str:
    return os.environ.get("MASKCHECK_SPILL_DIR") or tempfile.gettempdir()


def _spill(ids: np.ndarray, index: np.ndarray) -> Spilled:
    part = _partition(ids)
    order = np.argsort(part, kind="stable")
    rows = np.empty((len(ids), 2), dtype=np.int64)
    rows[:, 0], rows[:, 1] = ids[order], index[order]
    offsets = np.searchsorted(part[order], np.arange(PARTITIONS + 1))
    fd, name = tempfile.mkstemp(prefix="maskcheck-spill-", suffix=".bin", dir=spill_dir())
    with os.fdopen(fd, "wb") as fh:
        rows.tofile(fh)
    return Spilled(name, offsets.astype(np.int64))


def repeats(pairs: Pairs) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, index) sorted by id then index, holding every pair whose id occurs more than
    once, one hash partition at a time (all of them at once when nothing was spilled).
    Spill files are removed once read, also when the caller stops early."""
    if not pairs.spilled:
        yield _repeated(pairs.ids, pairs.index)
        return
    try:
        mem_part = _partition(pairs.ids)
        for p in range(PARTITIONS):
            chunks = [np.fromfile(s.path, dtype=np.int64, count=2 * int(s.offsets[p + 1] - s.offsets[p]),
                                  offset=16 * int(s.offsets[p])).reshape(-1, 2)
                      for s in pairs.spilled if s.offsets[p + 1] > s.offsets[p]]
            here = mem_part == p
            ids = np.concatenate([c[:, 0] for c in chunks] + [pairs.ids[here]])
            index = np.concatenate([c[:, 1] for c in chunks] + [pairs.index[here]])
            found = _repeated(ids, index)
            if len(found[0]):
                yield found
    finally:
        for s in pairs.spilled:
            Path(s.path).unlink(missing_ok=True)


def _repeated(ids: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(ids):
        return _EMPTY, _EMPTY
    order = np.lexsort((index, ids))
    ids, index = ids[order], index[order]
    same = ids[1:] == ids[:-1]
    keep = np.r_[same, False] | np.r_[False, same]
    return ids[keep], index[keep]
