"""`--save-failures DIR`: for each failing seed, a PNG of the input (instances, masks outlined,
labels written on them) beside the output (the output masks, coloured by the input instance
they lie on, with the labels the pipeline returned), so "the red instance now says 3" is
seen, not read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from maskcheck import pictures
from maskcheck.probe.codes import CODES
from maskcheck.probe.inputs import PALETTE, Sample, colour_name
from maskcheck.probe.result import RunResult

_GREY = (150, 150, 150)  # an output mask that lies on no input instance


@dataclass(frozen=True, slots=True)
class Picture:
    """One failing seed's picture, for the HTML report's probe section."""

    seed: int
    png: bytes
    caption: str


class FailureWriter:
    """Writes `seed-00007.png` files into one folder (created on the first failure) when
    given one, and keeps the first `keep` pictures in memory (for the HTML report)."""

    def __init__(self, folder: Path | None, keep: int = 0) -> None:
        self.folder = folder
        self.keep = keep
        self.kept: list[Picture] = []
        self.saved = 0
        self.error: str | None = None  # the first write failure; no further writes

    def write(self, sample: Sample, result: RunResult, spec: str) -> None:
        if (self.folder is None or self.error is not None) and len(self.kept) >= self.keep:
            return
        picture, caption = failure_picture(sample, result, spec)
        data = pictures.png_bytes(picture)
        if len(self.kept) < self.keep:
            self.kept.append(Picture(sample.seed, data, caption))
        if self.folder is None or self.error is not None:
            return
        target = self.folder / f"seed-{sample.seed:05d}.png"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            self.error = f"cannot write {target}: {exc.strerror or exc}"
            return
        self.saved += 1


def failure_picture(sample: Sample, result: RunResult, spec: str) -> tuple[Image.Image, str]:
    """Input beside output, with the run's issues as the caption (also returned)."""
    n = len(sample.labels)
    colours = [_rgb(PALETTE[c]) for c in sample.colour]
    left = pictures.draw_instances(
        sample.image, sample.masks.astype(bool), colours,
        [f"#{i} label {int(sample.labels[i])}" for i in range(n)], boxes=sample.boxes)
    panels = [(f"input (seed {sample.seed}): {n} instances", left)]
    if result.image is not None and result.masks is not None:
        image = _uint8(result.image)
        labels = result.labels
        m = len(result.masks)
        out_colours = [colours[o] if o >= 0 else _GREY for o in result.owner[:m]]
        out_colours += [_GREY] * (m - len(out_colours))
        texts = [f"mask {j} label {_label(labels, j)}" for j in range(m)]
        boxes = result.boxes if result.boxes is not None and len(result.boxes) == m else None
        right = pictures.draw_instances(image, result.masks, out_colours, texts,
                                        emphasis=result.wrong, boxes=boxes)
        panels.append((f"output: {m} masks, labels as returned", right))
    lines = [f"{spec}, seed {sample.seed}"]
    lines += [f"{i.code} {CODES[i.code].name}: {i.detail}" for i in result.issues]
    moved = _moved_labels(sample, result)
    if moved:
        lines.append("; ".join(moved))
    caption = "\n".join(lines)
    return pictures.side_by_side(panels, caption), caption


def _moved_labels(sample: Sample, result: RunResult) -> list[str]:
    out = []
    for j in sorted(result.wrong):
        inst = result.owner[j]
        out.append(f"the {colour_name(int(sample.colour[inst]))} instance (input #{inst}, label "
                   f"{int(sample.labels[inst])}) now says {_label(result.labels, j)}")
    return out


def _label(labels: np.ndarray | None, j: int) -> str:
    if labels is None or j >= len(labels):
        return "none"
    value = labels[j]
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def _rgb(colour: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in colour)
    return r, g, b


def _uint8(image: np.ndarray) -> np.ndarray:
    """An output image as uint8 H x W x 3: floats in [0, 1] scaled, others clipped."""
    rgb = image[:, :, :3] if image.shape[2] >= 3 else np.repeat(image[:, :, :1], 3, axis=2)
    if np.issubdtype(rgb.dtype, np.floating):
        finite = np.nan_to_num(rgb.astype(np.float32))
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(finite * scale, 0, 255).round().astype(np.uint8)
    return np.clip(rgb, 0, 255).astype(np.uint8)
