"""`maskcheck stats` renderers: the class histogram as terminal bars and as JSON.

Tables come from real lint runs: the shipped defects example (numbers counted here from its
JSON) and a tiny COCO whose areas and image sizes make every pixel share exactly known.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import maskcheck
from maskcheck.classstats import ClassTable
from maskcheck.reporters.class_table import percent, render, to_json

ROOT = Path(__file__).resolve().parents[1]
DEFECTS = ROOT / "examples" / "defects"
HOSTILE_MARKUP = "[bold]x[/]"
HOSTILE_HTML = "<img src=x onerror=alert(1)>"


def _text(tables: list[ClassTable], width: int, **kw: Any) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, force_terminal=False, **kw)
    render(tables, console)
    return buf.getvalue()


def _row(text: str, class_id: int) -> str:
    """The one table line of `class_id` (its id is the first field of the line)."""
    found = [ln for ln in text.splitlines() if re.match(rf"\s*{class_id}\s", ln)]
    assert len(found) == 1, (class_id, text)
    return found[0]


def _bar(line: str) -> int:
    """Length of the instance bar: the first run of full blocks on the line."""
    m = re.search("█+", line)
    return len(m.group()) if m else 0


def _square(x: int, y: int, w: int, h: int) -> list[list[int]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


@pytest.fixture
def tiny(tmp_path: Path) -> ClassTable:
    """Two 100x100 images (20,000 px): class 1 one 10x10 square (0.5%), class 2 four 5x5
    squares over both images (0.5%), class 3 two 20x10 boxes (2%) plus a crowd region that
    counts as crowd, not as pixels; class 4 declared and unused. Background: 97%."""
    anns: list[dict[str, Any]] = [dict(id=1, image_id=1, category_id=1, segmentation=_square(10, 10, 10, 10),
                                       area=100, bbox=[10, 10, 10, 10], iscrowd=0)]
    for k in range(4):
        anns.append(dict(id=2 + k, image_id=1 + k % 2, category_id=2,
                         segmentation=_square(50 + 10 * k, 50, 5, 5), area=25,
                         bbox=[50 + 10 * k, 50, 5, 5], iscrowd=0))
    anns += [dict(id=6, image_id=2, category_id=3, segmentation=_square(0, 0, 20, 10), area=200,
                  bbox=[0, 0, 20, 10], iscrowd=0),
             dict(id=7, image_id=2, category_id=3, segmentation=_square(0, 80, 20, 10), area=200,
                  bbox=[0, 80, 20, 10], iscrowd=0),
             dict(id=8, image_id=1, category_id=3, segmentation=_square(70, 70, 20, 20), area=400,
                  bbox=[70, 70, 20, 20], iscrowd=1)]
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100},
                      {"id": 2, "file_name": "b.png", "width": 100, "height": 100}],
           "annotations": anns,
           "categories": [{"id": 1, "name": "square"}, {"id": 2, "name": HOSTILE_MARKUP},
                          {"id": 3, "name": HOSTILE_HTML}, {"id": 4, "name": "spare"}]}
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(doc))
    (t,) = maskcheck.lint([path], examples=0).classes
    return t


@pytest.fixture(scope="module")
def defects() -> list[ClassTable]:
    tables = maskcheck.lint([DEFECTS], examples=0).classes
    return sorted(tables, key=lambda t: t.path)


def _counted(name: str) -> tuple[dict[int, int], dict[int, set[int]], int]:
    """Instances per usable (integer) category_id, the distinct existing images holding each,
    and the annotations without a usable id — counted straight from the file."""
    doc = json.loads((DEFECTS / name).read_text())
    image_ids = {i["id"] for i in doc["images"] if isinstance(i.get("id"), int)}
    instances: dict[int, int] = defaultdict(int)
    images: dict[int, set[int]] = defaultdict(set)
    unlabelled = 0
    for a in doc["annotations"]:
        if not isinstance(a, dict):
            continue
        cid = a.get("category_id")
        if not isinstance(cid, int) or isinstance(cid, bool):
            unlabelled += 1
            continue
        instances[cid] += 1
        if a.get("image_id") in image_ids:
            images[cid].add(a["image_id"])
    return instances, images, unlabelled


def test_defects_tables_match_the_files(defects: list[ClassTable]) -> None:
    assert [Path(t.path).name for t in defects] == ["annotations.json", "annotations_val.json"]
    for t in defects:
        instances, images, unlabelled = _counted(Path(t.path).name)
        assert {r.id: r.instances for r in t.rows if r.instances} == dict(instances)
        assert {r.id: r.images for r in t.rows if r.images} == {c: len(s) for c, s in images.items()}
        assert t.unlabelled == unlabelled
        for width in (60, 120):
            text = _text([t], width)
            for r in t.rows:
                fields = _row(text, r.id).split()
                assert str(r.instances) in fields
                assert str(r.images) in fields
                assert percent(r.share) in fields
            bg = next(ln for ln in text.splitlines() if ln.startswith("background"))
            assert t.background_share is not None and percent(t.background_share) in bg
            assert f"background {percent(t.background_share)}" in text  # the heading


def test_defects_text_details(defects: list[ClassTable]) -> None:
    train, val = defects
    text = _text(defects, 120)
    assert str(DEFECTS / "annotations.json") in text and str(DEFECTS / "annotations_val.json") in text
    assert "coco · 7 images · sizes known for 6 · 3 without instances" in text
    assert "coco · 3 images · background" in text
    assert "note: 2 instances without a usable class id" in text
    assert text.count("without a usable class id") == 1  # val has none: no note for it
    assert "unused" in _row(text.split("annotations_val.json")[0], 4)  # 'Defect_Type_C ', declared only
    assert '"Defect_Type_C "' in text  # its trailing blank shows
    assert "(undeclared)" in _row(text.split("annotations_val.json")[0], 9)  # id 9 has no category
    val_text = _text([val], 120)
    assert "unused" in _row(val_text, 2) and "unused" in _row(val_text, 3)
    assert "unused" not in _row(val_text, 1)
    # rows in id order, the background row last
    lines = [ln for ln in _text([train], 120).splitlines() if re.match(r"\s*\d+\s", ln)]
    assert [int(ln.split()[0]) for ln in lines] == sorted(r.id for r in train.rows)
    assert _text([train], 120).splitlines()[-2].startswith("background")


def test_bars_scale_to_the_largest_class(defects: list[ClassTable]) -> None:
    train = defects[0]
    for width in (60, 120):
        text = _text([train], width)
        bars = {r.id: _bar(_row(text, r.id)) for r in train.rows}
        top = max(bars.values())
        assert bars[1] == top  # 4 instances, the largest
        assert bars[2] < top and bars[0] < bars[2]  # 3 and 1
        assert bars[0] == bars[3] == bars[9] >= 1
        assert bars[4] == 0  # unused
        assert abs(bars[2] / top - 3 / 4) <= 1.5 / top  # rounded to whole blocks
    assert _bar(_row(_text([train], 60), 1)) < _bar(_row(_text([train], 120), 1))  # bars shrink


def test_tiny_coco_exact_shares(tiny: ClassTable) -> None:
    assert tiny.image_pixels == 20000 and tiny.foreground == 600
    assert tiny.background_share == pytest.approx(0.97)
    text = _text([tiny], 120)
    assert _row(text, 1).split()[-2:] == ["0.50%", "▏"]  # 100 px of 20,000
    assert "0.50%" in _row(text, 2).split()
    row3 = _row(text, 3)
    assert "2.00%" in row3.split() and "+1 crowd" in row3  # the crowd region adds no pixels
    assert "unused" in _row(text, 4) and "0%" in _row(text, 4).split()
    bg = text.splitlines()[-1]
    assert bg.startswith("background") and "97.00%" in bg
    # the background's bar: 97% of the share column; the classes' bars a sliver each
    assert re.search("█+", bg) is not None and _bar(bg) > 5 * len("▏")
    bars = {r.id: _bar(_row(text, r.id)) for r in tiny.rows}
    assert bars[2] > bars[3] > bars[1] > 0 and bars[4] == 0  # 4, 2, 1 instances


def test_one_percent_of_one_image(tmp_path: Path) -> None:
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": _square(20, 20, 10, 10),
                            "area": 100, "bbox": [20, 20, 10, 10], "iscrowd": 0}],
           "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    (t,) = maskcheck.lint([tmp_path / "annotations.json"], examples=0).classes
    text = _text([t], 60)
    fields = _row(text, 1).split()
    assert fields[:3] == ["1", "thing", "1"] and set(fields[3]) == {"█"}
    assert fields[4:6] == ["1", "1.00%"]  # one image, 100 px of 10,000
    assert "99.00%" in text.splitlines()[-1]
    data = json.loads(to_json([t]))["datasets"][0]
    assert data["classes"][0]["pixel_share"] == pytest.approx(0.01)
    assert data["background_share"] == pytest.approx(0.99)


@pytest.mark.parametrize("width", [60, 120])
def test_hostile_names_print_literally(tiny: ClassTable, width: int) -> None:
    text = _text([tiny], width)
    assert "\x1b" not in text
    if width == 120:
        assert HOSTILE_MARKUP in _row(text, 2) and HOSTILE_HTML in _row(text, 3)
    else:  # cut to fit, but what is shown is the literal start of the name
        assert _row(text, 2).split()[1].rstrip("…") in HOSTILE_MARKUP
        assert _row(text, 3).split(None, 1)[1].startswith("<img src")
    # a colour terminal: styled, yet the names are still not read as markup
    buf = io.StringIO()
    render([tiny], Console(file=buf, width=width, force_terminal=True, color_system="standard"))
    coloured = buf.getvalue()
    assert "\x1b[" in coloured
    assert "[bold]x[" in coloured and "<img src" in coloured


def test_control_characters_are_shown_not_obeyed(tiny: ClassTable) -> None:
    rows = tuple(replace(r, name="evil\x1b[2J\nline") if r.id == 1 else r for r in tiny.rows)
    text = _text([replace(tiny, rows=rows)], 120)
    assert "\x1b" not in text and "evil\\x1b[2J\\nline" in _row(text, 1)


@pytest.mark.parametrize("width", [60, 120])
def test_layout_fits_the_width(defects: list[ClassTable], tiny: ClassTable, width: int) -> None:
    tables = [*defects, tiny]
    text = _text(tables, width)
    assert "\x1b" not in text
    rows = [ln for ln in text.splitlines() if re.match(r"\s*\d+\s", ln) or ln.startswith("background")]
    assert len(rows) == sum(len(t.rows) + 1 for t in tables)  # one line per row: nothing wrapped
    assert all(len(ln) <= width for ln in text.splitlines())
    # the explicit width wins over the console's
    buf = io.StringIO()
    render(tables, Console(file=buf, width=200, no_color=True, force_terminal=False), width=width)
    assert all(len(ln) <= width for ln in buf.getvalue().splitlines())


def test_ascii_console_falls_back_to_hashes(tiny: ClassTable) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    render([tiny], Console(file=out, width=80, no_color=True, force_terminal=False))
    out.flush()
    text = raw.getvalue().decode("ascii")
    assert "####" in _row(text, 2) and "█" not in text


def test_unknown_image_sizes(tmp_path: Path) -> None:
    doc = {"images": [{"id": 1, "file_name": "a.png"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5],
                            "segmentation": _square(0, 0, 5, 5), "area": 25, "iscrowd": 0}],
           "categories": [{"id": 1, "name": "thing"}]}
    (tmp_path / "annotations.json").write_text(json.dumps(doc))
    (t,) = maskcheck.lint([tmp_path / "annotations.json"], examples=0).classes
    assert t.background_share is None
    text = _text([t], 60)
    assert "image sizes unknown" in text
    assert _row(text, 1).split()[-1] == "?" and text.splitlines()[-1].split() == ["background", "?"]
    data = json.loads(to_json([t]))
    assert data["datasets"][0]["background_share"] is None


def test_json_round_trips(defects: list[ClassTable], tiny: ClassTable) -> None:
    tables = [*defects, tiny]
    out = to_json(tables)
    assert out.endswith("}\n") and out.startswith('{\n  "version": 1')
    data = json.loads(out)
    assert data["version"] == 1 and len(data["datasets"]) == 3
    for t, d in zip(tables, data["datasets"], strict=True):
        assert d == t.to_dict() | {"classes": [r.to_dict() for r in t.rows]}
        assert d["path"] == t.path and d["background_share"] == pytest.approx(t.background_share)
        assert [c["id"] for c in d["classes"]] == [r.id for r in t.rows]
        assert [(c["instances"], c["images"], c["crowd"]) for c in d["classes"]] == \
               [(r.instances, r.images, r.crowd) for r in t.rows]
    tiny_d = data["datasets"][2]
    assert {c["name"] for c in tiny_d["classes"]} >= {HOSTILE_MARKUP, HOSTILE_HTML}  # names as written
    assert [c["pixel_share"] for c in tiny_d["classes"]] == pytest.approx([0.005, 0.005, 0.02, 0.0])
    assert to_json([]) == '{\n  "version": 1,\n  "datasets": []\n}\n'


def test_json_numbers_stay_finite(tiny: ClassTable) -> None:
    rows = tuple(replace(r, pixels=math.nan, share=math.inf) if r.id == 1 else r for r in tiny.rows)
    data = json.loads(to_json([replace(tiny, rows=rows, foreground=math.nan)]))
    first = data["datasets"][0]["classes"][0]
    assert first["pixels"] is None and first["pixel_share"] is None
    assert data["datasets"][0]["foreground_pixels"] is None


def test_percent() -> None:
    assert percent(0.0) == "0%"
    assert percent(0.01) == "1.00%"
    assert percent(0.97) == "97.00%"
    assert percent(1.0) == "100.00%"
    assert percent(0.0000123) == "0.0012%"  # tiny, yet never shown as 0
