"""string-label and unmapped-class for formats that label by name (LabelMe, records, YOLO).

Their readers keep the name as written in the `label` column and map it through a class
map (`--classes FILE`, labels.txt, data.yaml); a name the map lacks stays in
`raw_category_id`. With no map at all, the dataset gets one string-label finding (MC101)
that lists the names seen and says how to give a map; with a map, a missing name is an
unmapped class (MC102) at each record, with the known name it most likely means.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck.model import At, Batch, DatasetInfo, Problem
from maskcheck.names import suggest
from maskcheck.rules._util import ann_problems, plural
from maskcheck.rules.class_names import loose_key, near_name

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


def unmapped_names(batch: Batch) -> dict[str, int]:
    """{name: count} of the string labels of a name-labelled format with no class map at all."""
    if "label" not in batch.anns or len(batch.info.categories):
        return {}  # a map exists: a name it lacks is unmapped-class's, per record
    raw = batch.anns.get("raw_category_id")
    rows = _string_rows(batch)
    if raw is None or not rows.any():
        return {}
    names, counts = np.unique(raw[rows].astype(str), return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))


def no_class_map(counts: dict[str, int], info: DatasetInfo) -> Problem:
    """MC101 once per dataset: labels are names and nothing maps them to ids.

    That is one setup problem, not a defect of each shape: a finding per shape would bury
    it (and every other finding) under one line per label.
    """
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f'"{n}" {c}' for n, c in ranked[:20]) + (", ..." if len(ranked) > 20 else "")
    msg = (f"labels are names and no class map was given: ids cannot be checked (add labels.txt "
           f"or --classes). {plural(total, 'instance')} use {plural(len(counts), 'name')} "
           f"({shown}). A loader needs one name -> id map to turn them into label indices, and "
           "without it the background, id-range and num_classes checks cannot run; "
           f"{HOW_TO_MAP}")
    return Problem(msg, At.dataset())


def unknown_names(batch: Batch) -> Iterator[Problem]:
    """MC102 for a name the class map lacks, with the known name it nearly equals."""
    names = _names(batch)
    raw = batch.anns.get("raw_category_id")
    if not names or raw is None:
        return
    source = batch.info.class_source or "the class map"

    def message(r: int) -> str:
        label = raw[r]
        near, how = suggest(label, names), "only in case or whitespace"
        if near is None:  # hard_hat for "hard hat", scrach for scratch
            near = near_name(label, list(names))
            how = ("only in case, spaces, underscores or hyphens" if near is not None and
                   loose_key(near) == loose_key(label) else "by one typo")
        head = f'label "{label}" is not in {source} ({len(names)} classes)'
        if near is not None:
            return (f'{head}; did you mean "{near}" (id {names[near]})? It differs {how}; '
                    "converters drop such an instance silently (labelme2coco does) or a loader "
                    "raises KeyError")
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
