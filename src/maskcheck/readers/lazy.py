"""Per-image units (LabelMe and YOLO files, a large JSONL's lines) read in memory bounded by the batch.

Two passes over the files, `BATCH_FILES` at a time. The first reads every file into a
throwaway Builder and keeps only small state: where each file's images and annotations
start (two ints a file), the value types of the reader's extra columns, the class ids in
use, the errors. So the errors, the counts and the class list are known before the first
batch, exactly as the eager reader gives them. The second pass is the batches: batch k
re-reads files [k*size, (k+1)*size) and shifts their row numbers and ids by those starts,
so every row, id and location is the eager reader's. Dataset rules' indices are located
by re-reading the one file holding them. Below LAZY_MIN_FILES files the readers stay
eager: small folders (the test fixtures) are read once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from maskcheck.model import Batch, Dataset, DatasetInfo, InputError, Location
from maskcheck.readers.builder import Builder, categories_from_ids, column
from maskcheck.readers.classmap import ClassMap

T = TypeVar("T")
LAZY_MIN_FILES = 512  # fewer files: read eagerly, once
BATCH_FILES = 128  # images a batch holds by default (each file is one image)
ReadUnit = Callable[[Builder, Any], list[InputError]]


def dataset(where: str, fmt: str, classes: ClassMap | None, units: Sequence[T],
            read_unit: ReadUnit, counts: bool = False,
            **facts: Any) -> tuple[list[InputError], bool, Dataset]:
    """(errors met, whether some file read without error, the dataset) of `units`, each
    read into a Builder by `read_unit`, which returns the errors it met. `counts`: the
    images keep the labels, masks and boxes their records declare (Builder.tables)."""
    n = len(units)
    img_start = np.zeros(n + 1, dtype=np.int64)
    ann_start = np.zeros(n + 1, dtype=np.int64)
    kinds: dict[str, set[type]] = {}
    used: set[int] = set()
    problems: list[tuple[str, str]] = []
    errors: list[InputError] = []
    clean = False
    num_files = 0
    last_paths: set[str] = set()
    base_img = base_ann = 0
    for lo in range(0, n, BATCH_FILES):
        b = Builder(where, fmt, classes)
        for pos in range(lo, min(lo + BATCH_FILES, n)):
            errs = read_unit(b, units[pos])
            clean = clean or not errs
            errors += errs
            img_start[pos + 1] = base_img + len(b.img["file_name"])
            ann_start[pos + 1] = base_ann + len(b.ann["image_row"])
        for prefix, extra in (("a:", b.extra), ("i:", b.extra_images)):
            for name, values in extra.items():
                kinds.setdefault(prefix + name, set()).update(map(type, values))
        if classes is None:
            cols = b.category_ids()
            used.update(cols["category_id"][cols["category_id_ok"]].tolist())
        problems += b.problems
        # a file read by neighbouring batches (a JSONL's lines) is counted once
        paths = set(b.img["path"]) | set(b.ann["path"])
        num_files += len(paths - last_paths)
        last_paths = paths
        base_img += len(b.img["file_name"])
        base_ann += len(b.ann["image_row"])

    @functools.lru_cache(maxsize=8)
    def unit_locator(pos: int) -> Callable[..., Location]:
        b = Builder(where, fmt, classes)
        read_unit(b, units[pos])
        return b.tables(counts=counts)[0].locator

    def locate(section: str, index: int, **ids: Any) -> Location:
        if section == "categories":
            return classes.locate(index, **ids) if classes is not None else Location(path=where, **ids)
        starts = img_start if section == "images" else ann_start
        if not 0 <= index < starts[-1]:
            return Location(path=where, **ids)
        pos = int(np.searchsorted(starts, index, side="right")) - 1
        return unit_locator(pos)(section, index - int(starts[pos]), **ids)

    cats = classes.categories() if classes is not None else categories_from_ids(np.array(sorted(used)))
    info = DatasetInfo(path=where, format=fmt, categories=cats, num_images=base_img,
                       num_annotations=base_ann, problems=problems,
                       class_source=classes.source if classes is not None else None,
                       num_files=max(1, num_files), locator=locate, **facts)

    def batch_at(step: int, k: int) -> Batch:
        lo, hi = k * step, min(n, (k + 1) * step)
        b = Builder(where, fmt, classes)
        for pos in range(lo, hi):
            read_unit(b, units[pos])  # its errors were reported by the first pass
        _, images, anns, image_row = b.tables(cats, counts=counts)
        i0, a0 = int(img_start[lo]), int(ann_start[lo])
        errs: list[InputError] = []
        if len(images) != img_start[hi] - i0 or len(anns) != ann_start[hi] - a0:
            errs.append(InputError(where, "files changed while being linted: images "
                                          f"{lo + 1}-{hi} read differently the second time"))
        img_cols = {"index": images.index + i0, "id": images.id + i0}
        img_cols.update({name[2:]: column(b.extra_images.get(name[2:], []), k_)
                         for name, k_ in kinds.items() if name.startswith("i:")})
        ann_cols = {"index": anns.index + a0, "id": anns.id + a0, "image_row": image_row,
                    "image_id": np.where(anns.image_id_ok, anns.image_id + i0, 0)}
        ann_cols.update({name[2:]: column(b.extra.get(name[2:], []), k_)
                         for name, k_ in kinds.items() if name.startswith("a:")})
        return Batch(info=info, images=images.with_columns(**img_cols),
                     anns=anns.with_columns(**ann_cols), errors=errs)

    def step_of(size: int | None) -> int:
        return max(n if not size or size <= 0 else size, 1)

    def batches(size: int | None) -> Iterator[Batch]:
        step = step_of(size)
        for k in range(-(-n // step)):
            yield batch_at(step, k)

    def indexed(size: int | None) -> tuple[int, Callable[[int], Batch]]:
        step = step_of(size)
        return -(-n // step), functools.partial(batch_at, step)

    return errors, clean, Dataset(info, batches, indexed=indexed, batch_images=BATCH_FILES)
