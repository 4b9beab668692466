"""Edits of line-based files (YOLO label rows) by line number: every other byte stays.

A fix in a line format names an edit of its finding's line (`Fix.line_op`); the line is
rewritten by it, its line ending ("\\n", "\\r\\n") and every other line kept as they were.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(rb"\S+")


def clip01(line: bytes) -> bytes | None:
    """A YOLO row with its coordinates (every token after the class) clipped to [0, 1]:
    only the tokens outside are rewritten, as `0` or `1`. None: not a row it can read."""
    tokens = list(_TOKEN.finditer(line))
    if len(tokens) < 5:
        return None
    out, at = [], 0
    for k, m in enumerate(tokens):
        text = m.group()
        try:
            value = float(text)
        except ValueError:
            return None
        if k and not 0.0 <= value <= 1.0:
            out += [line[at:m.start()], b"0" if value < 0 else b"1"]
            at = m.end()
    out.append(line[at:])
    return b"".join(out)


OPS: dict[str, Callable[[bytes], bytes | None]] = {"clip01": clip01}


def apply(data: bytes, edits: dict[int, str]) -> tuple[bytes, list[int]]:
    """`data` with line `n` (1-based) rewritten by the op `edits[n]`; and the lines whose op
    could not read them (left as they were)."""
    lines = data.splitlines(keepends=True)
    failed = []
    for n, op in sorted(edits.items()):
        if not 1 <= n <= len(lines):
            failed.append(n)
            continue
        line = lines[n - 1]
        body = line.rstrip(b"\r\n")
        new = OPS[op](body)
        if new is None:
            failed.append(n)
            continue
        lines[n - 1] = new + line[len(body):]
    return b"".join(lines), failed
