"""Known-answer inputs: instances painted in colours that survive geometric transforms.

Each instance is a rectangle filled with its own saturated colour on a grey background, so
after any crop, flip, resize or rotation the colours under an output mask say which input
instance it came from. Colours are told apart by hue: the direction of a pixel's
chromaticity away from grey, which brightness, contrast and saturation jitter (a scale, or
a blend with grey) leave unchanged; only a hue shift or a per-channel normalization defeats
it, and then the probe says it is inconclusive instead of guessing. Rectangles keep their
bounding box exact under flips, crops and resizes, so box vs mask is checkable.

Instances are spread over a grid covering the whole image, one per cell (one large one over
2 x 2 cells when there is room), with sizes from a fifth of a cell to the whole cell and in
random order: any crop of a quarter to three quarters of the image drops some and keeps
others, and a dropped instance often comes before a kept one in the lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maskcheck.errors import BadOption

DEFAULT_SIZE = (480, 640)  # (H, W): a camera's aspect, not square, so a transpose shows
DEFAULT_INSTANCES = (4, 12)
MIN_SIDE, MAX_SIDE = 32, 4096  # bounds the masks' memory: 12 x 4096 x 4096 bytes at most
_MIN_CELL = 12  # pixels: an instance needs room for its margin and a few pixels of its own
BACKGROUND = (128, 128, 128)

# Twelve hues 30 degrees apart in the chromaticity plane (orthogonal to grey), at equal
# distance from grey: nearest-hue matching with a 12-degree tolerance is unambiguous.
COLOUR_NAMES = ("red", "orange", "yellow", "lime", "green", "spring green", "cyan", "azure",
                "blue", "violet", "magenta", "rose")
_E1 = np.array([2.0, -1.0, -1.0]) / math.sqrt(6)
_E2 = np.array([0.0, 1.0, -1.0]) / math.sqrt(2)
_ANGLES = np.deg2rad(np.arange(len(COLOUR_NAMES)) * 30.0)
PALETTE = np.rint(128 + 120 * (np.cos(_ANGLES)[:, None] * _E1 + np.sin(_ANGLES)[:, None] * _E2))
MAX_INSTANCES = len(PALETTE)
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


def grid_of(size: tuple[int, int], count: int) -> tuple[int, int]:
    """(rows, cols) of the placement grid: roughly square cells, twice as many as instances
    (up to 12, then one per instance), so some cells stay free."""
    h, w = size
    cells = max(count, min(MAX_INSTANCES, 2 * count))
    rows = max(1, round(math.sqrt(cells * h / w)))
    return rows, math.ceil(cells / rows)


def check_size(size: tuple[int, int], instances: tuple[int, int]) -> None:
    """ValueError unless `size` (H, W) and `instances` (MIN, MAX) make a valid sample."""
    h, w = size
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise BadOption(f"image size {h}x{w}: each side must be {MIN_SIDE} to {MAX_SIDE} pixels")
    low, high = instances
    if not 1 <= low <= high <= MAX_INSTANCES:
        raise BadOption(f"instances {low}..{high}: need 1 <= MIN <= MAX <= {MAX_INSTANCES} "
                         "(one colour each)")
    rows, cols = grid_of(size, high)
    if h // rows < _MIN_CELL or w // cols < _MIN_CELL:
        raise BadOption(f"image size {h}x{w} is too small for {high} instance"
                        f"{'s' if high > 1 else ''}: "
                         f"each needs a {_MIN_CELL} x {_MIN_CELL} pixel cell of a "
                         f"{rows} x {cols} grid")


def make_sample(seed: int, size: tuple[int, int] = DEFAULT_SIZE,
                instances: tuple[int, int] = DEFAULT_INSTANCES) -> Sample:
    """The input used for `seed`: reproduce a finding with `make_sample(seed, size, instances)`."""
    check_size(size, instances)
    rng = np.random.default_rng(seed)
    h, w = size
    n = int(rng.integers(instances[0], instances[1] + 1))
    rows, cols = grid_of(size, instances[1])
    cell_h, cell_w = h // rows, w // cols
    blocks = _blocks(rng, rows, cols, n)
    colour = rng.permutation(len(PALETTE))[:n]
    labels = rng.choice(np.arange(1, max(20, n) + 1), size=n, replace=False).astype(np.int64)
    image = np.empty((h, w, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    boxes = np.zeros((n, 4), dtype=np.float32)
    masks = np.zeros((n, h, w), dtype=np.uint8)
    # sizes from small to large: a fifth of the block's side up to all of it
    scales = rng.permutation(np.linspace(0.2, 1.0, n)) if n > 1 else np.ones(1)
    for i, (r, c, span) in enumerate(blocks):
        top, left, bh, bw = r * cell_h, c * cell_w, span * cell_h, span * cell_w
        inner_h, inner_w = bh - 4, bw - 4  # 2 px margin: instances never touch
        sh = max(3, int(inner_h * scales[i] * rng.uniform(0.8, 1.0)))
        sw = max(3, int(inner_w * scales[i] * rng.uniform(0.8, 1.0)))
        y1 = top + 2 + int(rng.integers(0, inner_h - sh + 1))
        x1 = left + 2 + int(rng.integers(0, inner_w - sw + 1))
        masks[i, y1:y1 + sh, x1:x1 + sw] = 1
        image[y1:y1 + sh, x1:x1 + sw] = PALETTE[colour[i]].astype(np.uint8)
        boxes[i] = (x1, y1, x1 + sw, y1 + sh)
    return Sample(seed, image, boxes, masks, labels, colour.astype(np.int64))


def _blocks(rng: np.random.Generator, rows: int, cols: int, n: int) -> list[tuple[int, int, int]]:
    """(row, col, span) of each instance's block, in random order: one 2 x 2 block when the
    grid has room for it and the others, single cells for the rest."""
    free = np.ones((rows, cols), dtype=bool)
    out: list[tuple[int, int, int]] = []
    if rows >= 2 and cols >= 2 and rows * cols - 4 >= n - 1:
        r, c = int(rng.integers(0, rows - 1)), int(rng.integers(0, cols - 1))
        free[r:r + 2, c:c + 2] = False
        out.append((r, c, 2))
    cells = np.flatnonzero(free.ravel())
    for cell in rng.choice(cells, size=n - len(out), replace=False):
        out.append((int(cell) // cols, int(cell) % cols, 1))
    order = rng.permutation(len(out))
    return [out[i] for i in order]


_MIN_CHROMA = 0.04  # below: grey (background, or a colour washed out)
_MAX_ANGLE = np.deg2rad(12.0)  # within 12 degrees of hue of a palette colour


def classify(image_hwc: np.ndarray) -> np.ndarray:
    """Per pixel: the palette index, NEUTRAL (grey or dark) or UNKNOWN. Scale-free, so
    uint8 images and float images in [0, 1] read alike."""
    if image_hwc.shape[2] < 3:
        return np.full(image_hwc.shape[:2], UNKNOWN, dtype=np.int64)
    rgb = image_hwc[:, :, :3].astype(np.float32)
    total = rgb.sum(axis=2)
    top = float(total.max()) if total.size else 0.0
    out = np.full(total.shape, UNKNOWN, dtype=np.int64)
    if top <= 0 or not np.isfinite(top):
        return out
    dark = total <= 0.1 * top
    safe = np.where(dark, np.float32(1.0), total)
    chroma = rgb / safe[:, :, None]  # the grey component (1/3 each) projects to 0 on E1, E2
    x = chroma @ _E1.astype(np.float32)
    y = chroma @ _E2.astype(np.float32)
    grey = dark | (np.hypot(x, y) < _MIN_CHROMA)
    step = 2 * np.pi / len(PALETTE)
    position = np.arctan2(y, x) / step
    nearest = np.rint(position)
    sure = np.abs(position - nearest) * step <= _MAX_ANGLE
    out[sure] = nearest[sure].astype(np.int64) % len(PALETTE)
    out[grey] = NEUTRAL
    return out


def colour_name(index: int) -> str:
    return COLOUR_NAMES[index] if 0 <= index < len(COLOUR_NAMES) else "unknown"
