"""Baselines: fingerprints that survive re-ordering and unrelated edits, new findings only,
and the counts of baselined and gone findings in the text and JSON reports."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import ann, coco_doc
from maskcheck import baseline
from maskcheck.api import lint as _lint_all
from maskcheck.cli import main
from maskcheck.model import CRASH_CODE, Finding, Location, Report, Severity


def _legacy() -> dict[str, Any]:
    """A legacy dataset: a class name as label (MC101), an unknown class (MC102)."""
    return coco_doc(annotations=[_sq(1, 1, 1), _sq(2, 1, "defect_type_a"), _sq(3, 2, 7),
                                 _sq(4, 2, 2)])


def _sq(aid: int, image_id: Any, category_id: Any) -> dict[str, Any]:
    """A valid annotation whose 10x10 square does not overlap its neighbours' (by id)."""
    x = 5 + 15 * (aid % 6)
    return ann(aid, image_id, category_id, segmentation=[[x, 10, x + 10, 10, x + 10, 20, x, 20]],
               bbox=[x, 10, 10, 10])


# Pinned to the record and label rules so that later rule families cannot change the counts.
ONLY = ["--select", "MC0", "--select", "MC1"]


def lint(paths: list[Path], **kw: Any) -> Report:
    return _lint_all(paths, **{"select": ["MC0", "MC1"], **kw})


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _apply(path: Path, bl: Path, **kw: Any) -> baseline.Applied:
    return baseline.apply(lint([path], **kw), baseline.load(bl))


# --- identity ------------------------------------------------------------------------------

@pytest.mark.parametrize("loc, expected", [
    (Location("a.json", "/annotations/4", None, 2, 5, 9), "image=2 annotation=5"),
    (Location("a.json", "/images/1", None, 2, None, None), "image=2"),
    (Location("a.json", "/images/1", None, 2, None, 9), "image=2 category=9"),
    (Location("a.json", "/categories/0", None, None, None, 9), "category=9"),
    (Location("a.json", "/annotations/4", None, None, "5", None), 'annotation="5"'),
    (Location("a.json", "/annotations/4"), "pointer=\"/annotations/4\""),
    (Location("labels/a.txt", None, 3), "line=3"),
    (Location("a.json"), ""),
])
def test_identity_prefers_ids_over_pointer(loc: Location, expected: str) -> None:
    assert baseline.identity(loc) == expected


def test_key_uses_path_relative_to_baseline_folder(tmp_path: Path) -> None:
    f = Finding("MC101", "string-label", Severity.ERROR, "msg",
                Location(str(tmp_path / "data" / "ann.json"), "/annotations/1", None, 1, 2, 1))
    assert baseline.key(f, tmp_path) == "MC101 data/ann.json image=1 annotation=2"
    # the message is not part of the fingerprint
    other = Finding("MC101", "string-label", Severity.ERROR, "another text", f.location)
    assert baseline.fingerprint(f, tmp_path) == baseline.fingerprint(other, tmp_path)


# --- write, apply ----------------------------------------------------------------------------

def test_same_data_is_fully_baselined(write_coco, tmp_path: Path) -> None:
    data = write_coco(_legacy())
    bl = tmp_path / "bl.json"
    n = baseline.write(lint([data]).findings, bl)
    assert n == len(lint([data]).findings) >= 3
    applied = _apply(data, bl)
    assert applied.report.findings == []
    assert (applied.baselined, applied.gone) == (n, 0)
    assert (applied.report.baselined, applied.report.baseline_gone) == (n, 0)
    doc = json.loads(bl.read_text())
    assert {e["code"] for e in doc["findings"]} >= {"MC101", "MC102"}
    assert {"path": "ann.json", "record": "image=1 annotation=2"}.items() <= next(
        e for e in doc["findings"] if e["code"] == "MC101").items()


def test_reordered_records_and_edits_elsewhere_stay_baselined(write_coco, tmp_path: Path) -> None:
    data = write_coco(_legacy())
    bl = tmp_path / "bl.json"
    n = baseline.write(lint([data]).findings, bl)

    moved = copy.deepcopy(_legacy())
    for section in ("images", "annotations", "categories"):
        moved[section].reverse()
    moved["images"].append({"id": 3, "file_name": "img3.jpg", "width": 100, "height": 80})
    moved["annotations"].insert(0, _sq(10, 3, 1))  # an unrelated, valid record first
    write_coco(moved)
    applied = _apply(data, bl)
    assert applied.report.findings == []
    assert (applied.baselined, applied.gone) == (n, 0)


def test_only_new_findings_are_reported_and_fixed_ones_counted(write_coco, tmp_path: Path) -> None:
    data = write_coco(_legacy())
    bl = tmp_path / "bl.json"
    n = baseline.write(lint([data]).findings, bl)

    doc = _legacy()
    doc["annotations"][2]["category_id"] = 2  # fix the unknown class of annotation 3
    doc["annotations"].append(_sq(5, 2, "defect_type_b"))  # a new string label
    write_coco(doc)
    applied = _apply(data, bl)
    assert [(f.code, f.location.annotation_id) for f in applied.report.findings] == [("MC101", 5)]
    assert applied.gone == 1
    # class-imbalance messages change with the counts ("only 2 instances"), but they are
    # matched by category id, not by text: still baselined.
    assert applied.baselined == n - 1


def test_duplicate_identities_are_a_multiset(tmp_path: Path) -> None:
    loc = Location(str(tmp_path / "a.json"), "/annotations/0", None, 1, 1, 1)
    two = [Finding("MC201", "x", Severity.ERROR, m, loc) for m in ("one", "two")]
    bl = tmp_path / "bl.json"
    baseline.write(two, bl)
    report = Report(inputs=[{"path": str(tmp_path / "a.json")}], findings=two * 2,
                    rules=[])
    applied = baseline.apply(report, baseline.load(bl))
    assert applied.baselined == 2 and len(applied.report.findings) == 2


def test_crashes_are_never_baselined(tmp_path: Path) -> None:
    crash = Finding(CRASH_CODE, "rule-crashed", Severity.ERROR, "boom", Location("a.json"))
    bl = tmp_path / "bl.json"
    assert baseline.write([crash], bl) == 0
    applied = baseline.apply(Report(findings=[crash]), baseline.load(bl))
    assert applied.report.findings == [crash]


def test_gone_counts_only_what_this_run_could_see(write_coco, tmp_path: Path) -> None:
    bad = write_coco(_legacy(), "bad.json")
    good = write_coco(coco_doc(), "good.json")
    bl = tmp_path / "bl.json"
    baseline.write(lint([bad, good]).findings, bl)
    # another file only: the bad file's entries are not "gone"
    assert _apply(good, bl).gone == 0
    # another rule selection: entries of unselected rules are not "gone"
    assert _apply(bad, bl, select=["MC101"]).gone == 0


def test_baseline_works_from_any_working_directory(write_coco, tmp_path: Path) -> None:
    data = write_coco(_legacy(), "data/ann.json")
    bl = tmp_path / "bl.json"
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        baseline.write(lint([Path("data/ann.json")]).findings, bl)
        os.chdir(data.parent)
        applied = baseline.apply(lint([Path("ann.json")]), baseline.load(Path("../bl.json")))
    finally:
        os.chdir(cwd)
    assert applied.report.findings == [] and applied.gone == 0


@pytest.mark.parametrize("content, message", [
    (None, "no such baseline file"),
    ("{", "not a maskcheck baseline (JSON error at line 1"),
    ("[]", 'no "findings" list'),
    ('{"version": 9, "findings": []}', "version 9 is not supported"),
    ('{"version": 1, "findings": [{"code": "MC101"}]}', "/findings/0 needs"),
])
def test_bad_baseline_files(content: str | None, message: str, tmp_path: Path) -> None:
    bl = tmp_path / "bl.json"
    if content is not None:
        bl.write_text(content)
    with pytest.raises(baseline.BaselineError, match=r"bl\.json") as exc:
        baseline.load(bl)
    assert message in str(exc.value)


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_write_then_gate_on_new_findings(write_coco, tmp_path: Path, capsys,
                                             monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    data = write_coco(_legacy())
    bl = tmp_path / ".maskcheck-baseline.json"
    code, out, err = _run(["lint", str(data), "--write-baseline", str(bl), *ONLY], capsys)
    assert code == 0 and bl.is_file() and "recorded" in err
    n = len(json.loads(bl.read_text())["findings"])

    code, out, _ = _run(["lint", str(data), "--baseline", str(bl), *ONLY], capsys)
    assert code == 0
    assert f"{n} findings matched the baseline and are not shown" in out

    doc = _legacy()
    doc["annotations"][2]["category_id"] = 2
    doc["annotations"].append(_sq(5, 2, "defect_type_b"))
    write_coco(doc)
    code, out, _ = _run(["lint", str(data), "--baseline", str(bl), *ONLY], capsys)
    assert code == 1
    assert "/annotations/4" in out and "/annotations/1 " not in out
    assert "1 baselined finding is gone" in out

    code, out, _ = _run(["lint", str(data), "--baseline", str(bl), "-f", "json", *ONLY], capsys)
    summary = json.loads(out)["summary"]
    assert summary["baselined"] == n - 1 and summary["baseline_gone"] == 1
    assert summary["error"] == 1


def test_cli_bad_baseline_is_exit_2_before_linting(write_coco, tmp_path: Path, capsys) -> None:
    data = write_coco(_legacy())
    code, out, err = _run(["lint", str(data), "--baseline", str(tmp_path / "none.json"), *ONLY], capsys)
    assert code == 2 and out == ""
    assert "none.json: no such baseline file" in err and "Traceback" not in err


def test_json_has_no_baseline_keys_without_baseline(write_coco, capsys) -> None:
    _, out, _ = _run(["lint", str(write_coco(_legacy())), "-f", "json", *ONLY], capsys)
    assert "baselined" not in json.loads(out)["summary"]
