"""RLE rules MC206-MC207 and the compressed-counts decoder."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from conftest import ann, coco_doc
from maskcheck import geometry, lint
from maskcheck.model import Finding


@pytest.fixture
def run(write_coco):
    def go(anns: list[Any], code: str) -> list[Finding]:
        report = lint([write_coco(coco_doc(annotations=anns))], select=[code])
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def rle(counts: Any, size: Any = (80, 100)) -> dict[str, Any]:
    return {"size": list(size), "counts": counts}


def compressed(mask: np.ndarray) -> str:
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def box_mask() -> np.ndarray:
    m = np.zeros((80, 100), dtype=np.uint8)
    m[10:30, 20:50] = 1
    return m


GOOD = rle([1010, 20, 60, 20, 6890])


# --------------------------------------------------------------- MC206 rle-size-mismatch
def test_rle_size_mismatch_fires(run):
    anns = [ann(1, 1, 1, segmentation=GOOD, iscrowd=1),
            ann(2, 1, 1, segmentation=rle([2000], (40, 50)), iscrowd=1),
            ann(3, 2, 1, segmentation=rle([8000], (100, 80)), iscrowd=1)]
    found = run(anns, "MC206")
    assert [f.location.pointer for f in found] == ["/annotations/1/segmentation/size",
                                                   "/annotations/2/segmentation/size"]
    assert "RLE size [40, 50]" in found[0].message and "80 x 100" in found[0].message
    assert "swapped" in found[1].message


def test_rle_size_mismatch_quiet(write_coco):
    images = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}, {"id": 2, "file_name": "b.jpg"}]
    anns = [ann(1, 1, 1, segmentation=GOOD), ann(2, 2, 1, segmentation=rle([100], (10, 10))),
            ann(3, 7, 1, segmentation=rle([100], (10, 10)))]  # unknown image: no size to compare
    report = lint([write_coco(coco_doc(images=images, annotations=anns))], select=["MC206"])
    assert report.findings == []


# --------------------------------------------------------------- MC207 invalid-rle
@pytest.mark.parametrize(("seg", "words"), [
    (rle([10, 20, 30]), "sum to 60 pixels but size [80, 100] has 8,000"),
    (rle([1010, -20, 60, 20, 6930]), "negative run (-20 at position 1)"),
    (rle("0!x"), "character '!' at position 1"),
    (rle("Pd"), "ends in the middle of a number"),
    ({"counts": [8000]}, "lacks 'size'"),
    (rle([1.5, 7998.5]), "list of integers"),
    (rle([8000], [80.0, 100]), "two integers"),  # ["80", 100] is number-as-string's (MC009)
])
def test_invalid_rle_fires(run, seg, words):
    found = run([ann(1, 1, 1, segmentation=GOOD), ann(2, 1, 1, segmentation=seg)], "MC207")
    assert [f.location.pointer for f in found] == ["/annotations/1/segmentation"]
    assert words in found[0].message


def test_invalid_rle_quiet_on_compressed_and_uncompressed(run):
    m = box_mask()
    anns = [ann(1, 1, 1, segmentation=GOOD), ann(2, 1, 1, segmentation=rle(compressed(m))),
            ann(3, 1, 1, segmentation=rle([8000])), ann(4, 2, 1, segmentation=rle([], (0, 0)))]
    assert run(anns, "MC207") == []


# --------------------------------------------------------------- the decoder
def _mask_from_runs(runs: np.ndarray, h: int, w: int) -> np.ndarray:
    flat = np.repeat(np.arange(len(runs)) % 2, runs).astype(np.uint8)
    return flat.reshape(w, h).T


@pytest.mark.parametrize("seed", range(5))
def test_decode_rle_string_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(5, 60)), int(rng.integers(5, 60))
    m = (rng.random((h, w)) < rng.uniform(0.05, 0.9)).astype(np.uint8)
    m[: h // 3] = 1  # long runs too, for multi-character numbers
    runs = geometry.decode_rle_string(compressed(m))
    assert not isinstance(runs, str)
    assert runs.sum() == h * w
    assert np.array_equal(_mask_from_runs(runs, h, w), m)


def test_rle_area_and_extent_are_measured(write_coco):
    from maskcheck.readers import coco

    m = box_mask()
    path = write_coco(coco_doc(annotations=[ann(1, 1, 1, segmentation=rle(compressed(m))),
                                            ann(2, 1, 1, segmentation=GOOD)]))
    batch = next(coco.read_file(path).batches(None))
    mask = geometry.of(batch).mask
    assert mask.area.tolist() == [600.0, 40.0]
    assert mask.extent[0].tolist() == [20.0, 10.0, 50.0, 30.0]
    assert mask.is_rle.all()


def test_decode_rle_string_rejects_non_ascii():
    assert "not ASCII" in geometry.decode_rle_string("0é1")
    assert "outside COCO's RLE alphabet" in geometry.decode_rle_string("0~1")
