"""similar-class-names (MC108): two spellings of what is most likely one class.

Free-text labelling tools (LabelMe, CVAT label lists typed by hand, records written by
scripts) produce "Scratch" next to "scratch", "hard_hat" next to "hard hat", and "scrach"
next to "scratch". Each spelling becomes its own class id, so one real class is split in two
and each half trains against the other.

Two kinds of pair are reported:

- names equal after case-folding and dropping spaces, underscores and hyphens: never two
  real classes, reported whatever the counts (pure case/whitespace duplicates in a category
  list are duplicate-category-name's, MC006, and are left to it);
- a typo: the names differ in one word by one edit (Damerau: a transposition counts as one),
  that word is at least `min_length` long in both, the edit is not a digit (label1/label2
  are an enumeration, not a typo), and the rarer spelling has at most `max_share` of the
  other's instances (a typo is a slip on a few instances; two real classes that close in
  spelling are both labelled). Short words are left alone: cat/car, bus/bush are real pairs.

The names checked are the category list's (with their instance counts) or, when a format
that labels by name has no class map, the names seen in the annotations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskcheck.model import Batch, DatasetInfo, Location, Problem, Severity
from maskcheck.registry import DatasetRule, Option
from maskcheck.rules._util import category_problem, counts_by_id, merge_counts, plural

_SEPARATORS = re.compile(r"[\s_\-]+")
# Words are runs of letters or of digits, also split at a camelCase step, so that "hardHat",
# "hard_hat" and "label1" become ("hard", "hat") and ("label", "1").
_WORDS = re.compile(r"[^\W\d_]+|\d+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def loose_key(name: str) -> str:
    """The name with case, spaces, underscores and hyphens ignored: equal keys, one class."""
    return _SEPARATORS.sub("", name).casefold()


def _mc006_key(name: str) -> str:
    """duplicate-category-name's key: names equal under it are its finding, not ours."""
    return " ".join(name.split()).casefold()


def words(name: str) -> list[str]:
    return [w.casefold() for w in _WORDS.findall(_CAMEL.sub(" ", name))]


def one_edit(a: str, b: str) -> bool:
    """True when `a` and `b` differ by exactly one insertion, deletion, substitution or
    transposition of adjacent letters (optimal string alignment distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one insertion into a
        return a[i:] == b[i + 1:]
    if a[i + 1:] == b[i + 1:]:  # one substitution
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]


def _edited_chars(a: str, b: str) -> str:
    """The characters that take part in the edit between `a` and `b` (for the digit guard)."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    return a[i:len(a) - j] + b[i:len(b) - j]


def is_typo_pair(a: str, b: str, min_length: int = 5) -> bool:
    """Whether two names read as one name misspelt (see the module doc for the conditions)."""
    wa, wb = words(a), words(b)
    if len(wa) != len(wb) or not wa:
        return False
    differ = [(x, y) for x, y in zip(wa, wb, strict=True) if x != y]
    if len(differ) != 1:
        return False
    x, y = differ[0]
    if min(len(x), len(y)) < min_length or not one_edit(x, y):
        return False
    return not any(c.isdigit() for c in _edited_chars(x, y))


def typo_candidates(keys: list[str], min_length: int = 1) -> Iterator[tuple[int, int]]:
    """Pairs of indices whose keys may be one edit apart: they share a one-deletion variant
    (symmetric-delete index: O(n * length), not O(n^2) comparisons, for long class lists).
    Keys shorter than `min_length` cannot hold a typo and are not indexed."""
    index: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if len(key) < min_length:
            continue
        for variant in {key} | {key[:k] + key[k + 1:] for k in range(len(key))}:
            index.setdefault(variant, []).append(i)
    seen: set[tuple[int, int]] = set()
    for members in index.values():
        for p in range(len(members)):
            for q in range(p + 1, len(members)):
                pair = (min(members[p], members[q]), max(members[p], members[q]))
                if pair not in seen and members[p] != members[q]:
                    seen.add(pair)
                    yield pair


def near_name(label: str, known: list[str], min_length: int = 5) -> str | None:
    """A known name `label` is most likely a misspelling of (loose match first, then a typo)."""
    key = loose_key(label)
    loose = [n for n in known if loose_key(n) == key]
    if loose:
        return loose[0]
    typo = [n for n in known if is_typo_pair(label, n, min_length)]
    return typo[0] if len(typo) == 1 else None


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    count: int
    order: int  # category row, or first annotation index for names seen in annotations
    category_row: int | None  # None: a name seen in annotations (no class map)


def _string_labels(batch: Batch) -> tuple[dict[str, int], dict[str, int]]:
    """Counts and first annotation index of each name a class map could not map."""
    anns = batch.anns
    raw = anns.get("raw_category_id")
    if raw is None or "label" not in anns or not len(anns):
        return {}, {}
    rows = np.flatnonzero([isinstance(v, str) for v in raw])
    if not len(rows):
        return {}, {}
    names, inverse, counts = np.unique(raw[rows].astype(str), return_inverse=True, return_counts=True)
    first = np.full(len(names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse.ravel(), anns.index[rows])
    return (dict(zip(names.tolist(), counts.tolist(), strict=True)),
            dict(zip(names.tolist(), first.tolist(), strict=True)))


def merge_firsts(a: dict[Any, int], b: dict[Any, int]) -> dict[Any, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = min(v, out.get(k, v))
    return out


class SimilarClassNames(DatasetRule):
    code = "MC108"
    name = "similar-class-names"
    summary = "Two class names that differ only in case, separators or one typo: one class split in two."
    severity = Severity.WARNING
    needs_classes = True  # about classes: SA-1B's masks have none
    options = (
        Option("min_length", int, 5, "a typo is looked for only in words at least this long"),
        Option("max_share", float, 0.1,
               "a spelling is taken for a typo only with at most this share of the other's instances"),
    )

    def initial(self, info: DatasetInfo) -> tuple[dict, dict, dict]:
        return {}, {}, {}

    def accumulate(self, state: tuple, batch: Batch) -> tuple:
        anns = batch.anns
        if not len(anns):
            return state
        ids = anns.category_id[anns.category_id_ok]
        part = (counts_by_id(ids), *_string_labels(batch)) if not len(batch.info.categories) \
            else (counts_by_id(ids), {}, {})
        return self.merge(state, part)

    def merge(self, a: tuple, b: tuple) -> tuple:
        return merge_counts(a[0], b[0]), merge_counts(a[1], b[1]), merge_firsts(a[2], b[2])

    def finalize(self, state: tuple, info: DatasetInfo) -> Iterator[Problem]:
        by_id, label_counts, label_first = state
        cats = info.categories
        names: list[_Name] = []
        if len(cats):
            for r in range(len(cats)):
                name = cats.name[r]
                if isinstance(name, str) and name.strip():
                    count = by_id.get(int(cats.id[r]), 0) if cats.id_ok[r] else 0
                    names.append(_Name(name, count, int(cats.index[r]), r))
        else:  # no class map: the names as the annotations spell them, in file order (the
            # counts' order depends on how batches came; the findings must not)
            names = sorted((_Name(n, c, label_first[n], None) for n, c in label_counts.items()),
                           key=lambda n: n.order)
        yield from self._pairs(names, info)

    def _pairs(self, names: list[_Name], info: DatasetInfo) -> Iterator[Problem]:
        reported: set[int] = set()
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(loose_key(n.name), []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            keep = max(members, key=lambda i: (names[i].count, -names[i].order))
            for i in members:
                other = names[i]
                if i == keep or other.name == names[keep].name:
                    continue  # an exact repeat is duplicate-category-name's (MC006)
                if other.category_row is not None and _mc006_key(other.name) == _mc006_key(names[keep].name):
                    continue  # case/whitespace only, in a category list: MC006 reports it
                reported.add(i)
                yield self._problem(info, other, names[keep],
                                    "differ only in case, spaces, underscores or hyphens")
        loose = [loose_key(n.name) for n in names]
        share = self.opts["max_share"]
        keys = ["".join(words(n.name)) for n in names]
        for i, j in typo_candidates(keys, self.opts["min_length"]):
            a, b = names[i], names[j]
            if i in reported or j in reported or loose[i] == loose[j]:
                continue
            if not is_typo_pair(a.name, b.name, self.opts["min_length"]):
                continue
            rare, common = (a, b) if (a.count, -a.order) < (b.count, -b.order) else (b, a)
            if rare.count < 1 or rare.count > share * common.count:
                continue  # unused (unused-class's) or both well used: two real classes
            reported.add(i if rare is a else j)
            yield self._problem(info, rare, common, "are one typo apart")

    @staticmethod
    def _problem(info: DatasetInfo, rare: _Name, common: _Name, how: str) -> Problem:
        msg = (f'class names "{rare.name}" ({plural(rare.count, "instance")}) and '
               f'"{common.name}" ({plural(common.count, "instance")}) {how}: most likely one '
               "class spelt two ways. A loader gives each spelling its own id, so the class is "
               f'split in two and each half trains against the other. Relabel "{rare.name}" as '
               f'"{common.name}" (or, if both are real classes, ignore MC108 for them)')
        if rare.category_row is not None:
            return category_problem(info, rare.category_row, msg)
        loc: Location = info.locate(info.annotation_section, rare.order)
        return Problem(msg, loc, (2, rare.order))
