"""Property-based fuzzing of every reader: hostile values in every field, through the CLI.

For each reader, hypothesis builds a small valid dataset of that format and replaces fields
with hostile values (huge and negative numbers, NaN-like strings, nested lists, objects,
control characters, very long strings). Whatever it builds, `maskcheck lint` must:
exit 0, 1 or 2; print no traceback and no internal error; report no crashed rule (MC000);
write nothing into the input tree; keep stderr to one line per unreadable input; and stay
inside a time and memory budget. Examples are bounded so the suite stays fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskcheck.cli import main

EXAMPLES = 40
SECONDS_PER_CASE = 20
PEAK_BYTES_PER_CASE = 400 * 1024**2

_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**32 + 1, 2**63 - 1, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([1e308, -1e308, 1e-320, 0.5]),
)
_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\x1b[2J", "\x1b]0;pwned\x07", "a\nb", "../../etc/passwd", "/dev/zero",
                     "C:\\x\\y.jpg", "x" * 300, "NaN", "1e999", "", " "]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _text)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _hostile() -> st.SearchStrategy[Any]:
    return st.one_of(_scalars, _values, st.lists(_numbers, min_size=1, max_size=40))


def _mutate(doc: Any, edits: list[tuple[int, Any]]) -> Any:
    """Replace the values at the chosen positions of a walk through `doc`."""
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k in list(node):
                slots.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                slots.append((node, i))
                walk(node[i])

    walk(doc)
    for pick, value in edits:
        if slots:
            parent, key = slots[pick % len(slots)]
            parent[key] = value
    return doc


def _run(tmp: Path, target: Path) -> None:
    before = sorted(p.relative_to(tmp) for p in tmp.rglob("*"))
    out, err = io.StringIO(), io.StringIO()

    def too_slow(*_: Any) -> None:
        raise TimeoutError(f"a case took over {SECONDS_PER_CASE} s")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(SECONDS_PER_CASE)
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["lint", str(target), "--format", "json", "--fail-on", "error"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    stderr = err.getvalue()
    assert code in (0, 1, 2), (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert "maskcheck bug" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) <= 1, lines
    assert peak < PEAK_BYTES_PER_CASE, f"peak {peak:,} bytes"
    if out.getvalue().strip():
        report = json.loads(out.getvalue())
        crashed = [f for f in report["findings"] if f["code"] == "MC000"]
        assert not crashed, crashed
    after = sorted(p.relative_to(tmp) for p in tmp.rglob("*"))
    assert after == before, "maskcheck wrote into the input tree"


def _case(tmp_path_factory: pytest.TempPathFactory, build: Callable[[Path], Path]) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    _run(tmp, build(tmp))


_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.data_too_large])
_edits = st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), _hostile()),
                  min_size=1, max_size=4)


# ------------------------------------------------------------------------------- formats
def _coco() -> dict[str, Any]:
    return {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30},
                   {"id": 2, "file_name": "b.jpg", "width": 40, "height": 30}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "area": 100,
             "iscrowd": 0, "segmentation": [[2, 2, 12, 2, 12, 12, 2, 12]]},
            {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 2, 2], "area": 4,
             "iscrowd": 1, "segmentation": {"size": [30, 40], "counts": [0, 2, 28, 2, 1168]}},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }


@_settings
@given(edits=_edits)
def test_coco_reader(tmp_path_factory, edits):
    def build(tmp: Path) -> Path:
        path = tmp / "ann.json"
        path.write_text(json.dumps(_mutate(_coco(), edits)))
        return path

    _case(tmp_path_factory, build)


@_settings
@given(edits=_edits)
def test_records_reader(tmp_path_factory, edits):
    records = [
        {"image_id": 1, "label": 1, "bbox": [0, 0, 5, 5], "mask": [[0, 1], [1, 1]]},
        {"image_id": 2, "labels": [1, 2], "boxes": [[0, 0, 2, 2], [1, 1, 3, 3]],
         "masks": [{"size": [4, 4], "counts": [0, 16]}, [[0, 0, 2, 0, 2, 2]]]},
    ]

    def build(tmp: Path) -> Path:
        path = tmp / "records.json"
        path.write_text(json.dumps(_mutate(records, edits)))
        return path

    _case(tmp_path_factory, build)


@_settings
@given(edits=_edits)
def test_labelme_reader(tmp_path_factory, edits):
    doc = {"version": "5.4.1", "flags": {}, "imagePath": "a.jpg", "imageData": None,
           "imageHeight": 30, "imageWidth": 40,
           "shapes": [{"label": "cat", "points": [[1, 1], [20, 1], [20, 20]], "group_id": None,
                       "shape_type": "polygon", "flags": {}},
                      {"label": "dog", "points": [[5, 5], [9, 9]], "group_id": 1,
                       "shape_type": "circle", "flags": {}}]}

    def build(tmp: Path) -> Path:
        (tmp / "lm").mkdir()
        (tmp / "lm/a.json").write_text(json.dumps(_mutate(doc, edits)))
        (tmp / "lm/labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n")
        return tmp / "lm"

    _case(tmp_path_factory, build)


def _scalar_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)[:200]


@_settings
@given(values=st.lists(_scalars, min_size=1, max_size=6), yaml_value=_scalars)
def test_yolo_reader(tmp_path_factory, values, yaml_value):
    def build(tmp: Path) -> Path:
        root = tmp / "yolo"
        (root / "images").mkdir(parents=True)
        (root / "labels").mkdir()
        (root / "images/a.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # header only: unreadable
        row = " ".join(_scalar_text(v).replace("\n", " ") for v in values)
        (root / "labels/a.txt").write_text(f"0 0.1 0.1 0.5 0.1 0.5 0.5\n{row}\n")
        (root / "data.yaml").write_text(
            f"path: .\ntrain: images\nval: images\nnc: {json.dumps(_scalar_text(yaml_value))}\n"
            "names: [cat]\n")
        return root

    _case(tmp_path_factory, build)


def _xml_attr(value: Any) -> str:
    text = _scalar_text(value)
    return "".join(c for c in text if c >= " " or c == "\t").replace("&", "&amp;").replace(
        '"', "&quot;").replace("<", "&lt;")


@_settings
@given(values=st.lists(_scalars, min_size=7, max_size=7))
def test_cvat_reader(tmp_path_factory, values):
    w, h, pts, rle, left, mw, mh = (_xml_attr(v) for v in values)

    def build(tmp: Path) -> Path:
        path = tmp / "annotations.xml"
        path.write_text(
            "<annotations><version>1.1</version><meta><task><labels><label><name>car</name>"
            "</label></labels></task></meta>"
            f'<image id="0" name="a.jpg" width="{w}" height="{h}">'
            f'<polygon label="car" points="{pts}"/>'
            f'<mask label="car" rle="{rle}" left="{left}" top="0" width="{mw}" height="{mh}"/>'
            '<box label="car" xtl="1" ytl="1" xbr="3" ybr="3"/>'
            "</image></annotations>\n")
        return path

    _case(tmp_path_factory, build)


@_settings
@given(values=st.lists(_scalars, min_size=6, max_size=6))
def test_voc_reader(tmp_path_factory, values):
    name, xmin, ymin, xmax, ymax, width = (_xml_attr(v) for v in values)

    def build(tmp: Path) -> Path:
        root = tmp / "voc"
        (root / "Annotations").mkdir(parents=True)
        (root / "Annotations/a.xml").write_text(
            f"<annotation><filename>a.jpg</filename><size><width>{width}</width>"
            "<height>30</height><depth>3</depth></size><object>"
            f"<name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object></annotation>\n")
        return root

    _case(tmp_path_factory, build)
