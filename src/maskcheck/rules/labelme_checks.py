"""Checks that only exist in LabelMe JSON: shape types, point counts, image paths, groups.

They read the columns readers/labelme.py adds (`shape_type`, `n_points`, `points_ok`,
`group`, `label`; images: `image_exists`, `image_embedded`) and stay silent elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck.model import Batch, Problem, Severity
from maskcheck.registry import Rule
from maskcheck.rules._util import ann_problems, column_problems, image_problems
from maskcheck.shapes import LABELME_AREA_SHAPES, LABELME_POINTS


def _is_labelme(batch: Batch) -> bool:
    return "shape_type" in batch.anns  # the engine runs these rules on LabelMe data only


class LabelmeShapeNotMask(Rule):
    code = "MC410"
    name = "labelme-shape-not-mask"
    summary = "A LabelMe shape (line, linestrip, point, unknown type) that cannot become an instance mask."
    severity = Severity.WARNING
    formats = frozenset({"labelme"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        if not _is_labelme(batch) or not len(batch.anns):
            return
        types = batch.anns.shape_type
        bad = np.array([isinstance(t, str) and t not in LABELME_AREA_SHAPES for t in types], dtype=bool)

        def message(r: int) -> str:
            t = types[r]
            what = (f"shape_type {t!r} is not a LabelMe shape type" if t not in LABELME_POINTS
                    else f"a {t!r} shape encloses no area")
            return (f"{what}, so it cannot become an instance mask: labelme2coco turns it into a "
                    "sliver a few pixels wide that trains as a real instance. Redraw it as a "
                    "polygon, or give it a label your converter skips")

        yield from ann_problems(batch, bad, message)


class LabelmePointCount(Rule):
    code = "MC411"
    name = "labelme-point-count"
    summary = "A LabelMe shape whose points are malformed or too few/many for its shape_type."
    severity = Severity.ERROR
    formats = frozenset({"labelme"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        if not _is_labelme(batch) or not len(batch.anns):
            return
        anns = batch.anns
        types, counts, ok = anns.shape_type, anns.n_points, anns.points_ok
        bad = np.zeros(len(anns), dtype=bool)
        for r in range(len(anns)):
            t = types[r]
            if not isinstance(t, str) or t not in LABELME_POINTS:
                continue
            lo, hi = LABELME_POINTS[t]
            bad[r] = not ok[r] or counts[r] < lo or (hi is not None and counts[r] > hi)

        def message(r: int) -> str:
            t = types[r]
            if not ok[r]:
                return ("'points' must be a list of [x, y] number pairs; this shape cannot be "
                        "drawn and converters crash or skip it")
            lo, hi = LABELME_POINTS[t]
            need = (f"exactly {lo}" if lo == hi else f"at least {lo}") + " point" + ("" if lo == 1 else "s")
            why = {"polygon": "a polygon under 3 points has no area: the mask is empty",
                   "rectangle": "a rectangle is its two opposite corners",
                   "circle": "a circle is its centre and one point on the rim",
                   "mask": "a mask shape is the two corners of its bitmap"}.get(t, "")
            return (f"a {t!r} shape needs {need}, this one has {int(counts[r])}"
                    + (f": {why}" if why else ""))

        yield from ann_problems(batch, bad, message)


class LabelmeImageMissing(Rule):
    code = "MC412"
    name = "labelme-image-missing"
    summary = "A LabelMe file whose imagePath names a file that does not exist (and no imageData)."
    severity = Severity.ERROR
    formats = frozenset({"labelme"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if "image_exists" not in imgs or not len(imgs):
            return
        missing = ~imgs.image_exists & ~imgs.image_embedded
        names = imgs.file_name

        def message(r: int) -> str:
            name = names[r]
            if not isinstance(name, str) or not name:
                return ("the file has no imagePath and no imageData: nothing says which image "
                        "these shapes belong to")
            return (f"imagePath {name!r} names no file beside this JSON and imageData is null: "
                    "labelme and labelme2coco fail to load the image. Fix the path (it is "
                    "relative to the JSON file) or restore the image")

        yield from image_problems(batch, missing, message)


class LabelmeGroupMixedLabels(Rule):
    code = "MC413"
    name = "labelme-group-mixed-labels"
    summary = "Shapes of one LabelMe group_id carry different labels, so the instance is split."
    severity = Severity.WARNING
    formats = frozenset({"labelme"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        if not _is_labelme(batch) or not len(batch.anns):
            return
        anns = batch.anns
        first: dict[tuple[int, object], int] = {}
        bad = []
        for r in range(len(anns)):
            gid = anns.group[r]
            if gid is None or not isinstance(anns.label[r], str):
                continue
            key = (int(anns.image_row[r]), gid)
            if key not in first:
                first[key] = r
            elif anns.label[first[key]] != anns.label[r]:
                bad.append(r)

        def message(r: int) -> str:
            f = first[(int(anns.image_row[r]), anns.group[r])]
            return (f"group_id {anns.group[r]!r} joins this shape (label {anns.label[r]!r}) with "
                    f"{anns.pointer[f]} (label {anns.label[f]!r}): labelme2coco joins parts only "
                    "when label and group_id both match, so this one object becomes two "
                    "instances of different classes. Give the parts one label")

        yield from ann_problems(batch, np.array(bad, dtype=np.int64), message)


class LabelmeShapeMalformed(Rule):
    code = "MC414"
    name = "labelme-shape-malformed"
    summary = ("A LabelMe shape whose group_id or mask bitmap cannot be used (wrong type, "
               "undecodable, or over maskcheck's size caps).")
    severity = Severity.ERROR
    formats = frozenset({"labelme"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        if _is_labelme(batch):
            yield from column_problems(batch, "shape_problem")
