"""Finding annotation files under the paths a user gives, and reading them.

Each format is a module with `NAME`, `detect(path) -> bool` (cheap: names and the first
bytes, never a full parse) and `read(path, options) -> Iterator[Dataset | InputError]`.
`read_all` asks each format in FORMAT_ORDER whether it claims a path, unless the user
forces one. Datasets are produced one at a time so a folder of large splits never sits
in memory at once; an unreadable file becomes an InputError and the rest are still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from maskcheck.model import Dataset, InputError
from maskcheck.readers import coco

# Most specific first: a folder layout (VOC, YOLO) is checked before loose JSON files.
_MODULES: list[ModuleType] = [coco]
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in _MODULES}


def register_format(module: ModuleType, before: str | None = None) -> None:
    """Add a reader module; `before` puts it ahead of another in the detection order."""
    if module.NAME in FORMATS:
        return
    if before is not None and before in FORMATS:
        _MODULES.insert(_MODULES.index(FORMATS[before]), module)
    else:
        _MODULES.append(module)
    FORMATS[module.NAME] = module


def detect(path: Path) -> ModuleType | None:
    for module in _MODULES:
        if module.detect(path):
            return module
    return None


def read_all(paths: list[Path], fmt: str | None = None,
             options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    """Yield a Dataset per annotation source found, or an InputError for each that fails."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; known: {', '.join(FORMATS)}")
    for path in paths:
        where = str(path)
        if not path.exists():
            yield InputError(where, "no such file or folder")
            continue
        module = FORMATS[fmt] if fmt else detect(path)
        if module is None:
            yield InputError(where, _unknown(path))
            continue
        try:
            yield from module.read(path, options or {})
        except RecursionError:  # a hostile nesting depth that a reader's decoder met first
            yield InputError(where, "nested too deeply to be annotations (hostile input?)")


def _unknown(path: Path) -> str:
    known = ", ".join(FORMATS)
    if path.is_dir():
        return f"no supported annotations in this folder (looked for: {known})"
    return f"not a supported annotation file (looked for: {known})"


# Registered after the definitions above because these modules import this package.
# Folder and XML layouts come before loose JSON: a VOC or CVAT folder may hold JSON too.
from maskcheck.readers import cvat, voc  # noqa: E402

register_format(voc, before="coco")
register_format(cvat, before="coco")

# YOLO is a folder layout too; LabelMe and JSON records are loose JSON that COCO's sniff
# must not be asked about first (an SA-1B record holds an "annotations" key).
from maskcheck.readers import labelme, records, yolo  # noqa: E402

register_format(yolo, before="coco")
register_format(labelme, before="coco")
register_format(records, before="coco")
