"""The dataset probe against the torchvision target contract, on numpy-only Datasets."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest

import maskcheck
import probe_fixtures as pf
from conftest import ann, coco_doc
from maskcheck.catalog import all_rules
from maskcheck.cli import main
from maskcheck.docs import pages_dir
from maskcheck.probe import CODES, probe_dataset
from maskcheck.probe.codes import DATASET_CODES, TRANSFORM_CODES
from maskcheck.probe.target import parse_call_args

SIZE = 12  # GoodDataset's length: samples=SIZE visits every index


def located(report: maskcheck.Report) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.location.pointer) for f in report.findings)


def test_good_dataset_is_clean():
    report = probe_dataset(pf.GoodDataset(), num_classes=4, samples=SIZE, repeats=2)
    assert report.findings == [] and report.errors == []
    assert report.images == 2 * SIZE
    assert report.annotations == 2 * sum(len(pf._scene(i)[3]) for i in range(SIZE))


def test_tensor_and_iterable_datasets_are_read():
    assert probe_dataset(pf.TensorDataset(), num_classes=4).findings == []
    report = probe_dataset(pf.IterableDataset(), num_classes=4, samples=5, repeats=1)
    assert report.findings == [] and report.images == 5


def test_buggy_dataset_exact_findings():
    report = probe_dataset(pf.BuggyDataset(), num_classes=4, samples=SIZE, repeats=3, seed=0)
    assert located(report) == [("MC603", "/sample/5"), ("MC605", "/sample/7"),
                               ("MC607", "/sample/0"), ("MC613", "/sample/3")]
    by = {f.code: f for f in report.findings}
    assert by["MC603"].message.startswith("sample 5 (seed 0): box 0 (44, 4, 54, 14) fits mask 3, "
                                          "not mask 0")
    assert "also seeds 1, 2" in by["MC603"].message
    assert "labels are int32" in by["MC607"].message
    assert "also samples 1, 2, 3, 4, 5 and 6 more" in by["MC607"].message
    assert "instance 0 has label 0" in by["MC613"].message
    # the empty mask comes from a random branch: the seed named reproduces it
    seed = int(by["MC605"].message.split("seed ")[1].split(")")[0])
    random.seed(seed)
    np.random.seed(seed)
    _, target = pf.BuggyDataset()[7]
    assert not target["masks"][1].any()


def test_factory_by_spec_with_call_args():
    args, kwargs = parse_call_args(["buggy=true", "size=6"])
    assert (args, kwargs) == ([], {"buggy": True, "size": 6})
    report = probe_dataset("probe_fixtures:make_dataset", call_args=args, call_kwargs=kwargs,
                           num_classes=4, samples=6)
    assert {f.code for f in report.findings} >= {"MC603", "MC607", "MC613"}
    assert all(f.location.path == "probe_fixtures:make_dataset" for f in report.findings)
    clean = probe_dataset("probe_fixtures:GoodDataset", call_args=[5], num_classes=4)
    assert clean.findings == [] and clean.images == 5 * 3


class _Custom(pf.GoodDataset):
    """A dataset whose targets an `edit(index, image, target)` function spoils."""

    def __init__(self, edit: Any, size: int = 4) -> None:
        super().__init__(size)
        self.edit = edit

    def __getitem__(self, index: int) -> Any:
        image, target = super().__getitem__(index)
        return self.edit(index, image, target)


def _set(key: str, fn: Any):
    def edit(index: int, image: np.ndarray, target: dict[str, Any]):
        target[key] = fn(target[key])
        return image, target
    return edit


@pytest.mark.parametrize(("edit", "code", "words"), [
    (_set("labels", lambda v: v + 2), "MC612", "outside 1 .. 3 (--num-classes 4"),
    (_set("labels", lambda v: v.astype(np.float32)), "MC607", "float32 (not integer)"),
    (_set("labels", lambda v: v[:, None]), "MC607", "expected (N,)"),
    (_set("boxes", lambda v: v.astype(np.int64)), "MC609", "torchvision's box regression"),
    (_set("boxes", lambda v: v[:, :3]), "MC609", "expected (N, 4)"),
    (_set("masks", lambda v: v.transpose(0, 2, 1)), "MC606", "but the image is 40 x 60"),
    (_set("masks", lambda v: v[:, None]), "MC606", "shape (2, 1, 40, 60), expected (N, H, W)"),
    (_set("masks", lambda v: v[:-1]), "MC604", "boxes, 2 labels, 1 mask"),
    (lambda i, im, t: (im, {k: v for k, v in t.items() if k != "masks"}), "MC614", "has no masks"),
    (lambda i, im, t: {"image": im, **t}, "MC601", "the dataset returned a dict"),
    (lambda i, im, t: (im, [{"bbox": [1, 2, 3, 4], "category_id": 1}]), "MC601",
     "returned (image, a list of 1), expected the target to be a dict of boxes"),
])
def test_contract_defects(edit, code, words):
    report = probe_dataset(_Custom(edit, size=1), num_classes=4, samples=1, repeats=1)
    found = [f for f in report.findings if f.code == code]
    assert found, [f.message for f in report.findings]
    assert found[0].location.pointer == "/sample/0"
    assert words in found[0].message, found[0].message


def test_degenerate_and_outside_boxes():
    def edit(index, image, target):
        boxes = target["boxes"].copy()
        boxes[0, 2] = boxes[0, 0]  # no width
        boxes[1, 2] = 61  # past the 60 px wide image
        target["boxes"] = boxes
        return image, target

    report = probe_dataset(_Custom(edit, size=1), num_classes=4, samples=1, repeats=1)
    by = {f.code: f for f in report.findings}
    assert "box 0 (2, 4, 2, 14) has no area" in by["MC610"].message
    assert "box 1 (16, 4, 61, 14) reaches outside the 60 x 40 image" in by["MC611"].message
    assert str(by["MC611"].severity) == "warning"


def test_getitem_raising_is_reported_per_sample():
    def edit(index, image, target):
        if index == 2:
            raise KeyError("segmentation")
        return image, target

    report = probe_dataset(_Custom(edit), num_classes=4, samples=4, repeats=2)
    assert located(report) == [("MC601", "/sample/2")]
    assert report.findings[0].message == ("sample 2 (seed 0): fetching the item raised KeyError: "
                                          "'segmentation' [also seed 1]")


def test_no_instances_is_inconclusive():
    def edit(index, image, target):
        return image, {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64),
                       "masks": np.zeros((0, 40, 60), np.uint8)}

    report = probe_dataset(_Custom(edit), samples=4, repeats=1)
    assert [f.code for f in report.findings] == ["MC619"]


def test_empty_dataset_is_inconclusive():
    report = probe_dataset(pf.GoodDataset(0))
    assert [(f.code, f.location.pointer) for f in report.findings] == [("MC619", "/seed/0")]


def test_iterable_that_raises_names_the_position():
    class Dies:
        def __iter__(self):
            yield pf.GoodDataset()[0]
            raise RuntimeError("worker died")

    report = probe_dataset(Dies(), samples=5, repeats=1)
    assert located(report) == [("MC601", "/sample/1")]
    assert "RuntimeError: worker died" in report.findings[0].message


def test_string_labels_still_count_instances():
    report = probe_dataset(_Custom(_set("labels", lambda v: np.array(["cat"] * len(v)))),
                           samples=2, repeats=1)
    assert [f.code for f in report.findings] == ["MC607"]
    assert "labels are <U3 (not integer)" in report.findings[0].message
    assert report.annotations > 0


# --- the label histogram against the annotation file ------------------------------------------

@pytest.fixture
def three_classes(write_coco):
    cats = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "dent"}, {"id": 3, "name": "crack"}]
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 60, "height": 40} for i in range(SIZE)]
    anns = [ann(3 * i + c, i, c) for i in range(SIZE) for c in (1, 2, 3)]
    anns.append(ann(99, 1, 3, iscrowd=1))
    return write_coco(coco_doc(images=images, annotations=anns, categories=cats))


def test_histogram_matches(three_classes):
    report = probe_dataset(pf.GoodDataset(), num_classes=4, samples=SIZE, annotations=three_classes)
    assert report.findings == []
    assert {"path": str(three_classes), "format": "coco"} in report.inputs


def test_class_vanished(three_classes):
    report = probe_dataset(pf.MissingClassDataset(), num_classes=4, samples=SIZE,
                           annotations=three_classes)
    assert [f.code for f in report.findings] == ["MC615"]
    f = report.findings[0]
    assert f.location.path.endswith("MissingClassDataset") and f.location.pointer == "/seed/0"
    assert 'class 3 "crack" never came out of the pipeline, though 12 of the 12 images in' in f.message
    assert "about 12 of the items probed should" in f.message


def test_label_collapse(three_classes):
    report = probe_dataset(pf.CollapsingDataset(), num_classes=4, samples=SIZE,
                           annotations=three_classes)
    assert [f.code for f in report.findings] == ["MC616"]
    assert "have label 1" in report.findings[0].message


def test_small_sample_does_not_cry_vanish(three_classes):
    # 6 items of 12, fetched 3 times: 6 items expected to show each class, too few to judge
    for dataset in (pf.MissingClassDataset(), pf.CollapsingDataset()):
        report = probe_dataset(dataset, num_classes=4, samples=6, repeats=3,
                               annotations=three_classes)
        assert report.findings == []


def test_remapped_ids_compare_the_number_of_classes():
    from collections import Counter

    from maskcheck.probe.histogram import FileCounts, compare

    file = FileCounts(counts=Counter({10: 40, 20: 40, 30: 40}),
                      images_with=Counter({10: 12, 20: 12, 30: 12}), only=Counter(),
                      annotated=12, images=12, names={10: "a", 20: "b", 30: "c"})
    assert compare(file, Counter({1: 9, 2: 9, 3: 9}), 1.0, "f.json") == []
    merged = compare(file, Counter({1: 9, 2: 18}), 1.0, "f.json")
    assert [i.code for i in merged] == ["MC615"]
    assert "produced 2 distinct labels (1, 2), but 3 classes" in merged[0].detail
    assert [i.code for i in compare(file, Counter({1: 27}), 1.0, "f.json")] == ["MC616"]
    assert compare(file, Counter({1: 27}), 0.25, "f.json") == []  # 3 items: too few to judge


def test_unreadable_annotations_is_an_error(tmp_path):
    bad = tmp_path / "ann.json"
    bad.write_text("{not json")
    report = probe_dataset(pf.GoodDataset(), annotations=bad)
    assert report.findings == [] and len(report.errors) == 1


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools
def test_real_coco_subset_through_a_correct_pipeline_is_clean(realdata):
    path = realdata / "MiXaiLL76__faster_coco_eval/tests/dataset/cocoapi/instances_val2014_100.json"
    report = probe_dataset(pf.CocoNumpyDataset(str(path)), num_classes=91, samples=100,
                           repeats=1, annotations=path)
    assert report.errors == [] and report.findings == [], [f.message for f in report.findings]
    assert report.images == 100 and report.annotations == 830


# --- loading --------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "kwargs", "message"), [
    ("probe_fixtures:broken_factory", {}, "calling the dataset factory failed: FileNotFoundError"),
    ("probe_fixtures:not_a_dataset_factory", {}, "the factory returned a int, not a dataset"),
    ("probe_fixtures:NOT_CALLABLE", {}, "expected a dataset or a factory"),
    (pf.GoodDataset(), {"call_args": [3]}, "takes no call arguments"),
])
def test_unloadable_dataset(target, kwargs, message):
    report = probe_dataset(target, **kwargs)
    assert report.findings == [] and len(report.errors) == 1
    assert message in report.errors[0].message


def test_cli(capsys, three_classes):
    assert main(["probe", "probe_fixtures:make_dataset", "--call-args", "buggy=true",
                 "--num-classes", "4", "--samples", "12", "-f", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert {f["code"] for f in doc["findings"]} == {"MC603", "MC605", "MC607", "MC613"}
    assert main(["probe", "probe_fixtures:GoodDataset", "--num-classes", "4",
                 "--annotations", str(three_classes)]) == 0
    capsys.readouterr()
    assert main(["probe", "probe_fixtures:broken_factory"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["maskcheck: probe_fixtures:broken_factory: calling the dataset factory failed: "
                   "FileNotFoundError: data/train: no such folder"]
    assert main(["probe", "probe_fixtures:GoodDataset", "--annotations", "/no/such.json"]) == 2


# --- the codes --------------------------------------------------------------------------------

def test_probe_codes_are_documented_and_not_rules():
    text = (pages_dir() / "PROBE.md").read_text(encoding="utf-8")
    for code in CODES.values():
        assert f"\n## {code.code} {code.name}\n" in text, code.code
        assert code.code.startswith("MC6") and code.name == code.name.lower()
    assert set(TRANSFORM_CODES) | set(DATASET_CODES) == set(CODES)
    rules = {(r.code, r.name) for r in all_rules()}
    assert not {c for c, _ in rules} & set(CODES)
    assert not {n for _, n in rules} & {c.name for c in CODES.values()}
