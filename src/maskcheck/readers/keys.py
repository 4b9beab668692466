"""Misspelled keys: "annotation" where a loader looks for "annotations".

A loader looks a key up by its exact spelling; a misspelled one is simply absent, so the file
loads with no annotations, or a record loses its class. Only a key that the format expects
and the record lacks can be misspelled, and only an unknown key close to it is taken for it:
an extra key ("attributes", "score") is never reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import SequenceMatcher

COCO_TOP = ("images", "annotations", "categories")
COCO_ANNOTATION = ("id", "image_id", "category_id", "segmentation", "bbox", "area", "iscrowd")
COCO_IMAGE = ("id", "file_name", "width", "height")
COCO_CATEGORY = ("id", "name", "supercategory")
LABELME_TOP = ("shapes", "imagePath", "imageHeight", "imageWidth", "imageData")
LABELME_SHAPE = ("label", "points", "shape_type", "group_id")

# Keys shorter than this are matched only when equal apart from case and separators
# ("Id", "ID"): at 2-3 letters, one edit turns any key into another.
_MIN_FUZZY = 4


def _norm(key: str) -> str:
    return "".join(c for c in key.casefold() if c.isalnum())


def _close(written: str, known: str, cutoff: float) -> float:
    a, b = _norm(written), _norm(known)
    if not a:
        return 0.0
    if a == b:
        return 1.0
    if min(len(a), len(b)) < _MIN_FUZZY:
        return 0.0
    if b.startswith(a) or a.startswith(b):  # "category" for "categories", "bboxes" for "bbox"
        return max(cutoff, SequenceMatcher(None, a, b).ratio())
    return SequenceMatcher(None, a, b).ratio()


def misspellings(keys: Iterable[str], expected: Iterable[str], cutoff: float = 0.8) -> dict[str, str]:
    """written key -> the expected key it stands for, for each expected key that is absent.

    Each absent key takes its closest unknown key at or above `cutoff` (ties: the first
    written), and each written key stands for one expected key at most.
    """
    present = [k for k in keys if isinstance(k, str)]
    have = set(present)
    wanted = [k for k in expected if k not in have]
    unknown = [k for k in present if k not in set(expected)]
    out: dict[str, str] = {}
    for want in wanted:
        best, score = None, cutoff
        for key in unknown:
            if key in out:
                continue
            s = _close(key, want, cutoff)
            if s >= score and (best is None or s > score):
                best, score = key, s
        if best is not None:
            out[best] = want
    return out
