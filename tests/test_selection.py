"""Rule selection: --select / --ignore / --extend-select, --severity, --fail-on, config and CLI."""

from __future__ import annotations

import json

import pytest

from conftest import ann, coco_doc
from maskcheck.catalog import all_rules
from maskcheck.cli import main
from maskcheck.engine import make_plan
from maskcheck.errors import UsageProblem
from maskcheck.model import Severity

# id 0 (MC103, error) and an unused class (MC107)
DOC = coco_doc(categories=[{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2, "name": "c"}],
               annotations=[ann(1, 1, 0), ann(2, 2, 1)])


def codes(**kw):
    return [r.code for r in make_plan(**kw).rules]


def test_select_by_code_prefix_and_name():
    assert codes(select=["MC103"]) == ["MC103"]
    assert codes(select=["background-index-collision"]) == ["MC103"]
    assert codes(select=["mc10"]) == [r.code for r in all_rules() if r.code.startswith("MC10")]
    assert codes(select=["MC5"]) == [r.code for r in all_rules() if r.code.startswith("MC5")]
    assert codes() == [r.code for r in all_rules()]


def test_ignore_wins_over_select_and_extend_adds():
    assert codes(select=["MC10"], ignore=["MC103", "class-imbalance"]) == \
        [c for c in codes(select=["MC10"]) if c not in ("MC103", "MC105")]
    assert codes(select=["MC103"], extend_select=["MC501"]) == ["MC103", "MC501"]
    assert codes(select=["MC103"], extend_select=["MC501"], ignore=["MC5"]) == ["MC103"]


@pytest.mark.parametrize(("kw", "message"), [
    ({"select": ["MC9"]}, "--select 'MC9' matches no rule"),
    ({"ignore": ["string-labl"]}, "--ignore 'string-labl' matches no rule; did you mean 'string-label'?"),
    ({"extend_select": ["MC51O"]}, "--extend-select 'MC51O' matches no rule; did you mean"),
    ({"severity": {"nope-rule": "info"}}, "--severity 'nope-rule' matches no rule"),
    ({"severity": {"MC103": "fatal"}}, "unknown severity 'fatal'"),
])
def test_selector_matching_nothing_is_an_error(kw, message):
    with pytest.raises(UsageProblem, match=message):
        make_plan(**kw)


def test_severity_override_by_prefix():
    plan = make_plan(select=["MC10"], severity={"MC10": "info", "MC103": "warning"})
    assert plan.severity["MC101"] == Severity.INFO
    assert plan.severity["MC103"] == Severity.WARNING  # later, more specific key wins


@pytest.fixture
def data(write_coco):
    return str(write_coco(DOC))


def _run(capsys, *args):
    rc = main(["lint", *args, "--format", "json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out) if out.out.strip() else None, out.err


def test_cli_select_ignore_extend(data, capsys):
    rc, doc, _ = _run(capsys, data, "--select", "MC103")
    assert rc == 1 and {f["code"] for f in doc["findings"]} == {"MC103"}
    rc, doc, _ = _run(capsys, data, "--select", "MC103,unused-class")
    assert {f["code"] for f in doc["findings"]} == {"MC103", "MC107"}
    rc, doc, _ = _run(capsys, data, "--select", "MC103", "--extend-select", "MC107")
    assert {f["code"] for f in doc["findings"]} == {"MC103", "MC107"}
    rc, doc, _ = _run(capsys, data, "--select", "MC1", "--ignore", "MC103", "--ignore", "MC105")
    assert rc == 0 and {f["code"] for f in doc["findings"]} == {"MC107"}


def test_cli_severity_and_fail_on(data, capsys):
    rc, doc, _ = _run(capsys, data, "--select", "MC103", "--severity", "MC103=warning")
    assert rc == 0 and doc["findings"][0]["severity"] == "warning"
    rc, _, _ = _run(capsys, data, "--select", "MC103", "--severity", "MC103=warning",
                    "--fail-on", "warning")
    assert rc == 1
    rc, _, _ = _run(capsys, data, "--select", "MC103", "--fail-on", "never")
    assert rc == 0
    rc, _, _ = _run(capsys, data, "--select", "MC107", "--fail-on", "info")
    assert rc == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--select", "MC9"], "--select: 'MC9' matches no rule"),
    (["--ignore", "unmaped-class"], "did you mean 'unmapped-class'?"),
    (["--extend-select", "nothing"], "--extend-select: 'nothing' matches no rule"),
    (["--severity", "MC103"], "--severity 'MC103': expected CODE=LEVEL"),
    (["--severity", "MC103=loud"], "unknown severity 'loud'"),
])
def test_cli_bad_selection_exits_2(data, capsys, args, message):
    rc, _, err = _run(capsys, data, *args)
    assert rc == 2 and message in err and "Traceback" not in err


def test_cli_flags_combine_with_config(data, tmp_path, capsys):
    (tmp_path / ".maskcheck.yaml").write_text("select: [MC103]\nignore: [MC105]\n"
                                              "severity: {MC103: warning}\n")
    rc, doc, _ = _run(capsys, data)
    assert rc == 0 and [f["code"] for f in doc["findings"]] == ["MC103"]
    rc, doc, _ = _run(capsys, data, "--extend-select", "MC107")  # adds to the config's select
    assert {f["code"] for f in doc["findings"]} == {"MC103", "MC107"}
    rc, doc, _ = _run(capsys, data, "--select", "MC1")  # replaces it; the config's ignore stays
    assert "MC105" not in {f["code"] for f in doc["findings"]}
    rc, doc, _ = _run(capsys, data, "--severity", "MC103=error")  # the command line wins
    assert rc == 1
