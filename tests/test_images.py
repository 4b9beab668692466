"""Image-file rules MC301-MC307, the images folder lookup, and `--images DIR`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.cli import main
from maskcheck.engine import lint_dataset, make_plan
from maskcheck.model import Finding, RunContext
from maskcheck.readers.reading import read_all
from maskcheck.rules.images import ImageFolder, escapes, image_folder


def make_image(path: Path, size: tuple[int, int] = (100, 80), fmt: str = "PNG",
               exif_orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, (120, 30, 30))
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        im.save(path, fmt, exif=exif.tobytes())
    else:
        im.save(path, fmt)
    return path


def img(i: int, name: str, w: float = 100, h: float = 80) -> dict[str, Any]:
    return {"id": i, "file_name": name, "width": w, "height": h}


def write(folder: Path, images: list[Any], name: str = "ann.json") -> Path:
    anns = [ann(k + 1, im["id"], 1) for k, im in enumerate(images) if isinstance(im, dict)]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_doc(images=images, annotations=anns)))
    return path


def findings(path: Path, code: str, **kw: Any) -> list[Finding]:
    report = lint([path], select=[code], **kw)
    assert not report.errors, report.errors
    assert not [f for f in report.findings if f.code == "MC000"], [f.message for f in report.findings]
    return [f for f in report.findings if f.code == code]


def pointers(found: list[Finding]) -> list[str | None]:
    return [f.location.pointer for f in found]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """ann.json beside a.png (100x80), b.jpg (100x80), rot.jpg (80x100, EXIF 6), bad.jpg, cut.jpg."""
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "b.jpg", fmt="JPEG")
    make_image(tmp_path / "rot.jpg", (80, 100), "JPEG", exif_orientation=6)
    (tmp_path / "bad.jpg").write_text("not an image")
    data = (tmp_path / "b.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])  # cut inside the header
    noisy = Image.effect_noise((300, 200), 60).convert("RGB")
    noisy.save(tmp_path / "big.jpg", "JPEG")
    data = (tmp_path / "big.jpg").read_bytes()
    (tmp_path / "cut2.jpg").write_bytes(data[: len(data) - 500])  # header intact, end missing
    (tmp_path / "dir.png").mkdir()
    return tmp_path


# --------------------------------------------------------------- MC301 missing-image-file
def test_missing_image_file(shop):
    path = write(shop, [img(1, "a.png"), img(2, "gone.png"), img(3, "b.jpg"), img(4, "sub/gone.jpg")])
    found = findings(path, "MC301")
    assert pointers(found) == ["/images/1", "/images/3"]
    assert found[0].location.image_id == 2 and "'gone.png' is not there" in found[0].message


def test_no_images_folder_means_no_file_checks(tmp_path):
    path = write(tmp_path, [img(1, "a.png"), img(2, "b.png")])
    for code in ("MC301", "MC302", "MC303"):
        assert findings(path, code) == []


# --------------------------------------------------------------- MC302 unreadable-image
def test_unreadable_image(shop):
    path = write(shop, [img(1, "a.png"), img(2, "bad.jpg"), img(3, "cut.jpg"), img(4, "dir.png"),
                        img(5, "b.jpg"), img(6, "cut2.jpg", 300, 200), img(7, "big.jpg", 300, 200)])
    found = findings(path, "MC302")
    assert pointers(found) == ["/images/1", "/images/2", "/images/3", "/images/5"]
    assert "not an image Pillow can identify" in found[0].message
    assert "truncated" in found[1].message
    assert "folder" in found[2].message
    assert "JPEG file is truncated" in found[3].message


# --------------------------------------------------------------- MC303 image-size-mismatch
def test_image_size_mismatch(shop):
    path = write(shop, [img(1, "a.png"), img(2, "b.jpg", 200, 80), img(3, "rot.jpg"),
                        img(4, "a.png", 80, 100)])
    found = findings(path, "MC303")
    assert pointers(found) == ["/images/1", "/images/2", "/images/3"]
    assert "declared 200x80 (width x height) but the file 'b.jpg' is 100x80" in found[0].message
    assert "EXIF orientation is 6" in found[1].message
    assert "swapped" in found[2].message


# --------------------------------------------------------------- MC304 invalid-image-size
def test_invalid_image_size(tmp_path):
    path = write(tmp_path, [img(1, "a.png"), img(2, "b.png", 0, 80), img(3, "c.png", 100, -5)])
    found = findings(path, "MC304")
    assert pointers(found) == ["/images/1", "/images/2"]
    assert "0x80" in found[0].message


# --------------------------------------------------------------- MC305 duplicate-file-name
def test_duplicate_file_name(tmp_path):
    path = write(tmp_path, [img(1, "a.png"), img(2, "b.png"), img(3, "a.png"), img(4, "./b.png"),
                            img(5, "c.png")])
    found = findings(path, "MC305")
    assert pointers(found) == ["/images/2", "/images/3"]
    assert "already listed by /images/0" in found[0].message
    for size in (1, 2):
        assert findings(path, "MC305", batch_size=size, shuffle_seed=3) == found


# --------------------------------------------------------------- MC306 file-name-escapes
@pytest.mark.parametrize(("name", "bad"), [
    ("a.png", False), ("sub/a.png", False), ("sub/../a.png", False), ("./a.png", False),
    ("a..b.png", False), ("../a.png", True), ("sub/../../a.png", True), ("/etc/passwd", True),
    ("C:\\data\\a.png", True), ("\\\\server\\share\\a.png", True),
])
def test_escapes(name, bad):
    assert escapes(name) is bad


def test_file_name_escapes_is_reported_and_never_opened(shop):
    outside = make_image(shop.parent / "secret.png")
    path = write(shop, [img(1, "a.png"), img(2, "../secret.png"), img(3, str(outside))])
    found = findings(path, "MC306")
    assert pointers(found) == ["/images/1", "/images/2"]
    assert "was not opened" in found[0].message
    for code in ("MC301", "MC302", "MC303"):  # the file exists but no file rule looked at it
        assert findings(path, code) == []


# --------------------------------------------------------------- MC307 image-too-large
def test_image_too_large(shop):
    path = write(shop, [img(1, "a.png"), img(2, "huge.png", 20000, 20000)])
    found = findings(path, "MC307")
    assert pointers(found) == ["/images/1"]
    assert "400,000,000 pixels" in found[0].message
    # the real header size counts where the file is found
    assert pointers(findings(path, "MC307", options={"MC307": {"max_pixels": 5000}})) == ["/images/0",
                                                                                         "/images/1"]


# --------------------------------------------------------------- finding the images
def test_images_found_in_a_coco_layout(tmp_path):
    make_image(tmp_path / "val2017" / "a.png")
    path = write(tmp_path / "annotations", [img(1, "a.png"), img(2, "b.png")], "instances_val2017.json")
    assert pointers(findings(path, "MC301")) == ["/images/1"]


def test_images_option(tmp_path):
    make_image(tmp_path / "pics" / "a.png")
    path = write(tmp_path / "labels", [img(1, "a.png"), img(2, "b.png")])
    assert findings(path, "MC301") == []  # not found next to the annotations: not checked
    assert pointers(findings(path, "MC301", images_dir=tmp_path / "pics")) == ["/images/1"]
    report = lint([path], images_dir=tmp_path / "nowhere")
    assert [str(e) for e in report.errors] == [f"{tmp_path / 'nowhere'}: --images: no such folder"]


def test_images_option_on_the_command_line(tmp_path, capsys):
    make_image(tmp_path / "pics" / "a.png")
    path = write(tmp_path / "labels", [img(1, "a.png"), img(2, "b.png")])
    assert main(["lint", str(path), "--select", "MC301", "--images", str(tmp_path / "pics"),
                 "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["location"]["pointer"] for f in out["findings"]] == ["/images/1"]
    assert main(["lint", str(path), "--images", str(tmp_path / "none")]) == 2
    assert "--images: no such folder" in capsys.readouterr().err


def test_special_files_are_not_opened(shop):
    import os

    os.mkfifo(shop / "pipe.png")  # reading it would block forever
    path = write(shop, [img(1, "a.png"), img(2, "pipe.png")])
    found = findings(path, "MC302")
    assert pointers(found) == ["/images/1"]
    assert "not a regular file" in found[0].message


def test_a_file_name_too_long_for_the_file_system_is_a_finding_not_a_crash(shop):
    long_name = "x" * 300 + ".png"
    path = write(shop, [img(1, "a.png"), img(2, long_name)])
    report = lint([path])
    assert not report.errors and "MC000" not in {f.code for f in report.findings}
    found = [f for f in report.findings if f.code in ("MC301", "MC302")]
    assert [(f.code, f.location.pointer) for f in found] == [("MC302", "/images/1")]
    assert "File name too long" in found[0].message


# A real photo may carry data after its end marker: zero padding, Samsung's SEFH...SEFT
# trailer, or a Motion Photo's whole MP4. Only image data cut before the marker is truncated.
def test_data_after_the_end_marker_is_not_truncation(tmp_path):
    pics = tmp_path / "images"
    names = []
    for name, fmt, extra in (("pad.png", "PNG", b"\0" * 20), ("big.png", "PNG", b"x" * 200_000),
                             ("sef.jpg", "JPEG", b"SEFH" + b"\x01" * 40 + b"SEFT"),
                             ("one.jpg", "JPEG", b"\x01"),
                             ("motion.jpg", "JPEG", b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 5000)):
        path = make_image(pics / name, (100, 80), fmt)
        path.write_bytes(path.read_bytes() + extra)
        names.append(name)
    doc = write(tmp_path, [img(i + 1, f"images/{n}") for i, n in enumerate(names)])
    assert findings(doc, "MC302") == []


def test_a_jpeg_cut_in_its_scan_is_truncated_even_with_an_exif_thumbnail(tmp_path):
    pics = tmp_path / "images"
    thumb = pics / "thumb.jpg"
    make_image(thumb, (16, 16), "JPEG")
    im = Image.effect_noise((300, 200), 60).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 1
    # an APP1 segment holding a whole JPEG (its own FFD9) before the image's scan
    full = pics / "cut.jpg"
    im.save(full, "JPEG", exif=exif.tobytes() + thumb.read_bytes())
    data = full.read_bytes()
    assert data.count(b"\xff\xd9") >= 2
    full.write_bytes(data[: len(data) * 2 // 3])
    png = make_image(pics / "cut.png", (300, 200), "PNG")
    png.write_bytes(png.read_bytes()[:-30])
    doc = write(tmp_path, [img(1, "images/cut.jpg", 300, 200), img(2, "images/cut.png", 300, 200)])
    found = findings(doc, "MC302")
    assert pointers(found) == ["/images/0", "/images/1"]
    assert all("truncated" in f.message for f in found)


def test_the_image_folder_is_a_dataset_fact_decided_once_by_the_engine(tmp_path):
    make_image(tmp_path / "images" / "a.png")
    path = write(tmp_path, [img(1, "a.png"), img(2, "b.png"), img(3, "c.png")])
    (ds,) = list(read_all([path]))
    facts: dict = {}
    found = lint_dataset(ds, make_plan(select=["MC301"]), batch_size=1, ctx=RunContext(), facts=facts)
    assert facts == {image_folder: ImageFolder(tmp_path / "images", False)}
    assert [f.location.pointer for f in found] == ["/images/1", "/images/2"]  # every batch agrees
    assert ds.info.cache == {}  # nothing written into the reader's output
    facts.clear()
    lint_dataset(ds, make_plan(select=["MC305"]), ctx=RunContext(), facts=facts)
    assert facts == {}  # no rule that reads files: the folder is not looked for
