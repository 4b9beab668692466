"""Turning lists of decoded values into typed columns without losing the bad ones.

The fast path (every value of the expected type) is one numpy call. Otherwise the column
still gets built, with an `ok` mask and an object column `raw_<name>` holding the values
that did not fit, so rules can name them ("category_id \"3\" is a string").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
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
        # no dtype: numpy would turn "284.0" into 284.0 silently. Without one, the array is
        # numeric only when every element is a number; a string makes it '<U', an object 'O'
        arr = np.array(values)
        if arr.shape == (n, 4) and arr.dtype.kind in "iuf" and all(type(b) is list for b in values):
            return {name: arr.astype(np.float64, copy=False), "has_" + name: np.ones(n, dtype=bool)}
    except (ValueError, TypeError, OverflowError):
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


# ------------------------------------------------------------------ numbers written as text
# What a JSON number looks like (plus the leading "+" and surrounding blanks exporters add);
# "nan", "inf", "1_000" and "1,5" are not: they cannot simply lose their quotes.
_NUMBER_TEXT = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")
#: Strings in one field (a box, a polygon, a list of counts) reported one by one; beyond
#: this, one finding names the first and the count.
HANDFUL = 4


def is_number_text(value: Any) -> bool:
    """A string that holds a number ("284.0000", "640"): a number written as text."""
    return type(value) is str and len(value) <= 64 and _NUMBER_TEXT.fullmatch(value) is not None


def is_numberish(value: Any) -> bool:
    return type(value) in (int, float) or is_number_text(value)


def as_number(text: str, integer: bool = False) -> int | float:
    """The number a numeric string means, as it should be written: "640" -> 640, "284.0000" ->
    284.0; an integer field ("1.0" as iscrowd) takes an int where the value is whole."""
    stripped = text.strip()
    if not any(c in stripped for c in ".eE"):
        return int(stripped)
    value = float(stripped)
    return int(value) if integer and value.is_integer() else value


@dataclass(frozen=True, slots=True)
class TextNumber:
    """Numbers written as strings in one field. `pointer` is where the (first) one is,
    `name` how a message names it (`bbox[2]`), `count` how many strings the field holds
    (more than HANDFUL: this one entry stands for all, `group` names the field, and the
    field holding them all is `up` levels above `pointer`)."""

    pointer: str
    name: str
    text: str
    count: int = 1
    group: str = ""
    integer: bool = False
    up: int = 0


def text_numbers(items: Iterable[tuple[str, str, Any]], group: str,
                 integer: bool = False) -> list[TextNumber]:
    """The numeric strings among one field's (pointer, name, value) items: one entry each
    for a handful, else one entry at the first that gives the count."""
    hits = [(p, n, v) for p, n, v in items if is_number_text(v)]
    if len(hits) <= HANDFUL:
        return [TextNumber(p, n, v, 1, group, integer) for p, n, v in hits]
    p, n, v = hits[0]
    # the innermost container of every hit: a polygon's list, LabelMe's list of points
    parents = [h[0].split("/")[:-1] for h in hits]
    common = 0
    while all(len(q) > common and q[common] == parents[0][common] for q in parents):
        common += 1
    return [TextNumber(p, n, v, len(hits), group, integer, up=p.count("/") - common + 1)]


def list_text_numbers(values: Any, pointer: str, name: str, group: str | None = None,
                      integer: bool = False) -> list[TextNumber]:
    """Numeric strings in a flat list (a box, a polygon, RLE size or counts)."""
    if not isinstance(values, list) or str not in map(type, values):
        return []  # the common case, checked at C speed: no pointer is built
    return text_numbers(((f"{pointer}/{j}", f"{name}[{j}]", v) for j, v in enumerate(values)),
                        group or name, integer)


def scalar_text_numbers(value: Any, pointer: str, name: str, integer: bool = False) -> list[TextNumber]:
    return [TextNumber(pointer, name, value, 1, name, integer)] if is_number_text(value) else []


def rle_text_numbers(value: Any, pointer: str, name: str = "segmentation") -> list[TextNumber]:
    """Numeric strings in an RLE object's size and uncompressed counts (`pointer` is the
    object's). A counts *string* is compressed RLE, text by design."""
    if not isinstance(value, dict):
        return []
    return (list_text_numbers(value.get("size"), f"{pointer}/size", f"{name}.size", integer=True)
            + list_text_numbers(value.get("counts"), f"{pointer}/counts", f"{name}.counts",
                                integer=True))


def unquote_numbers(value: Any, integer: bool = False) -> Any:
    """`value` with every numeric string in it (nested lists and objects) made a number:
    what the record would be once the strings lose their quotes, to judge what else is wrong
    (and what number-as-string's fix writes for a field of many)."""
    if isinstance(value, list):
        return [unquote_numbers(v, integer) for v in value]
    if isinstance(value, dict):
        return {k: unquote_numbers(v, integer) for k, v in value.items()}
    return as_number(value, integer) if is_number_text(value) else value


def text_number_column(section: str, cols: dict[str, np.ndarray], fields: tuple[str, ...],
                       integer: tuple[str, ...] = ()) -> np.ndarray | None:
    """Per row, the numbers written as strings in `fields`, read from their `raw_` columns
    (so it costs nothing when every value was a number): a tuple of TextNumber, or None.
    None for the whole column when there are none at all."""
    if not any("raw_" + name in cols for name in fields):
        return None  # every value was a number (the fast path)
    out = np.full(len(cols["index"]), None, dtype=object)
    found_any = False
    for name in fields:
        raw = cols.get("raw_" + name)
        if raw is None:
            continue
        for i, value in enumerate(raw.tolist()):
            if value is None:
                continue
            where = f"/{section}/{int(cols['index'][i])}/{name}"
            found = (list_text_numbers(value, where, name, integer=name in integer)
                     if isinstance(value, list) else
                     scalar_text_numbers(value, where, name, integer=name in integer))
            if found:
                out[i] = (out[i] or ()) + tuple(found)
                found_any = True
    return out if found_any else None
