"""Building the normalized tables for formats read record by record (LabelMe, YOLO, records).

These formats have no ids of their own, keep their labels as names or indices, and spread
a dataset over many files, so every row carries its `path` and its `line` (text formats)
or `pointer` (JSON). The columns are the ones readers/coco.py produces, so every rule
written against COCO runs unchanged:

- a label that is a name is mapped through the class map; where that fails, the row keeps
  `category_id_ok = False` and the name in `raw_category_id` (string-label or
  unmapped-class report it), and the `label` column keeps the name as written;
- segmentations are COCO JSON (pixel polygons or RLE) held as msgspec.Raw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np

from maskcheck.columns import MISSING, box_column, int_column, object_column
from maskcheck.model import Dataset, DatasetInfo, Location, SegKind, Table, source_image_id
from maskcheck.readers.classmap import ClassMap

_NO_RAW = msgspec.Raw()


class Builder:
    """Collects image and annotation rows, then makes a Dataset whose batches group by image."""

    def __init__(self, where: str, fmt: str, classes: ClassMap | None) -> None:
        self.where = where
        self.fmt = fmt
        self.classes = classes
        self.img: dict[str, list[Any]] = {k: [] for k in (
            "file_name", "width", "height", "path", "line", "pointer",
            "n_labels", "n_masks", "n_boxes")}
        self.ann: dict[str, list[Any]] = {k: [] for k in (
            "image_row", "label", "bbox", "segmentation", "seg_kind", "iscrowd", "area",
            "path", "line", "pointer", "is_object", "has_label")}
        self.problems: list[tuple[str, str]] = []
        self.extra: dict[str, list[Any]] = {}  # reader-specific annotation columns
        self.extra_images: dict[str, list[Any]] = {}  # and image columns (one value per image)

    # ----------------------------------------------------------------------------- rows
    def add_image(self, file_name: Any, width: Any, height: Any, path: str, *,
                  line: int = 0, pointer: str = "", counts: tuple[int, int, int] | None = None) -> int:
        """`width`/`height`: a number, None when unknown (NaN), or MISSING when the source lacks it."""
        img = self.img
        img["file_name"].append(file_name)
        img["width"].append(width)
        img["height"].append(height)
        img["path"].append(path)
        img["line"].append(line)
        img["pointer"].append(pointer)
        n_l, n_m, n_b = counts or (-1, -1, -1)
        img["n_labels"].append(n_l)
        img["n_masks"].append(n_m)
        img["n_boxes"].append(n_b)
        return len(img["file_name"]) - 1

    def add_ann(self, image_row: int, label: Any, path: str, *, line: int = 0, pointer: str = "",
                bbox: list[float] | None = None, segmentation: bytes | None = None,
                iscrowd: Any = 0, area: float | None = None, is_object: bool = True,
                **extra: Any) -> int:
        """`label` is an int id, a class name, MISSING, or any other JSON value (reported);
        `iscrowd` an int, or the value as written when it is not one ("0": reported).

        `extra` fills reader-specific columns; a reader passes the same names for every row.
        """
        ann = self.ann
        for name, value in extra.items():
            self.extra.setdefault(name, []).append(value)
        ann["image_row"].append(image_row)
        ann["label"].append(label)
        ann["has_label"].append(label is not MISSING)
        ann["bbox"].append(MISSING if bbox is None else bbox)
        ann["segmentation"].append(_NO_RAW if segmentation is None else msgspec.Raw(segmentation))
        ann["seg_kind"].append(seg_kind(segmentation))
        ann["iscrowd"].append(iscrowd)
        ann["area"].append(np.nan if area is None else float(area))
        ann["path"].append(path)
        ann["line"].append(line)
        ann["pointer"].append(pointer)
        ann["is_object"].append(is_object)
        return len(ann["image_row"]) - 1

    # ----------------------------------------------------------------------------- build
    def category_ids(self) -> dict[str, np.ndarray]:
        ids = self.classes.ids if self.classes is not None else {}
        values = [ids.get(v, v) if isinstance(v, str) else v for v in self.ann["label"]]
        return int_column(values, "category_id")

    def build(self, categories: Table | None = None, counts: bool = False,
              info_path: str | None = None, **facts: Any) -> Dataset:
        """The dataset. `facts` are the reader's other DatasetInfo fields (`facts`,
        `implied_target`, `other_label_uses`): the info is frozen once built."""
        return assemble(*self.tables(categories, counts, info_path, **facts))

    def tables(self, categories: Table | None = None, counts: bool = False,
               info_path: str | None = None,
               **facts: Any) -> tuple[DatasetInfo, Table, Table, np.ndarray]:
        """What `build` batches: the info, the image and annotation tables in the order the
        rows were added, and each annotation's image row (readers/lazy.py batches them)."""
        n_img = len(self.img["file_name"])
        images: dict[str, np.ndarray] = {
            "index": np.arange(n_img, dtype=np.int64),
            "is_object": np.ones(n_img, dtype=bool),
            "id": np.arange(1, n_img + 1, dtype=np.int64),
            "id_ok": np.ones(n_img, dtype=bool),
            "width": _floats(self.img["width"]),
            "height": _floats(self.img["height"]),
            "file_name": object_column(self.img["file_name"]),
            "path": object_column(self.img["path"]),
            "line": np.array(self.img["line"], dtype=np.int64),
            "pointer": object_column([p or None for p in self.img["pointer"]]),
        }
        for name in ("id", "file_name", "width", "height"):
            values = self.img.get(name)
            images["has_" + name] = (np.ones(n_img, dtype=bool) if values is None else
                                     np.array([v is not MISSING for v in values], dtype=bool))
        for name, values in self.extra_images.items():
            images[name] = column(values)
        if counts:
            for name in ("n_labels", "n_masks", "n_boxes"):
                images[name] = np.array(self.img[name], dtype=np.int64)
        a = self.ann
        n = len(a["image_row"])
        image_row = np.array(a["image_row"], dtype=np.int64)
        cols: dict[str, np.ndarray] = {
            "index": np.arange(n, dtype=np.int64),
            "is_object": np.array(a["is_object"], dtype=bool),
            "id": np.arange(1, n + 1, dtype=np.int64),
            "id_ok": np.ones(n, dtype=bool),
            "has_id": np.ones(n, dtype=bool),
            "image_id": np.where(image_row >= 0, image_row + 1, 0),
            "image_id_ok": image_row >= 0,
            "has_image_id": np.ones(n, dtype=bool),
            "has_category_id": np.array(a["has_label"], dtype=bool),
            "area": np.array(a["area"], dtype=np.float64),
            "seg_kind": np.array(a["seg_kind"], dtype=np.uint8),
            "segmentation": object_column(a["segmentation"]),
            "label": object_column([v if isinstance(v, str) else None for v in a["label"]]),
            "path": object_column(a["path"]),
            "line": np.array(a["line"], dtype=np.int64),
            "pointer": object_column([p or None for p in a["pointer"]]),
        }
        for name, values in self.extra.items():
            cols[name] = column(values)
        if "source_id" in self.extra_images:  # the format's own image ids, for locations
            source = self.extra_images["source_id"]
            cols["source_image_id"] = object_column([source[r] if r >= 0 else None
                                                     for r in self.ann["image_row"]])
        cols.update(self.category_ids())
        if "raw_category_id" in cols:  # an absent label is malformed-record's, not a bad id
            raw = cols["raw_category_id"]
            raw[np.array([v is MISSING for v in raw], dtype=bool)] = None
        cols.update(box_column(a["bbox"]))
        cols.update(int_column(a["iscrowd"], "iscrowd"))
        cols["has_iscrowd"] = np.ones(n, dtype=bool)
        cats = categories if categories is not None else (
            self.classes.categories() if self.classes is not None
            else categories_from_ids(cols["category_id"][cols["category_id_ok"]]))
        img_t, ann_t = Table(images, n=n_img), Table(cols, n=n)
        path = info_path or self.where
        info = DatasetInfo(path=path, format=self.fmt, categories=cats,
                           num_images=n_img, num_annotations=n, problems=self.problems,
                           class_source=self.classes.source if self.classes is not None else None,
                           num_files=max(1, len(set(self.img["path"]) | set(self.ann["path"]))),
                           locator=_locator(path, img_t, ann_t, self.classes), **facts)
        return info, img_t, ann_t, image_row


def column(values: list[Any], kinds: set[type] | None = None) -> np.ndarray:
    """The values as one array: bool, int64 or float64 where every value is one, else
    objects. `kinds`: the value types to judge by, when the values are one batch of a
    column whose other batches hold others (readers/lazy.py)."""
    kinds = set(map(type, values)) if kinds is None else kinds
    if kinds <= {bool}:
        return np.array(values, dtype=bool)
    if kinds <= {int}:
        return np.array(values, dtype=np.int64)
    if kinds <= {int, float}:
        return np.array(values, dtype=np.float64)
    return object_column(values)


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
                     for v in values], dtype=np.float64)


def seg_kind(segmentation: bytes | None) -> int:
    if segmentation is None:
        return SegKind.MISSING
    head = segmentation[:1]
    if head == b"[":
        return SegKind.EMPTY if segmentation.strip() == b"[]" else SegKind.POLYGONS
    return SegKind.RLE if head == b"{" else SegKind.OTHER


def categories_from_ids(ids: np.ndarray) -> Table:
    """No class map and integer labels: the classes are the ids in use, named by their id."""
    used = np.unique(np.asarray(ids, dtype=np.int64))
    n = len(used)
    return Table({
        "index": np.arange(n, dtype=np.int64), "id": used,
        "id_ok": np.ones(n, dtype=bool), "name": object_column([f"class {i}" for i in used.tolist()]),
        "is_object": np.ones(n, dtype=bool), "has_id": np.ones(n, dtype=bool),
        "has_name": np.ones(n, dtype=bool),
    })


def _locator(path: str, images: Table, anns: Table,
             classes: ClassMap | None) -> Callable[..., Location]:
    """Turns (section, index) from dataset rules into the file, line or pointer of that row
    (`path`: the dataset's; a built dataset has DatasetInfo's default section names)."""

    def locate(section: str, index: int, **ids: Any) -> Location:
        if section == "categories":
            if classes is not None:
                return classes.locate(index, **ids)
            return Location(path=path, **ids)
        table = images if section == "images" else anns
        if not 0 <= index < len(table):
            return Location(path=path, **ids)
        line = int(table.line[index])
        own = source_image_id(table, index, is_ann=table is not images)
        if own is not None and ids.get("image_id") is not None:
            ids["image_id"] = own  # the format's own image id (CVAT's <image id>)
        return Location(path=str(table.path[index]), pointer=table.pointer[index] or None,
                        line=line if line > 0 else None, **ids)

    return locate


def assemble(info: DatasetInfo, images: Table, anns: Table, image_row: np.ndarray) -> Dataset:
    return Dataset.from_tables(info, images, anns, image_row)
