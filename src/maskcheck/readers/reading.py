"""Finding annotation datasets under the paths a user gives, and reading them.

The formats are the built-in list (readers/formats.py) followed by the readers of the
`maskcheck.readers` plugins loaded in this process. A file named directly is classified by
its structure (readers/discover.py), and offered to the plugin readers when no built-in
format claims it; a folder is searched for every dataset inside it, each read with its own
format, and what holds no supported annotations is reported as skipped.

`read_all` is the one place where a reader's exception becomes an InputError: one line that
names the file, and the other inputs are still read. Datasets are produced one at a time so
a folder of large splits never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from maskcheck import plugins
from maskcheck.errors import InputProblem
from maskcheck.files import Skipped
from maskcheck.model import Dataset, InputError
from maskcheck.readers import discover, labelme, records
from maskcheck.readers.formats import CLAIM_ALIASES, FOLDER_ROOTS, FORMATS

# The order `detect` prefers when a folder holds several datasets: layouts, then COCO.
_RANK = ["voc", "yolo", "cvat", "coco", "labelme", "records"]


def plugin_readers() -> list[Any]:
    """The readers plugins brought, in load order; one taking a built-in's name is an error."""
    out = []
    for key, reader in plugins.loaded_readers():
        if reader.NAME in FORMATS or reader.NAME in CLAIM_ALIASES:
            raise plugins.builtin_clash(key, "reader", reader.NAME)
        out.append(reader)
    return out


def input_formats() -> dict[str, Any]:
    """Every format `--input-format` and a config's `format` may name: built-ins, then plugins."""
    return {**FORMATS, **{r.NAME: r for r in plugin_readers()}}


def _reader_of(fmt: str, known: dict[str, Any]) -> Any:
    return CLAIM_ALIASES.get(fmt) or known[fmt]


def _added(known: dict[str, Any]) -> list[Any]:
    """The readers discovery finds through their detect(): those whose structure it does not
    know (plugins, and a built-in added to the format list alone), offered what is left."""
    return [r for name, r in known.items() if name not in discover.CLASSIFIED]


def _bug(fmt: str | None) -> str:
    if fmt is None or fmt in FORMATS or fmt in CLAIM_ALIASES:
        return "a maskcheck bug: please report it"
    return f"a bug in the {fmt!r} reader plugin: please report it to its authors"


def detect(path: Path) -> Any:
    """The reader of a file, or of the first dataset in a folder; None when there is none."""
    known = input_formats()
    extra = _added(known)
    try:
        if path.is_dir():
            claims = discover.discover(path, FOLDER_ROOTS, plugins=extra).claims
            claims.sort(key=lambda c: _rank(_reader_of(c.format, known).NAME))
            return _reader_of(claims[0].format, known) if claims else None
        fmt, _ = discover.classify_file(path, named=True)
        if fmt is None:
            fmt = discover.plugin_claim(path, extra)
    except (InputProblem, OSError):
        return None
    return _reader_of(fmt, known) if fmt else None


def _rank(name: str) -> int:
    return _RANK.index(name) if name in _RANK else len(_RANK)  # plugin formats come last


def read_all(paths: list[Path], fmt: str | None = None,
             options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError | Skipped]:
    """A Dataset per annotation source found, an InputError for each that cannot be read, and
    a Skipped for each file or folder that holds no supported annotations."""
    known = input_formats()
    if fmt is not None and fmt not in known:
        raise ValueError(f"unknown input format {fmt!r}; known: {', '.join(known)}")
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
            yield from _guarded(where, lambda p=path: known[fmt].read(p, options), _bug(fmt))
            continue
        yield from _guarded(where, lambda p=path: _read_path(p, options, known))


def _read_path(path: Path, options: dict[str, Any],
               known: dict[str, Any]) -> Iterator[Dataset | InputError | Skipped]:
    extra = _added(known)
    if not path.is_dir():  # classify_file refuses what is not a regular file, with the reason
        kind, reason = discover.classify_file(path, options.get("fields"), named=True)
        if kind is None:
            kind = discover.plugin_claim(path, extra)
        if kind is None:
            yield InputError(str(path), f"not a supported annotation file: {reason}")
            return
        claim = discover.Claim(kind, path)
        yield from _guarded(str(path), lambda: _read_claim(claim, options, known), _bug(kind))
        return
    found = discover.discover(path, FOLDER_ROOTS, options.get("fields"), plugins=extra)
    yield from found.skipped
    for exc in found.errors:
        yield InputError(exc.path, exc.message)
    if not found.claims and not found.errors:
        yield InputError(str(path), "no supported annotations in this folder (looked for: "
                                    f"{', '.join(known)})")
    for claim in found.claims:
        yield from _guarded(str(claim.path), lambda c=claim: _read_claim(c, options, known),
                            _bug(claim.format))


def _read_claim(claim: discover.Claim, options: dict[str, Any],
                known: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    """The datasets (or InputErrors) of one claim, read by its format's reader."""
    if claim.format == "labelme" and claim.files is not None:
        yield from labelme.read_files(claim.files, options)
    elif claim.format == "records-object":
        paths = claim.files or [claim.path]
        if len(paths) == 1:
            yield from records.read(paths[0], options)
        else:
            yield from records.read_objects(claim.path, paths, options)
    else:
        yield from (known or input_formats())[claim.format].read(claim.path, options)


def _guarded(where: str, make: Callable[[], Iterator[Any]],
             bug: str = "a maskcheck bug: please report it") -> Iterator[Any]:
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
        yield InputError(where, f"could not be read: {type(exc).__name__}: {exc} ({bug})")
