"""LabelMe files built to crash or exhaust a reader: each is a finding, never a crash."""

from __future__ import annotations

import base64
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from maskcheck import lint
from test_labelme import TRI, found, messages, shape, write_lm


def png_b64(width: int, height: int, fill: int = 1) -> str:
    buf = io.BytesIO()
    Image.new("1", (width, height), fill).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def png_header_b64(width: int, height: int) -> str:
    """A PNG whose header declares width x height 1-bit pixels and whose data is missing: what
    a bomb looks like to a reader that checks the header first (and costs no memory here)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + chunk(b"IEND", b"")
    return base64.b64encode(data).decode("ascii")


def mask_shape(label: str, x0: int, y0: int, w: int, h: int, bitmap: str) -> dict:
    out = shape(label, [[x0, y0], [x0 + w - 1, y0 + h - 1]], "mask")
    out["mask"] = bitmap
    return out


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


def test_labels_and_group_ids_of_the_wrong_type(tmp_path):
    path = write_lm(tmp_path, "a.json", [shape(["cat"], TRI), shape({"x": 1}, TRI),
                                         shape("cat", TRI, group_id=[1])])
    report = lint([path])
    assert not report.errors and "MC000" not in codes(report)
    assert found(report, "MC414") == [("a.json", "/shapes/2", None)]
    assert "group_id must be an integer or null, got list [1]" in messages(report, "MC414")[0]
    # labels that are not names are invalid-id-type's, at their shapes
    assert found(report, "MC002") == [("a.json", "/shapes/0", None), ("a.json", "/shapes/1", None)]


def test_mask_on_a_huge_declared_canvas_is_encoded_at_its_own_size(tmp_path):
    # 60000 x 60000 once allocated 3.6 GB and crashed inside pycocotools
    path = write_lm(tmp_path, "a.json", [mask_shape("cat", 100, 200, 30, 20, png_b64(30, 20))],
                    imageHeight=40000, imageWidth=50000)
    report = lint([path], select=["MC2", "MC414"])
    assert not report.errors and "MC000" not in codes(report) and "MC414" not in codes(report)
    # the mask's area and box came out right without a canvas: no box-vs-mask finding
    assert "MC211" not in codes(report) and "MC213" not in codes(report)


def test_mask_over_the_rle_size_and_negative_sizes(tmp_path):
    over = write_lm(tmp_path / "over", "a.json", [mask_shape("cat", 0, 0, 4, 4, png_b64(4, 4))],
                    imageHeight=100000, imageWidth=100000)
    neg = write_lm(tmp_path / "neg", "b.json", [mask_shape("cat", 0, 0, 4, 4, png_b64(4, 4))],
                   imageHeight=-5, imageWidth=10)
    for path, expected in ((over, "2,147,483,648"), (neg, "not positive integers")):
        report = lint([path])
        assert not report.errors and "MC000" not in codes(report)
        assert found(report, "MC414") == [(path.name, "/shapes/0", None)]
        assert expected in messages(report, "MC414")[0]


def test_png_bomb_in_a_mask_is_refused_from_its_header(tmp_path):
    bomb = png_header_b64(50000, 50000)  # bytes on disk, 2.5 Gpx decoded
    path = write_lm(tmp_path, "a.json", [mask_shape("cat", 0, 0, 10, 10, bomb)],
                    imageHeight=40000, imageWidth=50000)
    report = lint([path])
    assert not report.errors and "MC000" not in codes(report)
    assert found(report, "MC414") == [("a.json", "/shapes/0", None)]
    assert "50000x50000" in messages(report, "MC414")[0]


def test_mask_that_is_not_a_png(tmp_path):
    path = write_lm(tmp_path, "a.json", [mask_shape("cat", 0, 0, 4, 4, "bm90IGEgcG5n")])
    report = lint([path])
    assert found(report, "MC414") == [("a.json", "/shapes/0", None)]
    assert "not a base64 PNG" in messages(report, "MC414")[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_among_labelme_files_does_not_hang(tmp_path):
    write_lm(tmp_path, "a.json", [shape("cat", TRI)])
    os.mkfifo(tmp_path / "b.json")
    report = lint([tmp_path])
    assert [i["format"] for i in report.inputs] == ["labelme"]
    assert report.images == 1


def test_encode_mask_matches_pycocotools_on_the_canvas():
    from pycocotools import mask as mask_utils

    from maskcheck.geometry import encode_mask

    rng = np.random.default_rng(7)
    for _ in range(300):
        H, W = (int(v) for v in rng.integers(1, 12, 2))
        h, w = (int(v) for v in rng.integers(1, 14, 2))
        top, left = (int(v) for v in rng.integers(-5, 12, 2))
        bits = rng.random((h, w)) < rng.random()
        canvas = np.zeros((H + 40, W + 40), dtype=np.uint8)
        canvas[15 + top:15 + top + h, 15 + left:15 + left + w] = bits
        expected = mask_utils.encode(np.asfortranarray(canvas[15:15 + H, 15:15 + W]))
        got = encode_mask(bits, H, W, top, left)
        assert got["counts"] == expected["counts"] and list(got["size"]) == [H, W]
