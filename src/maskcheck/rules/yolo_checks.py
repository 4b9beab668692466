"""Checks that only exist in YOLO (Ultralytics) datasets: label rows, pairing and data.yaml.

They read the columns readers/yolo.py adds (annotations: `row_kind`, `commas`,
`coord_min`, `coord_max`; images: `has_image`, `has_label_file`, `bad_rows`) and the
YoloConfig in `info.facts`, and stay silent on other formats. A class index
outside `names` is unmapped-class (MC102), which names data.yaml in its message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from maskcheck.model import At, Batch, DatasetInfo, Fix, Problem, Severity
from maskcheck.registry import DatasetRule, Option, Rule
from maskcheck.rules._util import ann_problems, image_problems, plural
from maskcheck.shapes import YOLO_BOX, YOLO_POLYGON


def _is_yolo(batch: Batch) -> bool:
    return "has_label_file" in batch.images  # the engine runs these rules on YOLO data only


class YoloCoordinateOutOfRange(Rule):
    code = "MC420"
    name = "yolo-coordinate-out-of-range"
    summary = "A YOLO label row with a coordinate outside [0, 1] (not normalized, or off the image)."
    severity = Severity.ERROR
    formats = frozenset({"yolo"})
    options = (Option("clip_slack", float, 0.01,
                      "how far outside [0, 1] a coordinate may be for `fix` to clip it"),)
    fix_safety = "safe"  # clipped only when just outside: a rounding at the image's edge

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not _is_yolo(batch) or not len(anns):
            return
        lo, hi = anns.coord_min, anns.coord_max
        bad = (lo < 0) | (hi > 1)

        def message(r: int) -> str:
            worst = float(lo[r]) if lo[r] < 0 else float(hi[r])
            hint = (" — pixel coordinates? divide x by the width and y by the height"
                    if hi[r] > 1.5 else "")
            return (f"coordinate {worst:g} is outside [0, 1]{hint}: Ultralytics rejects the "
                    "whole label file as corrupt ('non-normalized or out of bounds coordinates') "
                    "and trains the image as background")

        clip = Fix(line_op="clip01", what="coordinates just outside [0, 1] clipped to it")
        slack = self.opts["clip_slack"]
        for r in np.flatnonzero(bad).tolist():
            near = lo[r] >= -slack and hi[r] <= 1 + slack and not anns.commas[r]
            yield Problem(message(r), At.ann(r), fix=clip if near else None)


class YoloMalformedRow(Rule):
    code = "MC421"
    name = "yolo-malformed-row"
    summary = ("A YOLO label row that is neither a box nor a polygon: odd coordinate count, "
               "under 3 points, not numbers.")
    severity = Severity.ERROR
    formats = frozenset({"yolo"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not _is_yolo(batch) or not len(imgs):
            return
        for r in range(len(imgs)):
            for line, reason in imgs.bad_rows[r]:
                yield Problem(
                    f"{reason}. A row is `class x y x y ...` (at least 3 points) or `class cx cy "
                    "w h`: Ultralytics rejects the whole label file and trains the image as "
                    "background", At.file(str(imgs.path[r]), line))


class YoloCommaSeparated(Rule):
    code = "MC422"
    name = "yolo-comma-separated"
    summary = "A YOLO label row separated by commas; Ultralytics splits on whitespace only."
    severity = Severity.ERROR
    formats = frozenset({"yolo"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not _is_yolo(batch) or not len(anns):
            return
        yield from ann_problems(
            batch, anns.commas.astype(bool),
            lambda r: "values are separated by commas: Ultralytics splits rows on whitespace, "
                      "cannot read '0,0.1,...' as numbers and drops the whole label file. Use "
                      "spaces")


class YoloMixedBoxPolygon(DatasetRule):
    code = "MC423"
    name = "yolo-mixed-box-polygon"
    summary = "Box rows and polygon rows in one YOLO dataset: Ultralytics then drops every segment."
    severity = Severity.ERROR
    formats = frozenset({"yolo"})

    def initial(self, info: DatasetInfo) -> tuple[int, int, tuple | None]:
        return 0, 0, None  # polygons, boxes, (index, path, line) of the first box row

    def accumulate(self, state: tuple, batch: Batch) -> tuple:
        anns = batch.anns
        if not _is_yolo(batch) or not len(anns):
            return state
        boxes = np.flatnonzero(anns.row_kind == YOLO_BOX)
        first = None
        if len(boxes):
            r = int(boxes[np.argmin(anns.index[boxes])])
            first = (int(anns.index[r]), str(anns.path[r]), int(anns.line[r]))
        part = (int((anns.row_kind == YOLO_POLYGON).sum()), len(boxes), first)
        return self.merge(state, part)

    def merge(self, a: tuple, b: tuple) -> tuple:
        firsts = [f for f in (a[2], b[2]) if f is not None]
        return a[0] + b[0], a[1] + b[1], min(firsts) if firsts else None

    def finalize(self, state: tuple, info: DatasetInfo) -> Iterator[Problem]:
        polygons, boxes, first = state
        if not polygons or not boxes or first is None:
            return
        _, path, line = first  # the first box row: (image index, file, line)
        yield Problem(
            f"{plural(boxes, 'box row')} (the first here) and {plural(polygons, 'polygon row')} "
            "in one dataset: Ultralytics keeps only boxes when the counts differ and removes "
            "every segment, so a segmentation model trains without a single mask. Convert the "
            "boxes to 4-point polygons or drop them",
            At.file(path, line))


class YoloLabelWithoutImage(Rule):
    code = "MC424"
    name = "yolo-label-without-image"
    summary = "A YOLO label file with no image of the same name: its instances are never trained."
    severity = Severity.WARNING
    formats = frozenset({"yolo"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not _is_yolo(batch) or not len(imgs):
            return
        yield from image_problems(
            batch, ~imgs.has_image,
            lambda r: f"no image named {imgs.file_name[r]!r} (any image suffix) in the images "
                      "folder that pairs with this labels folder: Ultralytics finds labels "
                      "through images, so these instances are never trained")


class YoloImageWithoutLabel(Rule):
    code = "MC425"
    name = "yolo-image-without-label"
    summary = "A YOLO image with no label file (trained as background; fine for intended negatives)."
    severity = Severity.INFO
    formats = frozenset({"yolo"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not _is_yolo(batch) or not len(imgs):
            return
        yield from image_problems(
            batch, ~imgs.has_label_file,
            lambda r: f"image {imgs.file_name[r]!r} has no label file: Ultralytics trains it as "
                      "pure background. Right for a negative example (an empty .txt says so "
                      "explicitly), wrong if its labels were lost")


def _config(info: DatasetInfo) -> Any:
    return info.facts  # YoloConfig (the first split's only)


class YoloNamesNcMismatch(DatasetRule):
    code = "MC426"
    name = "yolo-names-nc-mismatch"
    summary = "data.yaml's nc disagrees with the number of names (or is not a whole number)."
    severity = Severity.ERROR
    formats = frozenset({"yolo"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        cfg = _config(info)
        if cfg is None or cfg.nc is None:
            return
        loc = At.file(cfg.path, cfg.nc_line)
        if type(cfg.nc) is not int:
            yield Problem(f"nc must be a whole number of classes, got {cfg.nc!r}", loc)
        elif cfg.names is not None and len(cfg.names) != cfg.nc:
            yield Problem(
                f"nc is {cfg.nc} but names lists {len(cfg.names)} classes: Ultralytics refuses "
                "the dataset ('names' length and 'nc' must match), and other tools build a class "
                "head of the wrong size. Drop nc or make it equal", loc)


class YoloDataPathMissing(DatasetRule):
    code = "MC427"
    name = "yolo-data-path-missing"
    summary = "A path in data.yaml (path, train, val, test) that does not exist."
    severity = Severity.ERROR
    formats = frozenset({"yolo"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        cfg = _config(info)
        if cfg is None:
            return
        for i, (key, value, line, instead) in enumerate(cfg.missing):
            linted = (f"; maskcheck linted {instead}, the {key} split next to data.yaml, "
                      "instead" if instead else "")
            yield Problem(
                f"{key}: {value!r} does not exist as Ultralytics resolves it (from `path`, else "
                "the folder of data.yaml; a leading ../ is also tried without it): training stops "
                f"with 'Dataset images not found', or this split is silently empty{linted}",
                At.file(cfg.path, line, then=(i,)))
