"""Pages and registry stay in step, and every page's examples behave as the page says."""

from __future__ import annotations

import pytest

from maskcheck.catalog import all_rules
from maskcheck.docs import SECTIONS, first_fence, page_path, page_text, pages_dir, sections
from maskcheck.testing import run_example

RULES = all_rules()


def test_every_page_has_a_rule():
    folder = pages_dir()
    assert folder is not None
    codes = {r.code for r in RULES}
    pages = {p.stem for p in folder.glob("MC*.md")}
    assert pages - codes == set(), f"pages without a rule: {sorted(pages - codes)}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.code}-{r.name}")
def test_page_is_complete(rule):
    assert page_path(rule) is not None, f"rule {rule.code} has no page rules/{rule.code}.md"
    text = page_text(rule)
    assert text.splitlines()[0] == f"# {rule.name} ({rule.code})"
    found = sections(text)
    missing = [s for s in SECTIONS if s not in found]
    assert not missing, f"{rule.code}: sections missing: {missing}"
    for option in rule.options:
        assert f"`{option.name}`" in found["Options"], f"{rule.code}: option {option.name} undocumented"
    # what `maskcheck fix` does, as the rule declares it
    opening = {"none": "No fix: ", "safe": "Safe", "unsafe": "Unsafe"}[rule.fix_safety]
    assert found["Fix safety"].startswith(opening), f"{rule.code}: Fix safety must open with {opening!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.code}-{r.name}")
def test_page_examples(rule):
    found = sections(page_text(rule))
    bad = first_fence(found["Example"])
    good = first_fence(found["Use instead"])
    assert bad and good, f"{rule.code}: Example and Use instead need a fenced block each"
    fired = run_example(*bad, rule.code)
    assert not fired.errors, fired.errors
    assert [f for f in fired.findings if f.code == rule.code], f"{rule.code}: the bad example does not fire"
    quiet = run_example(*good, rule.code)
    assert not quiet.errors, quiet.errors
    assert not [f for f in quiet.findings if f.code == rule.code], (
        f"{rule.code}: the good example fires: {[f.message for f in quiet.findings]}")
