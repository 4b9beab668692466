"""The CI output formats (sarif, junit, github, concise), several outputs in one run,
--statistics, --quiet, --exit-zero, and colour only where a terminal wants it."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED, ann, coco_doc
from maskcheck.api import lint
from maskcheck.cli import main
from maskcheck.docs import HELP_URI, page_text
from maskcheck.engine import make_plan
from maskcheck.model import Finding, Location, Report, Severity
from maskcheck.reporters import concise, github, junit, outputs, sarif
from maskcheck.reporters.formats import FORMATS, REPORTERS

SCHEMAS = SHARED / "schemas"
# CLI tests that compare exact output pin the rules: later rule families must not change them.
ONLY = ["--select", "MC0", "--select", "MC1"]


def _sq(aid: int, image_id: Any, category_id: Any) -> dict[str, Any]:
    """A valid annotation whose 10x10 square does not overlap its neighbours' (by id)."""
    x = 5 + 15 * (aid % 6)
    return ann(aid, image_id, category_id, segmentation=[[x, 10, x + 10, 10, x + 10, 20, x, 20]],
               bbox=[x, 10, 10, 10])


def _schema(name: str) -> Path:
    path = SCHEMAS / name
    if not path.is_file():
        pytest.skip(f"../shared/schemas/{name} is absent (it sits beside the project in CI)")
    return path


def _bad_doc() -> dict[str, Any]:
    # /annotations/1: a class name as category_id (MC101); /annotations/2: unknown id 7 (MC102)
    return coco_doc(annotations=[_sq(1, 1, 1), _sq(2, 1, "defect_type_a"), _sq(3, 2, 7),
                                 _sq(4, 2, 2)])


@pytest.fixture
def bad(write_coco) -> Path:
    return write_coco(_bad_doc(), "bad.json")


@pytest.fixture
def good(write_coco) -> Path:
    return write_coco(coco_doc(annotations=[_sq(1, 1, 1), _sq(2, 1, 2), _sq(3, 2, 1),
                                            _sq(4, 2, 2)]), "good.json")


def _line_report() -> Report:
    """A synthetic report with a line-based location (as the YOLO reader makes) and odd text."""
    plan = make_plan(select=["MC101", "MC102"])
    findings = [
        Finding("MC101", "string-label", Severity.ERROR, 'label "a,b": 50% off\nsecond line',
                Location("labels/img 1.txt", line=3), (2, 3)),
        Finding("MC102", "unmapped-class", Severity.WARNING, "class 9 unknown",
                Location("ann.json", pointer="/annotations/4", image_id=2, annotation_id=5,
                         category_id=9), (2, 4)),
    ]
    return Report(inputs=[{"path": "ann.json", "format": "coco"}], findings=findings,
                  images=2, annotations=5, rules=plan.rules)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# --- SARIF -------------------------------------------------------------------------------

def _validate_sarif(doc: dict[str, Any]) -> None:
    import jsonschema

    schema = json.loads(_schema("sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_validates_and_describes_every_enabled_rule(bad: Path) -> None:
    report = lint([bad], select=["MC1"])
    doc = json.loads(sarif.render(report))
    _validate_sarif(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in report.rules]
    for desc, rule in zip(rules, report.rules, strict=True):
        assert desc["name"] == rule.name
        assert desc["shortDescription"]["text"] == rule.summary
        assert desc["fullDescription"]["text"] == (page_text(type(rule)) or rule.summary)
        assert desc["help"]["markdown"] == desc["fullDescription"]["text"]
        assert desc["helpUri"] == HELP_URI.format(code=rule.code)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    hit = by_rule["MC101"]
    assert rules[hit["ruleIndex"]]["id"] == "MC101"
    assert hit["level"] == "error"
    loc = hit["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith("bad.json")
    assert "region" not in loc["physicalLocation"]  # COCO has no line numbers
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "/annotations/1"
    assert hit["properties"] == {"pointer": "/annotations/1", "image_id": 1,
                                 "annotation_id": 2, "category_id": 1}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_region_for_lines_and_relative_uri() -> None:
    doc = sarif.to_dict(_line_report())
    _validate_sarif(doc)
    first = doc["runs"][0]["results"][0]
    phys = first["locations"][0]["physicalLocation"]
    assert phys["region"] == {"startLine": 3}
    assert phys["artifactLocation"] == {"uri": "labels/img%201.txt", "uriBaseId": "%SRCROOT%"}
    assert "logicalLocations" not in first["locations"][0]
    assert doc["runs"][0]["results"][1]["level"] == "warning"


def test_sarif_marks_results_new_under_a_baseline() -> None:
    report = _line_report()
    report.baselined, report.baseline_gone = 4, 1
    doc = sarif.to_dict(report)
    _validate_sarif(doc)
    assert {r["baselineState"] for r in doc["runs"][0]["results"]} == {"new"}
    assert doc["runs"][0]["properties"] == {"baselined": 4, "baseline_gone": 1}
    assert github.render(report).splitlines()[-1].endswith(
        "4 findings matched the baseline and are not shown; 1 baselined finding is gone "
        "(fixed or removed: refresh the baseline with --write-baseline)")


def test_sarif_reports_unreadable_inputs_as_notifications(write_coco, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    doc = sarif.to_dict(lint([broken]))
    _validate_sarif(doc)
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert inv["toolExecutionNotifications"][0]["level"] == "error"


def test_sarif_fingerprints_survive_reordering(write_coco) -> None:
    doc = _bad_doc()
    first = write_coco(doc, "a/ann.json")
    doc["annotations"].reverse()
    doc["images"].reverse()
    second = write_coco(doc, "b/ann.json")

    def prints(path: Path) -> dict[str, str]:
        os.chdir(path.parent)  # same relative path "ann.json" in both runs
        results = sarif.to_dict(lint([Path("ann.json")], select=["MC0", "MC1"]))["runs"][0]["results"]
        return {r["partialFingerprints"][sarif.FINGERPRINT_KEY]: r["ruleId"] for r in results}

    cwd = os.getcwd()
    try:
        a, b = prints(first), prints(second)
    finally:
        os.chdir(cwd)
    assert a == b and len(a) == len(lint([first], select=["MC0", "MC1"]).findings)


# --- JUnit -------------------------------------------------------------------------------

def _validate_junit(text: str) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(_schema("junit.xsd"))).validate(text)


def test_junit_validates_one_suite_per_rule_one_failure_per_finding(bad: Path) -> None:
    import xml.etree.ElementTree as ET

    report = lint([bad], select=["MC1"])
    text = junit.render(report)
    _validate_junit(text)
    root = ET.fromstring(text)
    suites = root.findall("testsuite")
    assert [s.get("name").split()[0] for s in suites] == [r.code for r in report.rules]
    failures = root.findall(".//failure")
    assert len(failures) == len(report.findings)
    mc101 = next(s for s in suites if s.get("name") == "MC101 string-label")
    assert mc101.get("failures") == "1"
    case = mc101.find("testcase")
    assert case.get("name") == f"{bad}:/annotations/1"
    assert case.find("failure").get("type") == "error"
    clean = next(s for s in suites if s.get("name").startswith("MC104"))
    assert clean.get("failures") == "0" and clean.find("testcase").find("failure") is None


def test_junit_validates_with_control_characters_and_input_errors(tmp_path: Path) -> None:
    report = _line_report()
    report.findings.append(Finding("MC101", "string-label", Severity.ERROR, "bad \x01 byte",
                                   Location("x.json", pointer="/a"), ()))
    missing = lint([tmp_path / "missing.json"])
    report.errors.extend(missing.errors)
    text = junit.render(report)
    _validate_junit(text)
    assert "\\x01" in text and "<error" in text


# --- github and concise -----------------------------------------------------------------

def test_github_commands_escape_and_map_severity() -> None:
    lines = github.render(_line_report()).splitlines()
    assert lines[0] == ("::error file=labels/img 1.txt,line=3,title=MC101::string-label: "
                        'label "a,b": 50%25 off\\nsecond line')  # shown, not obeyed
    assert lines[1] == ("::warning file=ann.json,title=MC102::unmapped-class at "
                        "/annotations/4: class 9 unknown")
    info = Finding("MC105", "class-imbalance", Severity.INFO, "few", Location("a:b,c.json"), ())
    assert github.command(info) == "::notice file=a%3Ab%2Cc.json,title=MC105::class-imbalance: few"


def test_concise_is_one_line_per_finding() -> None:
    assert concise.render(_line_report()) == (
        'labels/img 1.txt:3: MC101 label "a,b": 50% off\\nsecond line\n'  # a visible escape
        "ann.json:/annotations/4: MC102 class 9 unknown\n")


def test_every_format_is_registered() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "junit", "github", "concise", "html"}
    assert set(REPORTERS) == set(FORMATS) - {"text"}


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "concise"])
def test_cli_prints_each_format(fmt: str, bad: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code, out, err = _run(["lint", str(bad), "--format", fmt], capsys)
    assert code == 1, err
    assert "MC101" in out


def test_github_is_the_default_inside_github_actions(bad: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = _run(["lint", str(bad)], capsys)
    assert code == 1
    assert out.startswith(f"::error file={bad},title=MC101::")
    code, out, _ = _run(["lint", str(bad), "--format", "concise"], capsys)
    assert out.startswith(f"{bad}:/annotations/1: MC101 ")
    assert outputs.default_format(to_file=True) == "text"  # commands only work in the log
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert outputs.default_format() == "text"


# --- several outputs in one run ------------------------------------------------------------

def test_several_reports_in_one_run(bad: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    sarif_file, junit_file, json_file = (tmp_path / n for n in ("r.sarif", "r.xml", "r.json"))
    text_file = tmp_path / "r.txt"
    code, out, _ = _run(["lint", str(bad), "--report", f"sarif={sarif_file}",
                         "--report", f"junit={junit_file}", "--report", f"json={json_file}",
                         "--report", f"text={text_file}", *ONLY], capsys)
    assert code == 1
    assert "MC101 string-label" in out and "2 errors" in out  # the terminal report
    _validate_sarif(json.loads(sarif_file.read_text()))
    _validate_junit(junit_file.read_text())
    assert json.loads(json_file.read_text())["summary"]["error"] == 2
    assert "MC101 string-label" in text_file.read_text()


@pytest.mark.parametrize("spec, message", [
    ("sarif", "FORMAT=FILE"), ("=x.sarif", "FORMAT=FILE"), ("xml=x.xml", "choose one of"),
])
def test_bad_report_spec_is_a_usage_error(spec: str, message: str, bad: Path, capsys) -> None:
    code, _, err = _run(["lint", str(bad), "--report", spec], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_one_file_for_two_reports_is_refused(bad: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out"
    code, _, err = _run(["lint", str(bad), "-o", str(target), "--report", f"json={target}"],
                        capsys)
    assert code == 2 and "more than one report" in err
    assert not target.exists()


# --- statistics, quiet, exit-zero ----------------------------------------------------------

def test_statistics_counts_per_rule(bad: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code, out, _ = _run(["lint", str(bad), "--statistics", *ONLY], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split() == ["2", "MC105", "class-imbalance", "info"]
    assert {tuple(line.split()) for line in lines[1:3]} == {
        ("1", "MC101", "string-label", "error"), ("1", "MC102", "unmapped-class", "error")}
    assert "/annotations/" not in out  # counts instead of findings
    assert "2 errors, 0 warnings, 2 info" in lines[-1]

    code, out, _ = _run(["lint", str(bad), "--statistics", "--format", "json", *ONLY], capsys)
    stats = json.loads(out)["statistics"]
    assert stats[0] == {"code": "MC105", "rule": "class-imbalance", "severity": "info",
                        "count": 2}

    code, _, err = _run(["lint", str(bad), "--statistics", "--format", "sarif"], capsys)
    assert code == 2 and "--statistics works with" in err


def test_quiet_shows_errors_only_without_decoration(bad: Path, good: Path, capsys,
                                                    monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code, out, err = _run(["lint", str(bad), "--quiet", *ONLY], capsys)
    assert code == 1
    assert out.splitlines() == [
        f'{bad}:/annotations/1: MC101 category_id "defect_type_a" is a string, not an integer '
        'id: it is a class name; categories define "defect_type_a" as id 1',
        f"{bad}:/annotations/2: MC102 " + out.splitlines()[1].split(" MC102 ", 1)[1],
    ]
    assert "MC105" not in out and "images" not in out and err == ""
    code, out, _ = _run(["lint", str(good), "-q"], capsys)
    assert code == 0 and out == ""


def test_exit_zero_keeps_exit_2_for_unreadable_input(bad: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = _run(["lint", str(bad), "--exit-zero", "-f", "concise"], capsys)
    assert code == 0 and "MC101" in out
    code, _, err = _run(["lint", str(tmp_path / "nope.json"), "--exit-zero"], capsys)
    assert code == 2 and "nope.json" in err


# --- colour --------------------------------------------------------------------------------

_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _colour_codes(data: str) -> list[str]:
    """SGR parameters that set a colour (30-38, 40-48, 90-97, 100-107); bold/dim are fine."""
    out = []
    for params in _SGR.findall(data):
        for p in filter(None, params.split(";")):
            n = int(p)
            if 30 <= n <= 38 or 40 <= n <= 48 or 90 <= n <= 97 or 100 <= n <= 107:
                out.append(p)
    return out


def test_no_escape_codes_when_stdout_is_not_a_terminal(bad: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR",
                                                            "GITHUB_ACTIONS")}
    result = subprocess.run([sys.executable, "-m", "maskcheck", "lint", str(bad)],
                            capture_output=True, text=True, env={**env, "TERM": "xterm-256color"})
    assert result.returncode == 1
    assert "MC101 string-label" in result.stdout and "\x1b" not in result.stdout


def _in_terminal(bad: Path, **env_extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR",
                                                            "GITHUB_ACTIONS")}
    env.update(TERM="xterm-256color", COLUMNS="200", **env_extra)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "maskcheck", "lint", str(bad), "--no-progress"],
                            stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    proc.wait(timeout=60)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX-only")
def test_no_color_removes_colour_codes_in_a_terminal(bad: Path) -> None:
    coloured = _in_terminal(bad)
    assert "MC101 string-label" in coloured
    assert _colour_codes(coloured), "a terminal without NO_COLOR should get colours"
    plain = _in_terminal(bad, NO_COLOR="1")
    assert "MC101 string-label" in plain
    assert _colour_codes(plain) == []
