"""Rules and their registry.

A rule has a stable code (its identity), a kebab-case name that names the defect, a
one-line summary, a default severity and typed options with defaults. Severity is
configuration, not identity: it is never encoded in the code.

One contract, two kinds. A rule may define `check` (the map step: look at one batch, yield
problems) and/or the dataset hooks `initial`/`accumulate`/`merge`/`finalize` (the reduce
step: a small mergeable state; `merge` must be associative and findings must not depend on
how images were split into batches or in which order they came).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from maskcheck.model import Batch, DatasetInfo, Problem, Severity


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    type: type
    default: Any
    help: str

    def coerce(self, value: Any, rule: str) -> Any:
        ok = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise ValueError(
                f"option {self.name!r} of rule {rule} must be {self.type.__name__}, "
                f"got {type(value).__name__} {value!r}"
            )
        return value


class Rule:
    """Base class. Subclasses set the class attributes and override what they need."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity]
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, **opts: Any) -> None:
        known = {o.name: o for o in self.options}
        for key in opts:
            if key not in known:
                raise ValueError(f"rule {self.name} has no option {key!r}")
        self.opts = {o.name: o.coerce(opts.get(o.name, o.default), self.name) for o in self.options}

    # --- the map step -------------------------------------------------------------------
    def check(self, batch: Batch) -> Iterable[Problem]:
        return ()

    # --- the reduce step ----------------------------------------------------------------
    is_dataset_rule: ClassVar[bool] = False

    def initial(self, info: DatasetInfo) -> Any:
        return None

    def accumulate(self, state: Any, batch: Batch) -> Any:
        return state

    def merge(self, a: Any, b: Any) -> Any:
        return a

    def finalize(self, state: Any, info: DatasetInfo) -> Iterable[Problem]:
        return ()


class DatasetRule(Rule):
    is_dataset_rule = True


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: adds a rule, refusing a code or name that is already taken."""
    for other in _REGISTRY.values():
        if other.code == cls.code or other.name == cls.name:
            if other is cls:
                return cls
            raise ValueError(f"rule {cls.code} {cls.name} clashes with {other.code} {other.name}")
    _REGISTRY[cls.code] = cls
    return cls


def all_rules() -> list[type[Rule]]:
    import maskcheck.rules  # noqa: F401  (registers the built-in rules)

    return sorted(_REGISTRY.values(), key=lambda r: r.code)


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (`MC101`, any case) or name (`string-label`)."""
    key = key.strip()
    for rule in all_rules():
        if rule.code.lower() == key.lower() or rule.name == key.lower():
            return rule
    return None
