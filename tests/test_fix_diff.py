"""`maskcheck fix --diff`'s unified diff: `patch -p1` turns the old file into the new one,
for any edit, through difflib's short path and through the patience anchoring that keeps
large, repetitive files (CVAT's `</image>` every few lines) about linear."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskcheck.fix import diff

LINES = st.sampled_from(["</image>\n", "  <polygon a/>\n", '"iscrowd": 0,\n', "x\u2028y\n",
                         "a\r\n", "b\n", "c\n", "d\n", "e\n", "f\n"])
EDIT = st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.integers(0, 10_000), LINES)


def patched(tmp_path: Path, old: str, new: str) -> bytes:
    (tmp_path / "f.txt").write_bytes(old.encode())
    text = diff.unified(Path("f.txt"), old.encode(), new.encode())
    subprocess.run(["patch", "-p1", "--quiet", "--binary"], input=text.encode(), cwd=tmp_path,
                   check=True, capture_output=True)
    return (tmp_path / "f.txt").read_bytes()


@pytest.mark.skipif(shutil.which("patch") is None, reason="no `patch` (apt-get install patch)")
@pytest.mark.parametrize("small", [diff._SMALL, 4])  # difflib at once; anchors, then difflib
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, max_size=60), edits=st.lists(EDIT, min_size=1, max_size=8),
       ends=st.tuples(st.booleans(), st.booleans()))
def test_the_diff_applies_with_patch(tmp_path, monkeypatch, small, lines, edits, ends):
    monkeypatch.setattr(diff, "_SMALL", small)
    new_lines = list(lines)
    for op, at, line in edits:
        k = at % (len(new_lines) + 1)
        if op == "insert":
            new_lines.insert(k, line)
        elif new_lines and k < len(new_lines):
            new_lines[k:k + 1] = [] if op == "delete" else [line]
    old, new = "".join(lines), "".join(new_lines)
    old, new = (old.rstrip("\n") if ends[0] else old), (new.rstrip("\n") if ends[1] else new)
    if old == new:
        assert diff.unified(Path("f.txt"), old.encode(), new.encode()) == ""
        return
    assert patched(tmp_path, old, new) == new.encode()


@pytest.mark.skipif(shutil.which("patch") is None, reason="no `patch` (apt-get install patch)")
def test_thousands_of_deletions_among_repeated_lines(tmp_path):
    """The shape of a CVAT fix: 40,000 lines, most of them repeats, 2,000 deleted."""
    lines = []
    for i in range(4_000):
        lines += [f'<image id="{i}">\n', *(f'  <polygon points="{k}"/>\n' for k in range(8)), "</image>\n"]
    kept = [line for n, line in enumerate(lines) if n % 20 != 3]
    old, new = "".join(lines), "".join(kept)
    ops = diff._opcodes(diff._lines(old), diff._lines(new))
    assert sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag != "equal") == len(lines) - len(kept)
    assert patched(tmp_path, old, new) == new.encode()
