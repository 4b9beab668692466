"""Ids as pycocotools keys them: its index is a dict, where 1.0 and 1 are one key."""

from __future__ import annotations

import numpy as np

from maskcheck.columns import INT64_MAX
from maskcheck.model import Table


def dict_key_ids(table: Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(`name`, `name_ok`) with integral floats (1.0) counted as the int they equal.

    The reader keeps a float id in `raw_<name>` for invalid-id-type to report; for linking
    and duplicates it is the int a dict lookup finds. Integer ids alone cost nothing.
    """
    ids, ok = table[name], table[name + "_ok"]
    raw = table.get("raw_" + name)
    if raw is None:
        return ids, ok
    whole = np.array([type(v) is float and v.is_integer() and abs(v) <= INT64_MAX for v in raw],
                     dtype=bool)
    if not whole.any():
        return ids, ok
    ids, ok = ids.copy(), ok | whole
    ids[whole] = [int(v) for v in raw[whole]]
    return ids, ok
