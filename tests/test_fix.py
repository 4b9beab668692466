"""`maskcheck fix`: each fixable rule's findings are gone after a fix, and nothing else in the
file moved; a second run changes nothing; --diff writes nothing and applies with `patch -p1`;
a failed write leaves the original and no temporary file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import maskcheck.fix.writing as writing
from maskcheck import lint
from maskcheck.cli import main
from maskcheck.fix import run as fix_run
from maskcheck.fix.jsonedit import parse_pointer

SQ = [[10, 10, 30, 10, 30, 30, 10, 30]]  # a 20 x 20 square: area 400, bbox [10, 10, 20, 20]


def ann(i: int, **kw: Any) -> dict[str, Any]:
    base = {"id": i, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400,
            "iscrowd": 0, "segmentation": SQ, "note": "ünïcode ✓", "score": 0.1 + 0.2}
    base.update(kw)
    return base


def coco(*anns: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"description": "ein Test", "version": 1.0},
            "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80, "extra": 1e-7}],
            "annotations": list(anns),
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"},
                           {"id": 3, "name": "Dog "}]}


# rule -> (an annotation it fires on, the pointers its fix changes, unsafe?)
CASES = {
    "MC009": (ann(1, bbox=[10, 10, "20", 20]), ["/annotations/0/bbox/2"], False),
    "MC101": (ann(1, category_id="dog"), ["/annotations/0/category_id"], False),
    "MC213": (ann(1, area=1600), ["/annotations/0/area"], False),
    "MC211": (ann(1, bbox=[0, 0, 50, 50]), ["/annotations/0/bbox"], True),
    "MC007": (ann(1, image_id=99), ["/annotations/0"], True),  # a delete
    "MC001": (ann(1, iscrowd=False), ["/annotations/0/iscrowd"], False),
    "MC202": (ann(1, segmentation=[[10, 10, 30, 10, 20, 10]], area=0), ["/annotations/0"], True),
    "MC201": (ann(1, segmentation=[[]]), ["/annotations/0"], True),  # no polygon left: a delete
    # a point repeated: one finding for the file, its fix rewrites the polygon
    "MC223": (ann(1, segmentation=[[10, 10, 30, 10, 30, 10.0, 30, 30, 10, 30]]),
              ["/annotations/0/segmentation/0"], False),
}
SHORTER = {"MC223": 2}  # numbers dropped: as many fewer lines where each has its line
DELETES = {"MC007", "MC202", "MC201"}


RUN_WIDE = {"MC103", "MC218", "MC107"}  # fixes beyond the finding's own record, tested below
LINES = {"MC420"}  # YOLO rows: test_yolo_rows_just_outside_are_clipped_...


def test_every_fixable_rule_has_a_case():
    from maskcheck.rules import BUILTIN

    fixable = {r.code for r in BUILTIN if r.fix_safety != "none"}
    assert fixable == set(CASES) | RUN_WIDE | LINES
    assert {c for c, (_, _, unsafe) in CASES.items() if unsafe} | RUN_WIDE == {
        r.code for r in BUILTIN if r.fix_safety == "unsafe"}


def splits(root: Path) -> list[Path]:
    """Train with a real class at id 0 (MC103), val not using it: both share the ids."""
    root.mkdir()
    anns = [ann(i + 1, category_id=i % 3, bbox=[10 * i, 10, 5, 5], area=25,
                segmentation=[[10 * i, 10, 10 * i + 5, 10, 10 * i + 5, 15, 10 * i, 15]])
            for i in range(6)]
    cats = [{"id": 0, "name": "scratch"}, {"id": 1, "name": "dent"}, {"id": 2, "name": "rust"}]
    train = write(root / "train.json", coco(*anns) | {"categories": cats})
    val = write(root / "val.json", coco(*[a for a in anns if a["category_id"]]) | {"categories": cats},
                indent=None)
    return [train, val]


def test_renumbering_shifts_every_split_alike_and_records_it(tmp_path, capsys):
    train, val = splits(tmp_path / "d")
    before = {p: json.loads(p.read_text()) for p in (train, val)}
    assert main(["fix", str(tmp_path / "d")]) == 1  # unsafe: held back, and said
    assert "--unsafe-fixes would repair 1" in capsys.readouterr().out
    assert main(["fix", str(tmp_path / "d"), "--unsafe-fixes"]) == 0
    out = capsys.readouterr().out
    assert "(MC103 1)" in out and "0 -> 1, 1 -> 2, 2 -> 3" in out
    assert "MC103" not in codes(tmp_path / "d")
    for p in (train, val):
        now = json.loads(p.read_text())
        assert [c["id"] for c in now["categories"]] == [1, 2, 3]
        assert [a["category_id"] for a in now["annotations"]] == [
            a["category_id"] + 1 for a in before[p]["annotations"]]
        now["categories"] = before[p]["categories"]
        for a, b in zip(now["annotations"], before[p]["annotations"], strict=True):
            a["category_id"] = b["category_id"]
        assert now == before[p]  # nothing else moved
    assert not val.read_text().endswith("\n")  # compact val kept compact
    remap = yaml.safe_load((tmp_path / "d" / "maskcheck-remap.yaml").read_text())
    assert remap["mapping"] == {0: 1, 1: 2, 2: 3} and len(remap["files"]) == 2
    texts = {p: p.read_bytes() for p in (train, val)}
    assert main(["fix", str(tmp_path / "d"), "--unsafe-fixes"]) == 0  # idempotent
    assert {p: p.read_bytes() for p in (train, val)} == texts
    assert not (tmp_path / "d" / "maskcheck-remap.1.yaml").exists()


def test_renumbering_on_top_of_a_name_fixed_in_the_same_run(tmp_path, capsys, monkeypatch):
    train, _ = splits(tmp_path / "d")
    doc = json.loads(train.read_text())
    doc["annotations"][0]["category_id"] = "scratch"  # id 0 by name: MC101 makes it 0, then 1
    write(train, doc)
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "d", "--unsafe-fixes", "--diff"]) == 1
    patch_text = capsys.readouterr().out
    assert "+++ b/d/train.json" in patch_text and "+++ b/d/val.json" in patch_text
    assert not (tmp_path / "d" / "maskcheck-remap.yaml").exists()  # --diff writes nothing
    main(["fix", "d", "--unsafe-fixes"])
    assert json.loads(train.read_text())["annotations"][0]["category_id"] == 1
    assert not {"MC101", "MC103"} & codes(tmp_path / "d")


def write(path: Path, doc: Any, indent: int | None = 2) -> Path:
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False) + ("\n" if indent else ""),
                    encoding="utf-8")
    return path


def codes(path: Path) -> set[str]:
    return {f.code for f in lint([path]).findings}


def without(doc: Any, pointers: list[str]) -> Any:
    """The document with the values at `pointers` blanked: what must not have changed."""
    doc = json.loads(json.dumps(doc))
    for p in pointers:
        *head, last = parse_pointer(p)
        node = doc
        for t in head:
            node = node[int(t)] if isinstance(node, list) else node[t]
        node[int(last) if isinstance(node, list) else last] = None
    return doc


@pytest.mark.parametrize("indent", [2, None])
@pytest.mark.parametrize("code", sorted(CASES))
def test_a_fix_removes_the_finding_and_moves_nothing_else(tmp_path, code, indent, capsys):
    record, pointers, unsafe = CASES[code]
    path = write(tmp_path / "ann.json", coco(record, ann(2, bbox=[40, 40, 20, 20],
                                                          segmentation=[[40, 40, 60, 40, 60, 60, 40, 60]])),
                 indent)
    before_text = path.read_text(encoding="utf-8")
    assert code in codes(path)
    # the fixture's spare categories are unused-class (MC107), whose unsafe fix deletes them
    args = ["fix", str(path), *(["--unsafe-fixes", "--ignore", "MC107"] if unsafe else [])]
    if unsafe:  # held back without the flag, and the summary says so
        main(["fix", str(path)])
        assert "--unsafe-fixes would repair" in capsys.readouterr().out
        assert path.read_text(encoding="utf-8") == before_text
    main(args)
    assert f"{code} 1" in capsys.readouterr().out
    assert code not in codes(path)
    before, after = json.loads(before_text), json.loads(path.read_text(encoding="utf-8"))
    if code in DELETES:  # gone from the file, kept beside it with where it was
        [removed] = json.loads((tmp_path / "ann.json.removed.json").read_text(encoding="utf-8"))
        assert removed["pointer"] == pointers[0] and removed["code"] == code
        assert removed["value"] == before["annotations"][0]
        del before["annotations"][0]
        assert after == before
    else:  # and laid out as it was: as many lines
        assert without(after, pointers) == without(before, pointers)
        fewer = SHORTER.get(code, 0) if indent else 0
        assert before_text.count("\n") - fewer == path.read_text(encoding="utf-8").count("\n")
    assert "ünïcode ✓" in path.read_text(encoding="utf-8")  # not escaped
    assert '"version": 1.0' in path.read_text(encoding="utf-8") or '"version":1.0' in path.read_text()
    assert (tmp_path / "ann.json.orig").read_text(encoding="utf-8") == before_text
    # idempotent: nothing left to do, nothing written, no second backup
    text = path.read_bytes()
    main(args)
    assert path.read_bytes() == text and not (tmp_path / "ann.json.orig.1").exists()


def dirty(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    return write(tmp_path / "ann.json", coco(*(CASES[c][0] | {"id": k + 1}
                                               for k, c in enumerate(sorted(CASES)))))


def test_diff_writes_nothing_and_applies_with_patch(tmp_path, capsys, monkeypatch):
    path = dirty(tmp_path)
    original = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    # safe fixes only: the unsafe ones uncover more (exact copies), which a second pass takes
    assert main(["fix", "ann.json", "--diff"]) == 1
    patch_text = capsys.readouterr().out
    assert patch_text.startswith("--- a/ann.json\n+++ b/ann.json\n")
    assert path.read_bytes() == original and not (tmp_path / "ann.json.orig").exists()
    if shutil.which("patch") is None:
        pytest.skip("no `patch` on this machine (apt-get install patch)")
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(path, copy / "ann.json")
    subprocess.run(["patch", "-p1", "--quiet"], input=patch_text.encode(), cwd=copy, check=True)
    main(["fix", "ann.json", "--no-backup"])  # 1: errors the fixes leave
    assert (copy / "ann.json").read_bytes() == path.read_bytes()
    assert main(["fix", "ann.json", "--diff"]) == 0  # nothing more to change
    capsys.readouterr()
    main(["fix", "ann.json", "--unsafe-fixes", "--no-backup"])  # passes until none changes
    assert main(["fix", "ann.json", "--diff", "--unsafe-fixes"]) == 0
    assert [c["id"] for c in json.loads(path.read_text())["categories"]] == [1, 2]  # MC107
    assert capsys.readouterr().out.endswith("(maskcheck lint shows them)\n")


def test_diff_of_a_file_without_a_final_newline_applies(tmp_path, capsys, monkeypatch):
    path = write(tmp_path / "ann.json", coco(CASES["MC213"][0]), indent=None)
    assert not path.read_bytes().endswith(b"\n")
    monkeypatch.chdir(tmp_path)
    main(["fix", "ann.json", "--diff"])
    patch_text = capsys.readouterr().out
    assert "\\ No newline at end of file" in patch_text
    if shutil.which("patch") is None:
        pytest.skip("no `patch` on this machine (apt-get install patch)")
    subprocess.run(["patch", "-p1", "--quiet"], input=patch_text.encode(), cwd=tmp_path, check=True)
    assert "MC213" not in codes(path) and not path.read_bytes().endswith(b"\n")


@pytest.mark.parametrize("fail", ["replace", "fsync"])
def test_a_failed_write_leaves_the_original_and_no_temporary_file(tmp_path, monkeypatch, capsys, fail):
    path = dirty(tmp_path)
    original = path.read_bytes()
    real_replace, real_fsync = os.replace, os.fsync

    def broken_replace(src, dst, *a, **kw):
        if Path(dst) == path:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *a, **kw)

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writing.os, "replace", broken_replace if fail == "replace" else real_replace)
    monkeypatch.setattr(writing.os, "fsync", broken_fsync if fail == "fsync" else real_fsync)
    assert main(["fix", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"maskcheck: {path}: cannot write") and "unchanged" in err
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann.json"]  # no backup, no temp file


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path, monkeypatch, capsys):
    path = dirty(tmp_path)
    real = fix_run.write_atomic

    def someone_edits_first(snap, new, **kw):
        path.write_text(path.read_text() + " ")
        return real(snap, new, **kw)

    monkeypatch.setattr(fix_run, "write_atomic", someone_edits_first)
    assert main(["fix", str(path)]) == 2
    assert "changed since it was read" in capsys.readouterr().err
    assert path.read_text().endswith(" ")  # the other edit survives


def test_a_symlink_is_followed_and_its_mode_kept(tmp_path):
    target = dirty(tmp_path)
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["fix", str(link), "--no-backup"]) == 1  # errors (MC211) remain
    assert link.is_symlink() and "MC213" not in codes(target)
    assert target.stat().st_mode & 0o777 == 0o640


def test_never_writes_outside_the_paths_given(tmp_path, capsys):
    """A link inside a folder given is not followed (the walk opens regular files only), so
    what it points at is neither read nor written; the writer refuses such a target too."""
    outside = dirty(tmp_path)
    inside = tmp_path / "data"
    inside.mkdir()
    (inside / "ann.json").symlink_to(outside)
    before = outside.read_bytes()
    assert main(["fix", str(inside)]) == 2
    assert outside.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "ann.json", "data"]
    snap = writing.read_for_fix(inside / "ann.json")
    with pytest.raises(writing.WriteRefused, match="outside the paths given"):
        writing.write_atomic(snap, b"{}", backup=False, allowed_roots=[inside])


def test_select_limits_the_fixes(tmp_path, capsys):
    path = dirty(tmp_path)
    main(["fix", str(path), "--select", "MC213"])
    assert "(MC213 1)" in capsys.readouterr().out
    assert {"MC009", "MC101"} <= codes(path) and "MC213" not in codes(path)


def test_a_degenerate_polygon_beside_a_good_one_goes_alone(tmp_path):
    sq = [10, 10, 30, 10, 30, 30, 10, 30]
    path = write(tmp_path / "ann.json", coco(ann(1, segmentation=[[5, 5, 6, 6], sq, [1, 2, 3]])))
    fix_run.fix([path], unsafe=True, ignore=["MC107"])
    assert json.loads(path.read_text())["annotations"][0]["segmentation"] == [sq]
    removed = json.loads((tmp_path / "ann.json.removed.json").read_text())
    assert [(r["pointer"], r["value"]) for r in removed] == [
        ("/annotations/0/segmentation/0", [5, 5, 6, 6]), ("/annotations/0/segmentation/2", [1, 2, 3])]
    assert "MC202" not in codes(path)


def test_passes_go_on_while_fixes_uncover_more_and_keep_one_backup(tmp_path):
    """Fixing the string box of record 1 makes it an exact copy of record 2: a second pass
    deletes it. The backup is the original, made once."""
    path = write(tmp_path / "ann.json", coco(ann(1, bbox=[10, 10, "20", 20]), ann(2)))
    original = path.read_bytes()
    out = fix_run.fix([path], unsafe=True, ignore=["MC107"])
    assert sorted(f.code for f in out.fixed) == ["MC009", "MC218"]
    assert [a["id"] for a in json.loads(path.read_text())["annotations"]] == [1]
    assert (tmp_path / "ann.json.orig").read_bytes() == original
    assert not (tmp_path / "ann.json.orig.1").exists()
    again = fix_run.fix([path], unsafe=True, ignore=["MC107"])
    assert not again.written and not again.fixed


def test_exact_copies_are_deleted_and_near_ones_kept(tmp_path):
    near = [[10, 10, 30, 10, 30, 30.4, 10, 30.4]]  # IoU 0.98: the same object, a person decides
    path = write(tmp_path / "ann.json", coco(ann(1), ann(2), ann(3, segmentation=near), ann(4)))
    assert "MC218" in codes(path)
    out = fix_run.fix([path], unsafe=True, ignore=["MC107"])
    assert [f.code for f in out.fixed] == ["MC218"]
    doc = json.loads(path.read_text())
    assert [a["id"] for a in doc["annotations"]] == [1, 3]
    removed = json.loads((tmp_path / "ann.json.removed.json").read_text())
    assert [r["pointer"] for r in removed] == ["/annotations/1", "/annotations/3"]
    left = [f for f in lint([path]).findings if f.code == "MC218"]
    assert len(left) == 1 and left[0].fix is None  # the near copy: no fix


def test_fixes_a_format_cannot_carry_are_not_offered(tmp_path):
    """Unused classes and renumbering edit COCO's category list: a CVAT task's labels are
    reported without a fix (never a fix that is then silently dropped)."""
    from test_cvat import cvat_xml

    path = tmp_path / "annotations.xml"
    path.write_text(cvat_xml('<box label="car" occluded="0" xtl="1" ytl="1" xbr="5" ybr="5"/>'))
    (hit,) = [f for f in lint([path]).findings if f.code == "MC107"]
    assert hit.fix is None
    out = fix_run.fix([path], unsafe=True)
    assert not out.written and not out.plan.not_applied


def test_yolo_rows_just_outside_are_clipped_and_nothing_else_moves(tmp_path, capsys):
    from test_yolo import make as make_yolo

    rows = {"a": "0 0.5 0.5 0.2 0.2\r\n1 1.004 0.5 0.20 -0.0025\r\n",
            "b": "0 0.1 0.1 0.4 0.1 0.4 0.3\n1 2.5 0.5 0.2 0.2\n"}  # b: pixels, not a rounding
    root = make_yolo(tmp_path / "y", rows)
    found = [(f.code, f.location.short()) for f in lint([root]).findings if f.code == "MC420"]
    assert len(found) == 2
    main(["fix", str(root)])
    assert "(MC420 1)" in capsys.readouterr().out
    assert (root / "labels" / "a.txt").read_bytes() == b"0 0.5 0.5 0.2 0.2\r\n1 1 0.5 0.20 0\r\n"
    assert (root / "labels" / "b.txt").read_text() == rows["b"]  # beyond the slack: no fix
    left = [f.location.line for f in lint([root]).findings if f.code == "MC420"]
    assert left == [2]  # b.txt's row, as before
    text = (root / "labels" / "a.txt").read_bytes()
    main(["fix", str(root)])
    assert (root / "labels" / "a.txt").read_bytes() == text  # idempotent


def test_unreadable_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [{"id": 1, "file_name": "a.jpg"')
    good = dirty(tmp_path / "ok")  # beside it, fixed all the same
    assert main(["fix", str(bad), str(good)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"maskcheck: {bad}: ")
    assert bad.read_text() == '{"images": [{"id": 1, "file_name": "a.jpg"'
    assert not (tmp_path / "bad.json.orig").exists() and "MC213" not in codes(good)


def test_unused_categories_go_from_every_split_unless_one_uses_them(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "bird"},
            {"id": 4, "name": "crowd only"}]
    train = write(root / "train.json", coco(ann(1), ann(2, category_id=4, iscrowd=1,
                                                       segmentation=[[40, 40, 60, 40, 60, 60]]))
                  | {"categories": cats})
    val = write(root / "val.json", coco(ann(1, category_id=2)) | {"categories": cats})
    out = fix_run.fix([root], unsafe=True, select=["MC107"])
    for p in (train, val):  # bird (3) in no split goes; dog (2, val only) and 4 (crowd) stay
        assert [c["id"] for c in json.loads(p.read_text())["categories"]] == [1, 2, 4]
    assert [f.fix.value for f in out.fixed] == [3, 3]
    removed = json.loads((root / "train.json.removed.json").read_text())
    assert [(r["pointer"], r["value"]["name"]) for r in removed] == [("/categories/2", "bird")]
    assert {why for _, why in out.plan.not_applied} <= {
        "an annotation (a crowd region, or in another split) uses it"}
    again = fix_run.fix([root], unsafe=True, select=["MC107"])
    assert not again.written
