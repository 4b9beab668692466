"""Per-class counts of one dataset, from the batches the rules already read: instances,
images and mask pixels per class, and how much of the image area is background.

For the HTML report's class section and `maskcheck stats`: accumulated batch by batch in
the engine (a small state, mergeable like a dataset rule's), never a second pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskcheck import geometry
from maskcheck.model import Batch, DatasetInfo


@dataclass
class ClassStats:
    images: int = 0
    sized_images: int = 0  # images whose width and height are known
    image_pixels: float = 0.0  # width x height summed over sized images
    foreground: float = 0.0  # measured mask pixels of non-crowd instances
    without: int = 0  # images with no non-crowd instance
    unlabelled: int = 0  # instances without a usable class id
    # class id -> [non-crowd instances, crowd instances, images, mask pixels]
    classes: dict[int, list[float]] = field(default_factory=dict)


def accumulate(stats: ClassStats, batch: Batch) -> ClassStats:
    imgs, anns = batch.images, batch.anns
    n = len(imgs)
    if n:
        w, h = imgs.width.astype(np.float64), imgs.height.astype(np.float64)
        sized = np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0) & imgs.is_object
        stats.images += int(imgs.is_object.sum())
        stats.sized_images += int(sized.sum())
        stats.image_pixels += float(np.where(sized, w * h, 0.0).sum())
    else:
        sized = np.zeros(0, dtype=bool)
    if not len(anns):
        stats.without += int(imgs.is_object.sum()) if n else 0
        return stats
    rows = anns.image_row
    crowd = (anns.iscrowd == 1) if "iscrowd" in anns else np.zeros(len(anns), dtype=bool)
    known = anns.category_id_ok if "category_id_ok" in anns else np.ones(len(anns), dtype=bool)
    objects = anns.is_object if "is_object" in anns else np.ones(len(anns), dtype=bool)
    inst = objects & (rows >= 0) & ~crowd
    if n:
        per_image = np.bincount(rows[inst], minlength=n) if inst.any() else np.zeros(n, np.int64)
        stats.without += int(((per_image == 0) & imgs.is_object).sum())
    stats.unlabelled += int((objects & ~known).sum())
    use = objects & known
    if not use.any():
        return stats
    mask = geometry.of(batch).mask
    measured = inst & known & mask.measured & (rows >= 0)
    if n:
        measured &= sized[np.maximum(rows, 0)]
    area = np.where(measured, mask.area, 0.0)
    stats.foreground += float(area.sum())
    sel = np.flatnonzero(use)
    cls, inverse = np.unique(anns.category_id[sel].astype(np.int64), return_inverse=True)
    plain = np.bincount(inverse, weights=(~crowd[sel]).astype(np.float64), minlength=len(cls))
    crowds = np.bincount(inverse, weights=crowd[sel].astype(np.float64), minlength=len(cls))
    pixels = np.bincount(inverse, weights=area[sel], minlength=len(cls))
    placed = rows[sel] >= 0
    pairs = np.unique(inverse[placed].astype(np.int64) * max(n, 1) + rows[sel][placed])
    images = np.bincount(pairs // max(n, 1), minlength=len(cls))
    add_per_class(stats.classes, cls, plain, crowds, images, pixels)
    return stats


def add_per_class(classes: dict[int, list[float]], ids: np.ndarray, *columns: np.ndarray) -> None:
    """Add row k of `columns` to the running sums of class `ids[k]` (one list per class)."""
    for c, values in zip(ids.tolist(), zip(*(col.tolist() for col in columns), strict=True),
                         strict=True):
        entry = classes.setdefault(c, [0.0] * len(columns))
        for i, v in enumerate(values):
            entry[i] += v


def merged_classes(a: dict[int, list[float]], b: dict[int, list[float]]) -> dict[int, list[float]]:
    """Per-class sums of two runs of batches."""
    out = {c: list(v) for c, v in a.items()}
    for c, v in b.items():
        entry = out.setdefault(c, [0.0] * len(v))
        for i, x in enumerate(v):
            entry[i] += x
    return out


def merge(a: ClassStats, b: ClassStats) -> ClassStats:
    return ClassStats(a.images + b.images, a.sized_images + b.sized_images,
                      a.image_pixels + b.image_pixels, a.foreground + b.foreground,
                      a.without + b.without, a.unlabelled + b.unlabelled,
                      merged_classes(a.classes, b.classes))


@dataclass(frozen=True, slots=True)
class ClassRow:
    id: int
    name: str | None  # None: no category record names this id
    instances: int  # non-crowd
    crowd: int
    images: int
    pixels: float  # measured mask pixels of its non-crowd instances
    share: float  # of all image pixels (0 when no image size is known)

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "instances": self.instances,
                "crowd": self.crowd, "images": self.images, "pixels": self.pixels,
                "pixel_share": self.share}


@dataclass(frozen=True, slots=True)
class ClassTable:
    """One dataset's classes: every declared category (used or not) and every used id."""

    path: str
    format: str
    images: int
    sized_images: int
    image_pixels: float
    foreground: float
    without: int
    unlabelled: int
    rows: tuple[ClassRow, ...]

    @property
    def background_share(self) -> float | None:
        """The share of image pixels no instance covers; None without image sizes."""
        if self.image_pixels <= 0:
            return None
        return max(0.0, 1.0 - self.foreground / self.image_pixels)

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "format": self.format, "images": self.images,
                "images_with_size": self.sized_images, "image_pixels": self.image_pixels,
                "foreground_pixels": self.foreground, "background_share": self.background_share,
                "images_without_instances": self.without,
                "instances_without_class": self.unlabelled,
                "classes": [r.to_dict() for r in self.rows]}


def table(stats: ClassStats, info: DatasetInfo) -> ClassTable:
    names = info.category_names()
    ids = sorted(set(names) | set(stats.classes))
    total = stats.image_pixels
    rows = []
    for cid in ids:
        plain, crowd, images, pixels = stats.classes.get(cid, [0.0, 0.0, 0.0, 0.0])
        rows.append(ClassRow(cid, names.get(cid), int(plain), int(crowd), int(images), pixels,
                             pixels / total if total > 0 else 0.0))
    return ClassTable(info.path, info.format, stats.images, stats.sized_images, total,
                      stats.foreground, stats.without, stats.unlabelled, tuple(rows))
