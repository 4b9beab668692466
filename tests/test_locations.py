"""Logical places: a rule says where (a row, a pointer below it), the engine resolves it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conftest import ann, coco_doc
from maskcheck.engine import lint_dataset, make_plan
from maskcheck.model import At, Batch, DatasetInfo, Problem, Severity
from maskcheck.readers.reading import read_all
from maskcheck.registry import DatasetRule, Rule


class _Places(Rule):
    code, name, summary, severity = "TST901", "places", "test", Severity.INFO

    def check(self, batch: Batch) -> Iterator[Problem]:
        yield Problem("box", At.ann(1, "/bbox/2"))
        yield Problem("image", At.image(0))
        yield Problem("no category", At.ann(0, category=False, then=(5,)))


class _Finalize(DatasetRule):
    code, name, summary, severity = "TST902", "finalize-places", "test", Severity.INFO

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        yield Problem("category", At.category_row(1))
        yield Problem("pointer", At.pointer("/categories"))
        yield Problem("file", At.file("labels/a.txt", 7, then=(2,)))
        yield Problem("dataset", At.dataset())
        yield Problem("a row outside its batch", At.ann(0))  # a rule bug: crashes, named


def _dataset(write_coco):
    doc = coco_doc(annotations=[ann(11, 1, 1), ann(12, 1, 2), ann(13, 2, 1)])
    (ds,) = list(read_all([write_coco(doc)]))
    return ds


def test_rows_resolve_to_pointers_ids_and_source_order(write_coco):
    ds = _dataset(write_coco)
    plan = make_plan(select=["MC001"])
    plan.rules[:] = [_Places()]
    found = [(f.message, f.location.to_dict(), f.order) for f in lint_dataset(ds, plan, batch_size=None)]
    path = str(ds.info.path)
    assert found == [
        ("box", {"path": path, "pointer": "/annotations/1/bbox/2", "image_id": 1, "annotation_id": 12,
                 "category_id": 2}, (2, 1)),
        ("image", {"path": path, "pointer": "/images/0", "image_id": 1}, (1, 0)),
        ("no category", {"path": path, "pointer": "/annotations/0", "image_id": 1, "annotation_id": 11},
         (2, 0, 5)),
    ]


def test_dataset_places_resolve_in_finalize_and_a_row_there_is_a_crash(write_coco):
    ds = _dataset(write_coco)
    plan = make_plan(select=["MC001"])
    plan.rules[:] = [_Finalize()]
    found = lint_dataset(ds, plan, batch_size=None)
    path = str(ds.info.path)
    assert [(f.code, f.message, f.location.to_dict(), f.order) for f in found[:4]] == [
        ("TST902", "category", {"path": path, "pointer": "/categories/1", "category_id": 2}, (0, 1)),
        ("TST902", "pointer", {"path": path, "pointer": "/categories"}, (0, -1)),
        ("TST902", "file", {"path": "labels/a.txt", "line": 7}, (0, 7, 2)),
        ("TST902", "dataset", {"path": path}, (0, -1)),
    ]
    (crash,) = found[4:]
    assert crash.code == "MC000" and "TST902" in crash.message and "only known in its batch" in crash.message
