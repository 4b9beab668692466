"""`maskcheck fix` beyond COCO: JSONL lines, JSON records, CVAT and VOC XML elements.

Each format's round trip: lint, fix, lint again shows none of the fixed findings; only the
fixed line or element changed (every other line byte for byte); a second run changes
nothing; --diff applies with `patch -p1`. Fixes the format cannot carry are counted, with why.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from maskcheck import lint
from maskcheck.cli import main
from maskcheck.fix import run as fix_run
from maskcheck.fix import xmledit
from maskcheck.model import Severity
from maskcheck.tidy import tidy
from test_cvat import cvat_xml
from test_voc import png, xml
from test_voc import write as write_tree

SQ = [[10, 10, 30, 10, 30, 30, 10, 30]]


def codes(path: Path) -> list[tuple[str, int | None]]:
    return sorted((f.code, f.location.line) for f in lint([path]).findings
                  if f.severity > Severity.INFO)


def rle(y0: int, x0: int, size: int = 40) -> dict:
    m = np.zeros((size, size), dtype=np.uint8, order="F")
    m[y0:y0 + 5, x0:x0 + 5] = 1
    out = mask_utils.encode(m)
    return {"size": out["size"], "counts": out["counts"].decode()}


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def applies_with_patch(tmp_path: Path, name: str, patch_text: str, want: bytes) -> None:
    if shutil.which("patch") is None:
        pytest.skip("no `patch` on this machine (apt-get install patch)")
    subprocess.run(["patch", "-p1", "--quiet"], input=patch_text.encode(), cwd=tmp_path, check=True)
    assert (tmp_path / name).read_bytes() == want


# ----------------------------------------------------------------------------------- JSONL
def test_jsonl_lines_fixed_in_place_and_only_they_change(tmp_path, capsys, monkeypatch):
    recs = [
        {"image": "a.jpg", "label": 1, "bbox": [10, 10, "20", 20], "segmentation": SQ,
         "area": 999, "note": "ünï ✓"},                                          # MC009, MC213
        {"image": "a.jpg", "label": 1, "bbox": [40, 40, 20, 20],
         "segmentation": [[40, 40, 60, 40]]},                                    # MC202: line goes
        {"image": "b.jpg", "label": 1, "segmentation": rle(2, 2)},
        {"image": "b.jpg", "label": 1, "segmentation": rle(2, 2)},              # MC218: a copy
        {"image": "b.jpg", "label": 1, "segmentation": rle(20, 20), "score": 0.30000000000000004},
    ]
    path = jsonl(tmp_path / "r.jsonl", recs)
    before = path.read_bytes()
    assert codes(path) == [("MC009", 1), ("MC202", 2), ("MC213", 1), ("MC218", 3)]
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "r.jsonl", "--unsafe-fixes", "--diff"]) == 1
    patch_text = capsys.readouterr().out
    assert path.read_bytes() == before
    out = fix_run.fix([path], unsafe=True)
    assert sorted(f.code for f in out.fixed) == ["MC009", "MC202", "MC213", "MC218"]
    rows = path.read_bytes().split(b"\n")
    old = before.split(b"\n")
    assert rows == [old[0].replace(b'"20"', b"20").replace(b"999", b"400"), old[2], old[4], b""]
    assert codes(path) == []
    removed = json.loads((tmp_path / "r.jsonl.removed.json").read_text())
    assert [(r["line"], r["code"], r["value"]) for r in removed] == [
        (2, "MC202", recs[1]), (4, "MC218", recs[3])]
    fixed = path.read_bytes()
    assert not fix_run.fix([path], unsafe=True).written and path.read_bytes() == fixed
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "r.jsonl").write_bytes(before)
    applies_with_patch(copy, "r.jsonl", patch_text, fixed)


def test_jsonl_without_a_final_newline_and_with_crlf(tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"image": "a.jpg", "label": 1, "bbox": [10, 10, 20, 20],
                         "segmentation": SQ, "area": a}) for a in (400, 1600)]
    path.write_bytes(b"\r\n".join(s.encode() for s in lines))
    fix_run.fix([path])
    assert path.read_bytes() == (lines[0] + "\r\n" + lines[1].replace("1600", "400")).encode()


def test_jsonl_record_of_an_image_with_an_annotations_list(tmp_path):
    recs = [{"image": {"file_name": "a.jpg"},
             "annotations": [{"label": 1, "bbox": [10, 10, 20, 20], "segmentation": SQ},
                             {"label": 1, "bbox": [0, 0, 5, 5], "segmentation": [[1, 1, 4, 1]]}]},
            {"image": {"file_name": "b.jpg"},
             "annotations": [{"label": 2, "bbox": [10, 10, 20, 20], "segmentation": SQ}]}]
    path = jsonl(tmp_path / "r.jsonl", recs)
    assert ("MC202", 1) in codes(path)
    fix_run.fix([path], unsafe=True, select=["MC202"])
    now = [json.loads(s) for s in path.read_text().splitlines()]
    assert now == [{**recs[0], "annotations": recs[0]["annotations"][:1]}, recs[1]]


def test_parallel_lists_are_not_put_out_of_step(tmp_path):
    """Deleting one position of labels/masks/boxes would shift every later instance: the
    degenerate polygon is reported without a fix."""
    recs = [{"image": "a.jpg", "labels": [1, 1], "masks": [SQ, [[1, 1, 4, 1]]],
             "boxes": [[10, 10, 30, 30], [1, 1, 4, 1]]}]
    path = jsonl(tmp_path / "r.jsonl", recs)
    (hit,) = [f for f in lint([path]).findings if f.code == "MC202"]
    assert hit.fix is None


def test_records_boxes_are_written_under_their_own_key(tmp_path):
    """A box kept under "box" (or --field bbox=rect) is rewritten there, not under "bbox"."""
    for key, fields in (("box", None), ("rect", {"bbox": "rect"})):
        recs = [{"image": "a.jpg", "label": 1, key: [0, 0, 50, 50], "segmentation": SQ,
                 "area": 1600}]
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(recs, indent=1))
        assert sorted(f.code for f in lint([path], fields=fields).findings
                      if f.code in ("MC211", "MC213")) == ["MC211", "MC213"]
        out = fix_run.fix([path], unsafe=True, fields=fields)
        assert sorted(f.code for f in out.fixed) == ["MC211", "MC213"]
        assert json.loads(path.read_text()) == [{**recs[0], key: [10, 10, 20, 20], "area": 400}]


def test_a_fix_whose_place_is_gone_says_why_and_the_rest_is_fixed(tmp_path, monkeypatch):
    """The file read for the fix lacks a value the finding named (here: a rule's fix aimed
    wrongly): that fix is not applied, with why; the other fixes of the file land."""
    import maskcheck.rules.geometry_boxes as boxes

    recs = [{"image": "a.jpg", "label": 1, "bbox": [0, 0, 50, 50], "segmentation": SQ,
             "area": 1600}]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recs, indent=1))
    monkeypatch.setattr(boxes, "_box_key", lambda batch, row: "nowhere")
    out = fix_run.fix([path], unsafe=True)
    assert [f.code for f in out.fixed] == ["MC213"]
    (why,) = [w for f, w in out.plan.not_applied if f.code == "MC211"]
    assert why.startswith("its place is not in the file as the fix expects: ") and "'nowhere'" in why
    assert json.loads(path.read_text()) == [{**recs[0], "area": 400}]


# --------------------------------------------------------------------------------- LabelMe
PNG_4x3 = ("iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAAAAACRn/EaAAAAC0lEQVR4nGNgQAEAAA8AAbVWKT4AAAAASUVORK5C"
           "YII=")


def test_labelme_shapes_fixed_by_pointer_and_nothing_else_moves(tmp_path, capsys, monkeypatch):
    def shape(label, points, **kw):
        return {"label": label, "points": points, "group_id": None, "shape_type": "polygon",
                "flags": {}, **kw}

    root = tmp_path / "lm"
    root.mkdir()
    (root / "a.png").write_bytes(base64.b64decode(PNG_4x3))
    (root / "labels.txt").write_text("__ignore__\n_background_\nscratch\ndent\n")
    doc = {"version": "5.2.1", "flags": {}, "imagePath": "a.png", "imageData": None,
           "imageHeight": 3, "imageWidth": 4, "shapes": [
               shape("scratch", [[0, 0], [3, 0], [3, 2]], description="ä"),
               shape("scratch", [[0, 0], [3, 0], [3, 2]]),          # MC218: an exact copy
               shape("dent", [[0, 0], [1, 0], [2, 0]]),             # MC202: on one line
               shape("dent", [[0, 0], ["3", 0], [3.0, 2]])]}        # MC009
    path = root / "a.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    before = path.read_text()
    assert {"MC009", "MC202", "MC218"} <= {c for c, _ in codes(root)}
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "lm", "--unsafe-fixes", "--diff"]) == 1
    patch_text = capsys.readouterr().out
    out = fix_run.fix([root], unsafe=True)
    assert sorted(f.code for f in out.fixed) == ["MC009", "MC202", "MC218"]
    now = json.loads(path.read_text())
    want = json.loads(before)
    want["shapes"] = [want["shapes"][0], {**want["shapes"][3], "points": [[0, 0], [3, 0], [3.0, 2]]}]
    assert now == want and '"description": "ä"' in path.read_text()
    assert not {"MC009", "MC202", "MC218"} & {c for c, _ in codes(root)}
    removed = json.loads((root / "a.json.removed.json").read_text())
    assert [(r["pointer"], r["code"]) for r in removed] == [("/shapes/1", "MC218"), ("/shapes/2", "MC202")]
    fixed = path.read_bytes()
    assert not fix_run.fix([root], unsafe=True).written and path.read_bytes() == fixed
    copy = tmp_path / "copy"
    (copy / "lm").mkdir(parents=True)
    (copy / "lm" / "a.json").write_text(before)
    applies_with_patch(copy, "lm/a.json", patch_text, fixed)


# ------------------------------------------------------------------------------------ CVAT
DEGENERATE = '<polygon label="tree" occluded="0" points="50.0,10.0;60.0,10.0">'
CVAT_SHAPES = (
    '<polygon label="car" occluded="0" points="10,10;30,10;30,30;10,30" z_order="0"/>',
    '<polygon label="car" occluded="0" points="10,10;30,10;30,30;10,30" z_order="0"/>',
    DEGENERATE, '  <attribute name="note">a &amp; b</attribute>', "</polygon>",
    '<box label="tree" occluded="0" xtl="40" ytl="40" xbr="50" ybr="50"/>',
    '<polygon label="car" occluded="0" points="12,12;31,12;31,31;12,31" z_order="1"/>',
)


def test_cvat_shapes_deleted_element_by_element(tmp_path, capsys, monkeypatch):
    path = tmp_path / "annotations.xml"
    path.write_text(cvat_xml(*CVAT_SHAPES, width=80, height=60))
    before = path.read_text().splitlines(keepends=True)
    found = codes(path)
    assert ("MC202", 7) in found and ("MC218", 5) in found
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "annotations.xml", "--unsafe-fixes", "--diff"]) == 1
    patch_text = capsys.readouterr().out
    out = fix_run.fix([path], unsafe=True)
    assert {f.code for f in out.fixed} == {"MC202", "MC218"}
    # lines 6 (the copy) and 7-9 (the degenerate polygon with its attribute) went; no other
    assert path.read_text().splitlines(keepends=True) == before[:5] + before[9:]
    assert not {"MC202", "MC218"} & {c for c, _ in codes(path)}
    removed = json.loads((tmp_path / "annotations.xml.removed.json").read_text())
    assert [(r["line"], r["code"]) for r in removed] == [(6, "MC218"), (7, "MC202")]
    assert removed[1]["value"].startswith(DEGENERATE) and "a &amp; b" in removed[1]["value"]
    fixed = path.read_bytes()
    assert not fix_run.fix([path], unsafe=True).written and path.read_bytes() == fixed
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "annotations.xml").write_text("".join(before))
    applies_with_patch(copy, "annotations.xml", patch_text, fixed)


def test_cvat_shapes_sharing_a_line_are_left_with_why(tmp_path):
    path = tmp_path / "annotations.xml"
    path.write_text(cvat_xml(CVAT_SHAPES[0] + DEGENERATE + "</polygon>", width=80, height=60))
    before = path.read_bytes()
    out = fix_run.fix([path], unsafe=True)
    (why,) = [w for f, w in out.plan.not_applied if f.code == "MC202"]
    assert why.startswith("more than one shape element starts on line 5")
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------------- VOC
def voc_tree(root: Path) -> Path:
    write_tree(root, {"Annotations/a.xml": xml([("cat", (1, 1, 9, 9)), ("dog", (6, 2, 7, 3))],
                                               size=(10, 8)),
                      "JPEGImages/a.jpg": "x"})
    obj = np.zeros((8, 10), np.uint8)
    obj[1:4, 1:4] = 1  # pixels 1..3 (0-based): VOC's 1-based corners 2..4
    obj[1:3, 5:7] = 2
    png(root / "SegmentationObject/a.png", obj)
    png(root / "SegmentationClass/a.png", np.where(obj == 1, 8, np.where(obj == 2, 12, 0)))
    return root / "Annotations" / "a.xml"


def test_voc_bndbox_rewritten_from_the_mask_in_the_devkit_convention(tmp_path, capsys, monkeypatch):
    path = voc_tree(tmp_path / "voc")
    before = path.read_text().splitlines(keepends=True)
    assert [line for c, line in codes(tmp_path / "voc") if c == "MC211"] == [4]
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "voc", "--diff"]) == 0  # unsafe: nothing without --unsafe-fixes
    assert main(["fix", "voc", "--diff", "--unsafe-fixes"]) == 1
    patch_text = capsys.readouterr().out
    out = fix_run.fix([tmp_path / "voc"], unsafe=True)
    assert [f.code for f in out.fixed] == ["MC211"]
    after = path.read_text().splitlines(keepends=True)
    assert after == [*before[:5], "    <bndbox><xmin>2</xmin><ymin>2</ymin><xmax>4</xmax>"
                                  "<ymax>4</ymax></bndbox>\n", *before[6:]]
    assert "MC211" not in {c for c, _ in codes(tmp_path / "voc")}
    fixed = path.read_bytes()
    assert not fix_run.fix([tmp_path / "voc"], unsafe=True).written and path.read_bytes() == fixed
    copy = tmp_path / "copy"
    (copy / "voc" / "Annotations").mkdir(parents=True)
    (copy / "voc" / "Annotations" / "a.xml").write_text("".join(before))
    applies_with_patch(copy, "voc/Annotations/a.xml", patch_text, fixed)


# ---------------------------------------------------------------------------------- xmledit
def test_xml_spans_of_elements_with_quoted_brackets_and_empty_tags():
    data = (b'<?xml version="1.0"?>\n<a>\n  <p x="1>2"/>\n  <q>t<r>u</r></q >\n'
            b"  <s a='>'>x</s>\n</a>\n")
    els = xmledit.elements(data)
    assert [(e.tag, e.line, data[e.start:e.end]) for e in els] == [
        ("a", 2, data[22:-1]), ("p", 3, b'<p x="1>2"/>'), ("q", 4, b"<q>t<r>u</r></q >"),
        ("r", 4, b"<r>u</r>"), ("s", 5, b"<s a='>'>x</s>")]
    assert [data[e.inner:e.close] for e in els[2:]] == [b"t<r>u</r>", b"u", b"x"]
    out = xmledit.splice(data, [els[1]], [(els[3], "<&>")])
    assert out == data.replace(b'  <p x="1>2"/>\n', b"").replace(b"<r>u</r>", b"<r>&lt;&amp;&gt;</r>")
    with pytest.raises(xmledit.XmlEditError):
        xmledit.splice(data, [], [(els[1], "1")])  # <p/> has no content to replace
    with pytest.raises(xmledit.XmlEditError):
        xmledit.elements(b"<a><b></a>")
    with pytest.raises(xmledit.XmlEditError):  # defusedxml: no entity declarations
        xmledit.elements(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')


# ---------------------------------------------------------------------------- tidy polygons
def test_tidy_clips_within_the_tolerance_and_keeps_number_forms():
    assert tidy([10, 10, 30.0, 10, 30.0, 10, 30, 30, 10, 30, 10, 10], 100, 80, 1.0) == [
        10, 10, 30.0, 10, 30, 30, 10, 30]
    assert tidy([-0.5, 0, 100.75, 0, 100.75, 80.25], 100, 80, 1.0) == [0, 0, 100, 0, 100, 80]
    assert tidy([-1.5, 0, 10, 0, 10, 10], 100, 80, 1.0) is None  # MC205's
    assert tidy([-1.5, 0, 10, 0, 10, 10], None, None, 1.0) is None  # no size: nothing to clip
    assert tidy([0, 0, 10, 0, 10, 10], 100, 80, 1.0) is None  # already tidy
    assert tidy([0, 0, 10, 0, 10, 0, 0, 0], 100, 80, 1.0) is None  # 2 points left: MC202's
    assert tidy([0, 0, "10", 0, 10, 10, 10, 10], 100, 80, 1.0) is None  # MC009's first
    assert tidy([0, 0, True, 0, 10, 10, 10, 10], 100, 80, 1.0) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from([0, 5, 10, 10.0, 99.5, 100, 100.5, 101.5, -0.5, -3]),
                         min_size=6, max_size=12).filter(lambda c: len(c) % 2 == 0),
                min_size=1, max_size=8))
def test_the_fix_tidies_exactly_the_polygons_the_rule_counts(tmp_path, polys):
    anns = [{"id": k + 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
             "iscrowd": 0, "segmentation": [p]} for k, p in enumerate(polys)]
    path = tmp_path / "ann.json"
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
           "annotations": anns, "categories": [{"id": 1, "name": "a"}]}
    path.write_text(json.dumps(doc))
    found = [f for f in lint([path], select=["MC223"]).findings]
    want = sum(tidy(p, 100, 80, 1.0) is not None for p in polys)
    assert len(found) == (1 if want else 0)
    if want:
        assert found[0].message.startswith(f"{want:,} polygon")
    fix_run.fix([path], select=["MC223"], backup=False)
    after = json.loads(path.read_text())["annotations"]
    changed = sum(a["segmentation"] != b["segmentation"] for a, b in zip(after, anns, strict=True))
    assert changed == want
    assert not lint([path], select=["MC223"]).findings


def test_fix_reads_the_data_as_lint_does_with_the_same_options(tmp_path, capsys):
    """Records labelled by name need --classes: fix takes it (and --field, --input-format,
    --images, --target, -j) so that it repairs what lint with those options reports."""
    classes = tmp_path / "classes.yaml"
    classes.write_text("cat: 1\ndog: 2\n")
    path = jsonl(tmp_path / "r.jsonl", [
        {"img": "a.jpg", "cls": "cat", "bbox": [10, 10, 20, 20], "segmentation": SQ, "area": 900},
        {"img": "a.jpg", "cls": "dog", "bbox": [40, 40, 20, 20],
         "segmentation": [[40, 40, 60, 40, 60, 60, 40, 60]], "area": 400}])
    opts = ["--classes", str(classes), "--field", "label=cls", "--field", "image=img", "-j", "1"]
    main(["lint", str(path), *opts, "--format", "json", "--select", "MC213,MC101,MC102"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["location"]["line"]) for f in found] == [("MC213", 1)]
    assert main(["fix", str(path), *opts]) == 0
    out = capsys.readouterr().out
    assert "(MC213 1)" in out
    assert json.loads(path.read_text().splitlines()[0])["area"] == 400
    assert main(["fix", str(path), "--field", "nonsense=x"]) == 2
    assert "unknown field 'nonsense'" in capsys.readouterr().err


# ----------------------------------------------------------------------- many strings, one field
def test_a_field_of_many_numeric_strings_is_unquoted_whole(tmp_path):
    """An exporter that quotes every number: each polygon, RLE counts list and LabelMe points
    list is one finding (more than a handful of strings), and its fix unquotes the field."""
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
           "annotations": [
               {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400,
                "iscrowd": 0, "segmentation": [["10", "10", "30", "10", "30.0", "30", "10", "30"]]},
               {"id": 2, "image_id": 1, "category_id": 1, "bbox": [12, 50, 2, 20], "area": 40,
                "iscrowd": 1, "segmentation": {"size": [80, 100],
                                               "counts": ["1010", "20", "60", "20", "6890"]}}],
           "categories": [{"id": 1, "name": "scratch"}]}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc, indent=1))
    found = [f for f in lint([path]).findings if f.code == "MC009"]
    assert [(f.location.pointer, f.fix.what) for f in found] == [
        ("/annotations/0/segmentation/0/0", "8 strings in polygon 0 -> numbers"),
        ("/annotations/1/segmentation/counts/0", "5 strings in segmentation.counts -> numbers")]
    fix_run.fix([path])
    now = json.loads(path.read_text())
    assert now["annotations"][0]["segmentation"] == [[10, 10, 30, 10, 30.0, 30, 10, 30]]
    assert type(now["annotations"][0]["segmentation"][0][4]) is float  # "30.0" stays a float
    assert now["annotations"][1]["segmentation"]["counts"] == [1010, 20, 60, 20, 6890]
    for a in now["annotations"]:
        a.pop("segmentation")
    for a in doc["annotations"]:
        a.pop("segmentation")
    assert now == doc
    assert "MC009" not in {c for c, _ in codes(path)}

    root = tmp_path / "lm"
    root.mkdir()
    (root / "a.png").write_bytes(base64.b64decode(PNG_4x3))
    points = [["0", "0"], ["3", "0"], ["3", "2"], [0, "2"]]
    (root / "a.json").write_text(json.dumps({
        "version": "5.2.1", "flags": {}, "imagePath": "a.png", "imageData": None,
        "imageHeight": 3, "imageWidth": 4, "shapes": [
            {"label": "scratch", "points": points, "group_id": None, "shape_type": "polygon",
             "flags": {}}]}))
    (hit,) = [f for f in lint([root]).findings if f.code == "MC009"]
    assert hit.location.pointer == "/shapes/0/points/0/0" and hit.fix.up == 2  # the points list
    fix_run.fix([root])
    assert json.loads((root / "a.json").read_text())["shapes"][0]["points"] == [
        [0, 0], [3, 0], [3, 2], [0, 2]]


def test_coco_segmentations_of_the_wrong_shape(tmp_path):
    """MC201: a flat polygon is wrapped (safe); empty polygons go (unsafe), and so does an
    annotation left without any (`[[]]`, or `[]` in a file that trains masks)."""
    sq, sq2 = SQ[0], [50, 50, 70, 50, 70, 70, 50, 70]  # two places: no exact copies (MC218)
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
           "annotations": [
               {"id": k + 1, "image_id": 1, "category_id": 1, "bbox": box,
                "area": 400, "iscrowd": 0, "segmentation": seg}
               for k, (seg, box) in enumerate([(sq, [10, 10, 20, 20]), ([[]], [0, 0, 5, 5]),
                                               ([sq2, []], [50, 50, 20, 20]), ([], [0, 0, 5, 5]),
                                               ([sq, "x"], [10, 10, 20, 20])])],
           "categories": [{"id": 1, "name": "scratch"}]}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    found = {f.location.pointer: f.fix for f in lint([path]).findings if f.code == "MC201"}
    assert {p: (fx.safe, fx.delete) if fx else None for p, fx in found.items()} == {
        "/annotations/0/segmentation": (True, False), "/annotations/1/segmentation": (False, True),
        "/annotations/2/segmentation": (False, True), "/annotations/3/segmentation": (False, True),
        "/annotations/4/segmentation": None}  # a string among polygons: nothing one edit mends
    fix_run.fix([path])  # the safe one only
    assert json.loads(path.read_text())["annotations"][0]["segmentation"] == [sq]
    fix_run.fix([path], unsafe=True, backup=False)
    now = json.loads(path.read_text())["annotations"]
    assert [(a["id"], a["segmentation"]) for a in now] == [(1, [sq]), (3, [sq2]), (5, [sq, "x"])]
    removed = json.loads((tmp_path / "ann.json.removed.json").read_text())
    assert [(r["pointer"], r["value"]) for r in removed] == [
        ("/annotations/1", doc["annotations"][1]), ("/annotations/2/segmentation/1", []),
        ("/annotations/3", doc["annotations"][3])]
    assert [f.location.pointer for f in lint([path]).findings if f.code == "MC201"] == [
        "/annotations/2/segmentation"]  # [sq, "x"], now the third


def test_the_sidecar_of_deleted_records_is_named_as_not_a_dataset(tmp_path):
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}],
           "annotations": [{"id": 1, "image_id": 9, "category_id": 1, "bbox": [10, 10, 20, 20],
                            "area": 400, "iscrowd": 0, "segmentation": SQ}],
           "categories": [{"id": 1, "name": "scratch"}]}
    (tmp_path / "ann.json").write_text(json.dumps(doc))
    fix_run.fix([tmp_path], unsafe=True, select=["MC007"])
    assert (tmp_path / "ann.json.removed.json").exists()
    report = lint([tmp_path])
    assert [i["path"] for i in report.inputs] == [str(tmp_path / "ann.json")]
    (skipped,) = report.skipped
    assert skipped.path == str(tmp_path / "ann.json.removed.json")
    assert "not a dataset" in skipped.reason
