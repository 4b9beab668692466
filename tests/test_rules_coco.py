"""Every issue-2 rule on COCO input: where it must fire (exact locations) and where it must not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import ROOT, ann, coco_doc
from maskcheck import lint
from maskcheck.model import Finding

ISSUE2_CODES = ("MC001", "MC002", "MC003", "MC004", "MC005", "MC006", "MC007", "MC008",
                "MC101", "MC102", "MC103", "MC104", "MC105", "MC106", "MC107")


@pytest.fixture
def run(write_coco):
    """run(doc, code, **options) -> the findings of rule `code` alone, in report order."""

    def go(doc: Any, code: str, **options: Any) -> list[Finding]:
        report = lint([write_coco(doc)], select=[code], options={code: options} if options else None)
        assert not report.errors, report.errors
        assert not [f for f in report.findings if f.code == "MC000"], "a rule crashed"
        return [f for f in report.findings if f.code == code]

    return go


def where(f: Finding) -> tuple:
    loc = f.location
    return loc.pointer, loc.image_id, loc.annotation_id, loc.category_id


def img(i: Any, **extra: Any) -> dict[str, Any]:
    return {"id": i, "file_name": f"img{i}.jpg", "width": 100, "height": 80, **extra}


CATS3 = [{"id": 1, "name": "defect_type_a"}, {"id": 2, "name": "defect_type_b"},
         {"id": 3, "name": "defect_type_c"}]


# ------------------------------------------------------------------ MC001 malformed-record
def test_malformed_record_not_an_object(run):
    doc = coco_doc(images=[img(1), 5], annotations=[ann(1, 1, 1), "defect_type_a", ann(3, 1, 2)],
                   categories=[{"id": 1, "name": "a"}, 3, {"id": 2, "name": "b"}])
    found = {f.location.pointer: f for f in run(doc, "MC001")}
    assert set(found) == {"/images/1", "/annotations/1", "/categories/1"}
    assert where(found["/annotations/1"]) == ("/annotations/1", None, None, None)
    assert "not a JSON object" in found["/annotations/1"].message
    assert "not a JSON object" in found["/categories/1"].message


def test_malformed_record_missing_fields(run):
    doc = coco_doc(images=[img(1), {"id": 2, "file_name": "b.jpg", "width": 100}],
                   annotations=[ann(1, 1, 1), {"id": 2, "image_id": 1, "bbox": [1, 1, 5, 5]}],
                   categories=[{"id": 1, "name": "a"}, {"name": "b"}, {"id": 3}])
    found = run(doc, "MC001")
    assert [where(f) for f in found] == [
        ("/categories/1", None, None, None),
        ("/categories/2", None, None, 3),
        ("/images/1", 2, None, None),
        ("/annotations/1", 1, 2, None),
    ]
    assert "lacks 'id'" in found[0].message
    assert "lacks 'name'" in found[1].message
    assert "lacks 'height'" in found[2].message
    assert "lacks 'category_id'" in found[3].message


def test_malformed_record_wrong_shapes(run):
    doc = coco_doc(
        images=[img(1), {"id": 2, "file_name": 7, "width": "wide", "height": 80}],  # "640": MC009
        annotations=[ann(1, 1, 1, bbox=[1, 2, 3]), ann(2, 1, 1, area="big"), ann(3, 1, 1, iscrowd=2),
                     ann(4, 1, 1, iscrowd=None), ann(5, 1, 1, iscrowd="no"), ann(6, 1, 1, segmentation=5),
                     ann(7, 2, 1)],
        categories=[{"id": 1, "name": None}])
    msgs = {(f.location.pointer, f.message) for f in run(doc, "MC001")}
    assert msgs == {
        ("/categories/0", "category name must be a string, got null"),
        ("/images/1", "file_name must be a string, got 7"),
        ("/images/1", 'width must be a number, got "wide"'),
        ("/annotations/0", "bbox must be a list of 4 numbers [x, y, width, height], got [1, 2, 3]"),
        ("/annotations/1", 'area must be a number, got "big"'),
        ("/annotations/3", "iscrowd must be 0 or 1, got null"),
        ("/annotations/4", 'iscrowd must be 0 or 1, got "no"'),
        ("/annotations/5", "segmentation must be a list of polygons or an RLE object, got 5"),
    }
    found = run(coco_doc(annotations=[ann(1, 1, 1, segmentation="poly")]), "MC001")
    assert [f.message for f in found] == [
        'segmentation must be a list of polygons or an RLE object, got "poly"']


def test_malformed_record_top_level(run, write_coco):
    found = run({"images": {"id": 1}, "annotations": [], "categories": []}, "MC001")
    assert [(f.location.pointer, f.message) for f in found] == [
        ("/images", "'images' must be a list of objects, got a JSON object")]
    found = run({"images": [img(1)], "annotations": [ann(1, 1, 1)]}, "MC001")
    assert [f.location.pointer for f in found] == [""]
    assert "no 'categories' list" in found[0].message


def test_malformed_record_quiet_on_valid_variants(run):
    bbox_only = ann(1, 1, 1, segmentation=[])
    no_crowd_key = {k: v for k, v in ann(2, 1, 2).items() if k != "iscrowd"}
    rle = ann(3, 2, 1, iscrowd=1, segmentation={"size": [80, 100], "counts": [0, 10, 7990]})
    extra = ann(4, 2, 2, attributes={"occluded": False}, score=0.9)
    doc = coco_doc(annotations=[bbox_only, no_crowd_key, rle, extra])
    doc["info"] = None
    assert run(doc, "MC001") == []
    assert run(coco_doc(), "MC001") == []


# ------------------------------------------------------------------ MC002 invalid-id-type
def test_invalid_id_type_string_mixed_with_int(run):
    doc = coco_doc(images=[img(2299), img("17")],
                   annotations=[ann(1, 2299, 1), ann(2, "2299", 1), ann(3, "17", 2)])
    found = run(doc, "MC002")
    assert [where(f) for f in found] == [
        ("/images/1", "17", None, None),
        ("/annotations/1", "2299", 2, 1),
        ("/annotations/2", "17", 3, 2),
    ]
    assert found[1].message.startswith('image_id "2299" is a string, not an integer: write it as 2299')
    assert "pycocotools treats" in found[1].message


def test_invalid_id_type_floats_nulls_and_categories(run):
    doc = coco_doc(
        annotations=[ann(6.0, 1, 1), ann(None, 1, 2), ann(8, None, 1), ann(9, 2, 1.0), ann(10, 2, None),
                     ann(2**70, 2, 2)],
        categories=[{"id": 1, "name": "a"}, {"id": "2", "name": "b"}, {"id": None, "name": "c"}])
    found = run(doc, "MC002")
    got = [(f.location.pointer, f.message) for f in found]
    assert got == [
        ("/categories/1", 'category id "2" is a string, not an integer: write it as 2. Mixed with '
                          'integer ids, pycocotools treats "2" and 2 as different keys and silently '
                          "loses the link"),
        ("/categories/2", "category id is null, not an integer: the record cannot be linked to anything"),
        ("/annotations/0", "annotation id 6.0 is a float, not an integer: write it as 6"),
        ("/annotations/1", "annotation id is null, not an integer: the record cannot be linked to anything"),
        ("/annotations/2", "image_id is null, not an integer: the record cannot be linked to anything"),
        ("/annotations/3", "category_id 1.0 is a float, not an integer: write it as 1"),
        ("/annotations/4", "category_id is null, not an integer: the record cannot be linked to anything"),
        ("/annotations/5", f"annotation id {2**70} does not fit in a 64-bit integer"),
    ]
    assert where(found[2]) == ("/annotations/0", 1, 6.0, 1)


def test_invalid_id_type_leaves_string_labels_and_ints_alone(run):
    doc = coco_doc(annotations=[ann(1, 1, "defect_type_a"), ann(2, 1, "3"), ann(3, 2, 1)])
    assert run(doc, "MC002") == []
    assert run(coco_doc(), "MC002") == []
    missing = {k: v for k, v in ann(4, 1, 1).items() if k != "image_id"}  # malformed-record's case
    assert run(coco_doc(annotations=[missing]), "MC002") == []


# ------------------------------------------------------------------ MC003/MC004 duplicate ids
def test_duplicate_image_id(run):
    doc = coco_doc(images=[img(1), img(2), img(1), img(1)], annotations=[ann(1, 1, 1)])
    found = run(doc, "MC003")
    assert [where(f) for f in found] == [("/images/2", 1, None, None), ("/images/3", 1, None, None)]
    assert found[0].message.startswith("image id 1 is used 3 times (first at /images/0)")
    assert run(coco_doc(), "MC003") == []


def test_duplicate_image_id_ignores_non_integer_ids(run):
    # "1" and 1 are different keys to pycocotools: invalid-id-type's finding, not a duplicate
    assert run(coco_doc(images=[img(1), img("1")], annotations=[]), "MC003") == []


def test_duplicate_annotation_id(run):
    doc = coco_doc(annotations=[ann(7, 1, 1), ann(8, 1, 2), ann(7, 2, 1)])
    found = run(doc, "MC004")
    assert [where(f) for f in found] == [("/annotations/2", None, 7, None)]
    assert found[0].message.startswith("annotation id 7 is used 2 times (first at /annotations/0)")
    assert run(coco_doc(), "MC004") == []


def test_duplicate_annotation_id_across_batches(write_coco):
    images = [img(i) for i in range(1, 6)]
    doc = coco_doc(images=images, annotations=[ann(1, 5, 1), ann(2, 1, 1), ann(1, 3, 2)])
    report = lint([write_coco(doc)], select=["MC004"], batch_size=1)
    assert [f.location.pointer for f in report.findings] == ["/annotations/2"]


# ------------------------------------------------------------------ MC005/MC006 categories
def test_duplicate_category_id(run):
    doc = coco_doc(categories=[{"id": 1, "name": "Cat"}, {"id": 2, "name": "dog"},
                               {"id": 1, "name": "cow"}])
    found = run(doc, "MC005")
    assert [where(f) for f in found] == [("/categories/2", None, None, 1)]
    assert "first as 'Cat' at /categories/0" in found[0].message
    assert run(coco_doc(), "MC005") == []
    found = run(coco_doc(categories=[{"id": 1}, {"id": 1, "name": "dog"}]), "MC005")
    assert [f.location.pointer for f in found] == ["/categories/1"]
    assert "first as a category without a name at /categories/0" in found[0].message


def test_duplicate_category_name_case_and_whitespace(run):
    doc = coco_doc(categories=[{"id": 1, "name": "Cat"}, {"id": 2, "name": "cat "},
                               {"id": 3, "name": "dog"}, {"id": 4, "name": "Cat"}])
    found = run(doc, "MC006")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2), ("/categories/3", None, None, 4)]
    assert "'cat ' differs only in case or whitespace from 'Cat' (id 1 at /categories/0)" in found[0].message
    assert "'Cat' is already the name of id 1 at /categories/0" in found[1].message


def test_duplicate_category_name_quiet(run):
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "cats"}, {"id": 3, "name": "wild cat"},
            {"id": 4}, {"id": 5, "name": None}]
    assert run(coco_doc(categories=cats), "MC006") == []


# ------------------------------------------------------------------ MC007 orphan-annotation
def test_orphan_annotation(run):
    doc = coco_doc(images=[img(1), img("17")],
                   annotations=[ann(1, 1, 1), ann(2, 99, 2), ann(3, "1", 1), ann(4, "17", 2), ann(5, 17, 1)])
    found = run(doc, "MC007")
    assert [where(f) for f in found] == [
        ("/annotations/1", 99, 2, 2),
        ("/annotations/2", "1", 3, 1),
        ("/annotations/4", 17, 5, 1),
    ]
    assert found[0].message.startswith("image_id 99 matches no image in 'images'")
    assert found[1].message.startswith('image_id "1" matches no image')


def test_orphan_annotation_quiet(run):
    assert run(coco_doc(), "MC007") == []
    no_image_id = {k: v for k, v in ann(1, 1, 1).items() if k != "image_id"}
    doc = coco_doc(annotations=[no_image_id, ann(2, None, 1), ann(3, 1, 1), ann(4, 2, 2)])
    assert run(doc, "MC007") == []  # absent and null image_id belong to MC001 and MC002


# ------------------------------------------------------------------ MC008 image-without-annotations
def test_image_without_annotations(run):
    doc = coco_doc(images=[img(1), img(2), img(3), "not an image"], annotations=[ann(1, 1, 1), ann(2, 3, 1)])
    found = run(doc, "MC008")
    assert [where(f) for f in found] == [("/images/1", 2, None, None)]
    assert "'img2.jpg' has no annotations" in found[0].message
    found = run(coco_doc(images=[img(1), {"id": 2, "width": 100, "height": 80}],
                         annotations=[ann(1, 1, 1)]), "MC008")
    assert [(f.location.pointer, f.message[:29]) for f in found] == [
        ("/images/1", "this image has no annotations")]


def test_image_without_annotations_quiet(run):
    assert run(coco_doc(), "MC008") == []
    doc = coco_doc(annotations=[ann(1, 1, 1), ann(2, 2, 1, iscrowd=1)])  # a crowd region counts
    assert run(doc, "MC008") == []


# ------------------------------------------------------------------ MC101 string-label
def test_string_label_class_name(run):
    found = run(coco_doc(annotations=[ann(7, 2, "defect_type_a")]), "MC101")
    assert [where(f) for f in found] == [("/annotations/0", 2, 7, 1)]
    assert found[0].message == ('category_id "defect_type_a" is a string, not an integer id: it is a '
                                'class name; categories define "defect_type_a" as id 1')


def test_string_label_number_as_text(run):
    cats = CATS3
    found = run(coco_doc(annotations=[ann(1, 1, "3"), ann(2, 1, "7")], categories=cats), "MC101")
    assert [where(f) for f in found] == [("/annotations/0", 1, 1, 3), ("/annotations/1", 1, 2, 7)]
    assert found[0].message == ('category_id "3" is a string, not an integer id: write it as the '
                                'integer 3; categories define id 3 as "defect_type_c"')
    assert found[1].message == 'category_id "7" is a string, not an integer id: write it as the integer 7'


def test_string_label_loose_and_unknown_names(run):
    doc = coco_doc(annotations=[ann(1, 1, " Defect_Type_B"), ann(2, 1, "scratch")])
    found = run(doc, "MC101")
    assert [where(f) for f in found] == [("/annotations/0", 1, 1, 2), ("/annotations/1", 1, 2, None)]
    assert 'matches category "defect_type_b" (id 2) apart from case or whitespace' in found[0].message
    assert "no category has that name" in found[1].message


def test_string_label_quiet_on_integers(run):
    assert run(coco_doc(), "MC101") == []
    assert run(coco_doc(annotations=[ann(1, 1, 1.0), ann(2, 1, None)]), "MC101") == []  # MC002's


# ------------------------------------------------------------------ MC102 unmapped-class
def test_unmapped_class(run):
    found = run(coco_doc(annotations=[ann(1, 1, 1), ann(2, 2, 9)]), "MC102")
    assert [where(f) for f in found] == [("/annotations/1", 2, 2, 9)]
    assert found[0].message.startswith("category_id 9 is not in 'categories' (defined: 1, 2)")


def test_unmapped_class_without_categories(run):
    found = run({"images": [img(1)], "annotations": [ann(1, 1, 1)]}, "MC102")
    assert [f.location.pointer for f in found] == ["/annotations/0"]
    assert "no categories are defined" in found[0].message


def test_unmapped_class_quiet(run):
    assert run(coco_doc(), "MC102") == []
    # a category record without a name still defines its id (MC001 reports the missing name)
    assert run(coco_doc(categories=[{"id": 1, "name": "a"}, {"id": 2}]), "MC102") == []
    assert run(coco_doc(annotations=[ann(1, 1, "defect_type_a")]), "MC102") == []  # MC101's


# ------------------------------------------------------------------ MC103 background-index-collision
def test_background_collision_class_id_zero(run):
    cats = [{"id": 0, "name": "scratch"}, {"id": 1, "name": "dent"}]
    found = run(coco_doc(annotations=[ann(1, 1, 0), ann(2, 1, 1), ann(3, 2, 0)], categories=cats), "MC103")
    assert [where(f) for f in found] == [("/categories/0", None, None, 0)]
    assert found[0].message.startswith('class id 0 ("scratch") has 2 annotations')
    assert "label 0" in found[0].message


def test_background_collision_id_zero_not_defined(run):
    found = run(coco_doc(annotations=[ann(1, 1, 1), ann(2, 2, 0)]), "MC103")
    assert [where(f) for f in found] == [("/annotations/1", None, None, 0)]


@pytest.mark.parametrize("name", ["background", "__background__", "Background ", "bg"])
def test_background_collision_named_background(run, name):
    cats = [{"id": 1, "name": "dent"}, {"id": 2, "name": name}]
    found = run(coco_doc(annotations=[ann(1, 1, 1), ann(2, 1, 2), ann(3, 2, 2)], categories=cats), "MC103")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2)]
    assert f'category "{name}" (id 2) is named like the background but has 2 annotations' in found[0].message


def test_background_collision_quiet(run):
    # labelme2coco writes `_background_` at id 0 and never uses it: that is fine
    cats = [{"id": 0, "name": "_background_"}, {"id": 1, "name": "dent"}, {"id": 2, "name": "scratch"}]
    assert run(coco_doc(annotations=[ann(1, 1, 1), ann(2, 2, 2)], categories=cats), "MC103") == []
    # crowd regions never become training targets
    doc = coco_doc(annotations=[ann(1, 1, 0, iscrowd=1), ann(2, 1, 1)],
                   categories=[{"id": 0, "name": "scratch"}, {"id": 1, "name": "dent"}])
    assert run(doc, "MC103") == []
    assert run(coco_doc(), "MC103") == []


# ------------------------------------------------------------------ MC104 count-mismatch
def test_count_mismatch(run):
    neither = {"id": 3, "image_id": 2, "category_id": 1}
    doc = coco_doc(annotations=[ann(1, 1, 1, segmentation=[], bbox=None), ann(2, 1, 2), neither,
                                ann(4, 2, 1, segmentation=None, bbox=None)])
    found = run(doc, "MC104")
    assert [where(f) for f in found] == [
        ("/annotations/0", 1, 1, 1), ("/annotations/2", 2, 3, 1), ("/annotations/3", 2, 4, 1)]
    assert "neither a segmentation nor a bbox" in found[0].message


def test_count_mismatch_quiet(run):
    no_box = {k: v for k, v in ann(2, 1, 2).items() if k != "bbox"}
    no_seg = {k: v for k, v in ann(3, 2, 1).items() if k != "segmentation"}
    rle = ann(4, 2, 2, iscrowd=1, bbox=None, segmentation={"size": [80, 100], "counts": [0, 10, 7990]})
    doc = coco_doc(annotations=[ann(1, 1, 1, segmentation=[]), no_box, no_seg, rle])
    assert run(doc, "MC104") == []
    assert run(coco_doc(annotations=["not an object"]), "MC104") == []  # MC001's


# ------------------------------------------------------------------ MC105 class-imbalance
def many(cat: int, n: int, start: int, crowd: int = 0) -> list[dict[str, Any]]:
    return [ann(start + k, 1 + k % 2, cat, iscrowd=crowd) for k in range(n)]


def test_class_imbalance_ratio(run):
    doc = coco_doc(annotations=many(1, 120, 1) + many(2, 2, 500))
    found = run(doc, "MC105")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2)] * 2
    assert ('class "defect_type_b" (id 2) has 2 instances against 120 of "defect_type_a" (id 1): '
            "ratio 60 exceeds 50") in found[0].message
    assert "has only 2 instances (fewer than 10)" in found[1].message
    assert run(doc, "MC105", max_ratio=60, min_instances=2) == []


def test_class_imbalance_min_instances(run):
    doc = coco_doc(annotations=many(1, 12, 1) + many(2, 9, 100) + many(2, 5, 200, crowd=1))
    found = run(doc, "MC105")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2)]
    assert found[0].message.startswith('class "defect_type_b" (id 2) has only 9 instances (fewer than 10)')
    assert run(doc, "MC105", min_instances=9) == []


def test_class_imbalance_single_used_class_with_few_instances(run):
    doc = coco_doc(annotations=many(1, 3, 1), categories=[{"id": 1, "name": "defect_type_a"}])
    assert [where(f) for f in run(doc, "MC105")] == [("/categories/0", None, None, 1)]


def test_class_imbalance_quiet(run):
    assert run(coco_doc(annotations=many(1, 12, 1) + many(2, 10, 100)), "MC105") == []
    assert run(coco_doc(annotations=[]), "MC105") == []


# ------------------------------------------------------------------ MC106 single-class-collapse
def test_single_class_collapse(run):
    found = run(coco_doc(annotations=many(2, 6, 1), categories=CATS3), "MC106")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2)]
    assert found[0].message.startswith(
        'every annotation is class "defect_type_b" (id 2) although categories define 3 classes')


def test_single_class_collapse_quiet(run):
    assert run(coco_doc(), "MC106") == []
    one = [{"id": 1, "name": "defect_type_a"}]
    assert run(coco_doc(annotations=many(1, 4, 1), categories=one), "MC106") == []
    with_bg = [{"id": 0, "name": "background"}, {"id": 1, "name": "defect_type_a"}]
    assert run(coco_doc(annotations=many(1, 4, 1), categories=with_bg), "MC106") == []
    # a second class that only has crowd regions still leaves one trainable class
    doc = coco_doc(annotations=many(1, 4, 1) + many(2, 2, 50, crowd=1))
    assert [f.location.pointer for f in run(doc, "MC106")] == ["/categories/0"]


# ------------------------------------------------------------------ MC107 unused-class
def test_unused_class(run):
    doc = coco_doc(annotations=[ann(1, 1, 1), ann(2, 2, 3, iscrowd=1)], categories=CATS3)
    found = run(doc, "MC107")
    assert [where(f) for f in found] == [("/categories/1", None, None, 2), ("/categories/2", None, None, 3)]
    assert found[0].message.startswith('class "defect_type_b" (id 2) has no (non-crowd) annotation')


def test_unused_class_quiet(run):
    assert run(coco_doc(), "MC107") == []
    cats = [{"id": 0, "name": "_background_"}, {"id": 1, "name": "defect_type_a"},
            {"id": 2, "name": "defect_type_b"}]
    assert run(coco_doc(categories=cats), "MC107") == []


# ------------------------------------------------------------------ the bundled examples
EXAMPLES = ROOT / "examples"


def test_defects_example_fires_every_issue2_rule():
    report = lint([EXAMPLES / "defects"])
    assert not report.errors
    paths = {f.location.path for f in report.findings}
    assert {str(EXAMPLES / "defects" / n) for n in ("annotations.json", "annotations_val.json")} <= paths
    missing = set(ISSUE2_CODES) - {f.code for f in report.findings}
    assert not missing, f"examples/defects does not trigger {sorted(missing)}"
    assert "MC000" not in {f.code for f in report.findings}


def test_defects_example_names_the_string_label():
    report = lint([EXAMPLES / "defects" / "annotations.json"], select=["MC101"])
    first = report.findings[0]
    assert (first.location.pointer, first.location.category_id) == ("/annotations/2", 1)
    assert 'categories define "defect_type_a" as id 1' in first.message


def test_clean_example_is_clean():
    report = lint([EXAMPLES / "clean"])
    assert not report.errors
    assert report.inputs == [{"path": str(EXAMPLES / "clean" / "annotations.json"), "format": "coco"}]
    # Clean means no error or warning. One note is unavoidable by design: a dataset either has
    # images without instances (MC008, one info each) or has none at all (MC217, one info).
    notes = [f"{f.code} {f.location.short()} {f.message}" for f in report.findings]
    assert [f.code for f in report.findings] == ["MC217"], notes


def test_examples_readme_describes_both():
    text = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "defects/" in text and "clean/" in text


def test_unused_class_many_categories_is_linear(write_coco):
    # 20k categories, none used: the class names used to be rebuilt once per finding
    # (quadratic: 10k classes took minutes); every one is still reported, in order
    cats = [{"id": i, "name": f"class_{i}"} for i in range(1, 20_001)]
    path = write_coco(coco_doc(images=[img(1)], annotations=[], categories=cats))
    report = lint([path], select=["MC107"], max_findings=None)
    found = [f for f in report.findings if f.code == "MC107"]
    assert len(found) == 20_000
    capped = lint([path], select=["MC107"])  # the default keeps 10,000 and counts the rest
    assert capped.findings == found[:10_000] and capped.dropped["MC107"][1] == 10_000
    assert where(found[0]) == ("/categories/0", None, None, 1)
    assert where(found[-1]) == ("/categories/19999", None, None, 20_000)
    assert '"class_20000" (id 20000)' in found[-1].message


# ------------------------------------------------- integral float ids, numbers out of float range
def test_float_image_id_links_like_its_int_in_both_directions(run):
    # pycocotools indexes by dict: 1.0 and 1 are one key; a string "2" is not image 2
    doc = coco_doc(images=[img(1.0), img(2), img(3)],
                   annotations=[ann(1, 1, 1), ann(2, 2.0, 1), ann(3, "3", 1)])
    assert [where(f)[0] for f in run(doc, "MC007")] == ["/annotations/2"]
    assert [where(f)[0] for f in run(doc, "MC008")] == ["/images/2"]
    assert [where(f)[0] for f in run(doc, "MC002")] == ["/images/0", "/annotations/1", "/annotations/2"]


def test_huge_integral_float_id_is_no_int(run):
    doc = coco_doc(images=[img(1), img(1e300)], annotations=[ann(1, 1, 1)])
    assert run(doc, "MC003") == []


def test_out_of_range_numbers_outside_segmentations(tmp_path):
    doc = coco_doc(images=[img(1, width=123456789)], annotations=[ann(1, 1, 1, area=123456789)],
                   categories=[{"id": 1, "name": "defect_type_a", "weight": 123456789}])
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc).replace("123456789", "1e999"))
    report = lint([path])
    assert not report.errors
    assert [f.location.pointer for f in report.findings if f.code == "MC001"] == []


def test_unmapped_class_says_what_is_defined_when_no_category_id_is_an_integer(write_coco):
    doc = coco_doc(annotations=[ann(1, 1, 1)], categories=[{"id": "1", "name": "s"}])
    report = lint([write_coco(doc)], select=["MC102"])
    (f,) = report.findings
    assert f.location.pointer == "/annotations/0"
    assert 'no category id is an integer: "1"' in f.message and "no categories are defined" not in f.message
