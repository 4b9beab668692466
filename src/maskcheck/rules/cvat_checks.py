"""Checks that only exist in CVAT XML: shapes without a usable label, unreadable shapes.

Shapes that are not instances (polylines, points, skeletons) never reach the annotation
rows, so their labels are checked from `info.facts` (readers/cvat.py CvatFacts).
An instance shape with a label <meta> does not declare is an annotation row whose name the
class list lacks: unmapped-class (MC102) reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from maskcheck.model import At, Batch, DatasetInfo, Problem, Severity
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules._util import column_problems


class UnlabelledShape(DatasetRule):
    code = "MC450"
    name = "unlabelled-shape"
    summary = "A CVAT shape with an empty label, or a non-instance shape whose label <meta> does not declare."
    severity = Severity.ERROR
    formats = frozenset({"cvat"})

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        facts = info.facts  # CvatFacts: the engine runs these rules on CVAT data only
        if facts is None:
            return
        # the two kinds interleave in the file: order them by file and line, not by kind
        found = [(path, line, kind, label, False) for path, line, kind, label in facts.unlabelled]
        found += [(path, line, kind, label, True) for path, line, kind, label in facts.undeclared]
        found.sort(key=lambda f: (f[0], f[1]))
        for i, (path, line, kind, label, undeclared) in enumerate(found):
            if undeclared:
                message = (f'<{kind}> has label "{label}", which the <labels> of <meta> do not '
                           "declare: importers refuse the file or drop the shape. Declare the "
                           "label or fix its name")
            else:
                what = "no label attribute" if label is None else 'an empty label (label="")'
                message = (f"<{kind}> has {what}: CVAT's exporters and datumaro drop it or fail "
                           "on it, and a converter that keeps it gives it class 0 or the first "
                           "class. Label it or delete it")
            yield Problem(message, At.file(path, line, then=(i,)))


class MalformedCvatShape(Rule):
    code = "MC451"
    name = "malformed-cvat-shape"
    summary = ("A CVAT shape whose geometry cannot be read: mask RLE runs that do not cover "
               "width x height, bad coordinates.")
    severity = Severity.ERROR
    formats = frozenset({"cvat"})

    def check(self, batch: Batch) -> Iterator[Problem]:
        yield from column_problems(batch, "shape_problem", "; the instance has no usable mask")
