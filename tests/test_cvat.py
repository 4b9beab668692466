"""CVAT for images XML 1.1: the reader against real exports, and the CVAT checks on small files."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
from pycocotools import mask as mask_utils

from conftest import BILLION_LAUGHS
from maskcheck.api import lint
from maskcheck.cli import main
from maskcheck.readers import cvat
from maskcheck.readers.reading import detect

DATUMARO = "openvinotoolkit__datumaro/tests/assets/cvat_dataset"
CVAT_AI = "cvat-ai__datumaro/tests/assets/cvat_dataset"
KGCRAIG = "KGCraig__Urban-Scene-Data-Annotation/annotations.xml"


def cvat_xml(*shapes: str, labels: tuple[str, ...] = ("car", "tree"), width: int = 8,
             height: int = 6) -> str:
    """A CVAT file whose shapes start at line 5, one shape a line."""
    declared = "".join(f"<label><name>{n}</name></label>" for n in labels)
    lines = [
        "<annotations>",
        "  <version>1.1</version>",
        f"  <meta><task><labels>{declared}</labels></task></meta>",
        f'  <image id="0" name="a.jpg" width="{width}" height="{height}">',
        *(f"    {s}" for s in shapes),
        "  </image>",
        "</annotations>",
    ]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "annotations.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def found(path: Path, code: str):
    report = lint([path], select=[code])
    assert not report.errors, report.errors
    return [f for f in report.findings if f.code == code]


def lines(findings) -> list[int | None]:
    return [f.location.line for f in findings]


def anns_of(path: Path):
    (dataset,) = cvat.read(path)
    return next(dataset.batches(None)).anns


# --------------------------------------------------------------------------------- real data
def test_datumaro_exports_read_as_cvat_with_unlabelled_shapes(realdata):
    folder = realdata / DATUMARO
    report = lint([folder])
    assert not report.errors
    assert sorted(Path(i["path"]).relative_to(folder).as_posix() for i in report.inputs) == [
        "for_images/export_project/annotations.xml", "for_images/export_task/train.xml",
        "for_video/annotations.xml"]
    assert {i["format"] for i in report.inputs} == {"cvat"}
    assert not [f for f in report.findings if f.code == "MC000"]
    unlabelled = [f for f in report.findings if f.code == "MC450"]
    assert [(Path(f.location.path).name, f.location.line) for f in unlabelled] == [
        ("train.xml", 50), ("train.xml", 53)]
    assert "<polyline>" in unlabelled[0].message and "<polygon>" in unlabelled[1].message


def test_cvat_ai_export_with_skeletons(realdata):
    path = realdata / CVAT_AI / "for_images/train.xml"
    hits = found(path, "MC450")
    assert lines(hits) == [90, 103]  # skeleton points use declared sub-labels: not reported
    video = lint([realdata / CVAT_AI / "for_video/annotations.xml"])
    assert not video.errors and video.inputs[0]["format"] == "cvat"
    assert video.annotations > 0


def test_kgcraig_real_masks_read_clean(realdata):
    path = realdata / KGCRAIG
    report = lint([path])
    assert not report.errors
    assert report.images == 20 and report.annotations == 313  # 245 masks + 68 boxes
    assert not [f for f in report.findings if str(f.severity) == "error"], [
        (f.code, f.message) for f in report.findings if str(f.severity) == "error"]
    anns = anns_of(path)
    rle_rows = np.flatnonzero(anns.seg_kind == 2)
    assert len(rle_rows) == 245
    for r in rle_rows[:20].tolist():
        rle = msgspec.json.decode(anns.segmentation[r])
        rle["counts"] = rle["counts"].encode()
        assert float(mask_utils.area(rle)) == anns.area[r]
        assert mask_utils.toBbox(rle).tolist() == anns.bbox[r].tolist()


# --------------------------------------------------------------------------------- masks
def test_mask_rle_becomes_the_right_coco_mask(tmp_path):
    # a 3x2 box at (2, 1): rows "011" and "110" -> runs 1, 2, 0... written as CVAT does
    path = write(tmp_path, cvat_xml('<mask label="car" rle="1, 3, 2" left="2" top="1" '
                                    'width="3" height="2" z_order="0"/>'))
    anns = anns_of(path)
    rle = msgspec.json.decode(anns.segmentation[0])
    rle["counts"] = rle["counts"].encode()
    got = mask_utils.decode(rle)
    want = np.zeros((6, 8), dtype=np.uint8)
    want[1, 3:5] = 1
    want[2, 2:3] = 1
    assert got.tolist() == want.tolist()
    assert anns.area[0] == 3.0 and anns.bbox[0].tolist() == [2.0, 1.0, 3.0, 2.0]
    assert not found(path, "MC451")


def test_mask_runs_that_do_not_cover_the_box(tmp_path):
    path = write(tmp_path, cvat_xml(
        '<box label="car" xtl="0" ytl="0" xbr="2" ybr="2"/>',
        '<mask label="car" rle="1, 3" left="2" top="1" width="3" height="2"/>',
        '<mask label="car" rle="1, -3, 8" left="2" top="1" width="3" height="2"/>',
        '<mask label="car" rle="1, 5" left="6" top="1" width="3" height="2"/>',
        '<polygon label="tree" points="1,2;x,4;5,6"/>',
        '<mask label="car" rle="0, 1000000000000" left="0" top="0" width="1000000" '
        'height="1000000"/>'))
    hits = found(path, "MC451")
    assert lines(hits) == [6, 7, 8, 9, 10]
    assert "over the" in hits[4].message and "not decoded" in hits[4].message
    assert "runs sum to 4 pixels, but its width x height is 3x2 = 6" in hits[0].message
    assert "negative run (-3)" in hits[1].message
    assert "does not lie inside the 8x6 image" in hits[2].message
    assert "not numbers" in hits[3].message


# --------------------------------------------------------------------------------- labels
def test_empty_and_absent_labels(tmp_path):
    path = write(tmp_path, cvat_xml(
        '<box label="" xtl="0" ytl="0" xbr="2" ybr="2"/>',
        '<polyline points="1,2;3,4"/>',
        '<polygon label="car" points="1,1;4,1;4,4"/>'))
    hits = found(path, "MC450")
    assert lines(hits) == [5, 6]
    assert 'empty label (label="")' in hits[0].message and "no label attribute" in hits[1].message
    assert found(path, "MC102") == []


def test_undeclared_labels(tmp_path):
    path = write(tmp_path, cvat_xml(
        '<polygon label="cra" points="1,1;4,1;4,4"/>',
        '<points label="lamp" points="1,1"/>',
        '<box label="tree" xtl="0" ytl="0" xbr="2" ybr="2"/>'))
    (unmapped,) = found(path, "MC102")
    assert unmapped.location.line == 5 and '"cra"' in unmapped.message
    (other,) = found(path, "MC450")
    assert other.location.line == 6 and '"lamp"' in other.message


def test_undeclared_and_unlabelled_shapes_come_in_line_order(tmp_path):
    path = write(tmp_path, cvat_xml(
        '<box label="" xtl="0" ytl="0" xbr="2" ybr="2"/>',
        '<points label="lamp" points="1,1"/>',
        '<polyline points="1,2;3,4"/>',
        '<polyline label="sign" points="1,2;3,4"/>'))
    hits = found(path, "MC450")
    assert lines(hits) == [5, 6, 7, 8]  # not the unlabelled ones first
    assert ['"lamp"' in h.message or '"sign"' in h.message for h in hits] == [
        False, True, False, True]


def test_declared_labels_get_ids_in_declaration_order(tmp_path):
    path = write(tmp_path, cvat_xml('<box label="tree" xtl="0" ytl="0" xbr="2" ybr="2"/>',
                                    '<polygon label="car" points="1,1;4,1;4,4"/>'))
    (dataset,) = cvat.read(path)
    cats = dataset.info.categories
    assert list(cats.name) == ["car", "tree"] and list(cats.id) == [1, 2]
    assert dataset.info.locate("categories", 1).line == 3
    anns = next(dataset.batches(None)).anns
    assert anns.category_id.tolist() == [2, 1]
    assert anns.seg_kind.tolist() == [0, 1] and anns.bbox[1].tolist() == [1.0, 1.0, 3.0, 3.0]


def test_video_tracks_keep_only_visible_keyframes(tmp_path):
    text = """<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>car</name></label></labels>
    <original_size><width>20</width><height>10</height></original_size></task></meta>
  <track id="0" label="car">
    <box frame="3" outside="0" xtl="1" ytl="1" xbr="4" ybr="4"/>
    <box frame="6" outside="1" xtl="1" ytl="1" xbr="4" ybr="4"/>
  </track>
  <track id="1" label="">
    <box frame="3" outside="0" xtl="1" ytl="1" xbr="4" ybr="4"/>
  </track>
</annotations>
"""
    path = write(tmp_path, text)
    report = lint([path])
    assert report.images == 1 and report.annotations == 1
    assert lines(found(path, "MC450")) == [10]


# --------------------------------------------------------------------------------- input
BOMB = BILLION_LAUGHS + """<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>&lol9;</name></label></labels></task></meta>
</annotations>
"""


def test_billion_laughs_is_one_line_and_exit_2(tmp_path, capsys):
    path = write(tmp_path, BOMB)
    assert detect(path) is cvat
    code = main(["lint", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    lines_ = err.strip().splitlines()
    assert len(lines_) == 1 and str(path) in lines_[0] and "refused to parse" in lines_[0]
    assert "Traceback" not in out + err


def test_broken_cvat_file_is_one_line(tmp_path, capsys):
    path = write(tmp_path, cvat_xml('<box label="car" xtl="0"').replace("</image>", ""))
    code = main(["lint", str(path)])
    _, err = capsys.readouterr()
    assert code == 2 and "not well-formed XML at line" in err and len(err.strip().splitlines()) == 1


def test_detection_tells_cvat_from_voc(tmp_path):
    cvat_file = write(tmp_path, cvat_xml(), "task.xml")
    voc_file = write(tmp_path, "<annotation><filename>a.jpg</filename></annotation>\n", "a.xml")
    assert cvat.detect(cvat_file) and not cvat.detect(voc_file)
    assert detect(cvat_file) is cvat and detect(voc_file).NAME == "voc"


def test_crafted_sizes_and_runs_are_findings_not_crashes(tmp_path):
    # int64 sum of the first mask's runs wraps round to 1 = w x h; np.repeat then overran
    text = """<annotations>
  <version>1.1</version>
  <meta><task><labels><label><name>car</name></label></labels>
    <original_size><width>1e999</width><height>10</height></original_size></task></meta>
  <image id="0" name="a.jpg" width="8" height="6">
    <mask label="car" rle="9223372036854775807,9223372036854775807,3" left="0" top="0" width="1" height="1"/>
    <mask label="car" rle="99999999999999999999999" left="0" top="0" width="1" height="1"/>
  </image>
  <image id="1" name="b.jpg" width="1000000000" height="1000000000">
    <mask label="car" rle="1,2,1" left="0" top="0" width="2" height="2"/>
  </image>
  <track id="0" label="car">
    <mask frame="3" outside="0" rle="1,2,1" left="0" top="0" width="2" height="2"/>
  </track>
</annotations>
"""
    path = write(tmp_path, text)
    report = lint([path])
    assert not report.errors and not [f for f in report.findings if f.code == "MC000"]
    hits = [f for f in report.findings if f.code == "MC451"]
    assert lines(hits) == [6, 7, 10]
    assert "18,446,744,073,709,551,617" in hits[0].message
    assert "over the 2,147,483,648 pixels" in hits[2].message


def test_locations_carry_cvat_image_ids_and_points_use_their_label(tmp_path):
    text = cvat_xml('<polygon label="car" points="1,1;5,1;5,4"/>', labels=("car", "tree", "lamp"),
                    ).replace('<image id="0"', '<image id="17"')
    shapes = '    <points label="tree" points="2,2;3,3"/>\n    <polyline label="lamp" points="1,1;4,4"/>\n'
    path = write(tmp_path, text.replace("  </image>", shapes + "  </image>"))
    report = lint([path])
    assert not report.errors
    # a class labelled only by points or a polyline is not an unused class
    assert [f for f in report.findings if f.code == "MC107"] == []
    # without them, tree and lamp are
    bare = write(tmp_path, text, "bare.xml")
    unused = [f for f in lint([bare]).findings if f.code == "MC107"]
    assert [f.location.category_id for f in unused] == [2, 3]


def test_findings_name_the_cvat_image_id(tmp_path):
    text = cvat_xml('<polygon label="car" points="1,1;5,1;5,4"/>',
                    '<polygon label="car" points="1,1;5,1;5,4"/>').replace('<image id="0"', '<image id="42"')
    path = write(tmp_path, text)
    hits = [f for f in lint([path]).findings if f.code == "MC218"]  # the same polygon twice
    assert [(f.location.line, f.location.image_id) for f in hits] == [(5, 42)]
    doc = json.loads(json.dumps([f.to_dict() for f in hits]))  # ids stay JSON-safe
    assert doc[0]["location"]["image_id"] == 42
