"""The command line: exit codes, bad input as one clear line, the JSON contract."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, ann, coco_doc
from maskcheck.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_file_exits_0(capsys, write_coco):
    code, out, err = run(capsys, "lint", str(write_coco(coco_doc())), "--ignore", "class-imbalance")
    assert code == 0, out + err
    assert "clean" in out


def test_errors_exit_1_and_fail_on_moves_the_bar(capsys, write_coco):
    doc = coco_doc()
    doc["annotations"][0]["category_id"] = "defect_type_a"
    bad = write_coco(doc)
    assert run(capsys, "lint", str(bad))[0] == 1
    assert run(capsys, "lint", str(bad), "--fail-on", "never")[0] == 0
    # only info findings: passes at the default bar, fails at --fail-on info
    doc = coco_doc(categories=[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}])
    info_only = write_coco(doc, "info.json")
    assert run(capsys, "lint", str(info_only))[0] == 0
    assert run(capsys, "lint", str(info_only), "--fail-on", "info")[0] == 1
    assert run(capsys, "lint", str(info_only), "--fail-on", "warning")[0] == 0


BAD_INPUTS = {
    "not_json.json": (b"hello, world", "not JSON"),
    "truncated.json": (b'{"images": [{"id": 1, "file_name": "a.jpg"', "truncated JSON"),
    "empty.json": (b"", "empty file"),
    "garbage.json": (bytes(range(256)) * 4, "not JSON"),
    "syntax.json": (b'{"images": [],\n  "annotations": [,]}', "invalid JSON at line 2, column 19"),
    "list.json": (b"[1, 2, 3]", "not a"),
    "other.json": (b'{"hello": "world"}', "not a supported annotation file"),
    "deep.json": (b'{"images": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "latin1.json": ('{"images": [{"file_name": "caf\u00e9"}]}'.encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, name):
    data, expected = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run(capsys, "lint", str(path))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert str(path) in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in err + out


def test_missing_path_and_empty_folder(capsys, tmp_path):
    code, _, err = run(capsys, "lint", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file or folder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "lint", str(empty))
    assert code == 2 and str(empty) in err and "no supported annotations" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(capsys, write_coco):
    path = write_coco(coco_doc())
    path.chmod(0)
    try:
        code, _, err = run(capsys, "lint", str(path))
    finally:
        path.chmod(0o644)
    assert code == 2 and "permission denied" in err


def test_unreadable_file_as_root(capsys, write_coco, monkeypatch):
    # Root ignores file modes, so simulate the OS refusing the read.
    path = write_coco(coco_doc())
    real = Path.read_bytes

    def refuse(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    code, _, err = run(capsys, "lint", str(path))
    assert code == 2 and f"{path}: permission denied" in err


def test_one_bad_file_does_not_stop_the_others(capsys, tmp_path, write_coco):
    folder = tmp_path / "annotations"
    good = coco_doc()
    good["annotations"].append(ann(9, 1, 7))
    (folder).mkdir()
    (folder / "instances_train.json").write_text(json.dumps(good))
    (folder / "instances_val.json").write_bytes(b'{"images": [')
    code, out, err = run(capsys, "lint", str(tmp_path), "--format", "json", "--select", "MC0",
                         "--select", "MC1", "--ignore", "MC105")
    assert code == 2
    report = json.loads(out)
    assert [f["code"] for f in report["findings"]] == ["MC102"]
    assert report["errors"] == [{"path": str(folder / "instances_val.json"),
                                 "message": "truncated JSON: the document ends early at line 1, column 13"}]
    assert "instances_val.json: truncated JSON" in err


def test_gzip_input(capsys, tmp_path):
    doc = coco_doc()
    doc["annotations"][1]["category_id"] = "3"
    path = tmp_path / "ann.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    code, out, _ = run(capsys, "lint", str(path), "--format", "json")
    assert code == 1
    finding = json.loads(out)["findings"][0]
    assert finding["code"] == "MC101" and finding["location"]["pointer"] == "/annotations/1"
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"plain text, not gzip")
    code, _, err = run(capsys, "lint", str(bad))
    assert code == 2 and "not a gzip file" in err


def test_json_report_shape(capsys, write_coco):
    doc = coco_doc()
    doc["annotations"][2]["category_id"] = "defect_type_a"
    path = write_coco(doc)
    code, out, _ = run(capsys, "lint", str(path), "--format", "json", "--select", "MC0", "--select", "MC1",
                       "--ignore", "class-imbalance")
    assert code == 1
    report = json.loads(out)
    assert report["version"] == 1
    assert report["tool"]["name"] == "maskcheck" and report["tool"]["version"] == "0.1.0"
    assert report["inputs"] == [{"path": str(path), "format": "coco"}]
    assert report["summary"] == {"images": 2, "annotations": 4, "error": 1, "warning": 0, "info": 0,
                                 "datasets": 1, "files": 1}
    assert "errors" not in report  # keys that do not apply are omitted
    assert report["findings"] == [{
        "code": "MC101", "rule": "string-label", "severity": "error",
        "message": 'category_id "defect_type_a" is a string, not an integer id: it is a class '
                   'name; categories define "defect_type_a" as id 1',
        "location": {"path": str(path), "pointer": "/annotations/2", "image_id": 2,
                     "annotation_id": 3, "category_id": 1},
        "fix": {"applicability": "safe", "message": 'category_id "defect_type_a" -> 1'},
    }]


def test_output_file(capsys, tmp_path, write_coco):
    target = tmp_path / "report.json"
    code, out, _ = run(capsys, "lint", str(write_coco(coco_doc())), "--format", "json",
                       "--output", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["summary"]["error"] == 0
    text_target = tmp_path / "report.txt"
    run(capsys, "lint", str(write_coco(coco_doc())), "--output", str(text_target), "--ignore", "MC105")
    assert "clean" in text_target.read_text() and "\x1b[" not in text_target.read_text()


def test_text_report_caps_examples(capsys, write_coco):
    doc = coco_doc()
    doc["annotations"] += [ann(100 + i, 1, 55) for i in range(15)]
    code, out, _ = run(capsys, "lint", str(write_coco(doc)), "--max-examples", "4")
    assert code == 1
    assert "MC102 unmapped-class" in out and "15 findings" in out
    assert out.count("/annotations/") == 4
    assert "… and 11 more" in out
    assert "15 errors" in out


def test_usage_errors_exit_2(capsys, write_coco):
    path = str(write_coco(coco_doc()))
    assert run(capsys, "lint", path, "--format", "yaml")[0] == 2
    assert run(capsys, "lint", path, "--fail-on", "sometimes")[0] == 2
    code, _, err = run(capsys, "lint", path, "--select", "MC999")
    assert code == 2 and "matches no rule" in err
    assert run(capsys, "lint", path, "--no-such-option")[0] == 2
    assert run(capsys, "lint")[0] == 2


def test_rules_and_explain(capsys):
    code, out, _ = run(capsys, "rules", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    by_code = {r["code"]: r for r in listed}
    assert by_code["MC101"]["name"] == "string-label" and by_code["MC101"]["severity"] == "error"
    code, out, _ = run(capsys, "explain", "string-label")
    assert code == 0 and out.startswith("# string-label (MC101)")
    assert run(capsys, "explain", "mc101")[1].startswith("# string-label (MC101)")
    code, _, err = run(capsys, "explain", "no-such-rule")
    assert code == 2 and "no rule" in err


def test_python_dash_m_and_console_script(tmp_path):
    doc = coco_doc()
    doc["annotations"][0]["category_id"] = 0
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "maskcheck", "lint", str(path), "--format", "json",
                           "--select", "MC102"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert [f["code"] for f in json.loads(proc.stdout)["findings"]] == ["MC102"]
    proc = subprocess.run([sys.executable, "-m", "maskcheck", "--version"], capture_output=True, text=True)
    assert proc.stdout.strip() == "maskcheck 0.1.0"


def test_nothing_is_written_to_the_dataset(capsys, tmp_path, write_coco):
    path = write_coco(coco_doc())
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    run(capsys, "lint", str(tmp_path), "--format", "json")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    assert path.exists()
