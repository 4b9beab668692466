"""MC203: a zero-width retrace (out along a line and back on itself) overlaps itself, so
shapely calls the ring invalid, but it has no lobe: pycocotools fills the same mask with or
without it. Only rings that still cross once their folds are removed are reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from conftest import coco_doc
from maskcheck import lint, raster

W, H = 640, 480
IMAGES = [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}]
SQUARE = [100, 100, 140, 100, 140, 140, 100, 140]

RETRACES = {
    # down x = 125 from the bottom edge and back
    "spike": [100, 100, 140, 100, 140, 140, 125, 140, 125, 300, 125, 140, 100, 140],
    # as in COCO val2014 annotation 584048: up the right border past the corner, back 0.95 px
    "border": [452, 1.91, 458, 116.8, 591.67, 214.46, 585.93, 420.3, 640, 208.71, 640, 0.96,
               640, 1.91],
    # as in annotation 2220402: the ring starts on a fold (last -> first -> second on y = 206.22)
    "at the start": [219.26, 206.22, 201.48, 206.22, 170.67, 205.04, 141.04, 226.37, 131.56, 290.37,
                     229.93, 286.81, 245.33, 215.7, 218.07, 206.22],
    # out through three vertices and back through the same ones: folds peel off one by one
    "dense": [100, 100, 140, 100, 140, 140, 130, 140, 130, 160, 130, 180, 130, 200, 130, 180,
              130, 160, 130, 140, 100, 140],
    # a retrace whose tip is written twice, and one on a diagonal
    "repeated tip": [100, 100, 140, 100, 140, 140, 120, 140, 120, 260, 120, 260, 120, 140, 100, 140],
    "diagonal": [100, 100, 140, 100, 140, 140, 200.5, 200.5, 140, 140, 100, 140],
    # a spike on a spike: a side branch retraced inside the retrace
    "branched": [100, 100, 140, 100, 140, 140, 120, 140, 120, 200, 160, 200, 120, 200, 120, 260,
                 120, 140, 100, 140],
}


def coco_ann(aid: int, seg: list[float]) -> dict[str, Any]:
    box = mask_utils.toBbox(mask_utils.frPyObjects([seg], H, W)[0]).tolist()
    return {"id": aid, "image_id": 1, "category_id": 1, "segmentation": [seg], "bbox": box,
            "area": 1600.0, "iscrowd": 0}


@pytest.fixture
def mc203(write_coco):
    def go(segs: list[list[float]]) -> list[Any]:
        anns = [coco_ann(i + 1, s) for i, s in enumerate(segs)]
        report = lint([write_coco(coco_doc(images=IMAGES, annotations=anns))], select=["MC203"])
        assert not report.errors
        return [f for f in report.findings if f.code == "MC203"]

    return go


def unfolded(seg: list[float]) -> list[float]:
    xy = np.reshape(seg, (-1, 2)).astype(float)
    out, _ = raster.drop_folds(xy, np.zeros(len(xy), dtype=np.int64), 1)
    return out.ravel().tolist()


@pytest.mark.parametrize("name", RETRACES)
def test_a_retrace_is_no_crossing(mc203, name):
    import shapely

    seg = RETRACES[name]
    ring = np.reshape(seg, (-1, 2))
    assert not shapely.is_valid(shapely.Polygon(ring))  # what MC203 used to report
    clean = unfolded(seg)
    assert shapely.is_valid(shapely.Polygon(np.reshape(clean, (-1, 2))))
    # the mask the trainer gets does not change when the retrace goes
    with_it, without = (mask_utils.frPyObjects([s], H, W)[0] for s in (seg, clean))
    assert with_it["counts"] == without["counts"]  # the same runs: the same pixels
    assert mc203([seg]) == []


BOWTIE = [10, 10, 40, 30, 40, 10, 10, 20]
# a crossing with a retrace elsewhere in the ring: the retrace goes, the crossing stays
BOWTIE_AND_RETRACE = [10, 10, 40, 30, 40, 10, 48, 10, 40, 10, 10, 20]
# a small loop (the outline runs round a knot of a few pixels) beside a spike under a pixel
# wide but not zero-width, as in LabelMe's 2011_000006 shapes/1
LOOP = [100, 100, 200, 100, 200, 200, 170, 200, 150, 195, 152, 199, 158, 194, 140, 200, 120, 240,
        119.3, 200.5, 100, 200]


def test_a_genuine_crossing_still_fires(mc203):
    found = mc203([SQUARE, BOWTIE, BOWTIE_AND_RETRACE, LOOP])
    assert [f.location.pointer for f in found] == ["/annotations/1/segmentation/0",
                                                   "/annotations/2/segmentation/0",
                                                   "/annotations/3/segmentation/0"]
    assert "crosses itself" in found[0].message


def test_the_mask_differs_when_a_crossing_is_unfolded():
    # the contrast with the retraces: removing folds leaves a bow-tie a bow-tie
    assert unfolded(BOWTIE) == [float(v) for v in BOWTIE]
    assert len(unfolded(BOWTIE_AND_RETRACE)) == len(BOWTIE_AND_RETRACE) - 4


def test_real_labelme_crossings_stay_and_val2014_retraces_go(realdata):
    labelme = realdata / "wkentaro__labelme" / "examples" / "instance_segmentation"
    report = lint([labelme], select=["MC203"])
    found = sorted((Path(f.location.path).name, f.location.pointer) for f in report.findings)
    # two outlines, each in LabelMe's JSON and in its COCO export: small loops that cross
    assert found == [("2011_000006.json", "/shapes/0"), ("2011_000006.json", "/shapes/1"),
                     ("annotations.json", "/annotations/6/segmentation/0"),
                     ("annotations.json", "/annotations/7/segmentation/0")]
    val = realdata / "MiXaiLL76__faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
    assert [f for f in lint([val], select=["MC203"]).findings if f.code == "MC203"] == []
