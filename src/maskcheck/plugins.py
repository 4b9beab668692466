"""Third-party rules: the `maskcheck.rules` entry-point group and local modules from the config.

An entry point or a config line names a rule class, a list of them, or a module, whose rule
classes are read from it: nothing registers itself on import. A plugin is imported once per
process and the classes it brought are remembered (`loaded_rules`). A plugin that
cannot be imported, or that brings a rule that is malformed or clashes with another, stops
the run with an error naming it: a rule that silently fails to load is a check the user
believes is running and is not.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from maskcheck.errors import UsageProblem
from maskcheck.model import Severity
from maskcheck.registry import Rule
from maskcheck.rules import BUILTIN

ENTRY_POINT_GROUP = "maskcheck.rules"
_CODE = re.compile(r"^[A-Z]{1,8}[0-9]{2,5}$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_loaded: dict[str, list[type[Rule]]] = {}


class PluginError(UsageProblem):
    """A plugin that failed to load: the message names it."""


_entry_points: list[importlib.metadata.EntryPoint] | None = None


def load_entry_points(refresh: bool = False) -> list[str]:
    """Load every installed `maskcheck.rules` entry point, in name order; returns their names.

    The installed distributions are scanned once per process (a scan costs tens of ms);
    `refresh` scans again, for a process that installs plugins while it runs.
    """
    global _entry_points
    if _entry_points is None or refresh:
        _entry_points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                               key=lambda e: e.name)
    eps = _entry_points
    for ep in eps:
        _load(f"plugin {ep.name!r} (entry point {ep.value})", ep.load)
    return [ep.name for ep in eps]


def load_local(spec: str, base: Path, where: str) -> None:
    """A module named in the config: a `.py` path relative to the config, or a dotted name.

    Dotted names are imported with the config's folder first on sys.path, as a project's
    own modules would be. Nothing is written: no `__pycache__` beside the module.
    """
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        _load_local(spec, base, where)
    finally:
        sys.dont_write_bytecode = saved


def _load_local(spec: str, base: Path, where: str) -> None:
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = (base / spec).resolve()
        key = f"plugin {spec!r} ({where})"
        if not path.is_file():
            raise PluginError(f"{key} failed to load: no such file {path}")
        _load(key, lambda: _import_file(path))
        return

    def import_dotted() -> ModuleType:
        sys.path.insert(0, str(base))
        try:
            return importlib.import_module(spec)
        finally:
            sys.path.remove(str(base))

    _load(f"plugin {spec!r} ({where})", import_dotted)


def _import_file(path: Path) -> ModuleType:
    name = "maskcheck_local_plugin_" + re.sub(r"\W", "_", str(path))
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def loaded_rules() -> list[type[Rule]]:
    """The rule classes of every plugin loaded in this process, in load order."""
    seen: dict[type[Rule], None] = {}
    for classes in _loaded.values():
        seen.update(dict.fromkeys(classes))
    return list(seen)


def _load(key: str, loader: Callable[[], Any]) -> None:
    if key in _loaded:  # imported earlier in this process: the same classes again
        return
    try:
        classes = _rules_in(loader())
        for cls in classes:
            _validate(cls)
    except PluginError:
        raise
    except Exception as exc:  # any failure inside third-party code names the plugin
        raise PluginError(f"{key} failed to load: {type(exc).__name__}: {exc}") from None
    taken = {r.code: r for r in (*BUILTIN, *loaded_rules())}  # built-ins win a clash
    taken.update({r.name: r for r in taken.values()})
    for cls in classes:
        for other in (taken.get(cls.code), taken.get(cls.name)):
            if other is not None and other is not cls:
                raise PluginError(f"{key} failed to load: rule {cls.code} {cls.name} clashes with "
                                  f"{other.code} {other.name}")
        taken[cls.code] = taken[cls.name] = cls
    _loaded[key] = classes


def _rules_in(obj: Any) -> list[type[Rule]]:
    """Rule classes an entry point names: a class, a list of classes, or a module (the rule
    classes it defines, in the order it defines them)."""
    if inspect.isclass(obj):
        if not issubclass(obj, Rule):
            raise TypeError(f"{obj.__qualname__} is not a maskcheck Rule subclass")
        return [obj]
    if isinstance(obj, list | tuple):
        out: list[type[Rule]] = []
        for item in obj:
            out += [c for c in _rules_in(item) if c not in out]
        return out
    if isinstance(obj, ModuleType):
        ours = (obj.__name__, obj.__name__ + ".")  # defined in it or in its own submodules
        return [c for c in vars(obj).values()
                if inspect.isclass(c) and issubclass(c, Rule) and isinstance(c.__dict__.get("code"), str)
                and (c.__module__ == ours[0] or c.__module__.startswith(ours[1]))]
    raise TypeError(f"expected a Rule subclass, a list of them or a module, got {type(obj).__name__}")


def _validate(cls: type[Rule]) -> None:
    code, name = getattr(cls, "code", None), getattr(cls, "name", None)
    if not isinstance(code, str) or not _CODE.match(code):
        raise ValueError(f"rule {cls.__qualname__} has code {code!r}; use letters then digits, "
                         "like ACME101")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"rule {code} has name {name!r}; use kebab-case, like bad-thing")
    if not isinstance(getattr(cls, "summary", None), str):
        raise ValueError(f"rule {code} has no summary")
    if not isinstance(getattr(cls, "severity", None), Severity):
        raise ValueError(f"rule {code} has no severity (a maskcheck.Severity)")
