"""misspelled-key: a key a loader looks up by name, present only under another spelling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from maskcheck.model import Batch, DatasetInfo, Location, Problem, Severity
from maskcheck.registry import DatasetRule, register

_WHAT = {"images": "no images", "annotations": "no annotations", "categories": "no class list",
         "shapes": "no shapes"}


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _at(loc: Location, key: str) -> Location:
    return replace(loc, pointer=f"{loc.pointer or ''}/{_escape(key)}") if loc.pointer is not None else loc


@register
class MisspelledKey(DatasetRule):
    code = "MC010"
    name = "misspelled-key"
    summary = ("A key the format requires, present only misspelled (\"annotation\" for "
               "\"annotations\"): loaders see nothing under it.")
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        for table, locate, order, what in (
                (batch.images, batch.image_location, batch.image_order, "image"),
                (batch.anns, batch.ann_location, batch.ann_order, "annotation")):
            column = table.get("misspelled")
            if column is None:
                continue
            for r in np.flatnonzero([v is not None for v in column]).tolist():
                for written, meant in column[r]:
                    yield Problem(
                        f"{what} key {written!r} is not a {batch.info.format.upper()} key: did you "
                        f"mean {meant!r}? Loaders look up {meant!r} and find nothing, so the "
                        f"record loses it; rename the key", _at(locate(r), written), order(r))

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        for pointer, written, meant in info.misspelled:
            lost = _WHAT.get(meant, f"no {meant!r}")
            yield Problem(
                f"top-level key {written!r} is not a {info.format.upper()} key: did you mean "
                f"{meant!r}? pycocotools, torchvision and detectron2 look up {meant!r} only and "
                f"would see {lost} in this file (maskcheck linted it as {meant!r}); rename the key",
                info.locate_pointer(pointer), (0, -2))
