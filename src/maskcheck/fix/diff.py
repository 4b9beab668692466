"""What `maskcheck fix --diff` prints: a unified diff `patch -p1` applies from the current folder.

difflib alone is quadratic on what fixes produce: a 200k-line export whose lines repeat
(`</image>`, `"iscrowd": 0,`) with thousands of deleted elements took minutes. The lines are
matched the patience way instead: lines that occur once in each side anchor the match (the
longest run of them in the same order), and difflib only aligns the short stretches between
anchors. A fix changes little, so the stretches are short and the whole is about linear.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

_NO_EOL = "\n\\ No newline at end of file\n"
_SMALL = 250_000  # a stretch difflib aligns directly: lines(a) x lines(b) at most this
_Op = tuple[str, int, int, int, int]


def _lines(text: str) -> list[str]:
    """Lines as patch reads them, split at "\n" only (a U+2028 inside a JSON string, or the
    "\r" of "\r\n", stays in its line); a last line without one says so as patch expects."""
    lines = [line + "\n" for line in text.split("\n")]
    if lines[-1] == "\n":
        lines.pop()
    else:
        lines[-1] = lines[-1][:-1] + _NO_EOL
    return lines


def _label(path: Path) -> str:
    """The path as `patch -p1` run here finds it below `a/` and `b/`."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        rel = str(path)
    return Path(rel).as_posix().lstrip("/")


def _anchors(a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int
             ) -> list[tuple[int, int]]:
    """Lines once in a[alo:ahi] and once in b[blo:bhi], as (i, j), the longest run of them
    in the same order in both (a longest increasing subsequence of j)."""
    ca, cb = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    where_a = {a[i]: i for i in range(alo, ahi) if ca[a[i]] == 1}
    pairs = [(where_a[b[j]], j) for j in range(blo, bhi) if cb[b[j]] == 1 and b[j] in where_a]
    pairs.sort()
    tails: list[int] = []  # tails[k]: the smallest j ending a run of length k + 1
    tail_at: list[int] = []  # its index in pairs
    back = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_at.append(n)
        else:
            tails[k], tail_at[k] = j, n
        back[n] = tail_at[k - 1] if k else -1
    run: list[tuple[int, int]] = []
    n = tail_at[-1] if tail_at else -1
    while n >= 0:
        run.append(pairs[n])
        n = back[n]
    return run[::-1]


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[_Op]:
    """difflib-style opcodes (tag, i1, i2, j1, j2) turning `a` into `b`, covering both."""
    out: list[_Op] = []
    todo: list[tuple] = [(0, len(a), 0, len(b))]
    while todo:  # regions in order (a stack, pushed in reverse); ("op", ...): an anchor's
        item = todo.pop()
        if item[0] == "op":
            out.append(item[1:])  # type: ignore[arg-type]
            continue
        alo, ahi, blo, bhi = item  # type: ignore[misc]
        while alo < ahi and blo < bhi and a[alo] == b[blo]:  # a common head
            out.append(("equal", alo, alo + 1, blo, blo + 1))
            alo, blo = alo + 1, blo + 1
        tail: list[_Op] = []
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:  # and tail
            tail.append(("equal", ahi - 1, ahi, bhi - 1, bhi))
            ahi, bhi = ahi - 1, bhi - 1
        if alo == ahi or blo == bhi or (ahi - alo) * (bhi - blo) <= _SMALL:
            sm = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            out += [(t, i1 + alo, i2 + alo, j1 + blo, j2 + blo) for t, i1, i2, j1, j2 in sm.get_opcodes()]
            out += tail[::-1]
            continue
        anchors = _anchors(a, b, alo, ahi, blo, bhi)
        if not anchors:  # nothing to hold on to: one change, correct if not minimal
            out.append(("replace", alo, ahi, blo, bhi))
            out += tail[::-1]
            continue
        # the stretches between anchors, and the anchors themselves, in order
        pending: list[tuple[int, int, int, int] | _Op] = []
        i0, j0 = alo, blo
        for i, j in anchors:
            pending += [(i0, i, j0, j), ("equal", i, i + 1, j, j + 1)]
            i0, j0 = i + 1, j + 1
        pending.append((i0, ahi, j0, bhi))
        pending += tail[::-1]
        for part in reversed(pending):  # regions expanded in turn, opcodes as they are
            todo.append(part if len(part) == 4 else ("op", *part))  # type: ignore[arg-type]
    return _merged(out)


def _merged(ops: list[_Op]) -> list[_Op]:
    """Adjacent opcodes of one tag joined, empty ones dropped (as difflib gives them)."""
    out: list[_Op] = []
    for op in ops:
        tag, i1, i2, j1, j2 = op
        if i1 == i2 and j1 == j2:
            continue
        if out and out[-1][0] == tag and out[-1][2] == i1 and out[-1][4] == j1:
            prev = out[-1]
            out[-1] = (tag, prev[1], i2, prev[3], j2)
        else:
            out.append(op)
    return out


class _Matcher(difflib.SequenceMatcher):
    """difflib's hunk grouping over the patience opcodes."""

    def __init__(self, ops: list[_Op]) -> None:
        super().__init__(None, [], [])
        self._ops = ops

    def get_opcodes(self) -> list[_Op]:  # type: ignore[override]
        return self._ops


def _range(start: int, stop: int) -> str:
    """A hunk's side as unified diffs write it (`3`, `3,4`, an empty side after its line)."""
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + (1 if length else 0)},{length}"


def _hunks(a: list[str], b: list[str], context: int) -> Iterator[str]:
    ops = _opcodes(a, b)
    if not ops:
        ops = [("equal", 0, len(a), 0, len(b))]
    for group in _Matcher(ops).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            yield from ("-" + line for line in a[i1:i2])
            yield from ("+" + line for line in b[j1:j2])


def unified(path: Path, old: bytes, new: bytes, context: int = 3) -> str:
    """The diff of one file's change ("" when nothing changes). JSON is UTF-8 text."""
    if old == new:
        return ""
    label = _label(path)
    a = _lines(old.decode("utf-8", errors="surrogateescape"))
    b = _lines(new.decode("utf-8", errors="surrogateescape"))
    return f"--- a/{label}\n+++ b/{label}\n" + "".join(_hunks(a, b, context))
