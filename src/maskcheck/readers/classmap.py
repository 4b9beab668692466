"""Class maps: how formats that label by name (LabelMe, records, YOLO names) reach integer ids.

Sources, in the order a reader asks for them: `--classes FILE` (one name per line, or a
YAML/JSON mapping name -> id, or id -> name, or a list), then a file the format itself
ships (LabelMe's `labels.txt`, YOLO's `data.yaml`/`classes.txt`). LabelMe's convention is
honoured: a first line `__ignore__` takes id -1 (shapes with that label are skipped by
labelme2coco), so `_background_` on the next line becomes id 0 and real classes start at 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from maskcheck.columns import object_column
from maskcheck.errors import InputProblem
from maskcheck.model import Location, Table

IGNORE_LABEL = "__ignore__"


@dataclass(slots=True)
class ClassMap:
    """name -> id, with where each entry was defined (for file:line locations)."""

    source: str  # a short description for messages: "labels.txt", "--classes classes.yaml"
    path: str
    ids: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # name -> 1-based line (0: unknown)
    ignored: frozenset[str] = frozenset()  # labels that are dropped on purpose (__ignore__)
    # Every (name, id, line) as written, repeats included (duplicate-category-* see them);
    # empty: built from `ids`.
    entries: list[tuple[str, int, int]] = field(default_factory=list)
    # A plain list whose ids are its positions, numbered from the default target's first class
    # id because the user named no target: a format whose trainer is implied (YOLO, ids from
    # 0) renumbers it (`renumbered`).
    by_order: bool = False

    def renumbered(self, first: int) -> ClassMap:
        """The same names in the same order, ids from `first`."""
        out = ClassMap(source=self.source, path=self.path, ignored=self.ignored)
        for k, (name, _, line) in enumerate(self._entries()):
            out.ids.setdefault(name, first + k)
            out.lines.setdefault(name, line)
            out.entries.append((name, first + k, line))
        return out

    def _entries(self) -> list[tuple[str, int, int]]:
        return self.entries or [(k, v, self.lines.get(k, 0)) for k, v in self.ids.items()]

    def categories(self) -> Table:
        """The class list as a categories Table (`index`, `id`, `id_ok`, `name`, ...)."""
        entries = self._entries()
        names = [e[0] for e in entries]
        n = len(names)
        return Table({
            "index": np.arange(n, dtype=np.int64),
            "id": np.array([e[1] for e in entries], dtype=np.int64),
            "id_ok": np.ones(n, dtype=bool),
            "name": object_column(names),
            "is_object": np.ones(n, dtype=bool),
            "has_id": np.ones(n, dtype=bool),
            "has_name": np.ones(n, dtype=bool),
        })

    def locate(self, index: int, **ids: Any) -> Location:
        entries = self._entries()
        line = entries[index][2] if 0 <= index < len(entries) else 0
        return Location(path=self.path, line=line or None, **ids)




def from_names(names: list[str], source: str, path: str, lines: list[int] | None = None,
               labelme: bool = True) -> ClassMap:
    """One name per entry, ids from 0; LabelMe's leading `__ignore__` shifts them to -1."""
    cmap = ClassMap(source=source, path=path)
    shift = 1 if labelme and names and names[0] == IGNORE_LABEL else 0
    for i, name in enumerate(names):
        if name == IGNORE_LABEL and shift:
            cmap.ignored = frozenset({IGNORE_LABEL})
            continue
        line = lines[i] if lines else i + 1
        cmap.ids.setdefault(name, i - shift)
        cmap.lines.setdefault(name, line)
        cmap.entries.append((name, i - shift, line))
    return cmap


def read_text_names(path: Path) -> tuple[list[str], list[int]]:
    """Non-blank lines, stripped of the line break only (inner spaces are part of a name)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputProblem(str(path), "not UTF-8 text") from None
    except OSError as exc:
        raise InputProblem(str(path), f"cannot read: {exc.strerror or exc}") from None
    names, lines = [], []
    for no, line in enumerate(text.splitlines(), 1):
        name = line.strip()
        if name:
            names.append(name)
            lines.append(no)
    return names, lines


def from_mapping(value: Any, source: str, path: str) -> ClassMap:
    """A YAML/JSON value: {name: id}, {id: name}, [names] or {names: ...} as in data.yaml."""
    if isinstance(value, dict) and "names" in value:
        value = value["names"]
    cmap = ClassMap(source=source, path=path)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return from_names(value, source, path, lines=[0] * len(value), labelme=False)
    if isinstance(value, dict) and value:
        if all(isinstance(k, str) and type(v) is int for k, v in value.items()):
            cmap.ids = dict(value)
            return cmap
        try:
            by_id = {int(k): v for k, v in value.items() if isinstance(v, str)}
        except (TypeError, ValueError):
            by_id = {}
        if len(by_id) == len(value):
            for cid in sorted(by_id):
                cmap.ids.setdefault(by_id[cid], cid)
            return cmap
    raise InputProblem(path, "a class map must be a list of names, a mapping name -> integer id, "
                             "or a mapping integer id -> name")


def load(path: Path) -> ClassMap:
    """`--classes FILE`: .yaml/.yml/.json mappings or lists; anything else one name per line."""
    source = f"--classes {path.name}"
    if not path.is_file():
        raise InputProblem(str(path), "no such class map file (--classes)")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        try:
            text = path.read_text(encoding="utf-8-sig")
            value = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            raise InputProblem(str(path), f"cannot read the class map: {str(exc).splitlines()[0]}") from None
        return from_mapping(value, source, str(path))
    names, lines = read_text_names(path)
    if not names:
        raise InputProblem(str(path), "the class map file is empty")
    return from_names(names, source, str(path), lines)
