"""EXP101 unexpected-image-extension: images the training pipeline will not decode.

A rule is a class with a code, a kebab-case name naming the defect, a one-line summary, a
default severity and typed options. The `maskcheck.rules` entry point names this module and
maskcheck reads the rule classes defined in it (`@register` is an optional marker). The
engine stamps code, name, severity and file on every Problem the rule yields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from maskcheck.model import Batch, Problem, Severity
from maskcheck.registry import Option, Rule, register


@register
class UnexpectedImageExtension(Rule):
    code = "EXP101"
    name = "unexpected-image-extension"
    summary = "An image whose file extension the training pipeline does not read."
    severity = Severity.WARNING
    options = (
        Option("extensions", str, "jpg,jpeg,png", "comma-separated extensions the pipeline reads"),
    )
    page = Path(__file__).with_name("EXP101.md")  # `maskcheck explain EXP101` prints it

    def check(self, batch: Batch) -> Iterator[Problem]:
        images = batch.images
        if not len(images):
            return
        allowed = {e.strip().lower().lstrip(".") for e in self.opts["extensions"].split(",")}
        names = images.file_name  # an object column: str, or whatever the file held
        ext = [n.rsplit(".", 1)[-1].lower() if isinstance(n, str) and "." in n else "" for n in names]
        # Non-string names are malformed records: the core rules report those, not us.
        bad = np.array([isinstance(n, str) and e not in allowed for n, e in zip(names, ext, strict=True)],
                       dtype=bool)
        for row in np.flatnonzero(bad).tolist():
            shown = f'".{ext[row]}"' if ext[row] else "no extension"
            yield Problem(
                f'image file_name "{names[row]}" has {shown}, which the pipeline does not read '
                f"(it reads {', '.join(sorted(allowed))}): the loader fails on it or skips it. "
                "Convert the image, or add the extension to the `extensions` option",
                batch.image_location(row), batch.image_order(row))
