"""Safe in-place writes for `maskcheck fix`: atomic, hash-checked, inside the given paths.

A fix rewrites the user's only copy of an export, so every write goes to a temporary file in the
same folder, is fsynced, and replaces the original with one `os.replace`: a crash at any point
leaves either the old file or the new one, never half of either. The original's hash is checked
again just before the rename, so an edit made meanwhile (an editor, another run) is not clobbered.

Where writing is allowed: a root the user gave that is a folder allows every file below it; a root
that is a file allows that file and new files beside it (its backup, `FILE.removed.json`,
`maskcheck-remap.yaml`). Symlinks are resolved before that check, so a link inside a root that
points outside it is refused.

A file with several hard links gets a new inode: its other names keep the old content (nothing is
lost, but they are not updated).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from maskcheck.errors import InputProblem

__all__ = ["Snapshot", "WriteRefused", "read_for_fix", "write_atomic", "write_new"]

# Try FILE.orig, then FILE.orig.1 ... : an earlier backup is the older original, never replaced.
MAX_NUMBERED = 1000


class WriteRefused(InputProblem):
    """A file `fix` will not read or write; `str()` is one line, path first (the CLI exits 2)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.reason = reason


@dataclass(frozen=True)
class Snapshot:
    """A file as read for fixing: `path` is the resolved target (a symlink followed)."""

    path: Path
    given: Path  # the path as the user named it, for messages
    data: bytes
    sha256: str
    mode: int  # permission bits (st_mode & 0o7777)
    uid: int
    gid: int

    @property
    def text(self) -> str:
        """The content as UTF-8 text (JSON files are UTF-8: RFC 8259)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WriteRefused(str(self.given), f"is not UTF-8 text (byte {exc.start})") from None


def _open_flags() -> int:
    # O_NOFOLLOW: the path is resolved already, a link appearing there now is a swap;
    # O_NONBLOCK: opening a FIFO put in its place must not hang
    return os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_regular(path: Path, where: str) -> tuple[bytes, os.stat_result]:
    try:
        fd = os.open(path, _open_flags())
    except FileNotFoundError:
        raise WriteRefused(where, "no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteRefused(where, "became a symlink after it was resolved; not writing") from None
        raise WriteRefused(where, f"cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise WriteRefused(where, "is not a regular file; fix only writes regular files")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except OSError as exc:
        raise WriteRefused(where, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return data, st


def _resolve(path: Path, where: str) -> Path:
    try:
        return path.resolve(strict=True)
    except FileNotFoundError:
        raise WriteRefused(where, "no such file") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise WriteRefused(where, f"cannot resolve the path: {exc}") from None


def read_for_fix(path: Path) -> Snapshot:
    """Read a regular file (following a symlink to its target) with the hash `write_atomic` checks."""
    where = str(path)
    real = _resolve(Path(path), where)
    data, st = _read_regular(real, where)
    return Snapshot(path=real, given=Path(path), data=data, sha256=hashlib.sha256(data).hexdigest(),
                    mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)


def _roots(allowed_roots: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Resolved roots with whether each is a folder; a root that does not exist allows nothing."""
    out = []
    for root in allowed_roots:
        with contextlib.suppress(OSError, RuntimeError):
            real = Path(root).resolve(strict=True)
            out.append((real, real.is_dir()))
    return out


def _may_replace(real: Path, roots: list[tuple[Path, bool]]) -> bool:
    return any(real == root or (is_dir and real.is_relative_to(root)) for root, is_dir in roots)


def _may_create_in(folder: Path, roots: list[tuple[Path, bool]]) -> bool:
    return any(folder.is_relative_to(root) if is_dir else folder == root.parent for root, is_dir in roots)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable. Best effort: some filesystems refuse fsync on a folder, and by now
    the new file is in place, so failing the command here would report a write that happened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _temp_copy(folder: Path, name: str, data: bytes, mode: int, owner: tuple[int, int] | None
               ) -> Iterator[Path]:
    """A fsynced temporary file `.{name}.XXXX.tmp` in `folder`, removed on leaving unless renamed."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if owner is not None and (os.fstat(fd).st_uid, os.fstat(fd).st_gid) != owner:
                # root (or a group member) can keep the owner; others cannot, and that is no error
                with contextlib.suppress(OSError):
                    os.fchown(fd, *owner)
            os.fchmod(fd, mode)  # after fchown, which may clear set-id bits
            os.fsync(fd)
        finally:
            os.close(fd)
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _numbered(name: str, n: int, *, before_suffix: bool) -> str:
    if n == 0:
        return name
    if before_suffix and "." in name.lstrip("."):
        stem, dot, suffix = name.rpartition(".")
        return f"{stem}.{n}{dot}{suffix}"
    return f"{name}.{n}"


def _publish(tmp: Path, folder: Path, name: str, *, before_suffix: bool) -> Path:
    """Give `tmp` the first free name of `name`, `name.1`, ... without ever replacing anything.

    `os.link` fails when the name exists, even as a dangling symlink, so checking and creating is
    one atomic step. Where hard links are unsupported, an `lstat` check then rename is used.
    """
    for n in range(MAX_NUMBERED):
        final = folder / _numbered(name, n, before_suffix=before_suffix)
        try:
            os.link(tmp, final, follow_symlinks=False)
            return final
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
        if os.path.lexists(final):
            continue
        os.replace(tmp, final)
        return final
    raise WriteRefused(str(folder / name), f"{MAX_NUMBERED} numbered copies exist already; not writing")


def write_atomic(snap: Snapshot, new_bytes: bytes, *, backup: bool, allowed_roots: Sequence[Path]
                 ) -> Path | None:
    """Replace the snapshot's file with `new_bytes`; the backup's path, or None without one.

    The backup is `FILE.orig`, or `FILE.orig.1`, `.2`, ... when that exists: an older backup holds
    an earlier original and is never overwritten. It is made before the rename, so no moment exists
    at which neither the original nor its backup is on disk. Refuses (WriteRefused) a target outside
    the roots, one that is not a regular file, and one that changed since `read_for_fix`; on any
    failure the original is untouched and no temporary file (nor new backup) is left.
    """
    where = str(snap.given)
    roots = _roots(allowed_roots)
    real = _resolve(snap.path, where)
    if not _may_replace(real, roots):
        raise WriteRefused(where, f"resolves to {real}, outside the paths given; not writing")
    if real != snap.path:
        raise WriteRefused(where, "now resolves to another file than the one read; not writing")
    current, _st = _read_regular(real, where)
    if hashlib.sha256(current).hexdigest() != snap.sha256:
        raise WriteRefused(where, "changed since it was read; not writing (run fix again)")
    folder = real.parent
    made: Path | None = None
    try:
        if backup:
            with _temp_copy(folder, real.name, snap.data, snap.mode, (snap.uid, snap.gid)) as tmp:
                made = _publish(tmp, folder, real.name + ".orig", before_suffix=False)
        with _temp_copy(folder, real.name, new_bytes, snap.mode, (snap.uid, snap.gid)) as tmp:
            os.replace(tmp, real)
    except BaseException as exc:
        if made is not None:
            with contextlib.suppress(OSError):
                made.unlink()
        if isinstance(exc, OSError):
            raise WriteRefused(where, f"cannot write: {exc.strerror or exc}; the file is unchanged") from None
        raise
    _fsync_folder(folder)
    return made


def write_new(path: Path, data: bytes, allowed_roots: Sequence[Path], *, mode: int = 0o644) -> Path:
    """Write a new sidecar file (e.g. `FILE.removed.json`, `maskcheck-remap.yaml`) atomically.

    Never replaces anything, a symlink least of all: when `path` exists, the first free
    `stem.1.suffix`, `stem.2.suffix`, ... is used (an older sidecar holds records of an earlier
    run). Returns the path written. The folder must lie inside the roots (see the module doc).
    Pass the data file's `Snapshot.mode` as `mode` so that its deleted records are no more readable
    than the file they came from.
    """
    where = str(path)
    path = Path(path)
    try:
        folder = path.parent.resolve(strict=True)
    except (OSError, RuntimeError):
        raise WriteRefused(where, "its folder does not exist") from None
    if not _may_create_in(folder, _roots(allowed_roots)):
        raise WriteRefused(where, f"is in {folder}, outside the paths given; not writing")
    try:
        with _temp_copy(folder, path.name, data, mode, None) as tmp:
            final = _publish(tmp, folder, path.name, before_suffix=True)
    except OSError as exc:
        raise WriteRefused(where, f"cannot write: {exc.strerror or exc}") from None
    _fsync_folder(folder)
    return final
