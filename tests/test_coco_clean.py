"""The COCO reader's fast path: a clean file decoded in one pass into typed records must give
the very tables the general path gives, and any other file must take the general path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ann, coco_doc
from maskcheck.model import Dataset, Table
from maskcheck.readers import coco


def _general(data: bytes, where: str = "f.json") -> Dataset:
    doc, spelled = coco._document(msgspec.json.decode(data, type=dict[str, msgspec.Raw]))
    return coco.from_document(doc, where, spelled)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, msgspec.Raw) or isinstance(b, msgspec.Raw):
        return type(a) is type(b) and bytes(a) == bytes(b)
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    return type(a) is type(b) and a == b


def _same_table(a: Table, b: Table) -> None:
    assert a.names == b.names
    for name in a.names:
        x, y = a[name], b[name]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        if x.dtype == object:
            assert all(_same_value(p, q) for p, q in zip(x.tolist(), y.tolist(), strict=True)), name
        else:
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
            if x.dtype.kind == "f":  # -0.0 and 0.0 are equal but not the same number
                assert np.array_equal(np.signbit(x), np.signbit(y)), name


def _assert_same(data: bytes) -> None:
    clean = coco._clean_document(data)
    assert clean is not None
    fast, slow = coco._from_clean(clean, "f.json"), _general(data)
    for key in ("path", "format", "num_images", "num_annotations", "problems", "image_section",
                "annotation_section", "category_section", "misspelled"):
        assert getattr(fast.info, key) == getattr(slow.info, key), key
    _same_table(fast.info.categories, slow.info.categories)
    fb, sb = list(fast.batches(None)), list(slow.batches(None))
    assert len(fb) == len(sb)
    for f, s in zip(fb, sb, strict=True):
        _same_table(f.images, s.images)
        _same_table(f.anns, s.anns)


def _bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


CLEAN = [
    coco_doc(),
    # int and float numbers mixed, ids out of file order, orphans, RLE, null and [] masks,
    # extra keys, negative zero, ids at the int64 bounds
    coco_doc(
        images=[{"id": 2, "file_name": "b.jpg", "width": 100.0, "height": 80, "x": 1},
                {"id": -(2**63), "file_name": None, "width": 1e-3, "height": 2**62}],
        annotations=[ann(3, 2, 1, bbox=[1, 2.5, 3, 4], area=7),
                     ann(1, 99, 1, segmentation={"size": [80, 100], "counts": "abc"}),
                     ann(2**63 - 1, -(2**63), 2, segmentation=None, bbox=[-0.0, 0, 1e18, 2**53 + 1]),
                     ann(4, 2, 2, segmentation=[], attributes={"occluded": True}),
                     ann(5, 2, 1, segmentation=[[]], area=-0.0)]),
]


@pytest.mark.parametrize("doc", CLEAN)
def test_clean_files_give_the_general_paths_tables(doc):
    _assert_same(_bytes(doc))


def test_real_coco_files_give_the_same_tables(realdata):
    checked = 0
    for path in sorted(realdata.rglob("*.json")):
        try:
            data = path.read_bytes()
            clean = coco._clean_document(data)
        except OSError:
            continue
        if clean is None or not clean.annotations:
            continue
        _assert_same(data)
        checked += 1
    assert checked


def _with(**changes: Any) -> bytes:
    a = ann(1, 1, 1)
    a.update(changes)
    return _bytes(coco_doc(annotations=[a, ann(2, 1, 2)]))


@pytest.mark.parametrize("data", [
    _with(id="1"), _with(id=1.0), _with(iscrowd=True), _with(category_id=2**63),
    _with(bbox=[1, 2, 3]), _with(bbox=[1, 2, 3, "4"]), _with(bbox=[1, 2, 3, 2**63]), _with(area=None),
    _with(area=int("1" + "0" * 400)), b'{"images": [], "annotations": [{"id": 1e999}], "categories": []}',
    _bytes({k: v for k, v in coco_doc().items() if k != "categories"}),
    _bytes({"image": coco_doc()["images"], "annotations": [ann(1, 1, 1)], "categories": []}),
    _bytes(coco_doc(images=[{"id": 1, "file_name": "a.jpg", "width": "640", "height": 480}])),
    _bytes(coco_doc(annotations=[ann(1, 1, 1), 7])), _bytes([coco_doc()]), b'{"images": [',
])
def test_other_files_take_the_general_path(data):
    assert coco._clean_document(data) is None


def test_misspelled_record_keys_are_still_found(write_coco):
    a = ann(1, 1, 1)
    a["categroy_id"] = a.pop("category_id")
    ds = coco.read_file(write_coco(coco_doc(annotations=[a, ann(2, 1, 2)])))
    assert "misspelled" in next(ds.batches(None)).anns


# a shared machine under load must not fail the generation health checks
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

NUMBER = st.one_of(st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
@given(st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(0, 3),
                          st.lists(NUMBER, min_size=4, max_size=4), NUMBER), min_size=1, max_size=8))
def test_any_numbers_give_the_same_tables_or_the_general_path(rows):
    anns = [ann(aid, image_id, 1, bbox=box, area=area) for aid, image_id, box, area in rows]
    data = _bytes(coco_doc(annotations=anns))
    if coco._clean_document(data) is not None:
        _assert_same(data)


def test_bench_generator_output_is_read_by_the_fast_path(tmp_path):
    make = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_coco.py"
    if not make.is_file():
        pytest.skip("../shared/bench/make_coco.py is absent")
    out = tmp_path / "c.json"
    subprocess.run([sys.executable, str(make), "--images", "40", "--out", str(out)], check=True,
                   capture_output=True)
    _assert_same(out.read_bytes())


@settings(max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
@given(st.lists(st.sampled_from(['[[1,2,3,4,5,6]]', "[]", " [ ] ", "[[]]", '{"size": [1, 1], "counts": "0"}',
                                 "null", '"x"', "7", "true", "[" + "1," * 20 + "1]"]), max_size=20),
       st.integers(1, 5))
def test_segmentation_kinds_are_those_of_each_slice(texts, at_once):
    segs = [msgspec.json.decode(f"[{t}]".encode(), type=list[msgspec.Raw])[0] for t in texts]
    old, coco._HEADS_AT_ONCE = coco._HEADS_AT_ONCE, at_once  # slices joined across chunks
    try:
        kinds = coco._seg_kinds(segs)
    finally:
        coco._HEADS_AT_ONCE = old
    assert kinds.tolist() == [coco._seg_kind(s) for s in segs]
