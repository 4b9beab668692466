"""Every rule a run can choose from: the built-ins, then the plugins loaded in this process."""

from __future__ import annotations

from maskcheck import plugins
from maskcheck.registry import Rule
from maskcheck.rules import BUILTIN


def all_rules() -> list[type[Rule]]:
    return sorted((*BUILTIN, *plugins.loaded_rules()), key=lambda r: r.code)


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (`MC101`, any case) or name (`string-label`)."""
    key = key.strip()
    for rule in all_rules():
        if rule.code.lower() == key.lower() or rule.name == key.lower():
            return rule
    return None
