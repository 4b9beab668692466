"""Pascal VOC: the reader against real datasets, and every VOC check on small hand-made folders."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import msgspec
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from conftest import BILLION_LAUGHS
from maskcheck.api import lint
from maskcheck.readers import voc
from maskcheck.readers.masks import voc_colormap
from maskcheck.readers.reading import detect

VOC_REAL = "openvinotoolkit__datumaro/tests/assets/voc_dataset"
CHESS = "roboflow__roboflow-python/tests/datasets/chess"
LABELME_VOC = "wkentaro__labelme/examples/instance_segmentation/data_dataset_voc"
LIGHTLY = "lightly-ai__labelformat/tests/fixtures"


# --------------------------------------------------------------------------------- helpers
def xml(objects: list[tuple[str, tuple] | tuple[str, None]] = (), filename: str = "a.jpg",
        size: tuple[int, int] | None = (8, 6)) -> str:
    """A VOC XML; each object on its own lines so tests can name exact lines.

    Line 1 is <annotation>; with a size, objects start at line 4 and take 4 lines each
    (<object>, <name>, <bndbox> or nothing, </object>).
    """
    lines = ["<annotation>", f"  <filename>{filename}</filename>"]
    if size is not None:
        lines.append(f"  <size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>")
    for name, box in objects:
        lines.append("  <object>")
        lines.append(f"    <name>{name}</name>")
        if box is not None:
            x0, y0, x1, y1 = box
            lines.append(f"    <bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
                         f"<ymax>{y1}</ymax></bndbox>")
        else:
            lines.append("    <pose>Unspecified</pose>")
        lines.append("  </object>")
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def png(path: Path, array, mode: str = "P") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.asarray(array, dtype=np.uint8)
    im = Image.fromarray(a, mode="RGB" if a.ndim == 3 else "L")
    if mode == "P" and a.ndim == 2:
        im = im.convert("P")
        im.putpalette(voc_colormap().astype(np.uint8).ravel().tolist())
        im.putdata(a.ravel().tolist())
    im.save(path)
    return path


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def found(path: Path, code: str, **kw):
    report = lint([path], select=[code], **kw)
    assert not report.errors, report.errors
    return [f for f in report.findings if f.code == code]


def where(findings) -> list[tuple[str, int | None]]:
    return [(Path(f.location.path).name, f.location.line) for f in findings]


# --------------------------------------------------------------------------------- real data
def test_datumaro_voc_folder_is_three_voc_datasets_with_the_planted_defects(realdata):
    report = lint([realdata / VOC_REAL])
    assert not report.errors
    assert [i["format"] for i in report.inputs] == ["voc", "voc", "voc"]
    assert not [f for f in report.findings if f.code == "MC000"]
    ds1 = realdata / VOC_REAL / "voc_dataset1"
    mismatch = [f for f in report.findings if f.code == "MC104"]
    assert [(f.location.path, f.location.line) for f in mismatch] == [
        (str(ds1 / "Annotations/2007_000001.xml"), 2)]
    assert "2 labels, 1 masks" in mismatch[0].message
    split = [f for f in report.findings if f.code == "MC442"]
    assert [(f.location.path, f.location.line) for f in split] == [
        (str(ds1 / "ImageSets/Segmentation/test.txt"), 1)]
    assert "2007_000002" in split[0].message and "no mask" in split[0].message
    assert [f.location.path for f in report.findings if f.code == "MC443"] == [
        str(ds1 / "JPEGImages/2007_000002.jpg")]


def test_datumaro_labelme_trap_file_is_read_as_voc(realdata):
    ds2 = realdata / VOC_REAL / "voc_dataset2"
    assert detect(ds2) is voc
    datasets = list(voc.read(ds2))
    assert len(datasets) == 1 and datasets[0].info.format == "voc"
    images = next(datasets[0].batches(None)).images
    assert "@.jpg" in list(images.file_name)
    # ds2 ships no images at all: an annotations-only checkout, not five missing images
    assert not found(ds2, "MC444")


def test_datumaro_rgb_masks_pair_instance_with_class(realdata):
    ds1 = realdata / VOC_REAL / "voc_dataset1"
    (dataset,) = voc.read(ds1)
    anns = next(dataset.batches(None)).anns
    first = int(np.flatnonzero(anns.instance_id == 1)[0])
    # the RGB class mask is (0,128,0) everywhere: bicycle (2) in VOC's colour map
    assert anns.mask_classes[first] == ((2, 200),)
    assert anns.area[first] == 200.0


def test_roboflow_chess_flat_layout(realdata):
    chess = realdata / CHESS
    report = lint([chess], select=["MC443", "MC444"])
    assert not report.errors and report.inputs == [{"path": str(chess), "format": "voc"}]
    assert report.annotations == 180
    no_xml = {Path(f.location.path).name: f.message for f in report.findings if f.code == "MC443"}
    assert set(no_xml) == {"5c1.jpg", "0AF.jpg"}
    assert "0af.xml differs only in letter case" in no_xml["0AF.jpg"]
    assert "differs only" not in no_xml["5c1.jpg"]
    no_img = [f for f in report.findings if f.code == "MC444"]
    assert where(no_img) == [("0af.xml", None)]
    assert "0AF.jpg differs only in letter case" in no_img[0].message


def test_labelme2voc_mask_only_layout(realdata):
    folder = realdata / LABELME_VOC
    report = lint([folder])
    assert not report.errors and report.inputs[0]["format"] == "voc"
    assert report.images == 3 and report.annotations == 12
    assert not [f for f in report.findings if str(f.severity) in ("error", "warning")], [
        (f.code, f.message) for f in report.findings if str(f.severity) != "info"]
    (dataset,) = voc.read(folder)
    assert dataset.info.class_source == "class_names.txt"
    assert dataset.info.categories.name[0] == "_background_"


def test_lightly_flat_xml_and_nested_semantic_masks(realdata):
    report = lint([realdata / LIGHTLY / "object_detection/PascalVOC"])
    assert not report.errors and report.annotations == 16
    assert not [f for f in report.findings if str(f.severity) == "error"]
    semseg = lint([realdata / LIGHTLY / "semantic_segmentation/pascalvoc"])
    assert not semseg.errors and semseg.images == 2
    assert not [f for f in semseg.findings if str(f.severity) == "error"]


def test_mit_labelme_xml_is_not_voc(realdata):
    folder = realdata / "openvinotoolkit__datumaro/tests/assets/labelme_dataset"
    assert not voc.detect(folder)
    report = lint([folder])
    assert report.errors and not report.inputs


def test_findings_do_not_depend_on_batches(realdata):
    for folder in (realdata / VOC_REAL / "voc_dataset1", realdata / CHESS):
        runs = [lint([folder], batch_size=b, shuffle_seed=s) for b, s in
                ((None, None), (1, None), (7, 3), (1, 11))]
        keys = [sorted((f.code, f.location.path, f.location.line, f.message) for f in r.findings)
                for r in runs]
        assert all(k == keys[0] for k in keys)


# --------------------------------------------------------------------------------- MC445
def test_invalid_bndbox_at_the_bndbox_line(tmp_path):
    write(tmp_path, {
        "Annotations/a.xml": xml([("cat", (1, 1, 5, 5)), ("dog", (6, 1, 2, 5)),
                                  ("cat", (1, 4, 5, 4))]),
        "JPEGImages/a.jpg": "x",
    })
    hits = found(tmp_path, "MC445")
    assert where(hits) == [("a.xml", 10), ("a.xml", 14)]
    assert "xmax 2 <= xmin 6" in hits[0].message
    assert "ymax 4 <= ymin 4" in hits[1].message


def test_bndbox_with_a_coordinate_that_is_not_a_number(tmp_path):
    text = xml([("cat", ("1", "1", "five", "5"))]).replace("<ymax>5</ymax>", "")
    write(tmp_path, {"Annotations/a.xml": text, "JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC445")
    assert where([hit]) == [("a.xml", 6)]
    assert "xmax 'five' is not a number" in hit.message and "ymax is missing" in hit.message


def test_valid_and_absent_bndboxes_do_not_fire(tmp_path):
    write(tmp_path, {"Annotations/a.xml": xml([("cat", (1, 1, 5, 5)), ("dog", None)]),
                     "JPEGImages/a.jpg": "x"})
    assert not found(tmp_path, "MC445")


# --------------------------------------------------------------------------------- MC102 / MC103
def test_name_missing_from_labelmap_is_unmapped_class(tmp_path):
    write(tmp_path, {
        "labelmap.txt": "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncat:64,0,0::\ndog:64,0,128::\n",
        "Annotations/a.xml": xml([("cat", (1, 1, 5, 5)), ("dgo", (1, 1, 5, 5))]),
        "JPEGImages/a.jpg": "x",
    })
    hits = found(tmp_path, "MC102")
    assert where(hits) == [("a.xml", 8)]
    assert '"dgo"' in hits[0].message and "labelmap.txt" in hits[0].message
    (dataset,) = voc.read(tmp_path)
    cats = dataset.info.categories
    assert list(cats.name) == ["background", "cat", "dog"] and list(cats.id) == [0, 1, 2]


def test_palette_index_missing_from_the_class_list_is_unmapped_class(tmp_path):
    (tmp_path / "class_names.txt").write_text("_background_\ncat\ndog\n")
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 2, 2]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 1, 1], [0, 7, 7]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    hits = found(tmp_path, "MC102")
    assert len(hits) == 1 and hits[0].location.path.endswith("SegmentationObject/a.png")
    assert "7" in hits[0].message


def test_object_painted_with_background_index(tmp_path):
    (tmp_path / "class_names.txt").write_text("_background_\ncat\n")
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 2, 2]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 1, 1], [0, 0, 0]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC103")
    assert "class id 0" in hit.message and hit.location.path.endswith("class_names.txt")
    assert hit.location.line == 1


def test_background_index_quiet_when_every_instance_has_a_class(tmp_path):
    (tmp_path / "class_names.txt").write_text("_background_\ncat\n")
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [255, 2, 2]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 1, 1], [255, 1, 1]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    assert not found(tmp_path, "MC103")
    assert not found(tmp_path, "MC102")


def test_rgb_colour_masks_through_the_labelmap(tmp_path):
    write(tmp_path, {"labelmap.txt": "background:0,0,0::\ncat:10,20,30::\ndog:40,50,60::\n",
                     "JPEGImages/a.jpg": "x"})
    cmap = voc_colormap()
    obj = np.zeros((2, 3, 3), dtype=np.uint8)
    obj[0, 1:] = cmap[1]
    obj[1, 1:] = cmap[2]
    cls = np.zeros((2, 3, 3), dtype=np.uint8)
    cls[0, 1:] = (10, 20, 30)
    cls[1, 1:] = (1, 2, 3)  # a colour the label map lacks
    png(tmp_path / "SegmentationObject/a.png", obj, mode="RGB")
    png(tmp_path / "SegmentationClass/a.png", cls, mode="RGB")
    (dataset,) = voc.read(tmp_path)
    anns = next(dataset.batches(None)).anns
    assert anns.category_id_ok.tolist() == [True, False]
    assert int(anns.category_id[0]) == 1
    hits = found(tmp_path, "MC102")
    assert len(hits) == 1 and "colour (1, 2, 3)" in hits[0].message


# --------------------------------------------------------------------------------- MC104 / MC441
def test_xml_objects_against_object_png_instances(tmp_path):
    write(tmp_path, {"Annotations/a.xml": xml([("cat", (1, 0, 2, 1)), ("dog", (1, 1, 2, 2))],
                                              size=(3, 2)),
                     "Annotations/b.xml": xml([("cat", (1, 0, 2, 1))], filename="b.jpg",
                                              size=(3, 2)),
                     "JPEGImages/a.jpg": "x", "JPEGImages/b.jpg": "x"})
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 1, 1]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 8, 8], [0, 8, 8]])
    png(tmp_path / "SegmentationObject/b.png", [[0, 1, 1], [0, 1, 1]])
    png(tmp_path / "SegmentationClass/b.png", [[0, 8, 8], [0, 8, 8]])
    (hit,) = found(tmp_path, "MC104")
    assert where([hit]) == [("a.xml", 1)]
    assert "2 labels, 1 masks, 2 boxes" in hit.message
    (dataset,) = voc.read(tmp_path)
    anns = next(dataset.batches(None)).anns
    rle = msgspec.json.decode(anns.segmentation[0])
    decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert decoded.tolist() == [[0, 1, 1], [0, 1, 1]]


def test_instance_spanning_classes(tmp_path):
    write(tmp_path, {"Annotations/a.xml": xml([("cat", (1, 0, 3, 2)), ("dog", (0, 0, 1, 2))],
                                              size=(3, 2)),
                     "JPEGImages/a.jpg": "x"})
    png(tmp_path / "SegmentationObject/a.png", [[2, 1, 1], [2, 1, 255]])
    png(tmp_path / "SegmentationClass/a.png", [[12, 8, 8], [12, 12, 255]])
    (hit,) = found(tmp_path, "MC441")
    assert where([hit]) == [("a.xml", 4)]
    assert "instance 1" in hit.message and '"cat" (8): 2 pixels' in hit.message
    assert '"dog" (12): 1 pixel' in hit.message


def test_mask_only_instance_spanning_classes_points_at_the_png(tmp_path):
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 1, 1]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 8, 8], [0, 0, 8]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC441")
    assert hit.location.path.endswith("SegmentationObject/a.png") and hit.location.line is None


def test_void_border_is_not_a_second_class(tmp_path):
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 1, 255]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 8, 8], [0, 8, 255]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    assert not found(tmp_path, "MC441")


# --------------------------------------------------------------------------------- MC442-MC444
def test_split_lists_naming_ids_without_files(tmp_path):
    write(tmp_path, {
        "Annotations/a.xml": xml([("cat", (1, 1, 5, 5))]),
        "JPEGImages/a.jpg": "x",
        "ImageSets/Main/train.txt": "# a comment\n\na\nzz\n",
        "ImageSets/Main/cat_train.txt": "nope  1\n",  # per-class lists are not split lists
        "ImageSets/Segmentation/val.txt": "a\n",
    })
    hits = found(tmp_path, "MC442")
    assert where(hits) == [("train.txt", 4), ("val.txt", 1)]
    assert "'zz'" in hits[0].message and "no annotation XML and no image" in hits[0].message
    assert "no mask" in hits[1].message


def test_split_lists_quiet_when_every_id_has_files(tmp_path):
    write(tmp_path, {"Annotations/a.xml": xml([("cat", (1, 1, 5, 5))]), "JPEGImages/a.jpg": "x",
                     "ImageSets/Main/train.txt": "a\n"})
    assert not found(tmp_path, "MC442")


def test_unpaired_files_in_the_voc_tree(tmp_path):
    write(tmp_path, {
        "Annotations/a.xml": xml([("cat", (1, 1, 5, 5))]),
        "Annotations/b.xml": xml([("cat", (1, 1, 5, 5))], filename="b.jpg"),
        "JPEGImages/a.jpg": "x", "JPEGImages/c.png": "x",
    })
    assert where(found(tmp_path, "MC443")) == [("c.png", None)]
    assert where(found(tmp_path, "MC444")) == [("b.xml", None)]


def test_paired_files_are_quiet(tmp_path):
    write(tmp_path, {"a.xml": xml([("cat", (1, 1, 5, 5))]), "a.jpg": "x"})
    assert not found(tmp_path, "MC443") and not found(tmp_path, "MC444")


# --------------------------------------------------------------------------------- MC440, safety
BOMB = BILLION_LAUGHS + """<annotation><object><name>&lol9;</name></object></annotation>
"""


def test_broken_xml_is_a_finding_and_the_rest_is_read(tmp_path):
    write(tmp_path, {
        "Annotations/a.xml": xml([("cat", (1, 1, 5, 5))]),
        "Annotations/b.xml": "<annotation>\n  <object>\n    <name>cat</name>\n</annotation>\n",
        "JPEGImages/a.jpg": "x", "JPEGImages/b.jpg": "x",
    })
    report = lint([tmp_path], select=["MC440"])
    assert not report.errors and report.annotations == 1
    (hit,) = report.findings
    assert where([hit]) == [("b.xml", 4)]
    assert "not well-formed XML at line 4: mismatched tag" in hit.message


def test_billion_laughs_xml_is_refused_not_expanded(tmp_path):
    write(tmp_path, {"Annotations/a.xml": BOMB, "JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC440")
    assert "refused to parse" in hit.message and "entities" in hit.message


def test_billion_laughs_single_file_is_one_input_error(tmp_path):
    bomb = tmp_path / "a.xml"
    bomb.write_text(BOMB)
    report = lint([bomb])
    assert len(report.errors) == 1
    assert "refused to parse" in report.errors[0].message


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size: a decompression bomb is refused unread."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [12000, 60000])  # over our limit; over Pillow's too
def test_huge_mask_png_is_refused_before_decoding(tmp_path, side):
    (tmp_path / "SegmentationObject").mkdir()
    (tmp_path / "SegmentationObject/a.png").write_bytes(_png_header_only(side, side))
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC440")
    assert "not decoded" in hit.message and where([hit]) == [("a.png", None)]


def test_class_and_object_masks_of_different_sizes(tmp_path):
    png(tmp_path / "SegmentationObject/a.png", [[0, 1, 1], [0, 1, 1]])
    png(tmp_path / "SegmentationClass/a.png", [[0, 8], [0, 8]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (hit,) = found(tmp_path, "MC440")
    assert "is 2x2 but its SegmentationObject mask is 3x2" in hit.message


# --------------------------------------------------------------------------------- detection
def test_single_voc_xml_file(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text(xml([("cat", (6, 1, 2, 5))]))
    (tmp_path / "a.jpg").write_text("x")
    assert detect(path) is voc
    assert where(found(path, "MC445")) == [("a.xml", 6)]


def test_a_folder_of_voc_roots_gives_one_dataset_each(tmp_path):
    for split in ("train", "val"):
        write(tmp_path / split, {"Annotations/a.xml": xml([("cat", (1, 1, 5, 5))]),
                                 "JPEGImages/a.jpg": "x"})
    report = lint([tmp_path])
    assert [Path(i["path"]).name for i in report.inputs] == ["train", "val"]
    assert {i["format"] for i in report.inputs} == {"voc"}


def test_single_xml_file_with_a_case_variant_image(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text(xml([("cat", (1, 1, 5, 5))]))
    (tmp_path / "A.jpg").write_text("x")
    (tmp_path / "b.jpg").write_text("x")  # not part of what was given
    assert not found(path, "MC443")
    (hit,) = found(path, "MC444")
    assert where([hit]) == [("a.xml", None)] and "A.jpg differs only in letter case" in hit.message


def test_sixteen_bit_instance_ids(tmp_path):
    (tmp_path / "SegmentationObject").mkdir()
    ids = np.array([[0, 300, 300], [0, 301, 301]], dtype=np.uint16)
    Image.fromarray(ids).save(tmp_path / "SegmentationObject/a.png")
    png(tmp_path / "SegmentationClass/a.png", [[0, 8, 8], [0, 12, 12]])
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (dataset,) = voc.read(tmp_path)
    anns = next(dataset.batches(None)).anns
    assert anns.instance_id.tolist() == [300, 301] and anns.category_id.tolist() == [8, 12]


def test_many_instance_ids_are_encoded_in_one_pass(tmp_path):
    """A 16-bit SegmentationObject with 16,384 ids (once one whole-image comparison per id)."""
    from maskcheck.readers import voc

    ids = np.arange(1, 128 * 128 + 1, dtype=np.uint16).reshape(128, 128)
    objects = np.kron(ids, np.ones((2, 2), dtype=np.uint16))  # 256 x 256, 2x2 blocks
    objects[0, :2] = 0  # instance 1 loses its top row: area 2
    path = tmp_path / "SegmentationObject/a.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(objects).save(path)
    png(tmp_path / "SegmentationClass/a.png", np.full((256, 256), 8))
    write(tmp_path, {"JPEGImages/a.jpg": "x"})
    (ds,) = list(voc.read(tmp_path, {}))
    (batch,) = list(ds.batches(None))
    anns = batch.anns
    assert len(anns) == 128 * 128 - 1  # id 255 is VOC's void, not an instance
    assert float(anns.area.sum()) == 256 * 256 - 2 - 4
    assert sorted(set(anns.area.tolist())) == [2.0, 4.0]
