"""Crowd regions (`iscrowd`): values other than 0/1, polygon crowds, all-crowd images."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck.model import Batch, Problem, SegKind, Severity
from maskcheck.registry import Rule
from maskcheck.rules._util import ann_problems, image_problems


def _crowd(batch: Batch) -> tuple[np.ndarray, np.ndarray] | None:
    """(iscrowd values, usable mask) or None when the format has no iscrowd."""
    anns = batch.anns
    if "iscrowd" not in anns or not len(anns):
        return None
    ok = anns.iscrowd_ok if "iscrowd_ok" in anns else np.ones(len(anns), dtype=bool)
    if "has_iscrowd" in anns:
        ok = ok & anns.has_iscrowd
    return anns.iscrowd, ok


class InvalidIscrowd(Rule):
    code = "MC220"
    name = "invalid-iscrowd"
    summary = "An iscrowd value other than 0 or 1."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        found = _crowd(batch)
        if found is None:
            return
        value, ok = found
        bad = ok & (value != 0) & (value != 1)
        yield from ann_problems(
            batch, bad,
            lambda r: f"iscrowd is {int(value[r])}; it must be 0 (an instance) or 1 (a crowd region). "
                      "pycocotools tests `iscrowd` for truth, so this is silently a crowd region "
                      "that training ignores")


class CrowdPolygon(Rule):
    code = "MC221"
    name = "crowd-polygon"
    summary = "A crowd region (iscrowd 1) stored as polygons where COCO uses RLE."
    severity = Severity.INFO

    def check(self, batch: Batch) -> Iterator[Problem]:
        found = _crowd(batch)
        if found is None:
            return
        value, ok = found
        bad = ok & (value == 1) & (batch.anns.seg_kind == SegKind.POLYGONS)
        yield from ann_problems(
            batch, bad,
            lambda r: "crowd region (iscrowd 1) given as polygons; COCO stores crowds as RLE. "
                      "pycocotools rasterizes either, but some converters treat polygons as "
                      "instances: check that it is meant to be ignored in training")


class AllCrowdImage(Rule):
    code = "MC222"
    name = "all-crowd-image"
    summary = "An image whose every annotation is a crowd region: training code drops it."
    severity = Severity.INFO

    def check(self, batch: Batch) -> Iterator[Problem]:
        found = _crowd(batch)
        n = len(batch.images)
        if found is None or not n:
            return
        value, ok = found
        rows = batch.anns.image_row
        known = rows >= 0
        total = np.bincount(rows[known], minlength=n)
        crowd = np.bincount(rows[known & ok & (value == 1)], minlength=n)
        all_crowd = (total > 0) & (crowd == total)
        yield from image_problems(
            batch, all_crowd,
            lambda r: f"all {int(total[r])} annotations of this image are crowd regions: Detectron2 "
                      "and torchvision's COCO recipes drop images without a non-crowd instance, "
                      "so it never reaches training")
