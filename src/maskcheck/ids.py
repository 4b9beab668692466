"""Ids as pycocotools keys them: its index is a dict, where 1.0 and 1 are one key."""

from __future__ import annotations

from typing import Any

import numpy as np

from maskcheck.columns import INT64_MAX
from maskcheck.model import Table


def is_integral_float(value: Any) -> bool:
    """A float a dict lookup takes for an int64 id: 1.0, not 1.5, inf or 1e20."""
    return type(value) is float and value.is_integer() and abs(value) <= INT64_MAX


def dict_key_ids(table: Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(`name`, `name_ok`) with integral floats (1.0) counted as the int they equal.

    The reader keeps a float id in `raw_<name>` for invalid-id-type to report; for linking
    and duplicates it is the int a dict lookup finds. Integer ids alone cost nothing.
    """
    ids, ok = table[name], table[name + "_ok"]
    raw = table.get("raw_" + name)
    if raw is None:
        return ids, ok
    whole = np.array([is_integral_float(v) for v in raw], dtype=bool)
    if not whole.any():
        return ids, ok
    ids, ok = ids.copy(), ok | whole
    ids[whole] = [int(v) for v in raw[whole]]
    return ids, ok
