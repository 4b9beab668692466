"""Every transform-probe option, through `probe_transform` and `maskcheck probe`: each value
reaches the transform as promised (shapes, dtypes, box values, keys, containers, seeds),
and each bad value is one clear usage line (exit 2) or a ValueError naming it."""

from __future__ import annotations

import copy
import random
import re
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import probe_fixtures as pf
from maskcheck.cli import main
from maskcheck.probe import make_sample, probe_transform

SMALL = (96, 128)  # (H, W): room for 12 instances, fast where the size does not matter
SMALL_CLI = "96x128"


# --- helpers ------------------------------------------------------------------------------------

def probe_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["probe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def usage_line(capsys, *argv: str) -> str:
    """Run the probe expecting a usage error: exit 2, one `maskcheck: ` line, no traceback."""
    code, _, err = probe_cli(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("maskcheck: "), err
    return lines[0]


def module(tmp_path: Path, monkeypatch, source: str) -> str:
    """Write `source` as a fresh importable module (unique name: no sys.modules reuse)."""
    name = f"mc_probe_opts_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)  # forgotten after the test
    return name


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


def seed_of(finding) -> int:
    match = re.fullmatch(r"/seed/(\d+)", finding.location.pointer or "")
    assert match, finding.location
    assert finding.message.startswith(f"seed {match.group(1)}: ")
    return int(match.group(1))


def seeds_of(finding) -> list[int]:
    """The first seed and the `[also seeds ...]` list of a finding."""
    more = re.search(r"\[also seeds? ([\d, ]+)(?: and \d+ more)?\]", finding.message)
    extra = [int(s) for s in more.group(1).split(",")] if more else []
    return [seed_of(finding), *extra]


def sample_by_labels(labels: Any, seeds, size=SMALL, instances=(4, 12)):
    """The sample whose (distinct, random) labels these are."""
    key = [int(v) for v in labels]
    for s in seeds:
        sample = make_sample(s, size, instances)
        if sample.labels.tolist() == key:
            return sample
    raise AssertionError(f"no sample of seeds {list(seeds)} has labels {key}")


def hflip(image, boxes, masks, labels):
    """A correct horizontal flip of an H x W x C image with pixel xyxy boxes."""
    w = image.shape[1]
    out = boxes.copy()
    out[:, [0, 2]] = w - boxes[:, [2, 0]]
    return image[:, ::-1].copy(), out, masks[:, :, ::-1].copy(), labels


FLIP_SOURCE = """
    SEEN = []

    def _flip(image, boxes, masks, labels):
        w = image.shape[1]
        out = boxes.copy()
        out[:, [0, 2]] = w - boxes[:, [2, 0]]
        return image[:, ::-1].copy(), out, masks[:, :, ::-1].copy(), labels
"""


# --- --call-args ----------------------------------------------------------------------------------

def test_call_kwargs_and_args_reach_every_call_api():
    seen: list[tuple[tuple, dict]] = []

    def t(image, boxes, masks, labels, *args, **kwargs):
        seen.append((args, kwargs))
        return hflip(image, boxes, masks, labels)

    report = probe_transform(t, runs=3, image_size=SMALL, call_args=(12, "x"),
                             call_kwargs={"crop": 0.5, "size": [3, 4]})
    assert not report.errors and not report.findings
    assert len(seen) >= 3
    assert all(call == ((12, "x"), {"crop": 0.5, "size": [3, 4]}) for call in seen)


def test_call_args_yaml_parsed_reach_every_call_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(image, boxes, masks, labels, *args, **kwargs):
        SEEN.append((args, kwargs))
        return _flip(image, boxes, masks, labels)
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "3",
                               "--image-size", SMALL_CLI, "--call-args", "crop=0.5",
                               "--call-args", "size=[3, 4]", "--call-args", "n=7",
                               "--call-args", "mode=bilinear", "--call-args", "12")
    assert code == 0, out + err
    seen = sys.modules[name].SEEN
    assert len(seen) >= 3
    for args, kwargs in seen:
        assert args == (12,)
        assert kwargs == {"crop": 0.5, "size": [3, 4], "n": 7, "mode": "bilinear"}
        assert type(kwargs["crop"]) is float and type(kwargs["n"]) is int
        assert type(args[0]) is int


def needs_crop(image, boxes, masks, labels, *, crop):
    return hflip(image, boxes, masks, labels)


def test_missing_required_call_arg_is_mc601_naming_the_type_error():
    report = probe_transform(needs_crop, runs=2, image_size=SMALL)
    assert codes(report) == {"MC601"}
    (finding,) = report.findings
    assert "TypeError" in finding.message and "'crop'" in finding.message
    # given, it is clean
    assert not probe_transform(needs_crop, runs=2, image_size=SMALL,
                               call_kwargs={"crop": 0.5}).findings


def test_missing_required_call_arg_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(image, boxes, masks, labels, crop):
        return _flip(image, boxes, masks, labels)
    """)
    code, out, _ = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "2",
                             "--image-size", SMALL_CLI)
    assert code == 1
    assert "MC601" in out and "TypeError" in out and "crop" in out
    code, out, _ = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "2",
                             "--image-size", SMALL_CLI, "--call-args", "crop=0.5")
    assert code == 0, out


# --- --init-args ----------------------------------------------------------------------------------

INIT_SOURCE = FLIP_SOURCE + """
    CREATED = []

    class Flip:
        def __init__(self, size, scale=1.0):
            CREATED.append((size, scale))

        def __call__(self, image, boxes, masks, labels):
            SEEN.append(type(self).__name__)
            return _flip(image, boxes, masks, labels)

    class Plain:
        def __init__(self):
            CREATED.append("plain")

        def __call__(self, image, boxes, masks, labels):
            return _flip(image, boxes, masks, labels)

    class Broken:
        def __init__(self, size=1):
            raise RuntimeError("no weights at models/x.pt")

    def make(size=10):
        CREATED.append(("make", size))
        return _flip

    def broken_factory(size):
        raise ValueError(f"size {size} is odd")

    def not_callable_factory(size):
        return 42
"""


def test_init_args_construct_the_class(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, INIT_SOURCE)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:Flip", "--init-args", "48",
                               "--init-args", "scale=0.5", "--runs", "2",
                               "--image-size", SMALL_CLI)
    assert code == 0, out + err
    mod = sys.modules[name]
    assert mod.CREATED == [(48, 0.5)]
    assert mod.SEEN and set(mod.SEEN) == {"Flip"}  # its __call__ is the transform


def test_init_args_call_the_factory(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, INIT_SOURCE)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:make", "--init-args", "size=32",
                               "--runs", "2", "--image-size", SMALL_CLI)
    assert code == 0, out + err
    assert sys.modules[name].CREATED == [("make", 32)]


def test_class_without_init_args_is_still_constructed(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, INIT_SOURCE)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:Plain", "--runs", "2",
                               "--image-size", SMALL_CLI)
    assert code == 0, out + err
    assert sys.modules[name].CREATED == ["plain"]


@pytest.mark.parametrize(("attr", "args", "expected"), [
    ("Broken", [], ["calling the class failed", "RuntimeError: no weights at models/x.pt"]),
    ("Broken", ["--init-args", "size=3"], ["calling the class failed", "RuntimeError"]),
    ("broken_factory", ["--init-args", "size=3"],
     ["calling the factory failed", "ValueError: size 3 is odd"]),
    ("not_callable_factory", ["--init-args", "size=3"], ["is not callable", "int"]),
])
def test_construction_failures_are_one_line(tmp_path, monkeypatch, capsys, attr, args, expected):
    name = module(tmp_path, monkeypatch, INIT_SOURCE)
    line = usage_line(capsys, "--transform", f"{name}:{attr}", *args, "--runs", "2",
                      "--image-size", SMALL_CLI)
    assert f"{name}:{attr}" in line
    for text in expected:
        assert text in line


def test_init_args_api():
    created = []

    class Flip:
        def __init__(self, size, *, scale=1.0):
            created.append((size, scale))

        def __call__(self, image, boxes, masks, labels):
            return hflip(image, boxes, masks, labels)

    report = probe_transform(Flip, init_args=(48,), init_kwargs={"scale": 0.5}, runs=2,
                             image_size=SMALL)
    assert not report.errors and not report.findings
    assert created == [(48, 0.5)]

    def factory(size):
        created.append(("factory", size))
        return hflip

    assert not probe_transform(factory, init_kwargs={"size": 5}, runs=2, image_size=SMALL).findings
    assert created[-1] == ("factory", 5)

    class Raises:
        def __init__(self):
            raise RuntimeError("boom")

    report = probe_transform(Raises, runs=2, image_size=SMALL)
    (error,) = report.errors
    assert "calling the class failed" in str(error) and "RuntimeError: boom" in str(error)


# --- --image-size -------------------------------------------------------------------------------

def shape_recorder():
    shapes: list[tuple] = []

    def t(image, boxes, masks, labels):
        shapes.append((image.shape, image.dtype, masks.shape, len(labels)))
        return hflip(image, boxes, masks, labels)

    return t, shapes


def test_default_image_size_is_480x640():
    t, shapes = shape_recorder()
    report = probe_transform(t, runs=1)
    assert shapes and all(s[0] == (480, 640, 3) and s[2][1:] == (480, 640) for s in shapes)
    assert report.inputs[0]["probe"]["image_size"] == [480, 640]


@pytest.mark.parametrize("size", ["1024x768", (1024, 768), [1024, 768]])
def test_image_size_reaches_the_transform(size):
    t, shapes = shape_recorder()
    report = probe_transform(t, runs=1, image_size=size)
    assert not report.findings
    assert shapes and all(s[0] == (1024, 768, 3) and s[2][1:] == (1024, 768) for s in shapes)
    assert report.inputs[0]["probe"]["image_size"] == [1024, 768]


def test_image_size_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(image, boxes, masks, labels):
        SEEN.append(image.shape)
        return _flip(image, boxes, masks, labels)
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "1",
                               "--image-size", "64x600")
    assert code == 0, out + err
    assert set(sys.modules[name].SEEN) == {(64, 600, 3)}


def test_smallest_side_is_allowed_when_the_grid_fits():
    t, shapes = shape_recorder()
    assert not probe_transform(t, runs=1, image_size="32x640").errors
    assert shapes[0][0] == (32, 640, 3)


@pytest.mark.parametrize(("value", "fragment"), [
    ("abc", "'abc'"),
    ("0x10", "0x10"),
    ("10x5000", "10x5000"),
    ("31x64", "31x64"),
    ("64x4097", "64x4097"),
    ("40x40", "too small"),
    ("64x32", "too small"),  # 32 is a legal side, but 12 cells of a 5 x 3 grid do not fit
])
def test_bad_image_size(capsys, value, fragment):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--image-size", value)
    assert "image size" in line and fragment in line
    with pytest.raises(ValueError, match=re.escape(fragment)):
        probe_transform(pf.identity, image_size=value, runs=1)


@pytest.mark.parametrize("value", [(0, 10), (64.0, 96), (1, 2, 3), "12"])
def test_bad_image_size_api(value):
    with pytest.raises(ValueError, match="image size"):
        probe_transform(pf.identity, image_size=value, runs=1)


def test_bounds_message_names_the_range(capsys):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--image-size", "31x64")
    assert "32" in line and "4096" in line


# --- --instances ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["6", 6, (6, 6)])
def test_exact_instances(value):
    t, shapes = shape_recorder()
    report = probe_transform(t, runs=5, image_size=SMALL, instances=value)
    assert not report.findings
    assert len(shapes) >= 5 and {s[3] for s in shapes} == {6} and {s[2][0] for s in shapes} == {6}
    assert report.inputs[0]["probe"]["instances"] == [6, 6]


def test_instance_range_across_seeds(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(image, boxes, masks, labels):
        SEEN.append((len(labels), len(boxes), len(masks)))
        return _flip(image, boxes, masks, labels)
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "10",
                               "--image-size", SMALL_CLI, "--instances", "2..3")
    assert code == 0, out + err
    seen = sys.modules[name].SEEN
    assert all(n == nb == nm for n, nb, nm in seen)
    assert {n for n, _, _ in seen} == {2, 3}  # both ends drawn over ten seeds


@pytest.mark.parametrize(("value", "fragment"), [
    ("5..2", "5..2"), ("0", "'0'"), ("13", "13"), ("a..b", "'a..b'"), ("1..13", "1..13"),
])
def test_bad_instances(capsys, value, fragment):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--instances", value,
                      "--image-size", SMALL_CLI)
    assert "instances" in line and fragment in line
    with pytest.raises(ValueError, match=re.escape(fragment)):
        probe_transform(pf.identity, instances=value, image_size=SMALL, runs=1)


@pytest.mark.parametrize("value", [0, (3, 2), (1, 13), (True, 2), "x"])
def test_bad_instances_api(value):
    with pytest.raises(ValueError, match="instances"):
        probe_transform(pf.identity, instances=value, image_size=SMALL, runs=1)


# --- --image-layout -------------------------------------------------------------------------------

def layout_flip(seen: list):
    """Flips along the width axis of whatever layout comes in and returns that layout."""

    def t(image, boxes, masks, labels):
        seen.append((image.shape, image.dtype, float(image.min()), float(image.max())))
        chw = image.shape[0] == 3
        w = image.shape[-1] if chw else image.shape[1]
        out = boxes.copy()
        out[:, [0, 2]] = w - boxes[:, [2, 0]]
        flipped = image[:, :, ::-1] if chw else image[:, ::-1]
        return flipped.copy(), out, masks[:, :, ::-1].copy(), labels

    return t


@pytest.mark.parametrize(("layout", "name", "chw", "dtype"), [
    ("hwc-uint8", "hwc-uint8", False, np.uint8),
    ("hwc-float", "hwc-float", False, np.float32),
    ("chw-uint8", "chw-uint8", True, np.uint8),
    ("chw-float", "chw-float", True, np.float32),
    ("hwc", "hwc-uint8", False, np.uint8),
    ("chw", "chw-float", True, np.float32),
])
def test_image_layout_reaches_the_transform(layout, name, chw, dtype):
    seen: list = []
    report = probe_transform(layout_flip(seen), runs=3, image_size=SMALL, image_layout=layout)
    assert not report.errors and not report.findings, report.findings
    assert report.inputs[0]["probe"]["image_layout"] == name
    h, w = SMALL
    assert seen
    for shape, got_dtype, low, high in seen:
        assert shape == ((3, h, w) if chw else (h, w, 3))
        assert got_dtype == dtype
        if dtype == np.float32:
            assert low >= 0.0 and high <= 1.0 and high > 0.5  # 0..1, not 0..255
        else:
            assert high > 1.0


def test_image_layout_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, """
    SEEN = []

    def t(image, boxes, masks, labels):
        SEEN.append((image.shape, str(image.dtype), float(image.max())))
        w = image.shape[-1]
        out = boxes.copy()
        out[:, [0, 2]] = w - boxes[:, [2, 0]]
        return image[:, :, ::-1].copy(), out, masks[:, :, ::-1].copy(), labels
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "2",
                               "--image-size", SMALL_CLI, "--image-layout", "chw-float")
    assert code == 0, out + err
    seen = sys.modules[name].SEEN
    assert seen and all(s[0] == (3, *SMALL) and s[1] == "float32" and s[2] <= 1.0 for s in seen)


def test_torchvision_style_defaults_to_chw_uint8():
    seen: list = []

    def t(image, target):
        seen.append((image.shape, image.dtype))
        return pf.hflip_torchvision(image, target)

    report = probe_transform(t, style="torchvision", runs=2, image_size=SMALL)
    assert not report.findings
    assert set(seen) == {((3, *SMALL), np.dtype(np.uint8))}
    assert report.inputs[0]["probe"]["image_layout"] == "chw-uint8"


@pytest.mark.parametrize("value", ["hwc-int16", "whc", "nchw"])
def test_bad_image_layout(capsys, value):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--image-layout", value)
    assert "image layout" in line and repr(value) in line
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        probe_transform(pf.identity, image_layout=value, runs=1)


# --- --box-format and --normalized ----------------------------------------------------------------

def encode(xyxy: np.ndarray, layout: str, normalized: bool, hw: tuple[int, int]) -> np.ndarray:
    """The expected boxes, computed here independently of maskcheck.probe.boxes."""
    x1, y1, x2, y2 = (xyxy[:, i].astype(np.float64) for i in range(4))
    if layout == "xyxy":
        cols = [x1, y1, x2, y2]
    elif layout == "xywh":
        cols = [x1, y1, x2 - x1, y2 - y1]
    else:
        cols = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
    out = np.stack(cols, axis=1)
    if normalized:
        out /= np.array([hw[1], hw[0], hw[1], hw[0]])
    return out


def flip_in(boxes: np.ndarray, layout: str, width: float) -> np.ndarray:
    """A correct horizontal flip of boxes in their own layout (width 1 when normalized)."""
    out = np.array(boxes, dtype=np.float64, copy=True)
    if layout == "xyxy":
        out[:, [0, 2]] = width - out[:, [2, 0]]
    elif layout == "xywh":
        out[:, 0] = width - out[:, 0] - out[:, 2]
    else:
        out[:, 0] = width - out[:, 0]
    return out


FORMATS = [  # (name, normalized flag, layout it means, normalized it means, report name)
    ("xyxy", False, "xyxy", False, "xyxy"),
    ("xywh", False, "xywh", False, "xywh"),
    ("cxcywh", False, "cxcywh", False, "cxcywh"),
    ("pascal_voc", False, "xyxy", False, "xyxy"),
    ("coco", False, "xywh", False, "xywh"),
    ("yolo", False, "cxcywh", True, "cxcywh normalized"),
    ("xyxy", True, "xyxy", True, "xyxy normalized"),
    ("xywh", True, "xywh", True, "xywh normalized"),
    ("cxcywh", True, "cxcywh", True, "cxcywh normalized"),
    ("coco", True, "xywh", True, "xywh normalized"),
]


@pytest.mark.parametrize(("fmt", "flag", "layout", "norm", "shown"), FORMATS)
def test_box_format_inputs_and_a_correct_flip(fmt, flag, layout, norm, shown):
    seen: list = []

    def t(image, boxes, masks, labels):
        seen.append((labels.copy(), boxes.copy()))
        width = 1.0 if norm else image.shape[1]
        return (image[:, ::-1].copy(), flip_in(boxes, layout, width), masks[:, :, ::-1].copy(),
                labels)

    report = probe_transform(t, runs=3, image_size=SMALL, box_format=fmt, normalized=flag)
    assert not report.errors and not report.findings, report.findings
    assert report.inputs[0]["probe"]["box_format"] == shown
    assert seen
    for labels, boxes in seen:
        sample = sample_by_labels(labels, range(3))
        np.testing.assert_allclose(boxes, encode(sample.boxes, layout, norm, SMALL), rtol=1e-6)
        if norm:
            assert boxes.min() >= 0.0 and boxes.max() <= 1.0


def test_yolo_boxes_are_normalized_without_the_flag():
    seen: list = []

    def t(image, boxes, masks, labels):
        seen.append(boxes.copy())
        return image[:, ::-1].copy(), flip_in(boxes, "cxcywh", 1.0), masks[:, :, ::-1].copy(), labels

    report = probe_transform(t, runs=2, image_size=SMALL, box_format="yolo")
    assert not report.findings
    assert seen and all(b.min() >= 0.0 and b.max() <= 1.0 for b in seen)


def test_box_format_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, """
    SEEN = []

    def t(image, boxes, masks, labels):
        SEEN.append((labels.tolist(), boxes.tolist()))
        out = boxes.copy()
        out[:, 0] = 1.0 - boxes[:, 0] - boxes[:, 2]  # x of a normalized x y w h box
        return image[:, ::-1].copy(), out, masks[:, :, ::-1].copy(), labels
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--runs", "2",
                               "--image-size", SMALL_CLI, "--box-format", "coco", "--normalized",
                               "-f", "json")
    assert code == 0, out + err
    assert '"xywh normalized"' in out
    seen = sys.modules[name].SEEN
    assert seen
    for labels, boxes in seen:
        sample = sample_by_labels(labels, range(2))
        np.testing.assert_allclose(boxes, encode(sample.boxes, "xywh", True, SMALL), rtol=1e-6)


@pytest.mark.parametrize(("told", "returns"), [("xywh", "xyxy"), ("coco", "pascal_voc"),
                                               ("cxcywh", "xywh"), ("xyxy", "xywh")])
def test_boxes_returned_in_the_wrong_format_are_mc603(told, returns):
    layout = {"coco": "xywh", "pascal_voc": "xyxy"}.get(told, told)
    back = {"coco": "xywh", "pascal_voc": "xyxy"}.get(returns, returns)

    def t(image, boxes, masks, labels):
        # decode what came in, flip it, but answer in another layout than it was given
        w = image.shape[1]
        b = np.asarray(boxes, dtype=np.float64)
        if layout == "xywh":
            xyxy = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
        elif layout == "cxcywh":
            xyxy = np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)
        else:
            xyxy = b
        flipped = flip_in(xyxy, "xyxy", w)
        return (image[:, ::-1].copy(), encode(flipped, back, False, SMALL),
                masks[:, :, ::-1].copy(), labels)

    report = probe_transform(t, runs=3, image_size=SMALL, box_format=told)
    assert "MC603" in codes(report), report.findings


def test_wrong_box_format_cli_is_mc603(capsys):
    # a correct flip of xyxy boxes, told its boxes are coco's x y w h: they come out wrong
    base = ["--transform", "probe_fixtures:hflip_torchvision", "--style", "torchvision",
            "--runs", "3", "--image-size", SMALL_CLI]
    code, out, _ = probe_cli(capsys, *base, "--box-format", "coco")
    assert code == 1 and "MC603" in out
    code, out, _ = probe_cli(capsys, *base, "--box-format", "pascal_voc")
    assert code == 0, out


@pytest.mark.parametrize("value", ["xyz", "voc", "XYXYN"])
def test_bad_box_format(capsys, value):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--box-format", value)
    assert "box format" in line and repr(value) in line
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        probe_transform(pf.identity, box_format=value, runs=1)


# --- --style dict and --keys ----------------------------------------------------------------------

def get(record: dict, key: str) -> Any:
    for part in key.split("."):
        record = record[part]
    return record


def put(record: dict, key: str, value: Any) -> None:
    *path, last = key.split(".")
    for part in path:
        record = record.setdefault(part, {})
    record[last] = value


MMDET = {"image": "img", "boxes": "gt_bboxes", "masks": "gt_masks", "labels": "gt_labels"}
DETECTRON2 = {"image": "image", "boxes": "instances.gt_boxes", "masks": "instances.gt_masks",
              "labels": "instances.gt_classes"}


def dict_flip(keys: dict[str, str], seen: list, drop: str | None = None):
    def t(record):
        seen.append(record)
        image, boxes, masks = (get(record, keys[p]) for p in ("image", "boxes", "masks"))
        _, boxes, masks, _ = hflip(image, boxes, masks, None)
        out = copy.copy(record)
        if "instances" in out:
            out["instances"] = dict(out["instances"])
        put(out, keys["image"], image[:, ::-1].copy())
        put(out, keys["boxes"], boxes)
        put(out, keys["masks"], masks)
        if drop is not None:
            *path, last = drop.split(".")
            del (get(out, ".".join(path)) if path else out)[last]
        return out

    return t


def keys_text(keys: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in keys.items())


@pytest.mark.parametrize("keys", [MMDET, DETECTRON2], ids=["mmdet", "detectron2"])
@pytest.mark.parametrize("form", ["text", "mapping", "list"])
def test_dict_style_with_keys_probes_a_flip_clean(keys, form):
    seen: list = []
    given: Any = {"text": keys_text(keys), "mapping": keys,
                  "list": [f"{k}={v}" for k, v in keys.items()]}[form]
    report = probe_transform(dict_flip(keys, seen), style="dict", keys=given, runs=3,
                             image_size=SMALL)
    assert not report.errors and not report.findings, report.findings
    assert seen
    top = {k.split(".")[0] for k in keys.values()}
    for record in seen:
        assert set(record) == top
        assert get(record, keys["image"]).shape == (*SMALL, 3)
        assert get(record, keys["labels"]).dtype == np.int64


def test_dict_style_cli_mmdet(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(results):
        SEEN.append(sorted(results))
        img, boxes, masks, labels = _flip(results["img"], results["gt_bboxes"],
                                          results["gt_masks"], results["gt_labels"])
        return {**results, "img": img, "gt_bboxes": boxes, "gt_masks": masks}
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--style", "dict",
                               "--keys", "image=img,boxes=gt_bboxes",
                               "--keys", "masks=gt_masks,labels=gt_labels",
                               "--runs", "2", "--image-size", SMALL_CLI)
    assert code == 0, out + err
    assert sys.modules[name].SEEN[0] == ["gt_bboxes", "gt_labels", "gt_masks", "img"]


def test_dict_style_cli_detectron2_nested(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, FLIP_SOURCE + """
    def t(d):
        inst = d["instances"]
        img, boxes, masks, labels = _flip(d["image"], inst["gt_boxes"], inst["gt_masks"],
                                          inst["gt_classes"])
        return {"image": img, "instances": {"gt_boxes": boxes, "gt_masks": masks,
                                            "gt_classes": labels}}
    """)
    code, out, err = probe_cli(capsys, "--transform", f"{name}:t", "--style", "dict",
                               "--keys", keys_text(DETECTRON2), "--runs", "2",
                               "--image-size", SMALL_CLI)
    assert code == 0, out + err


@pytest.mark.parametrize(("keys", "drop"), [(MMDET, "gt_labels"), (MMDET, "gt_bboxes"),
                                            (DETECTRON2, "instances.gt_classes")])
def test_dict_transform_forgetting_a_key_is_mc601(keys, drop):
    report = probe_transform(dict_flip(keys, [], drop=drop), style="dict", keys=keys, runs=2,
                             image_size=SMALL)
    assert codes(report) == {"MC601"}
    (finding,) = report.findings
    assert f"no {drop}" in finding.message


def test_keys_without_dict_style(capsys):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--keys", "image=img")
    assert "keys" in line and "dict" in line
    with pytest.raises(ValueError, match="dict"):
        probe_transform(pf.identity, keys="image=img", runs=1)
    with pytest.raises(ValueError, match="dict"):
        probe_transform(pf.identity, style="tuple", keys={"image": "img"}, runs=1)


@pytest.mark.parametrize(("value", "fragment"), [
    ("foo=bar", "'foo'"),
    ("image", "'image'"),
    ("image=", "image=''"),
    ("boxes=a.", "boxes='a.'"),
    ("boxes=x,masks=x", "share"),
    ("image=boxes", "share"),  # the default key of boxes
])
def test_bad_keys(capsys, value, fragment):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--style", "dict",
                      "--keys", value)
    assert "keys" in line and fragment in line
    with pytest.raises(ValueError, match=re.escape(fragment)):
        probe_transform(pf.identity, style="dict", keys=value, runs=1)


# --- --containers -------------------------------------------------------------------------------

def list_flip(seen: list | None = None):
    """Needs Python lists: deep-copies and pops (the blog's crop drops instance 0 this way)."""

    def t(image, boxes, masks, labels):
        if seen is not None:
            seen.append((type(boxes), type(masks), type(labels),
                         [type(v) for v in labels], [type(v) for b in boxes for v in b],
                         [type(m) for m in masks]))
        labels = copy.deepcopy(labels)
        labels.pop(0)
        boxes = copy.deepcopy(boxes)
        boxes.pop(0)
        masks = list(masks)
        masks.pop(0)
        w = image.shape[1]
        boxes = [[w - b[2], b[1], w - b[0], b[3]] for b in boxes]
        return image[:, ::-1].copy(), boxes, [m[:, ::-1].copy() for m in masks], labels

    return t


def test_auto_containers_picks_lists_for_list_code():
    report = probe_transform(list_flip(), runs=3, image_size=SMALL)
    assert not report.errors and not report.findings, report.findings
    assert report.inputs[0]["probe"]["containers"] == "list"


def test_auto_containers_keeps_numpy_for_array_code():
    report = probe_transform(hflip, runs=3, image_size=SMALL)
    assert not report.findings
    assert report.inputs[0]["probe"]["containers"] == "numpy"


def test_forced_numpy_on_list_code_is_mc601():
    report = probe_transform(list_flip(), runs=2, image_size=SMALL, containers="numpy")
    assert codes(report) == {"MC601"}
    (finding,) = report.findings
    assert "AttributeError" in finding.message and "pop" in finding.message
    assert report.inputs[0]["probe"]["containers"] == "numpy"


def test_forced_list_passes_python_lists():
    seen: list = []
    report = probe_transform(list_flip(seen), runs=2, image_size=SMALL, containers="list")
    assert not report.findings
    assert report.inputs[0]["probe"]["containers"] == "list"
    assert seen
    for boxes_t, masks_t, labels_t, label_ts, coord_ts, mask_ts in seen:
        assert boxes_t is list and masks_t is list and labels_t is list
        assert set(label_ts) == {int} and set(coord_ts) == {float}
        assert set(mask_ts) == {np.ndarray}


def test_containers_cli(tmp_path, monkeypatch, capsys):
    name = module(tmp_path, monkeypatch, """
    import copy

    def t(image, boxes, masks, labels):
        labels = copy.deepcopy(labels)
        labels.pop(0)
        boxes = copy.deepcopy(boxes)
        boxes.pop(0)
        masks = list(masks)[1:]
        w = image.shape[1]
        boxes = [[w - b[2], b[1], w - b[0], b[3]] for b in boxes]
        return image[:, ::-1].copy(), boxes, [m[:, ::-1].copy() for m in masks], labels
    """)
    base = ["--transform", f"{name}:t", "--runs", "2", "--image-size", SMALL_CLI, "-f", "json"]
    code, out, err = probe_cli(capsys, *base)
    assert code == 0, out + err
    assert '"containers": "list"' in out
    code, out, _ = probe_cli(capsys, *base, "--containers", "numpy")
    assert code == 1 and "MC601" in out and "AttributeError" in out


@pytest.mark.parametrize("value", ["tensors", "lists", "Numpy"])
def test_bad_containers(capsys, value):
    line = usage_line(capsys, "--transform", "probe_fixtures:identity", "--containers", value)
    assert "containers" in line and repr(value) in line
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        probe_transform(pf.identity, containers=value, runs=1)


# --- seeds ----------------------------------------------------------------------------------------

def mixed_random_bug(image, boxes, masks, labels):
    """Buggy when both the stdlib's and numpy's global generators say so."""
    image, boxes, masks, labels = hflip(image, boxes, masks, labels)
    if random.random() < 0.5 and np.random.randint(0, 2) == 1:
        labels = labels[::-1].copy()
    return image, boxes, masks, labels


def without_also(message: str) -> str:
    return re.sub(r" \[also seeds? [^\]]*\]", "", message)


def test_a_finding_seed_reproduces_with_runs_1():
    report = probe_transform(mixed_random_bug, runs=10, image_size=SMALL)
    assert report.findings and codes(report) == {"MC602"}
    assert not any("not reproducible" in f.message for f in report.findings)
    for finding in report.findings:
        s = seed_of(finding)
        again = probe_transform(mixed_random_bug, runs=1, seed=s, image_size=SMALL)
        assert [(f.code, f.location.pointer, f.message) for f in again.findings] == \
            [(finding.code, f"/seed/{s}", without_also(finding.message))]


def test_seed_reproduces_on_the_cli(capsys):
    report = probe_transform(pf.buggy_random_crop, runs=6, image_size=SMALL)
    finding = report.findings[0]
    s = seed_of(finding)
    code, out, _ = probe_cli(capsys, "--transform", "probe_fixtures:buggy_random_crop",
                             "--runs", "1", "--seed", str(s), "--image-size", SMALL_CLI)
    assert code == 1 and f"/seed/{s}" in out and "not reproducible" not in out


class ThirdCallBug:
    """Buggy on its third call only, whatever the seed: no seed can reproduce that."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image, boxes, masks, labels):
        self.calls += 1
        image, boxes, masks, labels = hflip(image, boxes, masks, labels)
        if self.calls == 3:
            labels = labels[::-1].copy()
        return image, boxes, masks, labels


def test_a_finding_that_does_not_repeat_says_so():
    transform = ThirdCallBug()
    report = probe_transform(transform, runs=5, image_size=SMALL, containers="numpy")
    (finding,) = report.findings
    assert finding.code == "MC602" and seed_of(finding) == 2
    assert "not reproducible" in finding.message and "seed 2 run again" in finding.message
    assert transform.calls == 6  # five runs and the re-run of seed 2


def test_the_global_generators_are_restored():
    random.seed(1234)
    np.random.seed(1234)
    py_state, np_state = random.getstate(), np.random.get_state()
    probe_transform(mixed_random_bug, runs=4, image_size=SMALL)
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]


# --- --save-failures ------------------------------------------------------------------------------

def test_save_failures_writes_one_png_per_failing_seed(tmp_path):
    out = tmp_path / "fails"
    # few instances: some crops drop only instances after the kept ones, and stay right
    report = probe_transform("probe_fixtures:buggy_random_crop", runs=6, image_size=SMALL,
                             instances=(2, 4), save_failures=out)
    failing = {s for f in report.findings for s in seeds_of(f)}
    assert failing and failing != set(range(6)), "want failing and clean seeds both"
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"seed-{s:05d}.png" for s in sorted(failing)]
    probe = report.inputs[0]["probe"]
    assert probe["saved"] == len(files) and probe["folder"] == str(out)
    for name in files:
        with Image.open(out / name) as im:
            im.load()
            assert im.format == "PNG"
            assert im.width > im.height and im.width > 2 * SMALL[1]
            assert panels(im) == 2  # the input beside the output


def panels(im: Image.Image) -> int:
    """How many pictures stand side by side on the white canvas: runs of at least 40
    columns that are mostly non-white over the pictures' rows (a 1 px white halo or a
    white text pixel inside a picture does not split it; the white gap between two does)."""
    arr = np.asarray(im.convert("RGB"))
    band = arr[20:max(21, arr.shape[0] * 3 // 5)]
    inked = (band != 255).any(axis=2).mean(axis=0) > 0.5
    edges = np.flatnonzero(np.diff(np.r_[False, inked, False].astype(np.int8)))
    widths = edges[1::2] - edges[0::2]
    return int((widths >= 40).sum())


def test_save_failures_cli_creates_a_nested_folder(tmp_path, capsys):
    out = tmp_path / "a" / "b" / "c"
    code, stdout, err = probe_cli(capsys, "--transform", "probe_fixtures:buggy_random_crop",
                                  "--runs", "6", "--image-size", SMALL_CLI,
                                  "--save-failures", str(out), "-f", "json")
    assert code == 1, stdout + err
    assert out.is_dir()
    pngs = list(out.glob("seed-*.png"))
    assert pngs and f'"saved": {len(pngs)}' in stdout


def test_clean_transform_saves_nothing(tmp_path):
    out = tmp_path / "fails"
    report = probe_transform(hflip, runs=4, image_size=SMALL, save_failures=out)
    assert not report.findings
    assert not out.exists() or not any(out.iterdir())
    assert report.inputs[0]["probe"]["saved"] == 0


def test_save_failures_into_a_file_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "report.txt"
    blocker.write_text("x", encoding="utf-8")
    line = usage_line(capsys, "--transform", "probe_fixtures:buggy_random_crop", "--runs", "2",
                      "--image-size", SMALL_CLI, "--save-failures", str(blocker))
    assert str(blocker) in line and "not a folder" in line
    with pytest.raises(ValueError, match="not a folder"):
        probe_transform(pf.buggy_random_crop, runs=2, image_size=SMALL, save_failures=blocker)
    assert blocker.read_text(encoding="utf-8") == "x"


# --- transform-only options with a dataset --------------------------------------------------------

@pytest.mark.parametrize("option", [
    ["--box-format", "coco"], ["--image-layout", "chw-float"], ["--keys", "image=img"],
    ["--init-args", "3"], ["--label-field", "category_ids"], ["--save-failures", "fails"],
])
def test_transform_only_options_with_a_dataset(capsys, tmp_path, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    line = usage_line(capsys, "probe_fixtures:GoodDataset", *option)
    assert option[0] in line and "--transform" in line
    assert not (tmp_path / "fails").exists()


@pytest.mark.parametrize("option", [["--image-size", "64x600"], ["--instances", "2..3"],
                                    ["--containers", "list"], ["--normalized"]])
def test_input_options_with_a_dataset(capsys, option):
    line = usage_line(capsys, "probe_fixtures:GoodDataset", *option)
    assert option[0] in line
