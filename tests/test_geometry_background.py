"""Dataset rule MC216, and the invariance of every geometry/image dataset rule."""

from __future__ import annotations

import random
from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.model import Finding


def img(i: int, w: int = 100, h: int = 80) -> dict[str, Any]:
    return {"id": i, "file_name": f"img{i}.jpg", "width": w, "height": h}


CATS = [{"id": 1, "name": "defect_type_a"}, {"id": 2, "name": "defect_type_b"}]
DOT = [[10, 10, 11, 10, 11, 11]]  # half a pixel


@pytest.fixture
def run(write_coco):
    def go(images: list[Any], anns: list[Any], code: str, **options: Any) -> list[Finding]:
        doc = coco_doc(images=images, annotations=anns, categories=CATS)
        report = lint([write_coco(doc)], select=[code], options={code: options} if options else None)
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
        return [f for f in report.findings if f.code == code]

    return go


def test_background_dominance_vanishing_class(run):
    anns = [ann(1, 1, 1), ann(2, 2, 2, segmentation=DOT, bbox=[10, 10, 1, 1], area=0.5),
            ann(3, 2, 1)]
    found = run([img(1), img(2)], anns, "MC216")
    assert [f.location.pointer for f in found] == ["/categories/1"]
    assert found[0].location.category_id == 2
    assert "covers 0.0063% of the pixels" in found[0].message
    # judged against the images it appears in, not against a huge image it is absent from
    big = [img(1), img(2, 4000, 4000)]
    assert run(big, [ann(1, 1, 1)], "MC216", min_class_share=0.01) == []


def test_background_dominance_empty_images(run):
    images = [img(i) for i in range(1, 6)]
    found = run(images, [ann(1, 1, 1), ann(2, 2, 1, iscrowd=1)], "MC216")
    assert [f.location.pointer for f in found] == [""]
    assert "4 of 5 images (80%) have no instance" in found[0].message
    assert run(images, [ann(1, 1, 1), ann(2, 2, 1), ann(3, 3, 1)], "MC216") == []


def messy_geometry_doc() -> dict[str, Any]:
    rng = random.Random(7)
    images = [img(i, rng.choice([100, 64]), 80) for i in range(1, 41)]
    images[5]["file_name"] = images[3]["file_name"]  # a duplicate file
    images[30]["file_name"] = images[3]["file_name"]
    anns: list[Any] = []
    for aid in range(1, 121):
        x = rng.randint(0, 60)
        seg = [[x, 10, x + 20, 10, x + 20, 30, x, 30]]
        anns.append(ann(aid, rng.randint(1, 30), rng.choice([1, 1, 2]), segmentation=seg,
                        bbox=[x, 10, 20, 20], area=400))
    anns[3]["segmentation"] = DOT
    anns[9]["bbox"] = [0, 0, 5, 5]
    anns[12]["iscrowd"] = 1
    anns.append(ann(500, 31, 3, segmentation=DOT, bbox=[10, 10, 1, 1], area=0.5))
    anns.append({**anns[0], "id": 501})  # the same instance twice
    cats = [*CATS, {"id": 3, "name": "defect_type_c"}]
    return coco_doc(images=images, annotations=anns, categories=cats)


def test_geometry_findings_do_not_depend_on_batching(write_coco):
    path = write_coco(messy_geometry_doc())
    codes = ["MC2", "MC3"]
    reference = [f.to_dict() for f in lint([path], select=codes, batch_size=None).findings]
    assert {"MC211", "MC216", "MC218", "MC305"} <= {f["code"] for f in reference}
    for size in (1, 7):
        assert [f.to_dict() for f in lint([path], select=codes, batch_size=size).findings] == reference
    for seed in (0, 1):
        got = lint([path], select=codes, batch_size=7, shuffle_seed=seed).findings
        assert [f.to_dict() for f in got] == reference, f"shuffle {seed}"
