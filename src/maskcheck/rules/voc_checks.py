"""Checks that only exist in Pascal VOC folders: files, split lists, masks and bndboxes.

File-level facts come from `info.facts` (readers/voc.py VocFacts) and are the same
whatever the batches, so those rules report them in `finalize`. Per-instance checks read
the columns the VOC reader adds (`bndbox`, `box_problem`, `box_line`, `mask_classes`,
`instance_id`, `mask_path`). Every rule stays silent on other formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import numpy as np

from maskcheck.model import At, Batch, DatasetInfo, Location, Problem, Severity
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules._util import ann_problems, plural


def _facts(info: DatasetInfo) -> Any:
    return info.facts  # VocFacts: the engine runs these rules on VOC data only


def _file_problem(path: str, line: int, message: str, order: int) -> Problem:
    return Problem(message, At.file(path, line, then=(order,)))


def _case_hint(twin: str | None, what: str) -> str:
    if twin is None:
        return ""
    return (f"; {PurePath(twin).name} differs only in letter case: it pairs on Windows and "
            "macOS but not on a case-sensitive file system (Linux, where training runs), so "
            f"rename one of the {what}")


class UnreadableVocFile(DatasetRule):
    code = "MC440"
    name = "unreadable-voc-file"
    summary = ("A VOC annotation XML or mask PNG that cannot be read (broken XML, unreadable or "
               "mismatched PNG).")
    severity = Severity.ERROR
    formats = frozenset({"voc"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = _facts(info)
        if facts is None:
            return
        for i, (path, line, message) in enumerate(facts.unreadable):
            yield _file_problem(path, line, f"{message}; the loader crashes on this sample or skips "
                                            "it, and the rest of the dataset was checked without it",
                                i)


class InstanceSpansClasses(Rule):
    code = "MC441"
    name = "instance-spans-classes"
    summary = "A VOC instance whose pixels carry several classes in the SegmentationClass PNG."
    severity = Severity.WARNING
    formats = frozenset({"voc"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if "mask_classes" not in anns or not len(anns):
            return
        classes = anns.mask_classes
        spans = np.array([c is not None and len(c) > 1 for c in classes], dtype=bool)
        names = batch.info.category_names()

        def label(c: Any) -> str:
            if isinstance(c, str):
                return c
            return f'"{names[c]}" ({c})' if c in names else f"index {c}"

        def message(r: int) -> str:
            parts = ", ".join(f"{label(c)}: {plural(n, 'pixel')}" for c, n in classes[r][:6])
            return (f"instance {int(anns.instance_id[r])} of {anns.mask_path[r]} covers "
                    f"{len(classes[r])} classes in the SegmentationClass PNG ({parts}): a loader "
                    "takes one class for the whole instance, so the others' pixels train as the "
                    "wrong class. Repaint the class mask or split the instance")

        yield from ann_problems(batch, spans, message)


class SplitIdWithoutFiles(DatasetRule):
    code = "MC442"
    name = "split-id-without-files"
    summary = "An ImageSets split list names an id whose annotation, mask or image files do not exist."
    severity = Severity.ERROR
    formats = frozenset({"voc"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = _facts(info)
        if facts is None:
            return
        for i, (path, line, sid, missing) in enumerate(facts.split_ids_missing):
            yield _file_problem(
                path, line,
                f"split list names {sid!r}, which has {missing}: VOC loaders open the files of every "
                "listed id and stop with FileNotFoundError. Remove the line or add the files", i)


class ImageWithoutAnnotationFile(DatasetRule):
    code = "MC443"
    name = "image-without-annotation-file"
    summary = "A VOC image with no annotation XML (or, in a mask-only layout, no mask PNG)."
    severity = Severity.WARNING
    formats = frozenset({"voc"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = _facts(info)
        if facts is None:
            return
        kind = "annotation XML" if facts.annotation_kind == "XML" else "SegmentationClass/Object mask"
        for i, (path, twin) in enumerate(facts.images_without_annotation):
            yield _file_problem(
                path, 0,
                f"image has no {kind}: a loader that lists the images trains it as pure background, "
                f"one that lists the annotations never sees it{_case_hint(twin, 'files')}", i)


class AnnotationWithoutImage(DatasetRule):
    code = "MC444"
    name = "annotation-without-image"
    summary = "A VOC annotation XML or mask whose image file does not exist."
    severity = Severity.ERROR
    formats = frozenset({"voc"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = _facts(info)
        if facts is None:
            return
        for i, (path, twin) in enumerate(facts.annotations_without_image):
            yield _file_problem(
                path, 0,
                f"no image with this name in the dataset: the loader stops with FileNotFoundError "
                f"when it reaches this sample{_case_hint(twin, 'files')}", i)


class InvalidBndbox(Rule):
    code = "MC445"
    name = "invalid-bndbox"
    summary = "A VOC <bndbox> with xmax <= xmin or ymax <= ymin, or a coordinate missing or not a number."
    severity = Severity.ERROR
    formats = frozenset({"voc"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if "bndbox" not in anns or not len(anns):
            return
        boxes, problems, lines = anns.bndbox, anns.box_problem, anns.box_line
        bad = np.zeros(len(anns), dtype=bool)
        for r in range(len(anns)):
            b = boxes[r]
            bad[r] = problems[r] is not None or (b is not None and (b[2] <= b[0] or b[3] <= b[1]))

        def message(r: int) -> str:
            if problems[r] is not None:
                return (f"<bndbox> cannot be read: {problems[r]}; VOC loaders call float() on "
                        "each coordinate and crash, or drop the object")
            x0, y0, x1, y1 = boxes[r]
            parts = []
            if x1 <= x0:
                parts.append(f"xmax {x1:g} <= xmin {x0:g}")
            if y1 <= y0:
                parts.append(f"ymax {y1:g} <= ymin {y0:g}")
            return (f"<bndbox> has {' and '.join(parts)}: the box has no area, so the box loss is "
                    "NaN or the object is dropped. Swap the coordinates if they were written in "
                    "the wrong order")

        for r in np.flatnonzero(bad).tolist():
            loc = batch.ann_location(r)
            if lines[r] > 0:
                loc = Location(path=loc.path, line=int(lines[r]), image_id=loc.image_id,
                               annotation_id=loc.annotation_id, category_id=loc.category_id)
            yield Problem(message(r), loc, batch.ann_order(r))
