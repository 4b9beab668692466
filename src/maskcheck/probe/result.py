"""One run of the transform probe, as the checks and the failure pictures both need it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maskcheck.probe.codes import Issue


@dataclass(slots=True)
class RunResult:
    """Its issues, and what the pipeline returned in the probe's terms: the output image
    (H, W, C), masks (N, H, W) bool, labels, boxes (pixel x1 y1 x2 y2) and, per output
    mask, the input instance it lies on (-1: none, or its colours could not tell)."""

    issues: list[Issue] = field(default_factory=list)
    image: np.ndarray | None = None
    masks: np.ndarray | None = None
    labels: np.ndarray | None = None
    boxes: np.ndarray | None = None
    owner: list[int] = field(default_factory=list)
    wrong: set[int] = field(default_factory=set)  # output masks carrying another's label
