"""Finding annotation files under the paths a user gives, and reading them.

Datasets are produced one at a time so a folder of large splits never sits in memory at
once; an unreadable file becomes an InputError and the rest are still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from maskcheck.errors import InputProblem, NotThisFormat
from maskcheck.model import Dataset, InputError
from maskcheck.readers import coco

FORMATS = ("coco",)
_JSON_SUFFIXES = (".json", ".json.gz")


def _json_files(folder: Path) -> list[Path]:
    found = []
    for p in folder.rglob("*"):
        rel = p.relative_to(folder).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.name.lower().endswith(_JSON_SUFFIXES) and p.is_file():
            found.append(p)
    return sorted(found)


def read_all(paths: list[Path], fmt: str | None = None) -> Iterator[Dataset | InputError]:
    """Yield a Dataset per annotation file found, or an InputError for each that fails."""
    if fmt not in (None, *FORMATS):
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    for path in paths:
        where = str(path)
        if not path.exists():
            yield InputError(where, "no such file or folder")
            continue
        if not path.is_dir():
            try:
                yield coco.read(path, where)
            except InputProblem as exc:
                yield InputError(exc.path, exc.message)
            continue
        try:
            files = _json_files(path)
        except OSError as exc:
            yield InputError(where, f"cannot list the folder: {exc.strerror or exc}")
            continue
        read_any = False
        for file in files:
            try:
                yield coco.read(file, str(file))
                read_any = True
            except NotThisFormat:
                continue  # some other JSON (a config, a LabelMe file): not ours to judge here
            except InputProblem as exc:
                read_any = True
                yield InputError(exc.path, exc.message)
        if not read_any:
            yield InputError(where, "no COCO annotation files (*.json, *.json.gz) in this folder")
