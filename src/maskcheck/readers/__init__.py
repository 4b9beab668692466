"""Finding annotation datasets under the paths a user gives, and reading them.

Each format is a module with `NAME`, `detect(path) -> bool` and
`read(path, options) -> Iterator[Dataset | InputError]`; folder layouts also have
`_is_root(folder)`. FORMAT_ORDER below is the one list of formats: adding one means a module
and an entry here. A file named directly is classified by its structure
(readers/discover.py); a folder is searched for every dataset inside it, each read with its
own format, and what holds no supported annotations is reported as skipped.

`read_all` is the one place where a reader's exception becomes an InputError: one line that
names the file, and the other inputs are still read. Datasets are produced one at a time so
a folder of large splits never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from maskcheck.errors import InputProblem
from maskcheck.model import Dataset, InputError
from maskcheck.readers import coco, cvat, discover, labelme, records, voc, yolo
from maskcheck.readers.files import Skipped

# Folder layouts first: a VOC or YOLO tree may hold JSON and XML of its own.
FORMAT_ORDER: list[ModuleType] = [voc, cvat, yolo, labelme, records, coco]
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in FORMAT_ORDER}
FOLDER_ROOTS: dict[str, Callable[[Path], bool]] = {
    m.NAME: m._is_root for m in FORMAT_ORDER if hasattr(m, "_is_root")}


def _module_of(fmt: str) -> ModuleType:
    return records if fmt == "records-object" else FORMATS[fmt]


def detect(path: Path) -> ModuleType | None:
    """The format of a file, or of the first dataset in a folder; None when there is none."""
    try:
        if path.is_dir():
            claims = discover.discover(path, FOLDER_ROOTS).claims
            rank = ["voc", "yolo", "cvat", "coco", "labelme", "records"]  # layouts, then COCO
            claims.sort(key=lambda c: rank.index(_module_of(c.format).NAME))
            return _module_of(claims[0].format) if claims else None
        fmt, _ = discover.classify_file(path, named=True)
    except (InputProblem, OSError):
        return None
    return _module_of(fmt) if fmt else None


def read_all(paths: list[Path], fmt: str | None = None,
             options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError | Skipped]:
    """A Dataset per annotation source found, an InputError for each that cannot be read, and
    a Skipped for each file or folder that holds no supported annotations."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; known: {', '.join(FORMATS)}")
    options = options or {}
    for path in paths:
        where = str(path)
        try:
            exists = path.exists() or path.is_symlink()
        except OSError:
            exists = True
        if not exists:
            yield InputError(where, "no such file or folder")
            continue
        if fmt is not None:
            yield from _guarded(where, lambda p=path: FORMATS[fmt].read(p, options))
            continue
        yield from _guarded(where, lambda p=path: _read_path(p, options))


def _read_path(path: Path, options: dict[str, Any]) -> Iterator[Dataset | InputError | Skipped]:
    if not path.is_dir():  # classify_file refuses what is not a regular file, with the reason
        kind, reason = discover.classify_file(path, options.get("fields"), named=True)
        if kind is None:
            yield InputError(str(path), f"not a supported annotation file: {reason}")
            return
        yield from _read_claim(discover.Claim(kind, path), options)
        return
    found = discover.discover(path, FOLDER_ROOTS, options.get("fields"))
    yield from found.skipped
    for exc in found.errors:
        yield InputError(exc.path, exc.message)
    if not found.claims and not found.errors:
        yield InputError(str(path), "no supported annotations in this folder (looked for: "
                                    f"{', '.join(FORMATS)})")
    for claim in found.claims:
        yield from _guarded(str(claim.path), lambda c=claim: _read_claim(c, options))


def _read_claim(claim: discover.Claim, options: dict[str, Any]) -> Iterator[Dataset | InputError]:
    """The datasets (or InputErrors) of one claim, read by its format's module."""
    if claim.format == "labelme" and claim.files is not None:
        yield from labelme.read_files(claim.files, options)
    elif claim.format == "records-object":
        paths = claim.files or [claim.path]
        if len(paths) == 1:
            yield from records.read(paths[0], options)
        else:
            yield from records.read_objects(claim.path, paths, options)
    else:
        yield from FORMATS[claim.format].read(claim.path, options)


def _guarded(where: str, make: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """Items of a reader; whatever it raises becomes one InputError naming `where`."""
    try:
        yield from make()
    except InputProblem as exc:
        yield InputError(exc.path, exc.message)
    except RecursionError:  # a hostile nesting depth that a reader's decoder met first
        yield InputError(where, "nested too deeply to be annotations (hostile input?)")
    except MemoryError:
        yield InputError(where, "out of memory while reading it; it is too large for this machine")
    except OSError as exc:
        yield InputError(getattr(exc, "filename", None) or where,
                         f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a reader bug must still name the file, never a traceback
        yield InputError(where, f"could not be read: {type(exc).__name__}: {exc} "
                                "(a maskcheck bug: please report it)")
