"""Rules: their kinds and the set of rules a run can choose from.

A rule has a stable code (its identity), a kebab-case name that names the defect, a
one-line summary, a default severity and typed options with defaults. Severity is
configuration, not identity: it is never encoded in the code.

Three kinds, told apart by type (the engine dispatches with isinstance):

- `BatchRule` (also spelled `Rule`): `check(batch)` is the map step, problems from one batch.
- `DatasetRule`: a small, picklable state folded over the batches, `initial` / `accumulate`
  / `merge` / `finalize`. `accumulate` adds a batch to the state it is given (the engine,
  a process pool or a cluster may fold several batches into one state), `merge` is
  associative over states of consecutive batch runs, and findings do not depend on how the
  images were batched or how states were merged. A dataset rule may also `check` batches.
- `SplitRule`: a dataset rule that reports across the datasets linted together: `summarize`
  condenses its state once a dataset is done, `cross_check` compares the summaries.

Built-in rules are the explicit tuple `maskcheck.rules.BUILTIN`; plugins bring classes
through the `maskcheck.rules` entry point (maskcheck.plugins); `maskcheck.catalog` has both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from maskcheck.model import Batch, DatasetInfo, Problem, RunContext, Severity


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


class Options(Mapping[str, Any]):
    """A rule's option values: checked and coerced once when the rule is made, read-only
    after (a rule shared by a pool's workers must not change under them), picklable."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a rule's options are read-only")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Options, (self._values,))

    def __repr__(self) -> str:
        return f"Options({self._values!r})"


class Rule:
    """A batch rule (see the module docstring); the base of every kind."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity]
    options: ClassVar[tuple[Option, ...]] = ()
    # The input formats the rule is about (LabelMe's shapes, VOC's files); None: every
    # format. The engine runs a rule only on datasets of its formats.
    formats: ClassVar[frozenset[str] | None] = None
    # Dataset facts the rule reads through `batch.ctx.dataset_facts` (see RunContext).
    dataset_facts: ClassVar[tuple[Any, ...]] = ()
    # About classes (their ids, names, counts, the class list): a class-agnostic dataset
    # (SA-1B's masks have no class) is not judged by it.
    needs_classes: ClassVar[bool] = False
    # What `maskcheck fix` can do about its findings: "none", "safe" (applied by default:
    # the repaired value is the only one the data supports) or "unsafe" (--unsafe-fixes:
    # it may pick the wrong side). The rule page's "Fix safety" section says why.
    fix_safety: ClassVar[str] = "none"

    def __init__(self, **opts: Any) -> None:
        known = {o.name: o for o in self.options}
        for key in opts:
            if key not in known:
                raise ValueError(f"rule {self.name} has no option {key!r}")
        self.opts = Options({o.name: o.coerce(opts.get(o.name, o.default), self.name) for o in self.options})

    # --- the map step -------------------------------------------------------------------
    def check(self, batch: Batch) -> Iterable[Problem]:
        return ()


BatchRule = Rule


class DatasetRule(Rule):
    """A rule with a state folded over every batch of a dataset (see the module docstring).

    `finalize` also receives the run's setup (`ctx`: target, num_classes, classes, image
    folder); batches carry it as `batch.ctx`. The defaults suit a rule that needs no state
    (it reports from `info` in `finalize`).
    """

    def initial(self, info: DatasetInfo) -> Any:
        return None

    def accumulate(self, state: Any, batch: Batch) -> Any:
        return state

    def merge(self, a: Any, b: Any) -> Any:
        return a

    def finalize(self, state: Any, info: DatasetInfo, ctx: RunContext) -> Iterable[Problem]:
        return ()


class SplitRule(DatasetRule):
    """A dataset rule that reports across splits instead of within one.

    `summarize(state, info)` condenses the finished state (keep it small: the engine holds one
    summary per split until every split is linted); `cross_check(summaries)` yields problems
    over the summaries of all the datasets linted together, in the order they were read.
    """

    def summarize(self, state: Any, info: DatasetInfo, ctx: RunContext) -> Any:
        raise NotImplementedError

    def cross_check(self, summaries: list[Any]) -> Iterable[Problem]:
        raise NotImplementedError


def register(cls: type[Rule]) -> type[Rule]:
    """The decorator plugins written for maskcheck 0.1 put on their rules. It registers
    nothing: the entry point or config names the module, and its rule classes are read
    from it (maskcheck.plugins)."""
    return cls
