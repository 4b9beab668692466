"""Third-party rules, readers and reporters: entry-point groups, and local modules from the config.

Like flake8's plugin kinds, each kind has its entry-point group: `maskcheck.rules`,
`maskcheck.readers` and `maskcheck.reporters`, loaded in that order and by name within each.
An entry point names an object, a list of them, or a module: rule classes are read from a
module, and a module may itself be a reader or a reporter (it has NAME and read/detect, or
NAME and render). Nothing registers itself on import. A config's `plugins` bring rules
only, so a config shipped with a dataset can never add a reader or a reporter.

A plugin is imported once per process and what it brought is remembered (`loaded_rules`,
`loaded_readers`, `loaded_reporters`). A plugin that cannot be imported, or brings something
malformed or clashing with another plugin, stops the run with an error naming it: a plugin
that silently fails to load is a check (or a format) the user believes is there and is not.
A clash with a built-in reader or reporter is found where each format list is assembled
(readers/reading.py, reporters/outputs.py), with the same error.
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
READER_GROUP = "maskcheck.readers"
REPORTER_GROUP = "maskcheck.reporters"
_CODE = re.compile(r"^[A-Z]{1,8}[0-9]{2,5}$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

_loaded: dict[str, list[type[Rule]]] = {}
_readers: dict[str, list[Any]] = {}  # plugin key -> the reader objects it brought
_reporters: dict[str, list[Any]] = {}


class PluginError(UsageProblem):
    """A plugin that failed to load: the message names it."""


_entry_points: dict[str, list[importlib.metadata.EntryPoint]] = {}


def load_entry_points(refresh: bool = False) -> list[str]:
    """Load every installed entry point of the three groups (rules, readers, reporters), each
    group in name order; returns their names.

    The installed distributions are scanned once per process (a scan costs tens of ms);
    `refresh` scans again, for a process that installs plugins while it runs.
    """
    if not _entry_points or refresh:
        installed = importlib.metadata.entry_points()  # one scan for the three groups
        _entry_points.clear()
        _entry_points.update({g: sorted(installed.select(group=g), key=lambda e: e.name)
                              for g in (ENTRY_POINT_GROUP, READER_GROUP, REPORTER_GROUP)})
    names: list[str] = []
    for group, kind in ((ENTRY_POINT_GROUP, "plugin"), (READER_GROUP, "reader plugin"),
                        (REPORTER_GROUP, "reporter plugin")):
        for ep in _entry_points[group]:
            key = f"{kind} {ep.name!r} (entry point {ep.value})"
            if group == ENTRY_POINT_GROUP:
                _load(key, ep.load)
            else:
                _load_format(key, ep.load, "reader" if group == READER_GROUP else "reporter")
            names.append(ep.name)
    return names


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


# --- readers and reporters -------------------------------------------------------------------
_PARTS = {"reader": ("read", "detect"), "reporter": ("render",)}  # the functions of each contract


def loaded_readers() -> list[tuple[str, Any]]:
    """(plugin key, reader) for every reader plugin loaded in this process, in load order."""
    return [(key, r) for key, readers in _readers.items() for r in readers]


def loaded_reporters() -> list[tuple[str, Any]]:
    """(plugin key, reporter) for every reporter plugin loaded in this process, in load order."""
    return [(key, r) for key, reporters in _reporters.items() for r in reporters]


def _load_format(key: str, loader: Callable[[], Any], kind: str) -> None:
    """Load a reader or reporter plugin (`kind`): objects with NAME and their functions.
    Nothing is kept unless all it brought is well formed and clashes with no other plugin."""
    into = _readers if kind == "reader" else _reporters
    if key in into:  # imported earlier in this process
        return
    try:
        brought = _formats_in(loader(), _PARTS[kind], kind)
    except PluginError:
        raise
    except Exception as exc:  # any failure inside third-party code names the plugin
        raise PluginError(f"{key} failed to load: {type(exc).__name__}: {exc}") from None
    taken = {obj.NAME: other for other, objs in into.items() for obj in objs}
    for obj in brought:
        if obj.NAME in taken:
            raise PluginError(f"{key} failed to load: {kind} {obj.NAME!r} clashes with the one "
                              f"of {taken[obj.NAME]}")
        taken[obj.NAME] = key
    into[key] = brought


def _formats_in(obj: Any, parts: tuple[str, ...], kind: str) -> list[Any]:
    """The readers or reporters an entry point names: one object (a module, class or
    instance with NAME and `parts`), or a list of them."""
    items = list(obj) if isinstance(obj, list | tuple) else [obj]
    for item in items:
        name = getattr(item, "NAME", None)
        what = getattr(item, "__name__", type(item).__name__)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{kind} {what} has NAME {name!r}; use kebab-case, like my-format")
        missing = [p for p in parts if not callable(getattr(item, p, None))]
        if missing:
            raise ValueError(f"{kind} {name!r} has no {' or '.join(missing)}() function "
                             f"(a {kind} has NAME and {', '.join(parts)}; see rules/GUIDE.md)")
    names = [item.NAME for item in items]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"{kind} {name!r} is named twice")
    return items


def builtin_clash(key: str, kind: str, name: str) -> PluginError:
    """The error for a plugin whose reader or reporter takes a built-in's name."""
    return PluginError(f"{key} failed to load: {kind} {name!r} clashes with the built-in "
                       f"{kind} of that name")
