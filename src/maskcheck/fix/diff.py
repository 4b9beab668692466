"""What `maskcheck fix --diff` prints: a unified diff `patch -p1` applies from the current folder."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

_NO_EOL = "\n\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    """Lines with their ends; a last line without one says so as diff and patch expect."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += _NO_EOL
    return lines


def _label(path: Path) -> str:
    """The path as `patch -p1` run here finds it below `a/` and `b/`."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        rel = str(path)
    return Path(rel).as_posix().lstrip("/")


def unified(path: Path, old: bytes, new: bytes, context: int = 3) -> str:
    """The diff of one file's change ("" when nothing changes). JSON is UTF-8 text."""
    if old == new:
        return ""
    label = _label(path)
    a = old.decode("utf-8", errors="surrogateescape")
    b = new.decode("utf-8", errors="surrogateescape")
    out = difflib.unified_diff(_lines(a), _lines(b), f"a/{label}", f"b/{label}", n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)
