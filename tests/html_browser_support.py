"""Helpers for the real-browser tests of the HTML report (tests/test_html_browser.py): a small
COCO dataset with real JPEGs and planted defects, and colour arithmetic for pixel checks."""

from __future__ import annotations

import colorsys
import json
from pathlib import Path
from typing import Any

HOSTILE = "<img src=x onerror=alert(1)>"
SIZE = (640, 480)  # wider than a thumbnail's 384 px: the renderer has to scale


def _square(x: int, y: int, side: int) -> list[list[float]]:
    return [[x, y, x + side, y, x + side, y + side, x, y + side]]


def write_coco(root: Path) -> Path:
    """A COCO file with three real JPEGs (plain grey, so a class colour drawn over them shows)
    and one missing file. Planted: a box far from its mask (MC211), wrong stored areas on a
    "cat" and on the instance of the class named `HOSTILE` (MC213: one rule, two cards of
    different classes), a tiny instance on the image whose file is missing (MC215, MC301),
    an image without annotations (MC008), an unused class (MC107)."""
    from PIL import Image

    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    w, h = SIZE
    for i, shade in ((1, 120), (2, 136), (4, 128)):
        Image.new("RGB", SIZE, (shade, shade, shade)).save(images_dir / f"img{i}.jpg", quality=90)
    images = [{"id": i, "file_name": f"img{i}.jpg", "width": w, "height": h} for i in (1, 2, 3, 4)]

    def ann(aid: int, image: int, cat: int, x: int, y: int, side: int, **extra: Any) -> dict:
        return {"id": aid, "image_id": image, "category_id": cat, "iscrowd": 0,
                "segmentation": _square(x, y, side), "area": float(side * side),
                "bbox": [x, y, side, side], **extra}

    annotations = [
        ann(1, 1, 1, 60, 100, 200, area=7.0),  # MC213 too: one rule, cards of two classes
        ann(2, 1, 2, 360, 150, 200, bbox=[10.0, 10.0, 40.0, 40.0]),  # MC211
        ann(3, 2, 3, 200, 120, 220, area=5.0),  # MC213 on the hostile class
        ann(4, 3, 1, 300, 200, 2),  # MC215 tiny, on the missing img3.jpg (MC301)
    ]
    categories = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"},
                  {"id": 3, "name": HOSTILE}, {"id": 4, "name": "unused"}]
    path = root / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories}))
    return path


RGB = tuple[int, int, int]


def parse_hex(colour: str) -> RGB:
    """'#rrggbb' -> (r, g, b)."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def saturation(rgb: RGB) -> float:
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[1]


def hue_distance(a: RGB, b: RGB) -> float:
    """Degrees between two colours' hues on the wheel. A translucent fill over a grey image
    keeps the fill's hue (mixing with a neutral scales every channel difference alike), so
    the hue, not the exact value, says which colour was drawn."""
    ha = colorsys.rgb_to_hsv(*(c / 255 for c in a))[0] * 360
    hb = colorsys.rgb_to_hsv(*(c / 255 for c in b))[0] * 360
    d = abs(ha - hb) % 360
    return min(d, 360 - d)
