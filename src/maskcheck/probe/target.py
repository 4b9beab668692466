"""Importing the user's `module:attr` and calling factories: failures become one line."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import random
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml


class TargetError(Exception):
    """The target cannot be imported or called: the CLI prints this line and exits 2."""

    def __init__(self, spec: str, message: str) -> None:
        super().__init__(f"{spec}: {message}")
        self.spec = spec
        self.message = message


def describe(exc: BaseException) -> str:
    """`KeyError: 'masks'`: the exception's type and first line, for one-line messages."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load(spec: str) -> Any:
    """The object named by `package.module:attr.sub` (the current folder is importable,
    as with `python -m`, so a user's own project modules are found)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(spec, "expected module:attribute, for example mypkg.data:train_transform")
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except BaseException as exc:  # a module that fails at import time, even by SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise TargetError(spec, f"cannot import module {module_name!r}: {describe(exc)}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise TargetError(spec, f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def parse_call_args(items: Sequence[str]) -> tuple[list[Any], dict[str, Any]]:
    """`name=value` items become keyword arguments, bare items positional ones; values are
    YAML scalars or flow collections (`3`, `true`, `[1, 2]`, `data/train`)."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep and name.isidentifier():
            kwargs[name] = _value(value)
        else:
            args.append(_value(item))
    return args, kwargs


def _value(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def call(spec: str, fn: Any, args: Sequence[Any], kwargs: Mapping[str, Any], what: str) -> Any:
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise TargetError(spec, f"calling the {what} failed: {describe(exc)}") from None


def is_dataset(obj: Any) -> bool:
    """Map-style (`__getitem__` + `__len__`) or iterable, and not a class or a plain function."""
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return False
    return (hasattr(obj, "__getitem__") and hasattr(obj, "__len__")) or hasattr(obj, "__iter__")


def spec_of(obj: Any) -> str:
    """`module:qualname` for an object given directly to the Python API."""
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}:{name}"


def construct(spec: str, obj: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """The callable to probe: a class is instantiated (with --init-args), a factory given
    --init-args is called, anything else is used as it is."""
    if inspect.isclass(obj) or args or kwargs:
        obj = call(spec, obj, args, kwargs, "class" if inspect.isclass(obj) else "factory")
    if not callable(obj):
        raise TargetError(spec, f"is not callable (type {type(obj).__name__}): expected a transform")
    return obj


def _torch() -> Any:
    """torch when it is importable (already imported by the pipeline, or installed): its
    generator seeds torchvision's random transforms."""
    torch = sys.modules.get("torch")
    if torch is None and importlib.util.find_spec("torch") is not None:
        try:
            torch = importlib.import_module("torch")
        except Exception:  # a broken install must not stop the probe
            return None
    return torch if callable(getattr(torch, "manual_seed", None)) else None


class SeededGlobals:
    """Seeds the global generators random transforms draw from (random, numpy, torch when
    importable) and restores their state afterwards, so probing in a user's test suite does
    not change the randomness of the tests that follow. A pipeline object that keeps its own
    generator and can reseed it (albumentations 2's `set_random_seed`) is reseeded too."""

    def __init__(self, owner: Any = None) -> None:
        self._owner = owner

    def __enter__(self) -> SeededGlobals:
        self._random = random.getstate()
        self._numpy = np.random.get_state()
        self._torch_module = _torch()
        self._torch = (self._torch_module.random.get_rng_state()
                       if hasattr(self._torch_module, "random") else None)
        return self

    @property
    def owner_seeded(self) -> bool:
        return callable(getattr(self._owner, "set_random_seed", None))

    def seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        if self._torch_module is not None:
            self._torch_module.manual_seed(seed)
        if self.owner_seeded:
            self._owner.set_random_seed(seed)

    def __exit__(self, *exc: object) -> None:
        random.setstate(self._random)
        np.random.set_state(self._numpy)
        if self._torch is not None:
            self._torch_module.random.set_rng_state(self._torch)
