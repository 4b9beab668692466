"""MC010 misspelled-key: "annotation" for "annotations" is an error, with a did-you-mean."""

from __future__ import annotations

import json

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.readers.keys import COCO_ANNOTATION, COCO_TOP, misspellings


def pointers(report, code: str = "MC010") -> list[str | None]:
    return [f.location.pointer for f in report.findings if f.code == code]


def test_misspelled_top_level_key_is_an_error_and_the_file_is_still_linted(write_coco):
    doc = coco_doc()
    doc["annotation"] = doc.pop("annotations")
    doc["annotation"][1]["category_id"] = 9  # an unmapped class inside the misspelled section
    report = lint([write_coco(doc)])
    assert pointers(report) == ["/annotation"]
    (f,) = [f for f in report.findings if f.code == "MC010"]
    assert "'annotation'" in f.message and "did you mean 'annotations'" in f.message
    assert report.annotations == 4  # read as meant, so the rest of the lint runs
    assert [f.location.pointer for f in report.findings if f.code == "MC102"] == ["/annotation/1"]
    assert report.worst() is not None and str(report.worst()) == "error"


@pytest.mark.parametrize(("written", "meant"), [
    ("image", "images"), ("categoryes", "categories"), ("Annotations", "annotations"),
    ("anotations", "annotations"), ("category", "categories"),
])
def test_each_misspelling_names_the_key_it_stands_for(write_coco, written, meant):
    doc = coco_doc()
    doc[written] = doc.pop(meant)
    report = lint([write_coco(doc)])
    (f,) = [f for f in report.findings if f.code == "MC010"]
    assert f.location.pointer == f"/{written}"
    assert f"did you mean '{meant}'" in f.message


def test_a_folder_finds_a_coco_file_whose_keys_are_all_misspelled(tmp_path):
    doc = coco_doc()
    doc = {"image": doc["images"], "annotation": doc["annotations"], "categoryes": doc["categories"]}
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    report = lint([tmp_path])
    assert sorted(pointers(report)) == ["/annotation", "/categoryes", "/image"]
    assert not report.skipped and report.annotations == 4


def test_misspelled_record_keys_are_reported_at_the_key(write_coco):
    anns = [ann(1, 1, 1), ann(2, 1, 2), ann(3, 2, 1)]
    anns[0]["categoryid"] = anns[0].pop("category_id")
    anns[2]["segmentaion"] = anns[2].pop("segmentation")
    anns[2]["bboxes"] = anns[2].pop("bbox")
    imgs = coco_doc()["images"]
    imgs[1]["fileName"] = imgs[1].pop("file_name")
    report = lint([write_coco(coco_doc(images=imgs, annotations=anns))])
    assert pointers(report) == ["/images/1/fileName", "/annotations/0/categoryid",
                                "/annotations/2/bboxes", "/annotations/2/segmentaion"]


def test_a_systematic_record_misspelling_is_found_in_every_record(write_coco):
    # "segmentaion" everywhere, with bboxes present: no record lacks a required key, so only
    # the sample of first records shows it, and then every record is looked at
    anns = [ann(k, 1 + k % 2, 1) for k in range(1, 251)]
    for a in anns:
        a["segmentaion"] = a.pop("segmentation")
    images = [{"id": i, "file_name": f"img{i}.jpg", "width": 1000, "height": 1000} for i in (1, 2)]
    report = lint([write_coco(coco_doc(images=images, annotations=anns))], select=["MC010"])
    assert len(pointers(report)) == 250
    assert pointers(report)[-1] == "/annotations/249/segmentaion"


def test_extra_keys_that_are_not_misspellings_stay_silent(write_coco):
    doc = coco_doc()
    doc["info"] = {"year": 2024}
    doc["licenses"] = []
    doc["type"] = "instances"
    doc["annotations_meta"] = {"tool": "x"}  # close to a key that is present: not a misspelling
    for a in doc["annotations"]:
        a.update(attributes={"occluded": False}, score=1.0, ignore=0)
    for i in doc["images"]:
        i.update(license=1, coco_url="", flickr_url="", date_captured="")
    for c in doc["categories"]:
        c["supercategory"] = "defect"
    report = lint([write_coco(doc)])
    assert pointers(report) == []


def test_bbox_only_annotations_without_segmentation_are_not_misspelled(write_coco):
    anns = [ann(1, 1, 1), ann(2, 2, 1)]
    for a in anns:
        del a["segmentation"]
        a["segment_id"] = 7  # unknown, but not close enough to 'segmentation' to be taken for it
    report = lint([write_coco(coco_doc(annotations=anns))], select=["MC010"])
    assert pointers(report) == []


def test_matching_is_by_spelling_not_by_substring():
    assert misspellings(["image", "annotations"], COCO_TOP, cutoff=0.75) == {"image": "images"}
    assert misspellings(["info", "licenses", "type"], COCO_TOP, cutoff=0.75) == {}
    # short keys match only apart from case and separators
    assert misspellings(["ID", "image_id"], COCO_ANNOTATION) == {"ID": "id"}
    assert misspellings(["idx", "image_id"], COCO_ANNOTATION) == {}
    # one written key stands for one expected key at most
    assert misspellings(["imageid"], ("image_id", "images")) == {"imageid": "image_id"}


def test_one_typo_is_one_finding_not_also_a_missing_field(write_coco):
    anns = [ann(1, 1, 1), ann(2, 1, 2)]
    anns[0]["categoryid"] = anns[0].pop("category_id")
    anns[1]["segmentaion"] = anns[1].pop("segmentation")
    anns[1]["bboxes"] = anns[1].pop("bbox")
    del anns[1]["image_id"]  # truly missing: still malformed-record's
    report = lint([write_coco(coco_doc(annotations=anns))], select=["MC001", "MC010", "MC104"])
    assert pointers(report, "MC001") == ["/annotations/1"]
    (f,) = [f for f in report.findings if f.code == "MC001"]
    assert "lacks 'image_id'" in f.message and "segmentation" not in f.message
    assert pointers(report, "MC104") == []
    assert len(pointers(report)) == 3


def _labelme(folder, name: str, **top) -> None:
    doc = {"version": "5.0", "flags": {}, "imagePath": f"{name}.jpg", "imageData": None,
           "imageHeight": 100, "imageWidth": 100,
           "shapes": [{"label": "cat", "points": [[1, 1], [40, 1], [40, 40]], "group_id": None,
                       "shape_type": "polygon", "flags": {}}]}
    for written, meant in top.items():
        doc[written] = doc.pop(meant)
    (folder / f"{name}.json").write_text(json.dumps(doc))


def test_labelme_file_with_a_misspelled_shapes_key_is_found_and_reported(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    _labelme(tmp_path, "a")
    _labelme(tmp_path, "b", shape="shapes", imageheight="imageHeight")
    report = lint([tmp_path])
    assert not report.skipped
    found = sorted((f.location.path.rsplit("/", 1)[-1], f.location.pointer)
                   for f in report.findings if f.code == "MC010")
    assert found == [("b.json", "/imageheight"), ("b.json", "/shape")]
    assert report.annotations == 2  # b's shapes read as meant
    (f,) = [f for f in report.findings if f.location.pointer == "/shape"]
    assert "did you mean 'shapes'" in f.message and "LabelMe" in f.message


def test_valid_labelme_files_have_no_misspelled_key(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    _labelme(tmp_path, "a")
    assert pointers(lint([tmp_path])) == []


def test_real_exports_have_no_misspelled_key(realdata):
    report = lint([realdata], select=["MC010"])
    assert report.annotations > 1000
    assert pointers(report) == []
