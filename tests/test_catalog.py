"""The built-in rules are one explicit tuple, and nothing registers itself on import."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import maskcheck.rules
from maskcheck import plugins
from maskcheck.catalog import all_rules, find_rule
from maskcheck.registry import DatasetRule, Rule, SplitRule
from maskcheck.rules import BUILTIN


def _defined_rules() -> list[type[Rule]]:
    """Every rule class (a Rule subclass with its own code) defined in maskcheck.rules.*."""
    out = []
    for info in pkgutil.iter_modules(maskcheck.rules.__path__):
        module = importlib.import_module(f"maskcheck.rules.{info.name}")
        out += [c for c in vars(module).values()
                if inspect.isclass(c) and issubclass(c, Rule) and c.__module__ == module.__name__
                and isinstance(c.__dict__.get("code"), str)]
    return out


def test_every_rule_class_is_in_the_builtin_tuple_once():
    defined = _defined_rules()
    assert sorted(c.code for c in defined) == sorted(c.code for c in BUILTIN)
    assert len({c.code for c in BUILTIN}) == len(BUILTIN)
    assert len({c.name for c in BUILTIN}) == len(BUILTIN)


def test_the_catalog_is_the_builtins_plus_loaded_plugins(isolated_registry):
    assert all_rules() == sorted(BUILTIN, key=lambda r: r.code)
    plugins._loaded["test"] = []
    assert all_rules() == sorted(BUILTIN, key=lambda r: r.code)

    class Extra(Rule):
        code, name, summary = "ZZZ001", "extra-rule", "test"
        severity = BUILTIN[0].severity

    plugins._loaded["test"] = [Extra]
    assert all_rules()[-1] is Extra and find_rule("extra-rule") is Extra


def test_each_rule_is_of_one_kind_by_type():
    for cls in BUILTIN:
        if issubclass(cls, SplitRule):
            assert callable(cls.summarize) and callable(cls.cross_check)
        if issubclass(cls, DatasetRule):
            # a dataset rule either keeps no state at all or defines how to add and merge it
            own = {name for k in cls.__mro__[:-1] if k not in (DatasetRule, SplitRule, Rule)
                   for name in vars(k)}
            if "initial" in own:
                assert {"accumulate", "merge"} <= own, cls.code
        else:
            assert "check" in {n for k in cls.__mro__ if k is not Rule for n in vars(k)}, cls.code


def test_a_rule_module_registers_nothing_on_import():
    # the 0.1 decorator is an identity: importing a module with @register rules adds nothing
    from maskcheck.registry import register

    class Marked(Rule):
        code, name, summary = "ZZZ002", "marked-rule", "test"
        severity = BUILTIN[0].severity

    assert register(Marked) is Marked
    assert find_rule("ZZZ002") is None


def test_format_rules_declare_their_format_and_run_only_there(write_coco):
    from conftest import coco_doc
    from maskcheck.engine import lint_dataset, make_plan
    from maskcheck.readers.reading import read_all

    families = {"MC41": "labelme", "MC42": "yolo", "MC44": "voc", "MC45": "cvat", "MC46": "sa1b"}
    # a geometry rule whose fix edits only COCO polygons is not run where it cannot be acted on
    only = {"MC223": "coco"}
    for cls in BUILTIN:
        fmt = only.get(cls.code) or families.get(cls.code[:4])
        assert cls.formats == (frozenset({fmt}) if fmt else None), cls.code

    calls: list[str] = []

    class VocOnly(Rule):
        code, name, summary, severity = "ZZZ003", "voc-only", "test", BUILTIN[0].severity
        formats = frozenset({"voc"})

        def check(self, batch):
            calls.append(batch.info.format)
            return ()

    (ds,) = list(read_all([write_coco(coco_doc())]))
    plan = make_plan(select=["MC001"])
    plan.rules[:] = [VocOnly()]
    assert lint_dataset(ds, plan) == [] and calls == []
    object.__setattr__(ds.info, "format", "voc")  # the same data, as if a VOC reader's
    lint_dataset(ds, plan)
    assert calls == ["voc"]
