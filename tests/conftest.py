"""Shared fixtures: the real datasets beside the project, and small COCO builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REALDATA = SHARED / "realdata"

# The billion-laughs entity bomb: 10^9 "lol"s if a parser expands &lol9;
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


@pytest.fixture
def isolated_registry():
    """Plugins loaded in a test stay loaded in the process: forget them after each test."""
    from maskcheck import plugins

    saved = [(cache, dict(cache)) for cache in (plugins._loaded, plugins._readers, plugins._reporters)]
    yield
    for cache, before in saved:
        cache.clear()
        cache.update(before)
    plugins.load_entry_points(refresh=True)


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is absent (it sits beside the project in CI and dev checkouts)")
    return REALDATA


def coco_doc(
    images: list[dict[str, Any]] | None = None,
    annotations: list[Any] | None = None,
    categories: list[Any] | None = None,
) -> dict[str, Any]:
    """A small valid COCO document; pass lists to replace any section."""
    if images is None:
        images = [{"id": i, "file_name": f"img{i}.jpg", "width": 100, "height": 80} for i in (1, 2)]
    if categories is None:
        categories = [{"id": 1, "name": "defect_type_a"}, {"id": 2, "name": "defect_type_b"}]
    if annotations is None:
        annotations = [
            ann(1, 1, 1), ann(2, 1, 2), ann(3, 2, 1), ann(4, 2, 2),
        ]
    return {"images": images, "annotations": annotations, "categories": categories}


def ann(aid: Any, image_id: Any, category_id: Any, **extra: Any) -> dict[str, Any]:
    """A valid annotation: a 10x10 square, at (10, 10) for id 1.

    Integer ids get squares on a 6x5 grid (inside a 100x80 image) so that annotations of
    one image do not overlap: overlapping instances are a defect of their own (MC218/219).
    """
    p = aid - 1 if type(aid) is int else 0
    x, y = 10 + 12 * (p % 6), 10 + 12 * ((p // 6) % 5)
    out = {
        "id": aid, "image_id": image_id, "category_id": category_id,
        "segmentation": [[x, y, x + 10, y, x + 10, y + 10, x, y + 10]],
        "bbox": [x, y, 10, 10], "area": 100.0, "iscrowd": 0,
    }
    out.update(extra)
    return out


@pytest.fixture
def write_coco(tmp_path: Path):
    """write_coco(doc, name="ann.json") -> Path"""

    def write(doc: Any, name: str = "ann.json") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))
        return path

    return write
