"""writing: atomic in-place writes that keep the mode, follow symlinks, and never lose the original."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from maskcheck.errors import InputProblem
from maskcheck.fix import writing
from maskcheck.fix.writing import WriteRefused, read_for_fix, write_atomic, write_new

ORIGINAL = b'{"annotations": [{"id": 1, "area": "12"}]}\n'
FIXED = b'{"annotations": [{"id": 1, "area": 12}]}\n'


def make(folder: Path, name: str = "train.json", data: bytes = ORIGINAL, mode: int = 0o640) -> Path:
    path = folder / name
    path.write_bytes(data)
    path.chmod(mode)
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_keeps_the_mode_and_makes_a_backup(tmp_path: Path) -> None:
    path = make(tmp_path)
    snap = read_for_fix(path)
    assert snap.data == ORIGINAL and snap.mode == 0o640 and snap.path == path.resolve()
    backup = write_atomic(snap, FIXED, backup=True, allowed_roots=[tmp_path])
    assert path.read_bytes() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert backup == tmp_path / "train.json.orig"
    assert backup.read_bytes() == ORIGINAL
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_no_backup(tmp_path: Path) -> None:
    path = make(tmp_path)
    assert write_atomic(read_for_fix(path), FIXED, backup=False, allowed_roots=[path]) is None
    assert path.read_bytes() == FIXED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.json"]


def test_an_existing_backup_is_never_overwritten(tmp_path: Path) -> None:
    path = make(tmp_path)
    (tmp_path / "train.json.orig").write_bytes(b"older original")
    (tmp_path / "train.json.orig.1").symlink_to(tmp_path / "elsewhere")  # dangling: still taken
    backup = write_atomic(read_for_fix(path), FIXED, backup=True, allowed_roots=[tmp_path])
    assert backup == tmp_path / "train.json.orig.2"
    assert backup.read_bytes() == ORIGINAL
    assert (tmp_path / "train.json.orig").read_bytes() == b"older original"
    assert not (tmp_path / "elsewhere").exists()


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = make(data, "real.json")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    snap = read_for_fix(link)
    assert snap.path == target.resolve() and snap.given == link
    backup = write_atomic(snap, FIXED, backup=True, allowed_roots=[tmp_path])
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == FIXED
    assert backup == data / "real.json.orig"


def test_a_target_outside_the_roots_is_refused(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    target = make(outside)
    (inside / "train.json").symlink_to(target)
    snap = read_for_fix(inside / "train.json")
    with pytest.raises(WriteRefused, match="outside the paths given") as info:
        write_atomic(snap, FIXED, backup=True, allowed_roots=[inside])
    assert info.value.path == str(inside / "train.json")
    assert isinstance(info.value, InputProblem)  # the CLI's one-line, exit-2 path
    assert target.read_bytes() == ORIGINAL
    assert sorted(p.name for p in outside.iterdir()) == ["train.json"]
    # a file root allows that file only, not a sibling
    sibling = make(inside, "val.json")
    with pytest.raises(WriteRefused, match="outside"):
        write_atomic(read_for_fix(sibling), FIXED, backup=False, allowed_roots=[inside / "other.json"])


def test_a_change_between_read_and_write_is_refused(tmp_path: Path) -> None:
    path = make(tmp_path)
    snap = read_for_fix(path)
    path.write_bytes(b'{"edited": "by someone else"}')
    with pytest.raises(WriteRefused, match="changed since it was read"):
        write_atomic(snap, FIXED, backup=True, allowed_roots=[tmp_path])
    assert path.read_bytes() == b'{"edited": "by someone else"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.json"]


def test_a_file_replaced_by_a_symlink_after_reading_is_refused(tmp_path: Path) -> None:
    path = make(tmp_path)
    other = make(tmp_path, "other.json")
    snap = read_for_fix(path)
    path.unlink()
    path.symlink_to(other)
    with pytest.raises(WriteRefused, match="another file"):
        write_atomic(snap, FIXED, backup=False, allowed_roots=[tmp_path])
    assert other.read_bytes() == ORIGINAL


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(WriteRefused, match="not a regular file"):
        read_for_fix(fifo)
    with pytest.raises(WriteRefused, match="not a regular file"):
        read_for_fix(tmp_path)
    with pytest.raises(WriteRefused, match="no such file"):
        read_for_fix(tmp_path / "missing.json")


@pytest.mark.parametrize("backup", [True, False])
@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_crash_mid_write_leaves_the_original_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str, backup: bool) -> None:
    path = make(tmp_path)
    snap = read_for_fix(path)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writing.os, failing, boom)
    with pytest.raises(WriteRefused, match="Input/output error; the file is unchanged"):
        write_atomic(snap, FIXED, backup=backup, allowed_roots=[tmp_path])
    monkeypatch.undo()
    assert path.read_bytes() == ORIGINAL
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.json"]  # no temp, no backup


def test_an_interrupt_mid_write_cleans_up_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make(tmp_path)
    snap = read_for_fix(path)

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writing.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(snap, FIXED, backup=True, allowed_roots=[tmp_path])
    monkeypatch.undo()
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.json"]


def test_write_new_never_replaces(tmp_path: Path) -> None:
    data = make(tmp_path)
    first = write_new(tmp_path / "train.removed.json", b"[1]", [data], mode=0o640)
    assert first == tmp_path / "train.removed.json" and first.read_bytes() == b"[1]"
    assert stat.S_IMODE(first.stat().st_mode) == 0o640
    second = write_new(tmp_path / "train.removed.json", b"[2]", [data])
    assert second == tmp_path / "train.removed.1.json" and second.read_bytes() == b"[2]"
    assert first.read_bytes() == b"[1]"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep")
    (tmp_path / "maskcheck-remap.yaml").symlink_to(victim)
    third = write_new(tmp_path / "maskcheck-remap.yaml", b"0: 1\n", [tmp_path])
    assert third == tmp_path / "maskcheck-remap.1.yaml"
    assert victim.read_bytes() == b"keep" and (tmp_path / "maskcheck-remap.yaml").is_symlink()
    assert leftovers(tmp_path) == []


def test_write_new_stays_inside_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    assert write_new(root / "sub" / "x.json", b"{}", [root]).read_bytes() == b"{}"
    with pytest.raises(WriteRefused, match="outside the paths given"):
        write_new(tmp_path / "x.json", b"{}", [root])
    with pytest.raises(WriteRefused, match="outside the paths given"):
        write_new(root / "sub" / ".." / ".." / "y.json", b"{}", [root])
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()


def test_text_of_a_snapshot(tmp_path: Path) -> None:
    assert read_for_fix(make(tmp_path, data="{\"é\": 1}".encode())).text == '{"é": 1}'
    with pytest.raises(WriteRefused, match="not UTF-8"):
        _ = read_for_fix(make(tmp_path, "bad.json", b'{"\xff": 1}')).text
