"""Known-answer inputs: instances painted in colours that survive geometric transforms.

Each instance is a rectangle filled with its own saturated colour on a grey background, so
after any crop, flip, resize or rotation the colours under an output mask say which input
instance it came from. Colours are told apart by hue (the direction away from grey), which
survives brightness, contrast and saturation jitter; only a hue shift or a per-channel
normalization defeats it, and then the probe says it is inconclusive instead of guessing.
Rectangles keep their bounding box exact under affine maps, so box vs mask is checkable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEIGHT, WIDTH = 96, 128  # not square: a transposed mask or image shows
BACKGROUND = (128, 128, 128)
PALETTE = np.array([
    (230, 25, 25),   # red
    (220, 220, 20),  # yellow
    (25, 200, 25),   # green
    (20, 210, 210),  # cyan
    (25, 25, 230),   # blue
    (220, 20, 220),  # magenta
], dtype=np.float64)
_GRID = (2, 3)  # one instance per cell at most: instances never touch
NEUTRAL, UNKNOWN = -1, -2


@dataclass(frozen=True, slots=True)
class Sample:
    """One input: image (H, W, 3) uint8, boxes (N, 4) float32 x1 y1 x2 y2, masks (N, H, W)
    uint8, labels (N,) int64 (distinct within a sample, never 0), colour[i] = palette index."""

    seed: int
    image: np.ndarray
    boxes: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    colour: np.ndarray


def make_sample(seed: int) -> Sample:
    """The input used for `seed`: reproduce a finding with `make_sample(seed)`."""
    rng = np.random.default_rng(seed)
    rows, cols = _GRID
    cell_h, cell_w = HEIGHT // rows, WIDTH // cols
    n = int(rng.integers(3, rows * cols + 1))
    cells = rng.choice(rows * cols, size=n, replace=False)
    colour = rng.permutation(len(PALETTE))[:n]
    labels = rng.choice(np.arange(1, 10), size=n, replace=False).astype(np.int64)
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    boxes = np.zeros((n, 4), dtype=np.float32)
    masks = np.zeros((n, HEIGHT, WIDTH), dtype=np.uint8)
    for i, cell in enumerate(cells):
        top, left = (cell // cols) * cell_h, (cell % cols) * cell_w
        h = int(rng.integers(10, cell_h - 5))
        w = int(rng.integers(10, cell_w - 5))
        y1 = top + 3 + int(rng.integers(0, cell_h - 6 - h + 1))
        x1 = left + 3 + int(rng.integers(0, cell_w - 6 - w + 1))
        masks[i, y1:y1 + h, x1:x1 + w] = 1
        image[y1:y1 + h, x1:x1 + w] = PALETTE[colour[i]].astype(np.uint8)
        boxes[i] = (x1, y1, x1 + w, y1 + h)
    return Sample(seed, image, boxes, masks, labels, colour.astype(np.int64))


_UNIT = PALETTE / PALETTE.sum(axis=1, keepdims=True) - 1 / 3
_UNIT /= np.linalg.norm(_UNIT, axis=1, keepdims=True)
_MIN_CHROMA = 0.04  # below: grey (background, or a colour washed out)
_MIN_COS = 0.9  # within ~25 degrees of hue of a palette colour


def classify(image_hwc: np.ndarray) -> np.ndarray:
    """Per pixel: the palette index, NEUTRAL (grey or dark) or UNKNOWN. Scale-free, so
    uint8 images and float images in [0, 1] read alike."""
    if image_hwc.shape[2] < 3:
        return np.full(image_hwc.shape[:2], UNKNOWN, dtype=np.int64)
    rgb = image_hwc[:, :, :3].astype(np.float64)
    total = rgb.sum(axis=2)
    top = float(total.max()) if total.size else 0.0
    out = np.full(total.shape, UNKNOWN, dtype=np.int64)
    if top <= 0 or not np.isfinite(top):
        return out
    dark = total <= 0.1 * top
    safe = np.where(dark, 1.0, total)
    chroma = rgb / safe[:, :, None] - 1 / 3
    norm = np.linalg.norm(chroma, axis=2)
    grey = dark | (norm < _MIN_CHROMA)
    cos = chroma @ _UNIT.T / np.maximum(norm, 1e-12)[:, :, None]
    best = cos.argmax(axis=2)
    sure = np.take_along_axis(cos, best[:, :, None], axis=2)[:, :, 0] >= _MIN_COS
    out[sure] = best[sure]
    out[grey] = NEUTRAL
    return out
