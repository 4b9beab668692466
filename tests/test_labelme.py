"""LabelMe JSON: the reader, its class map, and the MC41x checks at exact locations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maskcheck import lint
from maskcheck.readers import labelme

LM_ROOT = "wkentaro__labelme/examples"


def shape(label: Any, points: Any, shape_type: str = "polygon", group_id: Any = None) -> dict:
    return {"label": label, "points": points, "group_id": group_id, "shape_type": shape_type,
            "flags": {}, "description": ""}


TRI = [[10, 10], [40, 10], [40, 30]]


def write_lm(folder: Path, name: str, shapes: list[Any], image: str | None = "same",
             image_data: Any = None, **extra: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.removesuffix(".json")
    image_path = f"{stem}.jpg" if image == "same" else image
    if image == "same":
        (folder / image_path).write_bytes(b"jpeg")
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path,
           "imageData": image_data, "imageHeight": 100, "imageWidth": 120, **extra}
    path = folder / name
    path.write_text(json.dumps(doc, indent=1))
    return path


def found(report, code: str) -> list[tuple[str, str | None, int | None]]:
    return [(Path(f.location.path).name, f.location.pointer, f.location.line)
            for f in report.findings if f.code == code]


def messages(report, code: str) -> list[str]:
    return [f.message for f in report.findings if f.code == code]


# ------------------------------------------------------------------------- the reader
def test_group_id_joins_parts_of_one_instance(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\nperson\n")
    write_lm(tmp_path, "a.json", [shape("person", TRI, group_id=1),
                                  shape("person", [[50, 50], [60, 50], [60, 60]], group_id=1),
                                  shape("person", TRI, group_id=2),
                                  shape("person", TRI)])
    ds = next(labelme.read(tmp_path))
    assert ds.info.num_annotations == 3
    anns = next(ds.batches(None)).anns
    assert anns.parts.tolist() == [2, 1, 1]
    assert anns.bbox[0].tolist() == [10, 10, 50, 50]  # the union of both parts
    assert anns.pointer.tolist() == ["/shapes/0", "/shapes/2", "/shapes/3"]


def test_labels_txt_follows_labelme_convention(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n")
    write_lm(tmp_path, "a.json", [shape("dog", TRI), shape("__ignore__", TRI)])
    ds = next(labelme.read(tmp_path))
    assert ds.info.category_names() == {0: "_background_", 1: "cat", 2: "dog"}
    assert ds.info.num_annotations == 1  # __ignore__ shapes are dropped on purpose
    assert next(ds.batches(None)).anns.category_id.tolist() == [2]


def test_labels_txt_in_the_parent_folder(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\n")
    write_lm(tmp_path / "data_annotated", "a.json", [shape("cat", TRI)])
    report = lint([tmp_path / "data_annotated"], select=["MC101", "MC102"])
    assert not report.findings and not report.errors


def test_shapes_become_pixel_geometry(tmp_path):
    write_lm(tmp_path, "a.json", [shape("a", [[10, 20], [30, 50]], "rectangle"),
                                  shape("a", [[50, 50], [60, 50]], "circle"),
                                  shape("a", [[1, 1], [5, 5]], "line")])
    anns = next(next(labelme.read(tmp_path)).batches(None)).anns
    assert json.loads(bytes(anns.segmentation[0])) == [[10, 20, 30, 20, 30, 50, 10, 50]]
    assert anns.bbox[1].tolist() == [40, 40, 20, 20]
    assert anns.seg_kind.tolist()[2] == 0  # a line gets no mask


def test_unreadable_file_is_one_line_and_the_rest_is_read(tmp_path):
    write_lm(tmp_path, "a.json", [shape("cat", TRI)])
    (tmp_path / "b.json").write_text('{"shapes": 3, "imagePath": "b.jpg"}')
    report = lint([tmp_path])
    assert [e.message for e in report.errors] == ["'shapes' must be a list of shape objects"]
    assert report.annotations == 1


# ------------------------------------------------------------------------- class labels
def test_no_class_map_is_string_label_saying_how_to_map(tmp_path):
    write_lm(tmp_path, "a.json", [shape("cat", TRI), shape("dog", TRI)])
    report = lint([tmp_path], select=["MC101", "MC102"])
    # one setup problem, one finding for the dataset (not one per shape)
    assert found(report, "MC101") == [(tmp_path.name, None, None)]
    msg = messages(report, "MC101")[0]
    assert "labels are names and no class map was given" in msg and '"cat" 1, "dog" 1' in msg
    assert "--classes FILE" in msg and "labels.txt" in msg
    assert not found(report, "MC102")


def test_label_missing_from_map_is_unmapped_class_with_suggestion(tmp_path):
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\n")
    write_lm(tmp_path, "a.json", [shape("cat", TRI), shape("Dog ", TRI), shape("bird", TRI)])
    report = lint([tmp_path], select=["MC101", "MC102"])
    assert not found(report, "MC101")
    assert found(report, "MC102") == [("a.json", "/shapes/1", None), ("a.json", "/shapes/2", None)]
    near, far = messages(report, "MC102")
    assert 'did you mean "dog" (id 2)' in near and "labels.txt" in near
    assert "did you mean" not in far


@pytest.mark.parametrize("suffix,text", [
    (".txt", "cat\ndog\n"),
    (".yaml", "cat: 1\ndog: 2\n"),
    (".json", '{"cat": 1, "dog": 2}'),
    (".yml", "names: {1: cat, 2: dog}\n"),
])
def test_classes_option_maps_names(tmp_path, suffix, text):
    classes = tmp_path / f"classes{suffix}"
    classes.write_text(text)
    write_lm(tmp_path / "data", "a.json", [shape("dog", TRI), shape("cow", TRI)])
    report = lint([tmp_path / "data"], select=["MC101", "MC102"], classes=classes)
    assert found(report, "MC102") == [("a.json", "/shapes/1", None)]
    assert not found(report, "MC101")
    assert f"--classes classes{suffix}" in messages(report, "MC102")[0]


def test_bad_classes_file_is_one_line(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("[1, 2]\n")
    write_lm(tmp_path / "d", "a.json", [shape("dog", TRI)])
    report = lint([tmp_path / "d"], classes=bad)
    assert len(report.errors) == 1 and "class map" in report.errors[0].message


# ------------------------------------------------------------------------- MC41x
def test_shape_not_mask(tmp_path):
    write_lm(tmp_path, "a.json", [shape("a", TRI), shape("a", [[1, 1], [5, 5]], "line"),
                                  shape("a", [[1, 1]], "point"),
                                  shape("a", [[1, 1], [5, 5], [9, 1]], "linestrip"),
                                  shape("a", [[1, 1], [5, 5]], "cuboid"),
                                  shape("a", [[1, 1], [5, 5]], "rectangle")])
    report = lint([tmp_path], select=["MC410"])
    assert found(report, "MC410") == [("a.json", f"/shapes/{i}", None) for i in (1, 2, 3, 4)]
    assert "not a LabelMe shape type" in messages(report, "MC410")[3]


def test_point_count(tmp_path):
    write_lm(tmp_path, "a.json", [
        shape("a", TRI),                                   # fine
        shape("a", [[1, 1], [5, 5]]),                      # polygon of 2
        shape("a", [[1, 1], [5, 5], [7, 7]], "rectangle"),  # rectangle of 3
        shape("a", [[1, 1]], "circle"),                    # circle of 1
        shape("a", [[1, 1], [5, 5]], "rectangle"),         # fine
        shape("a", [[1, "x"], [5, 5], [1, 1]]),            # malformed points
        shape("a", [[1, 1]], "point"),                     # fine
    ])
    report = lint([tmp_path], select=["MC411"])
    assert found(report, "MC411") == [("a.json", f"/shapes/{i}", None) for i in (1, 2, 3, 5)]
    msgs = messages(report, "MC411")
    assert "needs at least 3 points, this one has 2" in msgs[0]
    assert "exactly 2 points, this one has 3" in msgs[1]
    assert "[x, y] number pairs" in msgs[3]


def test_unusable_points_are_one_finding_not_count_mismatch(tmp_path):
    write_lm(tmp_path, "a.json", [shape("a", []), shape("a", None), shape("a", "abc"),
                                  shape("a", [["a", "b"], [1, 2], [3, 4]]),
                                  shape("a", [], "cuboid"), shape("a", TRI)])
    report = lint([tmp_path], select=["MC104", "MC410", "MC411"])
    assert found(report, "MC411") == [("a.json", f"/shapes/{i}", None) for i in range(4)]
    assert found(report, "MC410") == [("a.json", "/shapes/4", None)]
    assert found(report, "MC104") == []


def test_image_missing(tmp_path):
    write_lm(tmp_path, "a.json", [shape("a", TRI)])                       # image beside it
    write_lm(tmp_path, "b.json", [shape("a", TRI)], image="gone/b.jpg")   # missing
    write_lm(tmp_path, "c.json", [shape("a", TRI)], image="gone/c.jpg", image_data="aGk=")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.jpg").write_bytes(b"jpeg")
    write_lm(tmp_path, "d.json", [shape("a", TRI)], image="sub\\d.jpg")   # Windows separator
    report = lint([tmp_path], select=["MC412"])
    assert found(report, "MC412") == [("b.json", "/imagePath", None)]
    assert "'gone/b.jpg'" in messages(report, "MC412")[0]


def test_group_mixed_labels(tmp_path):
    write_lm(tmp_path, "a.json", [shape("person", TRI, group_id=3),
                                  shape("persn", TRI, group_id=3),
                                  shape("bike", TRI, group_id=4),
                                  shape("bike", TRI, group_id=4)])
    write_lm(tmp_path, "b.json", [shape("bike", TRI, group_id=3)])  # same id, other file: fine
    report = lint([tmp_path], select=["MC413"])
    assert found(report, "MC413") == [("a.json", "/shapes/1", None)]
    assert "/shapes/0" in messages(report, "MC413")[0]


def test_rules_stay_silent_on_coco(write_coco):
    from conftest import coco_doc

    report = lint([write_coco(coco_doc())], select=["MC41"])
    assert not report.findings


# ------------------------------------------------------------------------- real data
@pytest.mark.parametrize("sub,images,annotations", [
    ("instance_segmentation/data_annotated", 3, 12),  # 18 polygons, 6 joined by group_id
    ("tutorial", 1, 4),
    ("primitives", 1, 8),
    ("video_annotation", 5, 15),
])
def test_realdata_reads(realdata, sub, images, annotations):
    report = lint([realdata / LM_ROOT / sub])
    assert not report.errors
    assert [i["format"] for i in report.inputs] == ["labelme"]
    assert (report.images, report.annotations) == (images, annotations)
    assert not [f for f in report.findings if f.code == "MC000"]


def test_realdata_instance_segmentation_labels_are_mapped(realdata):
    report = lint([realdata / LM_ROOT / "instance_segmentation/data_annotated"],
                  select=["MC1", "MC4"])
    assert not [f for f in report.findings if str(f.severity) != "info"]


def test_realdata_primitives(realdata):
    report = lint([realdata / LM_ROOT / "primitives"], select=["MC101", "MC41"])
    assert [f.location.pointer for f in report.findings if f.code == "MC410"] == [
        "/shapes/4", "/shapes/5", "/shapes/6"]  # line, point, linestrip
    assert len([f for f in report.findings if f.code == "MC101"]) == 1  # one per dataset


# ------------------------------------------------------------------- values msgspec refuses
def test_image_size_that_is_not_a_number_is_malformed_at_its_key(tmp_path):
    write_lm(tmp_path, "a.json", [shape("car", TRI)], imageWidth="abc")
    write_lm(tmp_path, "b.json", [shape("car", TRI)], imageHeight=None)
    write_lm(tmp_path, "c.json", [shape("car", TRI)], imageWidth="120")  # MC009's, not MC001's
    (tmp_path / "labels.txt").write_text("__ignore__\ncar\n")
    report = lint([tmp_path])
    assert found(report, "MC001") == [("a.json", "/imageWidth", None), ("b.json", "/imageHeight", None)]
    assert messages(report, "MC001") == ['imageWidth must be a number, got "abc"',
                                         "imageHeight must be a number, got null"]
    assert found(report, "MC009") == [("c.json", "/imageWidth", None)]


def test_out_of_range_numbers_read_as_inf(tmp_path):
    write_lm(tmp_path, "a.json", [shape("car", [[123456789, 10], [40, 10], [40, 30]]),
                                  shape("car", [[10, 10], [123456789, 40]], "mask") | {"mask": "x"}])
    path = write_lm(tmp_path, "b.json", [shape("car", TRI)], imageWidth=123456789)
    for p in (tmp_path / "a.json", path):
        p.write_text(p.read_text().replace("123456789", "1e999"))
    (tmp_path / "labels.txt").write_text("__ignore__\ncar\n")
    report = lint([tmp_path])
    assert not report.errors  # b.json's imageWidth no longer refuses the whole file
    assert found(report, "MC001") == []
    assert found(report, "MC204") == [("a.json", "/shapes/0", None), ("a.json", "/shapes/1", None)]
