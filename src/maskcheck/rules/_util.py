"""Small helpers shared by rule modules: turning row selections into problems."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from maskcheck.columns import MISSING
from maskcheck.ids import dict_key_ids
from maskcheck.model import At, Batch, DatasetInfo, Problem

BACKGROUND_NAMES = frozenset(
    {"background", "__background__", "_background_", "bg", "__bg__", "backgrounds", "back_ground"}
)


def is_background_name(name: Any) -> bool:
    return isinstance(name, str) and name.strip().casefold() in BACKGROUND_NAMES


def ann_problems(batch: Batch, rows: np.ndarray, message: Callable[[int], str],
                 category: bool = True) -> Iterator[Problem]:
    """A problem at each annotation row `rows` selects (a mask or indices), in `check`."""
    for row in np.flatnonzero(rows) if rows.dtype == bool else rows:
        r = int(row)
        yield Problem(message(r), At.ann(r, category=category))


def column_problems(batch: Batch, column: str, suffix: str = "") -> Iterator[Problem]:
    """A finding at each annotation whose reader left a reason in `column` (None: fine)."""
    anns = batch.anns
    if column not in anns or not len(anns):
        return
    reasons = anns[column]
    bad = np.array([v is not None for v in reasons], dtype=bool)
    yield from ann_problems(batch, bad, lambda r: f"{reasons[r]}{suffix}")


def image_problems(batch: Batch, rows: np.ndarray, message: Callable[[int], str]) -> Iterator[Problem]:
    """A problem at each image row `rows` selects (a mask or indices), in `check`."""
    for row in np.flatnonzero(rows) if rows.dtype == bool else rows:
        r = int(row)
        yield Problem(message(r), At.image(r))


def category_problem(info: DatasetInfo, row: int, message: str) -> Problem:
    return Problem(message, At.category_row(row))


def fmt_value(value: Any) -> str:
    """A JSON-ish rendering for messages: strings quoted, long values cut."""
    if value is MISSING:
        return "nothing (the key is missing)"
    if isinstance(value, str):
        text = '"' + value + '"'
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def counts_by_id(ids: np.ndarray) -> dict[int, int]:
    if not len(ids):
        return {}
    values, counts = np.unique(ids, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def merge_counts(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def category_rows(info: DatasetInfo) -> dict[int, int]:
    """Category id -> its first row in the category table (ids that are integers only)."""
    cats = info.categories
    out: dict[int, int] = {}
    for r in np.flatnonzero(cats.id_ok).tolist():
        out.setdefault(int(cats.id[r]), r)
    return out


def unusable_points(table: Any) -> np.ndarray:
    """LabelMe shapes whose 'points' are malformed or empty (readers/labelme.py `points_ok`,
    `n_points`): labelme-point-count (MC411) reports them, or labelme-shape-not-mask (MC410)
    when the shape_type is not a LabelMe one, so other rules leave them out."""
    if "points_ok" not in table:
        return np.zeros(len(table), dtype=bool)
    return ~table.points_ok | (table.n_points == 0)


def matching_category_ids(info: DatasetInfo) -> np.ndarray:
    """The integer ids a category_id can match, sorted: integer ids and integral floats.

    pycocotools indexes categories in a dict, where 1.0 and 1 are one key: a category whose
    id is written 1.0 (invalid-id-type's, MC002) still takes the annotations with id 1.
    A string "1" is another key and matches nothing."""
    cats = info.categories
    if not len(cats):
        return np.zeros(0, dtype=np.int64)
    ids, ok = dict_key_ids(cats, "id")
    return np.unique(ids[ok])


def misspelled_fields(table: Any, row: int) -> frozenset[str]:
    """The keys row `row` has only misspelled: misspelled-key (MC010) reports those, so other
    rules leave them out rather than report one typo twice."""
    column = table.get("misspelled")
    pairs = column[row] if column is not None else None
    return frozenset(meant for _, meant in pairs) if pairs else frozenset()


def misspelled_any(table: Any, fields: tuple[str, ...]) -> np.ndarray:
    """Rows with any of `fields` misspelled (see misspelled_fields)."""
    column = table.get("misspelled")
    if column is None:
        return np.zeros(len(table), dtype=bool)
    want = set(fields)
    return np.array([bool(v) and any(m in want for _, m in v) for v in column], dtype=bool)

