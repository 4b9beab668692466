"""YOLO exports read as Ultralytics reads them: data.yaml paths, splits, hostile files."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from maskcheck import lint
from maskcheck.readers import yolo

POLY = "0 0.1 0.1 0.4 0.1 0.4 0.3"
POLY1 = "1 0.1 0.1 0.4 0.1 0.4 0.3"


def split(root: Path, images: str, labels: str, rows: dict[str, str]) -> None:
    (root / images).mkdir(parents=True, exist_ok=True)
    (root / labels).mkdir(parents=True, exist_ok=True)
    for stem, text in rows.items():
        (root / labels / f"{stem}.txt").write_text(text)
        Image.new("L", (20, 10)).save(root / images / f"{stem}.png")


def roboflow(root: Path, yaml: str, val_rows: dict[str, str] | None = None) -> Path:
    split(root, "train/images", "train/labels", {"a": POLY + "\n"})
    split(root, "valid/images", "valid/labels", val_rows or {"b": POLY + "\n"})
    split(root, "test/images", "test/labels", {"c": POLY + "\n"})
    (root / "data.yaml").write_text(yaml)
    return root


def codes(report, code: str) -> list[tuple[str, int | None]]:
    return [(Path(f.location.path).name, f.location.line) for f in report.findings if f.code == code]


ROBOFLOW = ("train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\n"
            "nc: 2\nnames: ['crack', 'dent']\n")


def test_roboflow_dotdot_paths_resolve_as_ultralytics_does(tmp_path):
    root = roboflow(tmp_path / "export", ROBOFLOW)
    report = lint([root])
    assert not report.errors
    assert not codes(report, "MC427")
    assert (report.images, report.annotations) == (3, 3)
    assert sorted(Path(i["path"]).relative_to(root).as_posix() for i in report.inputs) == \
        ["test/labels", "train/labels", "valid/labels"]
    assert not [f for f in report.findings if f.code.startswith(("MC4", "MC000"))]


def test_dotdot_fallback_only_when_the_real_path_is_missing(tmp_path):
    cfg = yolo.YoloConfig(path="")
    root = tmp_path / "a" / "export"
    (tmp_path / "a" / "train" / "images").mkdir(parents=True)
    (root / "train" / "images").mkdir(parents=True)
    # ../train/images exists from the root: Ultralytics takes it, not the fallback
    assert yolo.resolve_split(root, "../train/images") == root / "../train/images"
    assert yolo.resolve_split(root, "../../nowhere") is None
    assert yolo.resolve_split(root / "train", "../images") == root / "train" / "images"
    assert cfg.missing == []


def test_lists_get_no_dotdot_fallback_and_non_strings_are_findings(tmp_path):
    root = roboflow(tmp_path / "export", "train: [../train/images, 5]\nval: ../valid/images\n"
                                         "names: [crack, dent]\n")
    report = lint([root], select=["MC427"])
    assert not report.errors
    assert codes(report, "MC427") == [("data.yaml", 1), ("data.yaml", 1)]
    msgs = [f.message for f in report.findings]
    assert "'../train/images'" in msgs[0] and "'5'" in msgs[1]


def test_absolute_author_paths_lint_the_folders_next_to_data_yaml(tmp_path):
    root = roboflow(tmp_path / "export",
                    "train: /home/bob/data/train/images\nval: C:\\\\data\\\\valid\\\\images\n"
                    "test: /home/bob/data/test/images\nnames: [crack, dent]\n",
                    val_rows={"b": "5 0.1 0.1 0.4 0.1 0.4 0.3\n"})
    report = lint([root])
    assert not report.errors
    assert codes(report, "MC427") == [("data.yaml", 1), ("data.yaml", 2), ("data.yaml", 3)]
    msgs = [f.message for f in report.findings if f.code == "MC427"]
    assert str(root / "train" / "images") in msgs[0] and "linted" in msgs[0]
    assert str(root / "valid" / "images") in msgs[1]
    assert (report.images, report.annotations) == (3, 3)
    assert codes(report, "MC102") == [("b.txt", 1)]  # the val labels were linted


def test_images_split_layout_and_cross_split_rules(tmp_path):
    root = tmp_path / "ds"
    split(root, "images/train", "labels/train", {"a": POLY + "\n"})
    split(root, "images/val", "labels/val", {"a": POLY1 + "\n"})
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\n"
                                    "nc: 3\nnames: [crack, dent]\n")
    report = lint([root])
    assert len(report.inputs) == 2
    # dent is annotated in val only; a.png is in both splits
    assert codes(report, "MC511") and codes(report, "MC512") == [("a.txt", None)]
    # data.yaml's own findings are reported once, not once per split
    assert codes(report, "MC426") == [("data.yaml", 4)]


def test_config_findings_once_for_three_splits(tmp_path):
    root = roboflow(tmp_path / "export", "train: ../train/images\nval: ../valid/images\n"
                                         "test: /nowhere/test\nnc: 3\nnames: [crack, dent]\n")
    report = lint([root], select=["MC426", "MC427"])
    assert codes(report, "MC426") == [("data.yaml", 4)]
    assert codes(report, "MC427") == [("data.yaml", 3)]


# ------------------------------------------------------------------------- hostile input
ALIAS_BOMB = ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
              "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
              "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
              "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
              "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\ntrain: images\nnames: *i\nnc: *i\n")


def base(root: Path, yaml: str) -> Path:
    split(root, "images", "labels", {"a": POLY + "\n"})
    (root / "data.yaml").write_text(yaml)
    return root


@pytest.mark.parametrize("yaml,words", [
    (ALIAS_BOMB, "anchors and aliases"),
    ("train: images\nnames: {0: cat, 100000000: dog}\n", "above the 100,000"),
    (f"train: images\nnames: {{0: cat, {2**70}: dog}}\n", "above the 100,000"),
])
def test_hostile_yaml_is_one_line_naming_the_file(tmp_path, yaml, words):
    root = base(tmp_path / "ds", yaml)
    report = lint([root])
    assert len(report.errors) == 1, report.errors
    assert report.errors[0].path.endswith("data.yaml") and words in report.errors[0].message


def test_huge_nc_is_a_finding(tmp_path):
    root = base(tmp_path / "ds", f"train: images\nnc: {2**70}\nnames: [crack]\n")
    report = lint([root], select=["MC426"])
    assert codes(report, "MC426") == [("data.yaml", 2)]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_data_yaml_and_label_never_hang(tmp_path):
    root = base(tmp_path / "ds", "train: images\nnames: [crack]\n")
    os.mkfifo(root / "labels" / "b.txt")
    report = lint([root])
    assert [e.path for e in report.errors] == [str(root / "labels" / "b.txt")]
    assert "FIFO" in report.errors[0].message and report.annotations == 1
    (root / "data.yaml").unlink()
    os.mkfifo(root / "data.yaml")
    report = lint([root])
    assert len(report.errors) >= 1 and report.errors[0].path.endswith("data.yaml")
    assert "FIFO" in report.errors[0].message


def _png_header(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_decompression_bomb_png_does_not_crash(tmp_path):
    root = base(tmp_path / "ds", "train: images\nnames: [crack]\n")
    (root / "images" / "a.png").write_bytes(_png_header(50000, 50000))
    report = lint([root])
    assert not report.errors and not codes(report, "MC000")
    ds = next(yolo.read(root))
    assert next(ds.batches(None)).images.width.tolist() == [50000.0]


# ------------------------------------------------------------------------- real data
@pytest.mark.parametrize("sub", [
    "cvat-ai__datumaro/tests/assets/yolo_dataset",
    "lightly-ai__labelformat/tests/fixtures/instance_segmentation/YOLOv8",
    "HumanSignal__label-studio-converter/tests/data/test_import_yolo_seg_data",
    "HumanSignal__label-studio-converter/tests/data/test_import_yolo_seg_data_unif_dims",
])
def test_realdata_stays_clean(realdata, sub):
    report = lint([realdata / sub])
    assert not report.errors
    assert not [f for f in report.findings if str(f.severity) != "info"], report.findings
