"""MC308 / MC309: the same picture twice in one split, found by the bytes of the files."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ann, coco_doc
from maskcheck import lint
from test_labelme import TRI, shape, write_lm


def pgm(value: int) -> bytes:
    return f"P2\n4 3\n255\n0 0 0 0\n0 {value} 9 0\n0 0 0 0\n".encode()


def dataset(root: Path, pictures: list[int], labels: list[int]) -> Path:
    """A COCO file beside its images: image k holds picture pictures[k], one ann of labels[k]."""
    images = [{"id": k + 1, "file_name": f"img{k}.pgm", "width": 100, "height": 80}
              for k in range(len(pictures))]
    anns = [ann(k + 1, k + 1, c) for k, c in enumerate(labels)]
    for k, v in enumerate(pictures):
        (root / f"img{k}.pgm").write_bytes(pgm(v))
    path = root / "ann.json"
    path.write_text(json.dumps(coco_doc(images=images, annotations=anns)))
    return path


def hits(report, code: str) -> list[tuple[str | None, int | None]]:
    return [(f.location.pointer, f.location.image_id) for f in report.findings if f.code == code]


def test_copies_with_the_same_labels_are_one_warning_per_cluster(tmp_path):
    path = dataset(tmp_path, [9, 9, 5, 9, 7], [1, 1, 1, 1, 2])
    report = lint([path], select=["MC308", "MC309"])
    assert hits(report, "MC308") == [("/images/0", 1)]
    (f,) = [f for f in report.findings if f.code == "MC308"]
    assert "same bytes as /images/1 (img1.pgm), /images/3 (img3.pgm)" in f.message
    assert hits(report, "MC309") == []


def test_copies_with_different_labels_are_an_error(tmp_path):
    path = dataset(tmp_path, [9, 9, 5], [1, 2, 1])
    report = lint([path], select=["MC308", "MC309"])
    assert hits(report, "MC309") == [("/images/0", 1)]
    assert hits(report, "MC308") == []


def test_different_pictures_of_one_size_are_quiet(tmp_path):
    path = dataset(tmp_path, [1, 2, 3, 4], [1, 1, 1, 1])  # same size, different bytes
    assert hits(lint([path], select=["MC308", "MC309"]), "MC308") == []


def test_without_the_image_files_nothing_is_claimed(tmp_path):
    path = dataset(tmp_path, [9, 9], [1, 1])
    for p in tmp_path.glob("*.pgm"):
        p.unlink()
    report = lint([path], select=["MC308", "MC309", "MC301"])
    assert hits(report, "MC308") == [] and report.notes  # and the report says images were not checked


def test_findings_do_not_depend_on_batches(tmp_path):
    path = dataset(tmp_path, [9, 5, 9, 5, 9, 3], [1, 1, 2, 1, 1, 1])
    reference = [(f.code, f.location.pointer, f.message) for f in lint([path], batch_size=None).findings
                 if f.code in ("MC308", "MC309")]
    assert len(reference) == 2  # {0, 2, 4} labels differ: MC309; {1, 3} same: MC308
    for size, seed in ((1, None), (2, 3), (4, 7)):
        got = [(f.code, f.location.pointer, f.message)
               for f in lint([path], batch_size=size, shuffle_seed=seed).findings
               if f.code in ("MC308", "MC309")]
        assert got == reference


def test_labelme_images_are_compared_by_their_bytes(tmp_path):
    for name, label in (("a", "cat"), ("b", "dog")):
        write_lm(tmp_path, f"{name}.json", [shape(label, TRI)], image=f"{name}.jpg")
        (tmp_path / f"{name}.jpg").write_bytes(b"\xff\xd8 the same picture \xff\xd9")
    report = lint([tmp_path], select=["MC309"])
    assert [(Path(f.location.path).name, f.code) for f in report.findings] == [("a.json", "MC309")]


def test_the_same_picture_in_two_yolo_splits_is_a_leak_whatever_its_name(tmp_path):
    from PIL import Image

    for split, stems in (("train", ("a", "b")), ("val", ("c",))):
        (tmp_path / split / "images").mkdir(parents=True)
        (tmp_path / split / "labels").mkdir()
        for stem in stems:
            (tmp_path / split / "labels" / f"{stem}.txt").write_text("0 0.1 0.1 0.4 0.1 0.4 0.4\n")
    Image.new("L", (20, 10), color=3).save(tmp_path / "train/images/a.png")
    Image.new("L", (20, 10), color=200).save(tmp_path / "train/images/b.png")
    (tmp_path / "val/images/c.png").write_bytes((tmp_path / "train/images/a.png").read_bytes())
    (tmp_path / "data.yaml").write_text("train: train/images\nval: val/images\nnames: [crack]\n")
    report = lint([tmp_path], select=["MC512"])
    (f,) = report.findings
    assert Path(f.location.path).name == "c.txt"
    assert 'same content as "a.png"' in f.message and "/images/0" in f.message


def test_the_same_picture_in_two_labelme_splits(tmp_path):
    for split, name in (("train", "a"), ("val", "z")):
        write_lm(tmp_path / split, f"{name}.json", [shape("cat", TRI)], image=f"{name}.jpg")
        (tmp_path / split / f"{name}.jpg").write_bytes(b"\xff\xd8 one picture \xff\xd9")
    report = lint([tmp_path], select=["MC512"])
    assert [(Path(f.location.path).name, f.code) for f in report.findings] == [("z.json", "MC512")]
