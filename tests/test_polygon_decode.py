"""geometry._decode_flat, the fast polygon decode, against the two-pass decode it replaced:
regular rows give the same counts and numbers, and every other batch goes row by row."""

from __future__ import annotations

import json
import math
from itertools import chain

import msgspec
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskcheck import geometry

_ROWS_OF_RAW = msgspec.json.Decoder(list[list[msgspec.Raw]])
_FLOATS = msgspec.json.Decoder(list[float])
_BRACKETS = bytes.maketrans(b"[]", b"  ")


def _two_pass(raws):
    """The decode before 0.2: nesting as raw slices, then every number in one flat list."""
    try:
        nested = _ROWS_OF_RAW.decode(b"[" + b",".join(raws) + b"]")
    except msgspec.DecodeError:
        return None
    per_row = np.fromiter(map(len, nested), np.int64, len(nested))
    if not per_row.all():
        return None
    polys = list(chain.from_iterable(nested))
    text = b",".join(polys)
    if text.count(b"[") != len(polys):
        return None
    buf = np.frombuffer(text, np.uint8)
    comma_at = np.flatnonzero(buf == 44)
    before = np.searchsorted(comma_at, np.flatnonzero(buf == 91))
    commas = np.diff(np.append(before, len(comma_at))) - 1
    if len(commas):
        commas[-1] += 1
    try:
        values = _FLOATS.decode(b"[" + text.translate(_BRACKETS) + b"]")
    except msgspec.DecodeError:
        return None
    length = commas + 1
    if len(values) != int(length.sum()):
        return None
    return per_row, length, np.fromiter(values, np.float64, len(values))


def _regular(raws) -> bool:
    """Every row a non-empty list of non-empty lists of finite numbers (read by json)."""
    def number(v):
        return type(v) in (int, float) and math.isfinite(v)
    rows = [json.loads(bytes(r)) for r in raws]
    return all(type(row) is list and row and all(type(p) is list and p and all(map(number, p))
                                                 for p in row) for row in rows)


def _same(raws):
    """Regular rows: the numbers and counts of the two-pass decode. Any other batch goes row
    by row (the two-pass decode took some, `[[[1]], 0]` say, and miscounted them)."""
    new = geometry._decode_flat(raws)
    if not _regular(raws):
        assert new is None, raws
        return
    old = _two_pass(raws)
    assert old is not None and new is not None, raws
    for a, b in zip(old, new, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b))


def _raws(texts):
    return [msgspec.json.decode(t.encode(), type=msgspec.Raw) for t in texts]


def test_regular_and_irregular_rows():
    cases = [
        ["[[1,2,3,4,5,6]]", "[[1.5, 2e3, -0.0, 4, 5, 6], [7,8,9,10,11,12]]"],
        ["[[]]"], ["[[1,2],[]]"], ["[[],[1,2]]"], ["[]"], ["[[1,2]]", "[]"], ["[1,2,3]"],
        ["[[1,2],3]"], ["[[[1,2]]]"], ["[[1,\"2\"]]"], ["[[1,null]]"], ["[[1,1e999]]"],
        ["[[true,1]]"], ["[[1,\"[\"]]"], ["[ [ 1 , 2 ] , [ 3 ] ]"], ["[[ ]]"], ["[[1,{}]]"],
    ]
    for texts in cases:
        _same(_raws(texts))


# a shared machine under load must not fail the generation health checks
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

_NUM = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
                 st.sampled_from(["1e999", "-0", "-0.0", "1E5"]))
_ODD = st.sampled_from(['"1"', "null", "true", "[]", "[1]", "{}", '"["'])
_ITEM = st.one_of(_NUM.map(lambda v: v if isinstance(v, str) else json.dumps(v)), _ODD)
_POLY = st.one_of(st.lists(_ITEM, max_size=6).map(lambda xs: "[" + ",".join(xs) + "]"), _ITEM)
_ROW = st.lists(_POLY, max_size=4).map(lambda ps: "[" + " , ".join(ps) + "]")


@settings(max_examples=200, deadline=None, suppress_health_check=_SLOW_OK)
@given(st.lists(_ROW, min_size=1, max_size=4))
def test_any_rows_decode_as_before(texts):
    _same(_raws(texts))


@settings(max_examples=100, deadline=None, suppress_health_check=_SLOW_OK)
@given(st.lists(st.lists(st.lists(_NUM.filter(lambda v: not isinstance(v, str)), min_size=1,
                                  max_size=8), min_size=1, max_size=3), min_size=1, max_size=5))
def test_regular_rows_decode_as_before(rows):
    _same(_raws([json.dumps(r) for r in rows]))
