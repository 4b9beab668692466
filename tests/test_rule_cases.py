"""Every rule's cases, found by its code: tests/cases/<CODE>.yaml.

A case file holds `fires` (datasets on which the rule must report exactly the listed
places, in report order) and `silent` (valid datasets on which it must report nothing).
Each case is a mapping of relative paths to file contents (`files`; a `maskcheck.yaml`
among them sets the training setup), optionally the path to lint (`lint`, default the
folder) and the rule's `options`. A place is written as `Location.short()` prints it, with
the path relative to the case folder: `ann.json:/annotations/3`, `labels/a.txt:2`, `ann.json`.
Adding a rule means adding its case file; this test fails for a rule without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from maskcheck import lint
from maskcheck.config import CONFIG_FILES, load_config
from maskcheck.rules import BUILTIN

CASES = Path(__file__).with_name("cases")


def _load(code: str) -> dict[str, Any]:
    path = CASES / f"{code}.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _write(case: dict[str, Any], root: Path) -> Path:
    for rel, content in case["files"].items():
        target = (root / rel).resolve()
        assert root.resolve() in target.parents, f"case path {rel!r} escapes the case folder"
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content if isinstance(content, str) else yaml.safe_dump(content),
                              encoding="utf-8")
    return root / case["lint"] if case.get("lint") else root


def _places(code: str, case: dict[str, Any], root: Path) -> list[str]:
    path = _write(case, root)
    kwargs: dict[str, Any] = {"select": [code]}
    setup = next((root / n for n in CONFIG_FILES if (root / n).is_file()), None)
    if setup is not None:
        kwargs["config"] = load_config(explicit=setup)
    if case.get("options"):
        kwargs["options"] = {code: case["options"]}
    report = lint([path], **kwargs)
    assert not report.errors, [str(e) for e in report.errors]
    assert not [f for f in report.findings if f.code == "MC000"], "the rule crashed"
    prefix = str(root) + "/"
    return [f.location.short().removeprefix(prefix) for f in report.findings if f.code == code]


def _params() -> list[Any]:
    out = []
    for rule in sorted(BUILTIN, key=lambda r: r.code):
        cases = _load(rule.code)
        for kind in ("fires", "silent"):
            for k, case in enumerate(cases.get(kind) or []):
                out.append(pytest.param(rule.code, kind, case, id=f"{rule.code}-{kind}-{k}-{case['name']}"))
    return out


@pytest.mark.parametrize(("code", "kind", "case"), _params())
def test_case(code: str, kind: str, case: dict[str, Any], tmp_path: Path) -> None:
    found = _places(code, case, tmp_path)
    assert found == (case["findings"] if kind == "fires" else []), case["name"]


COVERED = sorted(p.stem for p in CASES.glob("MC*.yaml"))


@pytest.mark.parametrize("code", COVERED)
def test_case_file_has_both_kinds(code: str) -> None:
    cases = _load(code)
    assert cases.get("fires") and cases.get("silent"), f"{code}: needs `fires` and `silent` cases"
    for case in cases["fires"]:
        assert case.get("findings"), f"{code}: a firing case lists its places"


def test_every_rule_has_its_cases() -> None:
    missing = [r.code for r in BUILTIN if not (CASES / f"{r.code}.yaml").is_file()]
    assert not missing, f"rules without tests/cases/<CODE>.yaml: {missing}"
