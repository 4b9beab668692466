"""Turning lists of decoded values into typed columns without losing the bad ones.

The fast path (every value of the expected type) is one numpy call. Otherwise the column
still gets built, with an `ok` mask and an object column `raw_<name>` holding the values
that did not fit, so rules can name them ("category_id \"3\" is a string").
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

# A field that was absent from its record (distinct from JSON null). msgspec's own UNSET,
# so decoded structs need no conversion pass.
MISSING = msgspec.UNSET
INT64_MAX = np.iinfo(np.int64).max


def is_int(value: Any) -> bool:
    return type(value) is int and -INT64_MAX <= value <= INT64_MAX


def int_column(values: list[Any], name: str) -> dict[str, np.ndarray]:
    """`name`, `name_ok` and, when some value is not an int, `raw_name`."""
    n = len(values)
    if set(map(type, values)) <= {int}:
        try:
            return {name: np.array(values, dtype=np.int64), name + "_ok": np.ones(n, dtype=bool)}
        except OverflowError:
            pass
    col = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    raw = np.full(n, None, dtype=object)
    for i, v in enumerate(values):
        if is_int(v):
            col[i] = v
            ok[i] = True
        else:
            raw[i] = v
    return {name: col, name + "_ok": ok, "raw_" + name: raw}


def float_column(values: list[Any], name: str) -> dict[str, np.ndarray]:
    """Numbers as float64; missing and non-numbers are NaN, the latter kept in `raw_name`."""
    types = set(map(type, values))
    if types <= {int, float}:
        return {name: np.array(values, dtype=np.float64)}
    col = np.full(len(values), np.nan)
    raw = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        if type(v) in (int, float):
            col[i] = v
        elif v is not MISSING and v is not None:
            raw[i] = v
    return {name: col, "raw_" + name: raw}


def box_column(values: list[Any], name: str = "bbox") -> dict[str, np.ndarray]:
    """Boxes as (n, 4) float64; missing rows NaN, malformed ones NaN plus `raw_bbox`."""
    n = len(values)
    try:
        arr = np.array(values, dtype=np.float64)
        if arr.shape == (n, 4) and all(type(b) is list for b in values):
            return {name: arr, "has_" + name: np.ones(n, dtype=bool)}
    except (ValueError, TypeError):
        pass
    arr = np.full((n, 4), np.nan)
    has = np.zeros(n, dtype=bool)
    raw = np.full(n, None, dtype=object)
    for i, b in enumerate(values):
        if b is MISSING or b is None:
            continue
        has[i] = True
        if type(b) is list and len(b) == 4 and all(type(x) in (int, float) for x in b):
            arr[i] = b
        else:
            raw[i] = b
    return {name: arr, "has_" + name: has, "raw_" + name: raw}


def object_column(values: list[Any]) -> np.ndarray:
    # fromiter, not `out[:] = values`: numpy would probe every element (msgspec.Raw exposes
    # the buffer protocol) as a possible nested sequence, 100x slower.
    return np.fromiter(values, dtype=object, count=len(values))
