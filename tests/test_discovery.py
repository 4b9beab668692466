"""A folder lint reads every dataset inside it, each in its own format, and names what it skips."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import coco_doc
from maskcheck import lint
from maskcheck.cli import main
from test_labelme import TRI, shape, write_lm
from test_voc import xml

KEYPOINTS = {"images": [{"file": "a.jpg"}], "keypoints": [[1, 2, 3]], "skeleton": [[0, 1]]}


def mixed(root: Path) -> Path:
    """A folder holding a VOC tree, a COCO file, a LabelMe folder and things that are none."""
    (root / "voc/Annotations").mkdir(parents=True)
    (root / "voc/Annotations/a.xml").write_text(xml([("cat", (1, 1, 4, 4))]))
    (root / "voc/JPEGImages").mkdir()
    (root / "voc/JPEGImages/a.jpg").write_bytes(b"x")
    (root / "annotations.json").write_text(json.dumps(coco_doc()))
    write_lm(root / "labelme", "a.json", [shape("cat", TRI)])
    write_lm(root / "labelme", "b.json", [shape("dog", TRI)])
    (root / "keypoints.json").write_text(json.dumps(KEYPOINTS))
    (root / "package.json").write_text(json.dumps({"name": "x", "version": "1.0"}))
    (root / "notes.txt").write_text("hello\n")
    (root / "README.md").write_text("# data\n")  # not annotation-like: neither read nor listed
    return root


def by_path(items) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in items}


def test_every_dataset_in_a_folder_is_read_with_its_own_format(tmp_path):
    report = lint([mixed(tmp_path)])
    assert not report.errors
    assert sorted((Path(i["path"]).name, i["format"]) for i in report.inputs) == [
        ("annotations.json", "coco"), ("labelme", "labelme"), ("voc", "voc")]
    assert report.files == 4  # 1 COCO file, 2 LabelMe files, 1 VOC XML
    skipped = by_path(report.skipped)
    assert set(skipped) == {"keypoints.json", "package.json", "notes.txt"}
    assert "mentions COCO's keys but is not COCO" in skipped["keypoints.json"]
    assert "not a supported annotation format" in skipped["package.json"]
    # the keypoint file was not read as COCO: no malformed-record findings about it
    assert not [f for f in report.findings if "keypoints" in f.location.path]


def test_text_and_json_reports_count_datasets_and_list_skips(tmp_path, capsys):
    root = mixed(tmp_path)
    main(["lint", str(root), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["datasets"] == 3 and doc["summary"]["files"] == 4
    assert {Path(s["path"]).name for s in doc["skipped"]} == {"keypoints.json", "package.json", "notes.txt"}
    main(["lint", str(root)])
    out = capsys.readouterr().out
    assert "in 3 datasets, 4 files:" in out
    assert "skipped, not read (3):" in out and "keypoints.json" in out


def test_many_coco_files_beside_a_labelme_folder_are_all_read(tmp_path):
    for i in range(19):
        (tmp_path / f"split_{i:02d}.json").write_text(json.dumps(coco_doc()))
    write_lm(tmp_path / "lm", "a.json", [shape("cat", TRI)])
    report = lint([tmp_path])
    formats = [i["format"] for i in report.inputs]
    assert formats.count("coco") == 19 and formats.count("labelme") == 1
    assert report.files == 20 and not report.skipped


def test_a_non_coco_file_named_directly_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "keypoints.json"
    path.write_text(json.dumps(KEYPOINTS))
    code = main(["lint", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert str(path) in err[0] and "not a supported annotation file" in err[0]


def test_special_files_and_links_out_of_the_folder_are_skipped(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "other.json").write_text(json.dumps(coco_doc()))
    root = tmp_path / "data"
    root.mkdir()
    (root / "ann.json").write_text(json.dumps(coco_doc()))
    (root / "elsewhere").symlink_to(outside)
    (root / "up").symlink_to("..")
    (root / "loop").symlink_to("loop")
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "pipe.json")
    report = lint([root])
    assert [Path(i["path"]).name for i in report.inputs] == ["ann.json"]  # and nothing outside
    skipped = by_path(report.skipped)
    assert "out of the folder being linted" in skipped["elsewhere"]
    assert "out of the folder being linted" in skipped["up"]
    assert "loop" in skipped["loop"]
    if hasattr(os, "mkfifo"):
        assert "FIFO" in skipped["pipe.json"]


def test_image_rules_that_could_not_run_say_so_once(tmp_path, capsys):
    (tmp_path / "train.json").write_text(json.dumps(coco_doc()))
    (tmp_path / "val.json").write_text(json.dumps(coco_doc()))
    report = lint([tmp_path])
    assert len(report.notes) == 1
    assert report.notes[0].startswith("image files not checked: no image folder found (use --images)")
    (tmp_path / "img1.jpg").write_bytes(b"\xff\xd8\xff\xd9")  # now one image is found beside them
    assert lint([tmp_path]).notes == []
    main(["lint", str(tmp_path / "train.json"), "--images", str(tmp_path)])
    assert "image files not checked" not in capsys.readouterr().out


def test_input_format_still_forces_one_format(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(coco_doc()))
    report = lint([tmp_path / "a.json"], format="coco")
    assert [i["format"] for i in report.inputs] == ["coco"]


def test_lightly_object_detection_reads_voc_and_coco_side_by_side(realdata):
    folder = realdata / "lightly-ai__labelformat/tests/fixtures/object_detection"
    report = lint([folder])
    assert not report.errors
    assert sorted({i["format"] for i in report.inputs}) == ["coco", "voc"]


@pytest.mark.parametrize("folder", [
    "wkentaro__labelme/examples/instance_segmentation",
    "openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances",
])
def test_real_folders_read_every_dataset(realdata, folder):
    report = lint([realdata / folder])
    assert not report.errors and report.inputs
    formats = {i["format"] for i in report.inputs}
    if folder.startswith("wkentaro"):  # LabelMe JSON, its COCO and its VOC exports, side by side
        assert formats == {"labelme", "coco", "voc"}
