"""SA-1B end to end: make_sa1b.py's clean data lints clean, planted defects are found at their
shard, member and annotation, broken shards and members are reported while the rest is read,
and the pool finds what the serial engine finds."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED
from maskcheck import lint
from maskcheck.cli import main
from maskcheck.model import Severity
from test_pool import doc

MAKE = SHARED / "bench" / "make_sa1b.py"
SEVERE = (Severity.ERROR, Severity.WARNING)


def make_sa1b(out: Path, *args: str) -> Path:
    if not MAKE.is_file():
        pytest.skip("../shared/bench/make_sa1b.py is absent (it sits beside the project in CI)")
    subprocess.run([sys.executable, str(MAKE), "--out", str(out), "--images", "24",
                    "--per-shard", "8", "--masks", "5", "--seed", "1", *args],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def clean_tar(tmp_path_factory) -> Path:
    return make_sa1b(tmp_path_factory.mktemp("sa1b") / "tar", "--tar")


def edit_shard(shard: Path, edits: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
    """Rewrite `shard` with each member named in `edits` changed by its function."""
    with tarfile.open(shard) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers() if m.isreg()]
    with tarfile.open(shard, "w") as tf:
        for m, data in members:
            if m.name in edits:
                d = json.loads(data)
                edits[m.name](d)
                data = json.dumps(d).encode()
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def copy_tree(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in sorted(src.iterdir()):
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def planted_tar(clean: Path, root: Path) -> tuple[Path, set[tuple[str, str]]]:
    """The clean shards with one defect per rule family, and the (code, place) expected."""
    root = copy_tree(clean, root)
    s1, s2 = root / "sa_000001.tar", root / "sa_000002.tar"

    def outside_point(d):  # SA-1B's points are (x, y) in the image's pixels
        d["annotations"][2]["point_coords"] = [[d["image"]["width"] + 40.0, 3.0]]

    def shifted_box(d):
        d["annotations"][1]["bbox"][0] += 60

    def duplicate_mask(d):
        twin = dict(d["annotations"][0], id=10**6)
        d["annotations"].append(twin)

    def bad_scores(d):
        d["annotations"][0]["stability_score"] = 1.5
        d["annotations"][3]["predicted_iou"] = "0.93"

    def corners_crop(d):
        w, h = d["image"]["width"], d["image"]["height"]
        d["annotations"][0]["crop_box"] = [w / 2, h / 2, w, h]

    def repeated_ids(d):
        d["annotations"][0]["id"] = 1  # the first mask of sa_1.json, in shard 0
        d["image"]["image_id"] = 5  # sa_5.json's, in shard 0

    edit_shard(s1, {"sa_10.json": outside_point, "sa_11.json": shifted_box,
                    "sa_12.json": duplicate_mask})
    edit_shard(s2, {"sa_20.json": bad_scores, "sa_21.json": corners_crop,
                    "sa_22.json": repeated_ids})
    expected = {
        ("MC460", f"{s1}:sa_10.json:/annotations/2/point_coords/0"),
        ("MC211", f"{s1}:sa_11.json:/annotations/1"),
        ("MC218", f"{s1}:sa_12.json:/annotations/0"),  # at the first of the set, naming its twin
        ("MC461", f"{s2}:sa_20.json:/annotations/0/stability_score"),
        ("MC461", f"{s2}:sa_20.json:/annotations/3/predicted_iou"),
        ("MC462", f"{s2}:sa_21.json:/annotations/0/crop_box"),
        ("MC004", f"{s2}:sa_22.json:/annotations/0"),
        ("MC003", f"{s2}:sa_22.json:/image"),
    }
    return root, expected


def member_bytes(shard: Path, name: str) -> bytes:
    with tarfile.open(shard) as tf:
        return tf.extractfile(name).read()


def severe(report) -> list[str]:
    return [f"{f.code} {f.location.short()}" for f in report.findings if f.severity in SEVERE]


def test_clean_shards_lint_clean(clean_tar):
    report = lint([clean_tar])
    assert not report.errors and severe(report) == []
    assert report.inputs == [{"path": str(clean_tar), "format": "sa1b"}] and report.images == 24
    total = 0
    for shard in sorted(clean_tar.glob("*.tar")):
        with tarfile.open(shard) as tf:
            total += sum(len(json.load(tf.extractfile(m))["annotations"]) for m in tf.getmembers())
    assert report.annotations == total > 24


def test_clean_folders_lint_clean(tmp_path):
    folder = make_sa1b(tmp_path / "dir")
    report = lint([folder])
    assert not report.errors and severe(report) == []
    assert report.inputs[0]["format"] == "sa1b" and report.images == 24


@pytest.mark.parametrize("batch", [None, 5])
def test_planted_defects_at_their_shard_member_and_annotation(clean_tar, tmp_path, batch):
    root, expected = planted_tar(clean_tar, tmp_path / "planted")
    kw = {} if batch is None else {"batch_size": batch}
    report = lint([root], **kw)
    assert not report.errors
    found = {(f.code, f.location.short()) for f in report.findings if f.severity in SEVERE}
    assert found == expected
    dup = next(f for f in report.findings if f.code == "MC004")
    assert f"first at {root / 'sa_000000.tar'}:sa_1.json:/annotations/0" in dup.message
    assert dup.location.annotation_id == 1


def test_pool_finds_what_the_serial_engine_finds(clean_tar, tmp_path):
    root, _ = planted_tar(clean_tar, tmp_path / "planted")
    serial, _ = doc([root], jobs=1, batch_size=3)
    pooled, _ = doc([root], jobs=2, batch_size=3, shuffle_seed=4)
    assert serial["findings"] and pooled == serial


def test_broken_shard_and_member_are_reported_and_the_rest_is_linted(clean_tar, tmp_path, capsys):
    root = copy_tree(clean_tar, tmp_path / "broken")
    s1, s2 = root / "sa_000001.tar", root / "sa_000002.tar"
    data = s2.read_bytes()
    s2.write_bytes(data[: len(data) // 2])  # cut inside a member's data
    with tarfile.open(s1) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    with tarfile.open(s1, "w") as tf:
        for m, body in members:
            body = body[:40] if m.name == "sa_13.json" else body  # truncated JSON
            info = tarfile.TarInfo(m.name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    report = lint([root])
    errors = [str(e) for e in report.errors]
    assert any(e.startswith(f"{s1}:sa_13.json: ") for e in errors), errors
    assert any(e.startswith(str(s2)) and "cut short" in e for e in errors), errors
    # shard 0 whole, shard 1 but its broken member, shard 2 up to the cut
    assert 8 + 7 < report.images < 24
    assert severe(report) == []
    code = main(["lint", str(root), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and len(out["errors"]) == len(errors)


def test_hostile_members_are_not_read(clean_tar, tmp_path):
    """Links and names that climb out are named and skipped; nothing is extracted."""
    root = copy_tree(clean_tar, tmp_path / "hostile")
    shard = root / "sa_000000.tar"
    with tarfile.open(shard, "a") as tf:
        link = tarfile.TarInfo("sa_link.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
        body = member_bytes(shard, "sa_1.json")
        climb = tarfile.TarInfo("../../sa_climb.json")
        climb.size = len(body)
        tf.addfile(climb, io.BytesIO(body))
    report = lint([root])
    errors = sorted(str(e) for e in report.errors)
    assert len(errors) == 2
    assert "not a regular file member" in errors[1] or "not a regular file member" in errors[0]
    assert any("climbs out of the archive" in e for e in errors)
    assert report.images == 24
    assert not (tmp_path / "sa_climb.json").exists()


def test_an_image_without_masks_stays_in_the_dataset(tmp_path):
    """SAM found nothing: `annotations: []` has none of SAM's keys, and is still SA-1B."""
    folder = make_sa1b(tmp_path / "dir")
    member = folder / "sa_000001" / "sa_9.json"
    d = json.loads(member.read_text())
    member.write_text(json.dumps({"image": d["image"], "annotations": []}))
    report = lint([folder])
    assert report.inputs == [{"path": str(folder), "format": "sa1b"}] and report.images == 24
    assert not report.errors and severe(report) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' decode under numpy 2
def test_pixel_lookup_in_the_runs_matches_the_decoded_masks(clean_tar):
    """geometry.pixels_on (MC460's lookup, every point of a batch at once) against
    pycocotools' own decode of the same masks."""
    import numpy as np
    from pycocotools import mask as mask_utils

    from maskcheck import geometry
    from maskcheck.readers.reading import read_all

    [d] = [x for x in read_all([clean_tar]) if hasattr(x, "batches")]
    batch = next(d.batches(6))
    rle = geometry.of(batch).rle
    rng = np.random.default_rng(3)
    rows = rng.choice(sorted(rle.runs), 400)
    h, w = rle.size[rows, 0], rle.size[rows, 1]
    x, y = (rng.random(400) * w).astype(np.int64), (rng.random(400) * h).astype(np.int64)
    masks = {int(r): mask_utils.decode(rle.rles[int(r)]) for r in set(rows.tolist())}
    want = [bool(masks[int(r)][yy, xx]) for r, xx, yy in zip(rows, x, y, strict=True)]
    assert geometry.pixels_on(rle, rows, x, y).tolist() == want and any(want) and not all(want)
