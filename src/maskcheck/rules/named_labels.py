"""string-label and unmapped-class for formats that label by name (LabelMe, records, YOLO).

Their readers keep the name as written in the `label` column and map it through a class
map (`--classes FILE`, labels.txt, data.yaml); a name the map lacks stays in
`raw_category_id`. With no map at all, every name is a string label (MC101) and the
message says how to give one; with a map, a missing name is an unmapped class (MC102),
with the known name it equals apart from case or whitespace.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck.model import Batch, Problem
from maskcheck.readers.classmap import suggest
from maskcheck.rules._util import ann_problems

HOW_TO_MAP = ("give one with --classes FILE (one name per line, or a YAML/JSON mapping "
              "name -> id), or put a labels.txt (one name per line) beside the annotation files")


def _names(batch: Batch) -> dict[str, int]:
    cats = batch.info.categories
    out: dict[str, int] = {}
    for r in np.flatnonzero(cats.id_ok).tolist():
        name = cats.name[r]
        if isinstance(name, str):
            out.setdefault(name, int(cats.id[r]))
    return out


def _string_rows(batch: Batch) -> np.ndarray:
    raw = batch.anns.get("raw_category_id")
    if raw is None:
        return np.zeros(len(batch.anns), dtype=bool)
    return np.array([isinstance(v, str) for v in raw], dtype=bool)


def string_labels(batch: Batch) -> Iterator[Problem]:
    """MC101 for a name-labelled format: only when there is no class map at all."""
    if len(batch.info.categories):
        return  # a map exists: a name it lacks is unmapped-class's
    raw = batch.anns.raw_category_id
    yield from ann_problems(
        batch, _string_rows(batch),
        lambda r: f'label "{raw[r]}" is a class name with no mapping to integer ids: no class '
                  f"map was found, so a loader cannot turn it into a label index; {HOW_TO_MAP}",
        category=False)


def unknown_names(batch: Batch) -> Iterator[Problem]:
    """MC102 for a name the class map lacks, with the known name it nearly equals."""
    names = _names(batch)
    raw = batch.anns.get("raw_category_id")
    if not names or raw is None:
        return
    source = batch.info.class_source or "the class map"

    def message(r: int) -> str:
        label = raw[r]
        near = suggest(label, names)
        head = f'label "{label}" is not in {source} ({len(names)} classes)'
        if near is not None:
            return (f'{head}; did you mean "{near}" (id {names[near]})? It differs only in case '
                    "or whitespace; converters drop such an instance silently (labelme2coco "
                    "does) or a loader raises KeyError")
        return (f"{head}: converters drop the instance silently (labelme2coco does) or a "
                f"loader raises KeyError. Add the class to {source} or fix the label")

    yield from ann_problems(batch, _string_rows(batch), message, category=False)


def unmapped_id_message(batch: Batch, cid: int, known: np.ndarray) -> str | None:
    """MC102's message for an integer id when the ids come from a class map (YOLO names)."""
    source = batch.info.class_source
    if source is None:
        return None
    if not len(known):
        return f"class {cid} is used but {source} defines no classes"
    lo, hi = int(known.min()), int(known.max())
    span = f"{lo}..{hi}" if len(known) == hi - lo + 1 else ", ".join(map(str, known[:12].tolist()))
    return (f"class {cid} is not defined in {source} (classes {span}): training code indexes "
            "its class outputs by it and crashes, or the instance is dropped")
