"""The format list: every built-in reader, in the order a folder is searched.

A reader is a module (or any object) with `NAME` (the format's name, as `--input-format`
takes it), `LABEL` (what `--help` says it reads), `read(path, options) -> Iterator[Dataset |
InputError]` and `detect(path) -> bool`; a folder layout also has `_is_root(folder)`. Adding a
format is its module and its entry in FORMAT_ORDER. Folder search knows the structure of the formats in
discover.CLASSIFIED; any other reader (a new one, or a plugin's) is asked through its detect().
Readers from the `maskcheck.readers` entry-point group come after these ones
(see readers/reading.py); this module knows nothing of plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from maskcheck.readers import coco, cvat, labelme, records, sa1b, voc, yolo

# Folder layouts first: a VOC or YOLO tree may hold JSON and XML of its own.
FORMAT_ORDER: tuple[ModuleType, ...] = (voc, cvat, yolo, labelme, sa1b, records, coco)
# What `maskcheck lint --help` says each format reads (a reader's LABEL, else its name).
LABELS: dict[str, str] = {m.NAME: getattr(m, "LABEL", m.NAME) for m in FORMAT_ORDER}
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in FORMAT_ORDER}
FOLDER_ROOTS: dict[str, Callable[[Path], bool]] = {
    m.NAME: m._is_root for m in FORMAT_ORDER if hasattr(m, "_is_root")}
# Names a claim may carry besides the formats': SA-1B-style one-object-per-image files.
CLAIM_ALIASES: dict[str, ModuleType] = {"records-object": records}
