"""The user's setup: `.maskcheck.yaml`, `maskcheck.yaml` or `[tool.maskcheck]` in pyproject.toml.

The file is found by walking up from the linted paths (their common folder), or named with
`--config`. Only a trusted config may load local plugins (run code): one named with `--config`,
one in the current folder or a folder above it (the user's own project), or any with
`allow_plugins`. A config found beside the linted data only — perhaps shipped with a downloaded
dataset — keeps its settings but its `plugins` are not imported (`Config.blocked_plugins`).
Every key, rule reference and option value is checked when the file is read:
an unknown key, a selector that matches no rule or an option of the wrong type is an error
naming the file and the key (exit 2, with a "did you mean" where one is close) — a typo in a
config must never silently turn a check off. Keys may be written with `-` or `_`.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import json
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from maskcheck.catalog import all_rules, find_rule
from maskcheck.engine import make_plan, match_rules
from maskcheck.errors import UsageProblem
from maskcheck.model import DatasetInfo, Finding, RunContext, Severity
from maskcheck.plugins import load_entry_points, load_local
from maskcheck.readers.reading import input_formats
from maskcheck.reporters.safe import visible
from maskcheck.targets import DEFAULT_TARGET, TARGETS, Target, resolve

CONFIG_FILES = (".maskcheck.yaml", ".maskcheck.yml", "maskcheck.yaml", "maskcheck.yml")
DEFAULT = "default"
UNSET: Any = object()

KEYS = ("format", "classes", "background_index", "num_classes", "target", "select", "ignore",
        "extend_select", "severity", "options", "per_path_ignores", "fields", "plugins")
# How the README's example file spells each key (`-` and `_` are both read): `maskcheck config`
# prints these, so its output pastes into a config file as the documentation writes one.
FILE_KEYS = {**{k: k for k in KEYS}, "extend_select": "extend-select",
             "per_path_ignores": "per-path-ignores"}
# What an unset key means, for keys whose value comes from the data
_UNSET_NOTES = {"format": "detected for each input", "classes": "the category names in the data",
                "num_classes": "not set: nothing is checked against it"}


class Setting(NamedTuple):
    """One row of `maskcheck config`."""

    key: str
    value: Any
    source: str  # a file, "command line" or DEFAULT (not set)
    note: str = ""


class ConfigError(UsageProblem):
    """A config file or option that cannot be honoured: names the file and the key."""


def suggest(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'x'?` when a choice is close, else nothing."""
    by_fold = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_fold), n=1, cutoff=0.6)
    return f"; did you mean {by_fold[close[0]]!r}?" if close else ""


@dataclass
class Config:
    """The effective configuration and where each value came from.

    `background_index` is UNSET unless given (then an int, or None for "no background").
    """

    path: Path | None = None
    format: str | None = None
    classes: list[str] | dict[str, int] | None = None
    background_index: Any = UNSET
    num_classes: int | None = None
    target: str | None = None
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    # plugins named by an untrusted config and therefore not imported (see blocked_message)
    blocked_plugins: list[str] = field(default_factory=list)

    # --- applying it ---------------------------------------------------------------------
    def resolved_target(self) -> Target | None:
        return resolve(self.target, ... if self.background_index is UNSET else self.background_index)

    def context(self, info: DatasetInfo, images_dir: str | Path | None = None) -> RunContext:
        """The training setup the rules judge `info`'s dataset against. Only what the user
        set: a format whose own trainer is implied (YOLO) keeps it unless the user names one.
        Nothing is written into the reader's output."""
        return RunContext(target=self.resolved_target() or info.implied_target,
                          num_classes=self.num_classes, classes=self.classes,
                          images_dir=str(images_dir) if images_dir is not None else None)

    def plan(self) -> Any:
        return make_plan(select=self.select, ignore=self.ignore, severity=self.severity,
                         options=self.options, extend_select=self.extend_select)

    def reader_options(self) -> dict[str, Any]:
        return {"fields": dict(self.fields)} if self.fields else {}

    def path_ignores(self) -> Callable[[Finding], bool]:
        """Whether `per_path_ignores` drops a finding (globs relative to the config's folder).
        Selectors become code sets once, here, not per finding."""
        rules = [(pattern, {r.code for sel in sels for r in match_rules(sel)})
                 for pattern, sels in self.per_path_ignores.items()]
        base = _resolve(self.path.parent) if self.path is not None else None
        names_of: dict[str, set[str]] = {}

        def names(path_text: str) -> set[str]:
            found = names_of.get(path_text)
            if found is None:
                path = Path(path_text)
                found = names_of[path_text] = {path.as_posix()}
                if base is not None:
                    with contextlib.suppress(ValueError):  # another drive on Windows
                        found.add(Path(os.path.relpath(_resolve(path), base)).as_posix())
            return found

        def ignored(finding: Finding) -> bool:
            return any(finding.code in codes and any(fnmatch.fnmatchcase(n, pattern)
                                                     for n in names(finding.location.path))
                       for pattern, codes in rules)

        return ignored

    # --- showing it ----------------------------------------------------------------------
    def effective(self) -> list[Setting]:
        """Every key in KEYS order: the value that will be used, where it came from, and a
        note when that value depends on the data (`value` None: there is no single value)."""
        target = self.resolved_target()  # None: no target set, each reader's own applies
        out = []
        for key in KEYS:
            value, note = getattr(self, key), ""
            if key == "target" and value is None:
                value = (target or DEFAULT_TARGET).name
                note = "" if target else "YOLO datasets: yolo"
            elif key == "background_index" and value is UNSET:
                value = (target or DEFAULT_TARGET).background
                note = (f"{(target or DEFAULT_TARGET).name}'s background"
                        + ("" if target else "; none for YOLO datasets"))
            elif key == "select" and value is None:
                value = ["ALL"]
            elif value is None and key in _UNSET_NOTES:
                note = _UNSET_NOTES[key]
            elif key in ("severity", "options") and not value:
                note = "each rule's own (maskcheck rules --format json)"
            out.append(Setting(key, value, self.sources.get(key, DEFAULT), note))
        return out

    def dump(self) -> str:
        """The effective configuration as a config file: set keys as they are, unset ones
        commented out with the value used, so pasting it changes nothing. Keys are spelled
        as the documentation spells them; values are JSON, which YAML reads as written. A
        path with a newline in it must not start a line of its own: visible() escapes it."""
        where = visible(str(self.path)) if self.path else "(none found; defaults)"
        lines = [f"# config file: {where}",
                 "# keys not set are commented out, with the value maskcheck uses"]
        for row in self.effective():
            text = f"({row.note})" if row.value is None and row.note else json.dumps(row.value, default=str)
            if row.source != DEFAULT:
                lines.append(f"{FILE_KEYS[row.key]}: {text}  # {visible(row.source)}")
                continue
            note = f"; {row.note}" if row.note and row.value is not None else ""
            lines.append(f"# {FILE_KEYS[row.key]}: {text}  # default{note}")
        return "\n".join(lines) + "\n"

    def override(self, where: str, **values: Any) -> Config:
        """A copy with command-line values validated and applied (None: not given)."""
        raw = {k: v for k, v in values.items() if v is not None and v != [] and v != {}}
        parsed = _parse(raw, where, base=Path.cwd(), cli=True)
        out = Config(**{k: getattr(self, k) for k in (*KEYS, "path")}, sources=dict(self.sources),
                     blocked_plugins=list(self.blocked_plugins))
        for key, value in parsed.items():
            if key in ("ignore", "extend_select"):  # the command line adds to the file's lists
                value = [*getattr(out, key), *value]
            elif key in ("severity", "options", "fields"):  # and adds to its mappings
                value = {**getattr(out, key), **value}
            setattr(out, key, value)
            out.sources[key] = where
        return out


# --- finding and reading the file ------------------------------------------------------------
def _resolve(path: Path) -> Path:
    """`path.resolve()` that never raises: a symlink loop or an unreadable folder gives the
    absolute path as written (the reader then reports the path itself, one line)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python < 3.13's "Symlink loop"
        return Path(os.path.abspath(path))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def find_config(paths: Sequence[str | Path]) -> Path | None:
    """The nearest config file above the common folder of `paths` (or the current folder)."""
    starts = [_resolve(Path(p)) for p in paths] or [Path.cwd()]
    try:
        folder = Path(os.path.commonpath([str(s) for s in starts]))
    except ValueError:  # different drives
        folder = starts[0]
    try:
        is_dir = folder.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        folder = folder.parent
    for d in (folder, *folder.parents):
        for name in CONFIG_FILES:
            if _is_file(d / name):
                return d / name
        pyproject = d / "pyproject.toml"
        if _is_file(pyproject) and _has_tool_table(pyproject):
            return pyproject
    return None


def trusted_location(path: Path) -> bool:
    """Whether a found config sits in the current folder or above it: the user's project,
    not a folder that merely holds the data being linted."""
    folder, cwd = _resolve(path).parent, _resolve(Path.cwd())
    return folder == cwd or folder in cwd.parents


def blocked_message(config: Config) -> str | None:
    """The one line the CLI shows when an untrusted config's plugins were not imported."""
    if not config.blocked_plugins:
        return None
    return (f"{config.path}: plugins [{', '.join(config.blocked_plugins)}] not loaded: a config "
            "found beside the linted data may not run code (use --config or --allow-plugins)")


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # an unrelated (perhaps broken) pyproject.toml is not ours to judge
    return "tool.maskcheck" in text


def load_config(paths: Sequence[str | Path] = (), explicit: str | Path | None = None,
                allow_plugins: bool = False) -> Config:
    """Read `explicit`, or the config found above `paths`; defaults when there is none.

    Loads plugins (installed entry points, then those the file names) before checking rule
    references, so a config may select a plugin's rules. The file's local plugins are
    imported only when it is trusted: `explicit`, `allow_plugins`, or found in the current
    folder or above it. Otherwise they land in `blocked_plugins`, unimported.
    """
    load_entry_points()
    path = Path(explicit) if explicit is not None else find_config(paths)
    if path is None:
        return Config()
    raw = _read(path)
    where = str(path)
    trusted = explicit is not None or allow_plugins or trusted_location(path)
    blocked: list[str] = []
    parsed = _parse(raw, where, base=_resolve(path).parent, cli=False,
                    blocked=None if trusted else blocked)
    config = Config(path=path, **parsed, blocked_plugins=blocked)
    config.sources = dict.fromkeys(parsed, where)
    return config


def _read(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the config: {exc}") from None
    if path.name == "pyproject.toml" or path.suffix == ".toml":
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
        if path.name == "pyproject.toml":
            tool = doc.get("tool", {})
            if not isinstance(tool, dict) or "maskcheck" not in tool:
                raise ConfigError(f"{where}: no [tool.maskcheck] table")
            doc = tool["maskcheck"]
            where = f"{where} [tool.maskcheck]"
    else:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1})" if mark is not None else ""
            reason = getattr(exc, "problem", None) or exc
            raise ConfigError(f"{where}: not valid YAML{at}: {reason}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: the config must be a mapping of settings, "
                          f"got {type(doc).__name__}")
    return doc


# --- checking values -------------------------------------------------------------------------
# keys whose values name rules: a plugin's rule cannot be found when its plugin was blocked
_RULE_KEYS = ("select", "ignore", "extend_select", "severity", "options", "per_path_ignores")


def _parse(raw: dict[str, Any], where: str, base: Path, cli: bool,
           blocked: list[str] | None = None) -> dict[str, Any]:
    """Check and normalize every key; `where` names the file (or "command line").

    `blocked` (a list to fill) means the file is untrusted: its plugins are checked and
    listed there, never imported.
    """
    out: dict[str, Any] = {}
    norm = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in KEYS:
            raise ConfigError(f"{where}: {key!r} is not a maskcheck setting{suggest(name, KEYS)} "
                              f"(settings: {', '.join(KEYS)})")
        norm[name] = value

    def at(key: str) -> str:
        return f"--{key.replace('_', '-')}" if cli else f"{where}: {key}"

    # plugins first: the rest may refer to their rules
    if "plugins" in norm:
        names = _str_list(norm["plugins"], at("plugins"))
        if blocked is not None:
            blocked.extend(names)
            names = []
        out["plugins"] = names
        for spec in names:
            load_local(spec, base, where)
    for key in KEYS:
        if key in norm and key != "plugins":
            try:
                out[key] = _CHECKS[key](norm[key], at(key))
            except ConfigError as exc:
                if not blocked or key not in _RULE_KEYS:
                    raise
                # lint on without the plugins unless the file needs their rules: then say why
                raise ConfigError(f"{exc} (this config's plugins [{', '.join(blocked)}] were "
                                  "not loaded: a config found beside the linted data may not "
                                  "run code; use --config or --allow-plugins)") from None
    return out


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, f"expected a list of strings, got {_type_name(value)} {value!r}")
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"expected a mapping, got {_type_name(value)} {value!r}")
    return {str(k): v for k, v in value.items()}


def _rule_names() -> list[str]:
    return [n for r in all_rules() for n in (r.code, r.name)]


def check_selector(sel: str, where: str) -> str:
    if not isinstance(sel, str) or not sel.strip():
        raise _fail(where, f"expected a rule code, prefix or name, got {sel!r}")
    if not match_rules(sel):
        raise _fail(where, f"{sel!r} matches no rule{suggest(sel, _rule_names())} "
                           "(see `maskcheck rules`)")
    return sel.strip()


def _selectors(value: Any, where: str) -> list[str]:
    return [check_selector(s, where) for s in _str_list(value, where)]


def _format(value: Any, where: str) -> str:
    known = input_formats()  # the built-ins, then the plugin readers loaded before the file
    if not isinstance(value, str) or value not in known:
        raise _fail(where, f"unknown input format {value!r}{suggest(str(value), list(known))} "
                           f"(known: {', '.join(known)})")
    return value


def _target(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.lower() not in TARGETS:
        raise _fail(where, f"unknown target {value!r}{suggest(str(value), list(TARGETS))} "
                           f"(known: {', '.join(TARGETS)})")
    return value.lower()


def _int(value: Any, where: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, f"expected an integer, got {_type_name(value)} {value!r}")
    if value < low:
        raise _fail(where, f"must be at least {low}, got {value}")
    return value


def _background(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where, 0)


def _classes(value: Any, where: str) -> list[str] | dict[str, int]:
    if isinstance(value, list):
        names = _str_list(value, where)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise _fail(where, f"class {dup[0]!r} is listed twice")
        return names
    if isinstance(value, dict):
        out = {}
        for name, cid in value.items():
            out[str(name)] = _int(cid, f"{where}.{name}", 0)
        return out
    raise _fail(where, f"expected a list of class names or a mapping of name -> id, "
                       f"got {_type_name(value)} {value!r}")


def _severity(value: Any, where: str) -> dict[str, str]:
    out = {}
    for sel, level in _mapping(value, where).items():
        check_selector(sel, where)
        try:
            Severity.parse(str(level))
        except ValueError:
            raise _fail(f"{where}.{sel}", f"unknown severity {level!r}; use error, warning or info"
                                          f"{suggest(str(level), ['error', 'warning', 'info'])}") from None
        out[sel] = str(level).lower()
    return out


def _options(value: Any, where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, opts in _mapping(value, where).items():
        rule = find_rule(key)
        if rule is None:
            raise _fail(where, f"no rule {key!r}{suggest(key, _rule_names())} (options are set "
                               "per rule code or name)")
        opts = _mapping(opts, f"{where}.{key}")
        known = {o.name: o for o in rule.options}
        for name, val in opts.items():
            if name not in known:
                have = ", ".join(known) or "none"
                raise _fail(f"{where}.{key}", f"rule {rule.code} {rule.name} has no option {name!r}"
                                              f"{suggest(name, list(known))} (its options: {have})")
            try:
                opts[name] = known[name].coerce(val, rule.code)
            except ValueError as exc:
                raise _fail(f"{where}.{key}.{name}", str(exc)) from None
        out.setdefault(rule.code, {}).update(opts)
    return out


def _per_path(value: Any, where: str) -> dict[str, list[str]]:
    return {pattern: _selectors(sels, f"{where}.{pattern}")
            for pattern, sels in _mapping(value, where).items()}


def _fields(value: Any, where: str) -> dict[str, str]:
    out = {}
    for key, name in _mapping(value, where).items():
        if not isinstance(name, str):
            raise _fail(f"{where}.{key}", f"expected a field name, got {_type_name(name)} {name!r}")
        out[key] = name
    return out


_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "format": _format,
    "classes": _classes,
    "background_index": _background,
    "num_classes": lambda v, w: _int(v, w, 1),
    "target": _target,
    "select": _selectors,
    "ignore": _selectors,
    "extend_select": _selectors,
    "severity": _severity,
    "options": _options,
    "per_path_ignores": _per_path,
    "fields": _fields,
}


def parse_severity_flags(flags: Sequence[str]) -> dict[str, str]:
    """`--severity MC103=warning` (repeatable) into a mapping; checked by _parse later."""
    out = {}
    for flag in flags:
        sel, sep, level = flag.partition("=")
        if not sep or not sel.strip() or not level.strip():
            raise ConfigError(f"--severity {flag!r}: expected CODE=LEVEL, like MC103=warning")
        out[sel.strip()] = level.strip()
    return out
