"""Links between records: duplicate ids, annotations of unknown images, empty images."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from maskcheck import spill
from maskcheck.ids import dict_key_ids
from maskcheck.model import At, Batch, DatasetInfo, Fix, Location, Problem, Severity, Table
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules._util import category_problem, fmt_value, image_problems
from maskcheck.spill import Pairs


def _where(first: Location, here: Location, section: str, index: int) -> str:
    """The first occurrence as the reader places it: its pointer in the same file
    (`/annotations/3`), file and pointer in another (SA-1B's shards)."""
    if first.path != here.path:
        return first.short()
    return first.pointer if first.pointer is not None else f"/{section}/{index}"


class _DuplicateIds(DatasetRule):
    """Keeps (id, source index) pairs of one section; reports every repeat after the first.
    Past spill.MEMORY_PAIRS pairs they go to disk, hash-partitioned by id (spill.py), so a
    billion masks are searched exactly in bounded memory."""

    section_attr: str
    what: str
    consequence: str

    def initial(self, info: DatasetInfo) -> Pairs:
        return Pairs()

    def _table(self, batch: Batch) -> Table:
        raise NotImplementedError

    def accumulate(self, state: Pairs, batch: Batch) -> Pairs:
        t = self._table(batch)
        if not len(t):
            return state
        ids, ok = dict_key_ids(t, "id")  # 1.0 and 1 are one key to pycocotools
        return state.add(ids[ok], t.index[ok])

    def merge(self, a: Pairs, b: Pairs) -> Pairs:
        return a.merge(b)

    def finalize(self, state: Pairs, info: DatasetInfo) -> Iterator[Problem]:
        for ids, index in spill.repeats(state):
            yield from self._report(ids, index, info)

    def _report(self, ids: np.ndarray, index: np.ndarray, info: DatasetInfo) -> Iterator[Problem]:
        """`ids` sorted, each at least twice, with their indexes in order."""
        if not len(ids):
            return
        repeat = np.flatnonzero(ids[1:] == ids[:-1]) + 1
        run_start = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        first_of = run_start[np.searchsorted(run_start, repeat, side="right") - 1]
        counts = dict(zip(*np.unique(ids[repeat], return_counts=True), strict=True))
        section = getattr(info, self.section_attr)
        for r, f in zip(repeat.tolist(), first_of.tolist(), strict=True):
            value = int(ids[r])
            loc = info.locate(section, int(index[r]), **{self.id_key: value})
            yield Problem(
                f"{self.what} {value} is used {int(counts[value]) + 1} times (first at "
                f"{_where(info.locate(section, int(index[f])), loc, section, int(index[f]))}); "
                f"{self.consequence}",
                loc, (1 if self.section_attr == "image_section" else 2, int(index[r])))

    id_key = "image_id"


class DuplicateImageId(_DuplicateIds):
    code = "MC003"
    name = "duplicate-image-id"
    summary = "Two image records share one id."
    severity = Severity.ERROR
    section_attr = "image_section"
    what = "image id"
    id_key = "image_id"
    consequence = ("pycocotools keeps only the last image with that id, so annotations meant for one "
                   "image are drawn on another")

    def _table(self, batch: Batch) -> Table:
        return batch.images


class DuplicateAnnotationId(_DuplicateIds):
    code = "MC004"
    name = "duplicate-annotation-id"
    summary = "Two annotations share one id (pycocotools silently keeps only one)."
    severity = Severity.ERROR
    section_attr = "annotation_section"
    what = "annotation id"
    id_key = "annotation_id"
    consequence = ("pycocotools' index keeps only one of them, and evaluation matches detections "
                   "against the wrong instance")

    def _table(self, batch: Batch) -> Table:
        return batch.anns


class DuplicateCategoryId(DatasetRule):
    code = "MC005"
    name = "duplicate-category-id"
    summary = "Two categories share one id."
    severity = Severity.ERROR

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        cats = info.categories
        first: dict[int, int] = {}
        ids, ok = dict_key_ids(cats, "id")  # 1.0 and 1 are one key in the id->name map
        for row in np.flatnonzero(ok).tolist():
            cid = int(ids[row])
            if cid in first:
                other = cats.name[first[cid]]
                other = repr(other) if isinstance(other, str) else "a category without a name"
                yield category_problem(
                    info, row,
                    f"category id {cid} is defined again (first as {other} at "
                    f"/{info.category_section}/{int(cats.index[first[cid]])}); the id->name map keeps "
                    "one of them, so one class's annotations are trained under the other's name")
            else:
                first[cid] = row


class DuplicateCategoryName(DatasetRule):
    code = "MC006"
    name = "duplicate-category-name"
    summary = "Two categories share one name, or names equal after case-folding and stripping."
    severity = Severity.ERROR

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        cats = info.categories
        seen: dict[str, int] = {}
        for row in range(len(cats)):
            name = cats.name[row]
            if not isinstance(name, str):
                continue
            key = " ".join(name.split()).casefold()
            if key not in seen:
                seen[key] = row
                continue
            prev = cats.name[seen[key]]
            pid = int(cats.id[seen[key]]) if cats.id_ok[seen[key]] else None
            first = f"id {pid} at /{info.category_section}/{int(cats.index[seen[key]])}"
            how = (f"is already the name of {first}" if prev == name
                   else f"differs only in case or whitespace from {prev!r} ({first})")
            yield category_problem(
                info, row,
                f"category name {name!r} {how}; the instances of one real class are split over "
                "two ids and the model learns them as competing classes. Merge them into one")


def _image_id_text(anns: Table, raw: np.ndarray | None, row: int) -> str:
    if raw is not None and raw[row] is not None:
        return fmt_value(raw[row])
    return str(int(anns.image_id[row]))


class OrphanAnnotation(Rule):
    code = "MC007"
    name = "orphan-annotation"
    summary = "An annotation whose image_id matches no image."
    severity = Severity.ERROR
    fix_safety = "unsafe"  # deleted (into FILE.removed.json): the image may be what is missing

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns):
            return
        raw = anns.get("raw_image_id")
        has_value = anns.image_id_ok.copy()
        if raw is not None:
            has_value |= np.array([isinstance(v, str | int | float) and not isinstance(v, bool)
                                   for v in raw], dtype=bool)
        orphan = has_value & (anns.image_row < 0)
        gone = Fix(delete=True, safe=False, what="delete the annotation (kept in FILE.removed.json)")
        for r in np.flatnonzero(orphan).tolist():
            yield Problem(
                f"image_id {_image_id_text(anns, raw, r)} matches no image in 'images': COCO "
                "loaders drop the annotation (or raise KeyError), so the instance is never "
                "trained", At.ann(r), fix=gone)


class ImageWithoutAnnotations(Rule):
    code = "MC008"
    name = "image-without-annotations"
    summary = "An image with no annotation at all (fine for intended negatives)."
    severity = Severity.INFO

    def check(self, batch: Batch) -> Iterator[Problem]:
        n = len(batch.images)
        if not n:
            return
        rows = batch.anns.image_row
        counts = np.bincount(rows[rows >= 0], minlength=n) if len(rows) else np.zeros(n, dtype=np.int64)
        empty = (counts == 0) & batch.images.is_object
        names = batch.images.file_name
        yield from image_problems(
            batch, empty,
            lambda r: (f"image {names[r]!r}" if isinstance(names[r], str) else "this image")
                      + " has no annotations: it trains as pure background "
                      "(right for an intended negative, wrong if its labels were lost)")

