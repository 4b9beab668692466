"""`maskcheck stats`: the class histogram per split, as bars or JSON, with lint's exit codes
for unreadable input."""

from __future__ import annotations

import json
from pathlib import Path

from maskcheck.cli import main

DEFECTS = Path(__file__).parents[1] / "examples" / "defects"


def test_text_bars_per_split(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["stats", str(DEFECTS)]) == 0
    out = capsys.readouterr().out
    assert out.count("background") >= 2  # one table per split, each ending with background
    assert "annotations.json" in out and "annotations_val.json" in out
    assert "defect_type_a" in out and "unused" in out


def test_json_numbers_match_the_files(capsys):
    assert main(["stats", str(DEFECTS / "annotations_val.json"), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [table] = doc["datasets"]
    source = json.loads((DEFECTS / "annotations_val.json").read_text(encoding="utf-8"))
    per_class: dict[int, int] = {}
    for ann in source["annotations"]:
        per_class[ann["category_id"]] = per_class.get(ann["category_id"], 0) + 1
    assert {c["id"]: c["instances"] for c in table["classes"] if c["instances"]} == per_class
    assert table["images"] == len(source["images"])
    assert 0 < table["background_share"] < 1


def test_runs_no_rule(capsys):
    """Statistics, not findings: a dataset full of defects still exits 0."""
    assert main(["stats", str(DEFECTS / "annotations.json"), "-f", "json"]) == 0
    assert "findings" not in json.loads(capsys.readouterr().out)


def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [', encoding="utf-8")
    assert main(["stats", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("maskcheck: ") and "broken.json" in err[0]


def test_bad_format_is_a_usage_error(capsys):
    assert main(["stats", str(DEFECTS), "-f", "sarif"]) == 2
    assert "--format 'sarif': choose text or json" in capsys.readouterr().err
