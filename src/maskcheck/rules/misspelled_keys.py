"""misspelled-key: a key a loader looks up by name, present only under another spelling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from maskcheck.model import At, Batch, DatasetInfo, Problem, Severity
from maskcheck.registry import DatasetRule

_WHAT = {"images": "no images", "annotations": "no annotations", "categories": "no class list",
         "shapes": "no shapes"}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class MisspelledKey(DatasetRule):
    code = "MC010"
    name = "misspelled-key"
    summary = ("A key the format requires, present only misspelled (\"annotation\" for "
               "\"annotations\"): loaders see nothing under it.")
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        fmt = _FORMAT.get(batch.info.format, batch.info.format)
        for table, place, what in ((batch.images, At.image, "image"), (batch.anns, At.ann, "annotation")):
            column = table.get("misspelled")
            if column is None:
                continue
            for r in np.flatnonzero([v is not None for v in column]).tolist():
                for written, meant in column[r]:
                    yield Problem(
                        f"{what} key {written!r} is not a {fmt} key: did you "
                        f"mean {meant!r}? Loaders look up {meant!r} and find nothing, so the "
                        f"record loses it; rename the key", place(r, "/" + _escape(written)))

        # formats of one file per image (LabelMe): the file's own top-level keys
        top = batch.images.get("misspelled_top")
        if top is not None:
            for r in np.flatnonzero([v is not None for v in top]).tolist():
                loc = batch.image_location(r)
                for written, meant in top[r]:
                    yield Problem(_top_message(batch.info, written, meant),
                                  replace(loc, pointer="/" + _escape(written)), batch.image_order(r))

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        for pointer, written, meant in info.misspelled:
            yield Problem(_top_message(info, written, meant), At.pointer(pointer))


_FORMAT = {"coco": "COCO", "labelme": "LabelMe"}
_LOADERS = {"coco": "pycocotools, torchvision and detectron2 look",
            "labelme": "labelme2coco and the labelme tools look"}


def _top_message(info: DatasetInfo, written: str, meant: str) -> str:
    fmt = _FORMAT.get(info.format, info.format)
    who = _LOADERS.get(info.format, "loaders look")
    lost = _WHAT.get(meant, f"no {meant!r}")
    return (f"top-level key {written!r} is not a {fmt} key: did you mean {meant!r}? {who} up "
            f"{meant!r} only and would see {lost} in this file (maskcheck linted it as "
            f"{meant!r}); rename the key")
