"""Examples for the HTML report's gallery: for the first findings of each rule that point at
an image or an annotation, a snapshot of that image and all of its instances (class, ids,
box, mask as an RLE), taken in the batch the finding came from.

Bounded: at most `per_rule` snapshots per rule, each holding one image's instances, so the
gallery never grows with the dataset. Masks are pycocotools RLEs (compressed), rasterized
only when the report draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck import geometry
from maskcheck.files import escapes, regular_file_problem
from maskcheck.model import At, Batch, Finding
from maskcheck.rules.images import image_root

DEFAULT_EXAMPLES = 24


@dataclass(frozen=True, slots=True)
class Instance:
    ann_id: Any  # the annotation's id as written (None when it has none)
    category_id: int | None
    name: str | None
    bbox: tuple[float, float, float, float] | None  # x, y, width, height as stored
    rle: dict[str, Any] | None  # pycocotools RLE at the image's size; None: not drawable


@dataclass(frozen=True, slots=True)
class Example:
    """One finding with the picture it needs."""

    finding: Finding
    dataset: str
    image_id: Any
    file_name: str | None
    width: int | None
    height: int | None
    image_path: str | None  # the image file, inside the dataset's image folder; None: not found
    instances: tuple[Instance, ...]
    flagged: tuple[int, ...]  # indices into instances; () when the finding is about the image
    draw_boxes: bool  # box-vs-mask and misalignment findings show the boxes too


# Findings about a box against its mask, or instances out of step: the boxes are drawn too.
BOX_RULES = frozenset({"MC211", "MC212", "MC214", "MC218", "MC219"})


@dataclass
class Gallery:
    per_rule: int = DEFAULT_EXAMPLES
    examples: list[Example] = field(default_factory=list)
    shown: dict[str, int] = field(default_factory=dict)  # rule code -> examples kept

    def add(self, example: Example) -> None:
        """Keep an example snapshot elsewhere (a pool worker's), within the cap."""
        code = example.finding.code
        if self.shown.get(code, 0) < self.per_rule:
            self.examples.append(example)
            self.shown[code] = self.shown.get(code, 0) + 1

    def offer(self, finding: Finding, at: At, batch: Batch) -> None:
        """Keep a snapshot for `finding` (placed at annotation or image row `at.row` of
        `batch`) unless its rule has enough examples already."""
        if self.shown.get(finding.code, 0) >= self.per_rule or at.kind not in ("ann", "image"):
            return
        anns, imgs = batch.anns, batch.images
        row = at.row if at.kind == "image" else int(anns.image_row[at.row])
        if row < 0 or row >= len(imgs):
            return  # an annotation of an unknown image: nothing to draw it on
        example = _snapshot(finding, batch, row, at.row if at.kind == "ann" else None)
        self.examples.append(example)
        self.shown[finding.code] = self.shown.get(finding.code, 0) + 1


def _snapshot(finding: Finding, batch: Batch, image_row: int, ann_row: int | None) -> Example:
    anns, imgs = batch.anns, batch.images
    width, height = _size(imgs, image_row)
    rows = np.flatnonzero(anns.image_row == image_row)
    geo = geometry.of(batch)
    drawable = [int(r) for r in rows
                if width and height and geo.mask.measured[r] and geo.image_w[r] == width
                and geo.image_h[r] == height]
    rles = dict(zip(drawable, geometry.mask_rles(geo, np.asarray(drawable, dtype=np.int64)),
                    strict=True)) if drawable else {}
    names = batch.info.category_names()
    instances = []
    for r in rows.tolist():
        cid = int(anns.category_id[r]) if _ok(anns, "category_id", r) else None
        instances.append(Instance(
            ann_id=_value(anns, "id", r), category_id=cid,
            name=names.get(cid) if cid is not None else None,
            bbox=_bbox(anns, r), rle=rles.get(r)))
    flagged = tuple(int(i) for i in np.flatnonzero(rows == ann_row)) if ann_row is not None else ()
    name = imgs.file_name[image_row] if "file_name" in imgs else None
    name = name if isinstance(name, str) else None
    return Example(finding=finding, dataset=batch.info.path,
                   image_id=_value(imgs, "id", image_row), file_name=name,
                   width=width, height=height, image_path=_image_path(batch, name),
                   instances=tuple(instances), flagged=flagged,
                   draw_boxes=finding.code in BOX_RULES)


def _size(imgs: Any, row: int) -> tuple[int | None, int | None]:
    w, h = float(imgs.width[row]), float(imgs.height[row])
    if np.isfinite(w) and np.isfinite(h) and 0 < w <= 1e6 and 0 < h <= 1e6:
        return int(w), int(h)
    return None, None


def _ok(table: Any, name: str, row: int) -> bool:
    ok = table.get(name + "_ok")
    return name in table and (ok is None or bool(ok[row]))


def _value(table: Any, name: str, row: int) -> Any:
    raw = table.get("raw_" + name)
    if raw is not None and raw[row] is not None:
        value = raw[row]
        return value if isinstance(value, str | int | float) else None
    if not _ok(table, name, row):
        return None
    value = table[name][row]
    return value.item() if isinstance(value, np.generic) else value


def _bbox(anns: Any, row: int) -> tuple[float, float, float, float] | None:
    if "bbox" not in anns:
        return None
    box = np.asarray(anns.bbox[row], dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.isfinite(box).all():
        return None
    x, y, w, h = (float(v) for v in box)
    return x, y, w, h


def _image_path(batch: Batch, name: str | None) -> str | None:
    """The image file, only inside the image folder the rules checked (MC306: a name that
    climbs out of it is never opened) and only when it is a regular file."""
    if not name or escapes(name):
        return None
    root = image_root(batch)
    if root is None:
        return None
    path = Path(root) / name
    return str(path) if regular_file_problem(path) is None else None
