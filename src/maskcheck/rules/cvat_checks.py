"""Checks that only exist in CVAT XML: shapes without a usable label, unreadable shapes.

Shapes that are not instances (polylines, points, skeletons) never reach the annotation
rows, so their labels are checked from `info.cache["cvat"]` (readers/cvat.py CvatFacts).
An instance shape with a label <meta> does not declare is an annotation row whose name the
class list lacks: unmapped-class (MC102) reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from maskcheck.model import Batch, DatasetInfo, Location, Problem, Severity
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules._util import column_problems


class UnlabelledShape(DatasetRule):
    code = "MC450"
    name = "unlabelled-shape"
    summary = "A CVAT shape with an empty label, or a non-instance shape whose label <meta> does not declare."
    severity = Severity.ERROR

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = info.cache.get("cvat") if info.format == "cvat" else None
        if facts is None:
            return
        for i, (path, line, kind, label) in enumerate(facts.unlabelled):
            what = "no label attribute" if label is None else 'an empty label (label="")'
            yield Problem(
                f"<{kind}> has {what}: CVAT's exporters and datumaro drop it or fail on it, and a "
                "converter that keeps it gives it class 0 or the first class. Label it or delete it",
                Location(path=path, line=line or None), (0, i))
        base = len(facts.unlabelled)
        for i, (path, line, kind, label) in enumerate(facts.undeclared):
            yield Problem(
                f'<{kind}> has label "{label}", which the <labels> of <meta> do not declare: '
                "importers refuse the file or drop the shape. Declare the label or fix its name",
                Location(path=path, line=line or None), (0, base + i))


class MalformedCvatShape(Rule):
    code = "MC451"
    name = "malformed-cvat-shape"
    summary = ("A CVAT shape whose geometry cannot be read: mask RLE runs that do not cover "
               "width x height, bad coordinates.")
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        if batch.info.format == "cvat":
            yield from column_problems(batch, "shape_problem", "; the instance has no usable mask")
