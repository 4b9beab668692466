"""What tidying a polygon means: shared by the rule that finds untidy polygons (MC223) and
the fix that tidies them, so that a fixed file lints clean of it."""

from __future__ import annotations

import math
from typing import Any


def tidy(coords: Any, width: Any, height: Any, tolerance: float) -> list[Any] | None:
    """A COCO polygon (flat [x0, y0, x1, y1, ...]) tidied, or None when nothing changes.

    Points outside the image by at most `tolerance` are clipped to its edge; then a point
    equal to the one before it is dropped, and so are last points equal to the first (a COCO
    polygon closes itself). Numbers not changed keep their type (1 stays 1, 1.0 stays 1.0).
    Left alone: anything but an even number (>= 6) of finite numbers, a polygon with a point
    further out (polygon-outside-image's), or one left with fewer than 3 points
    (degenerate-polygon's). Without a known image size, nothing is clipped.
    """
    if not isinstance(coords, list) or len(coords) < 6 or len(coords) % 2:
        return None
    if not all(type(v) in (int, float) and math.isfinite(v) for v in coords):
        return None
    sized = all(type(s) in (int, float) and math.isfinite(s) and s > 0 for s in (width, height))
    changed = False
    points: list[tuple[Any, Any]] = []
    for x, y in zip(coords[0::2], coords[1::2], strict=True):
        if sized:
            if x < -tolerance or y < -tolerance or x > width + tolerance or y > height + tolerance:
                return None
            cx, cy = min(max(x, 0), width), min(max(y, 0), height)
            if cx != x or cy != y:
                x, y, changed = cx, cy, True
        if points and points[-1][0] == x and points[-1][1] == y:
            changed = True
            continue
        points.append((x, y))
    while len(points) > 1 and points[-1][0] == points[0][0] and points[-1][1] == points[0][1]:
        points.pop()
        changed = True
    if not changed or len(points) < 3:
        return None
    return [v for p in points for v in p]
