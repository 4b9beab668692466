"""The readers' one toolkit for touching the file system: walk, open, read image headers.

Datasets come from strangers, so every reader goes through here:

- only regular files are opened (checked with `stat` first: a FIFO blocks a read forever,
  `/dev/zero` never ends), and a symlink is followed only when its target stays inside the
  folder the user named;
- a folder walk never leaves its root, detects symlink loops, and says what it did not
  enter (hidden folders, links out, special files) instead of skipping them silently;
- image headers are read without decoding pixels, so a 50000² "decompression bomb" costs
  nothing: its size is reported and judged by the rules, never allocated.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from maskcheck.errors import InputProblem


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something a walk or a reader did not read, and why (one line in the report).

    `kind` says what it was, for code that must tell: "special" (a FIFO, device or socket),
    "hidden", "link" (out of the root, a loop, or a folder read already), "unreadable".
    """

    path: str
    reason: str
    kind: str = "unreadable"


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Why a path must not be opened; `kind` is "missing", "folder", "special" or "error"."""

    kind: str
    message: str


def _stat(path: Path) -> os.stat_result | FileProblem:
    """The path's stat (following links), or why there is none. Never raises."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return FileProblem("missing", "no such file")
    except PermissionError:
        return FileProblem("error", "permission denied")
    except (OSError, RuntimeError) as exc:  # ELOOP, ENAMETOOLONG, ...
        return FileProblem("error", f"cannot be opened: {getattr(exc, 'strerror', None) or exc}")


def file_problem(path: Path) -> FileProblem | None:
    """Why `path` must not be opened (None: it is a regular file, or a link to one)."""
    st = _stat(path)
    if isinstance(st, FileProblem):
        return st
    if stat.S_ISREG(st.st_mode):
        return None
    kind = "folder" if stat.S_ISDIR(st.st_mode) else "special"
    return FileProblem(kind, f"{file_kind(st.st_mode)}, not a regular file; it was not opened")


def regular_file_problem(path: Path) -> str | None:
    """file_problem's message alone: for a one-line reason."""
    problem = file_problem(path)
    return None if problem is None else problem.message


def regular_size(path: Path) -> int | None:
    """The size in bytes of a regular file (one stat); None for anything else."""
    st = _stat(path)
    return st.st_size if not isinstance(st, FileProblem) and stat.S_ISREG(st.st_mode) else None


def content_digest(path: Path) -> bytes | None:
    """A 128-bit hash of a regular file's bytes, streamed in chunks; None if it can't be read."""
    if regular_size(path) is None:
        return None
    h = hashlib.blake2b(digest_size=16)
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.digest()


def is_regular_file(path: Path) -> bool:
    return regular_file_problem(path) is None


def require_regular_file(path: Path, where: str | None = None) -> None:
    problem = regular_file_problem(path)
    if problem is not None:
        raise InputProblem(where or str(path), problem)


def read_bytes(path: Path, where: str | None = None, limit: int | None = None) -> bytes:
    """A regular file's bytes; refuses special files and files over `limit` bytes."""
    where = where or str(path)
    require_regular_file(path, where)
    try:
        with path.open("rb") as fh:
            if limit is None:
                return fh.read()
            data = fh.read(limit + 1)
    except PermissionError:
        raise InputProblem(where, "permission denied (cannot read the file)") from None
    except OSError as exc:
        raise InputProblem(where, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputProblem(where, f"larger than {limit:,} bytes; refusing to read it")
    return data


def read_head(path: Path, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of a regular file; b"" for anything that must not be opened."""
    if not is_regular_file(path):
        return b""
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def escapes(name: str) -> bool:
    """An absolute path, a drive, or `..` climbing above the images folder."""
    if not name or (".." not in name and ":" not in name and name[0] not in "/\\"):
        return False  # the common case, decided without parsing the path
    win = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or win.drive or PurePosixPath(name).is_absolute():
        return True
    depth = 0
    for part in name.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink resolved, stays inside `root` (also resolved)."""
    try:
        real, base = os.path.realpath(path), os.path.realpath(root)
    except (OSError, ValueError):
        return False
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


# ------------------------------------------------------------------------------- walking
@dataclass
class Walk:
    """A folder's regular files and sub-folders (sorted), and what was not entered."""

    root: Path
    files: list[Path] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


MAX_WALK_ENTRIES = 2_000_000  # a folder tree bigger than SA-1B's 11M files is split by the user


def walk(root: Path, *, hidden: bool = False) -> Walk:
    """Every regular file under `root`, never leaving it (files and folders sorted).

    A symlink is followed only when its target is inside `root` and not already visited
    (loops are detected by device and inode). Hidden entries (a leading dot) are not
    entered unless `hidden`; they, links out of the root, loops and special files are
    listed in `skipped` with the reason.
    """
    out = Walk(root)
    out.files = sorted(_walk(root, out, hidden))
    out.dirs.sort()
    return out


def files_under(root: Path, suffixes: tuple[str, ...] | None = None) -> Iterator[Path]:
    """Regular files under `root` whose lower-cased name ends with one of `suffixes`, as the
    walk meets them (not sorted): `any(...)` over it stops at the first."""
    for p in _walk(root, Walk(root), hidden=False):
        if suffixes is None or p.name.lower().endswith(suffixes):
            yield p


def _walk(root: Path, out: Walk, hidden: bool) -> Iterator[Path]:
    """The walk itself: yields regular files, and records folders and skips in `out`."""
    def skip(path: Path | str, reason: str, kind: str) -> None:
        out.skipped.append(Skipped(str(path), reason, kind))

    base = Path(os.path.realpath(root))
    st = _stat(root)
    if isinstance(st, FileProblem):
        skip(root, f"cannot be read: {st.message}", "unreadable")
        return
    seen = {(st.st_dev, st.st_ino)}
    stack = [root]
    count = 0
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skip(folder, f"cannot list the folder: {exc.strerror or exc}", "unreadable")
            continue
        subdirs: list[Path] = []
        for entry in entries:
            count += 1
            if count > MAX_WALK_ENTRIES:
                skip(root, f"more than {MAX_WALK_ENTRIES:,} entries; the rest was not searched",
                     "unreadable")
                return
            path = Path(entry.path)
            if entry.name.startswith(".") and not hidden:
                skip(path, "hidden, not searched", "hidden")
                continue
            try:
                if entry.is_symlink() and not inside(path, base):
                    skip(path, "a symbolic link out of the folder being linted; not followed", "link")
                    continue
                st = entry.stat()  # follows an inside link
            except (OSError, RuntimeError) as exc:
                if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
                    skip(path, "a symbolic link loop", "link")
                else:
                    skip(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}", "unreadable")
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    skip(path, "a link to a folder read already (or a loop); not read twice", "link")
                    continue
                seen.add(key)
                out.dirs.append(path)
                subdirs.append(path)
            elif stat.S_ISREG(st.st_mode):
                yield path
            else:
                skip(path, f"{file_kind(st.st_mode)}, not a regular file; it was not opened", "special")
        stack.extend(reversed(subdirs))


# ------------------------------------------------------------------------------- images
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng",
                            ".mpo", ".pfm", ".heic", ".gif"})


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What an image file's header says: size, format and EXIF orientation (1: upright)."""

    width: int
    height: int
    format: str | None
    orientation: int = 1


class ImageUnreadable(Exception):
    """An image file whose header could not be read; `str()` says why, for a message."""


def read_image_header(path: Path, *, orientation: bool = False) -> ImageHeader:
    """The header of a regular image file, never its pixels.

    Pillow's decompression-bomb check fires on open and would refuse a large photo whose
    header is all we read, so it is lifted for the open; the size is the rules' to judge
    (image-too-large), and nothing of that size is ever allocated here.
    """
    from PIL import Image, UnidentifiedImageError

    problem = regular_file_problem(path)
    if problem is not None:
        raise ImageUnreadable(problem)
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                w, h = im.size
                fmt = im.format
                turn = int(im.getexif().get(0x0112) or 1) if orientation else 1
    except UnidentifiedImageError:
        raise ImageUnreadable("it is not an image Pillow can identify (empty, corrupt or "
                              "another format)") from None
    except (OSError, SyntaxError, ValueError, TypeError, Image.DecompressionBombError) as exc:
        raise ImageUnreadable(f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if w <= 0 or h <= 0:
        raise ImageUnreadable(f"its header declares a size of {w}x{h}")
    return ImageHeader(int(w), int(h), fmt, turn)


def image_size(path: Path) -> tuple[float, float] | None:
    """(width, height) from the header; None when the file is missing or unreadable."""
    try:
        header = read_image_header(path)
    except ImageUnreadable:
        return None
    return float(header.width), float(header.height)
