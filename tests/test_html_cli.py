"""The HTML report from the command line: --report html=FILE and --format html collect the
gallery, --html-examples caps it, the text report says where the HTML went, and the probe
writes its failing seeds' pictures into it."""

from __future__ import annotations

import re
from pathlib import Path

from maskcheck.cli import main

DEFECTS = Path(__file__).parents[1] / "examples" / "defects"


def cards(page: str) -> list[str]:
    return re.findall(r'<figure class="card" id="card-\d+" data-rule="(MC\d+)"', page)


def test_report_html_collects_the_gallery_and_the_text_report_names_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "report.html"
    assert main(["lint", str(DEFECTS), "--no-progress", "--report", f"html={out}"]) == 1
    text = capsys.readouterr().out.rstrip("\n").splitlines()
    assert text[-1] == f"HTML report: {out}"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and cards(page)
    assert 'id="gallery-missing"' not in page


def test_format_html_on_stdout_and_html_examples_caps_each_rule(tmp_path, capsys):
    assert main(["lint", str(DEFECTS), "--no-progress", "-f", "html", "--html-examples", "1"]) == 1
    page = capsys.readouterr().out
    shown = cards(page)
    assert shown and len(shown) == len(set(shown))  # one card per rule at most
    assert main(["lint", str(DEFECTS), "--no-progress", "-f", "html", "--html-examples", "0"]) == 1
    assert cards(capsys.readouterr().out) == []


def test_other_formats_do_not_collect(tmp_path, capsys):
    """Without an HTML report nothing is snapshot: the JSON report is unchanged."""
    assert main(["lint", str(DEFECTS), "--no-progress", "-f", "json"]) == 1
    assert "gallery" not in capsys.readouterr().out


def test_probe_report_html_shows_the_failing_seeds(tmp_path, capsys):
    out = tmp_path / "probe.html"
    assert main(["probe", "--transform", "probe_fixtures:buggy_random_crop", "--runs", "4",
                 "--report", f"html={out}", "--html-examples", "2"]) == 1
    page = out.read_text(encoding="utf-8")
    seeds = re.findall(r'<figure class="probe-card" data-seed="(\d+)"', page)
    assert len(seeds) == 2 and 'id="probe"' in page


def test_html_report_file_named_twice_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["lint", str(DEFECTS), "-f", "html", "-o", str(out), "--report", f"html={out}"]) == 2
    assert "named by more than one report" in capsys.readouterr().err
