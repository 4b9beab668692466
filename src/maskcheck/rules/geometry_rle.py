"""RLE masks (COCO compressed and uncompressed): wrong size, counts that cannot be decoded."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck import geometry
from maskcheck.model import Batch, Problem, Severity
from maskcheck.registry import Rule
from maskcheck.rules._geo import image_size, num, seg_problem
from maskcheck.rules.numbers import rle_strings


class RleSizeMismatch(Rule):
    code = "MC206"
    name = "rle-size-mismatch"
    summary = "An RLE mask whose size (height, width) differs from its image's size."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        geo = geometry.of(batch)
        rle = geo.rle
        if not len(rle.rows):
            return
        w, h = image_size(batch)
        rows = rle.rows
        size = rle.size[rows]
        known = (size[:, 0] >= 0) & np.isfinite(w[rows]) & np.isfinite(h[rows])
        bad = known & ((size[:, 0] != h[rows]) | (size[:, 1] != w[rows]))
        for r in rows[bad].tolist():
            rh, rw = rle.size[r]
            swap = " (height and width swapped)" if rh == w[r] and rw == h[r] else ""
            yield seg_problem(
                batch, r,
                f"RLE size [{rh}, {rw}] (height, width) differs from the image's "
                f"{num(h[r])} x {num(w[r])}{swap}: the mask decodes at the wrong size and no longer "
                "lines up with the pixels", "size")


class InvalidRle(Rule):
    code = "MC207"
    name = "invalid-rle"
    summary = "RLE counts that cannot be decoded, hold negative runs, or do not sum to height x width."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        rle = geometry.of(batch).rle
        if not rle.problem:
            return
        # size ["480", 640] is number-as-string's (MC009); said here is only what would
        # still be wrong once those strings are numbers
        quoted = rle_strings(batch)
        for r in sorted(rle.problem):
            message = quoted[r][1] if r in quoted else rle.problem[r]
            if message is not None:
                yield seg_problem(batch, r, message)
