"""Labels judged against the training framework the user named (`target`, `num_classes`, `classes`).

A file can be right for one framework and wrong for another: ids 1..3 suit torchvision with
num_classes=4 and break YOLO with nc=3. These rules only speak when the convention they
judge by is known: the configured target, or torchvision's when none is named.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import numpy as np

from maskcheck.model import At, Batch, DatasetInfo, Problem, RunContext, Severity
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules._util import ann_problems, category_problem, category_rows, is_background_name
from maskcheck.rules.labels import group_categories, not_classes
from maskcheck.targets import Target, effective


def _list_ids(ids: list[int], limit: int = 12) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    return shown + (", ..." if len(ids) > limit else "")


def _classes(n: int) -> str:
    return f"{n:,} class" + ("" if n == 1 else "es")


def _categories_place(info: DatasetInfo) -> At:
    return At.pointer(f"/{info.category_section}")


class _UsedIds(DatasetRule):
    """State: the set of category ids annotations use (at most the number of classes)."""

    def initial(self, info: DatasetInfo) -> frozenset[int]:
        return frozenset()

    def accumulate(self, state: frozenset[int], batch: Batch) -> frozenset[int]:
        anns = batch.anns
        if not len(anns):
            return state
        return state | frozenset(np.unique(anns.category_id[anns.category_id_ok]).tolist())

    def merge(self, a: frozenset[int], b: frozenset[int]) -> frozenset[int]:
        return a | b

    @staticmethod
    def class_ids(state: frozenset[int], info: DatasetInfo) -> list[int]:
        """The dataset's class ids: the category list's, else those annotations use."""
        defined = sorted(category_rows(info))
        return defined if defined else sorted(state)


class LabelOutOfRange(Rule):
    code = "MC501"
    name = "label-out-of-range"
    summary = "A category_id outside the label range the target framework's model has logits for."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns, ctx = batch.anns, batch.ctx
        target = effective(ctx.target)
        bounds = target.id_range(ctx.num_classes)
        if bounds is None or not len(anns):
            return
        lo, hi = bounds
        ids, ok = anns.category_id, anns.category_id_ok
        # The background id below the first class id is background-index-collision's finding.
        low = ok & (ids < lo)
        if target.background is not None:
            low &= ids != target.background
        high = ok & (ids > hi) if hi is not None else np.zeros(len(anns), dtype=bool)

        def message(r: int) -> str:
            cid = int(ids[r])
            if low[r]:
                return (f"category_id {cid} is below {lo}, the first class id: "
                        f"{target.convention()}. Renumber the classes from {lo}")
            return (f"category_id {cid} is out of range: {target.convention()}, and "
                    f"{target.num_classes_key}={ctx.num_classes} makes {hi} the largest valid id. "
                    "The loss indexes past the class logits (a device-side assert on GPU); raise "
                    f"{target.num_classes_key} or renumber the classes")

        yield from ann_problems(batch, low | high, message)


class NonContiguousIds(_UsedIds):
    code = "MC502"
    name = "non-contiguous-ids"
    summary = "Class ids with gaps, or not starting where the target framework needs them to."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def finalize(self, state: frozenset[int], info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        target = effective(ctx.target)
        if not target.contiguous or target.first_id is None:
            return
        ids = [i for i in self.class_ids(state, info) if i != target.background]
        first = target.first_id
        want = list(range(first, first + len(ids)))
        if not ids or ids == want:
            return
        missing = sorted(set(range(first, max(ids) + 1)) - set(ids))
        gap = f"{_list_ids(missing)} {'is' if len(missing) == 1 else 'are'} missing" if missing \
            else f"they start at {ids[0]}"
        msg = (f"{target.label} needs class ids {first}..{first + len(ids) - 1} without gaps for "
               f"{_classes(len(ids))}; the dataset uses {_list_ids(ids)}, so {gap}. "
               f"With {target.num_classes_key}={len(ids)} the top ids are out of range; with a larger "
               f"{target.num_classes_key} the model keeps logits for classes that never occur. "
               f"Renumber the classes {first}..{first + len(ids) - 1}")
        rows = category_rows(info)
        # Point at the class where numbering goes wrong: the first one after a gap, or the
        # first one when the ids start at the wrong number.
        after_gap = ids[0] if ids[0] != first else next((i for i in ids if i not in want), None)
        if after_gap is not None and after_gap in rows:
            yield category_problem(info, rows[after_gap], msg)
        else:
            yield Problem(msg, _categories_place(info))


class NumClassesMismatch(_UsedIds):
    code = "MC503"
    name = "num-classes-mismatch"
    summary = "The configured num_classes disagrees with the classes in the data, as the target counts them."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def finalize(self, state: frozenset[int], info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        if ctx.num_classes is None:
            return
        target = effective(ctx.target)
        ids = self.class_ids(state, info)
        groups = group_categories(info, state)
        if target.remaps and not target.counts_every_category:
            ids = [i for i in ids if i not in groups]  # mmdetection loads the listed classes
        renumbered = None
        if not target.remaps and target.background is not None:
            if target.background in state and \
                    not is_background_name(info.category_names().get(target.background)):
                # a real class on the background label (MC103): count it as the fix will
                renumbered = target.renumbered_num_classes([i for i in ids if i not in groups])
            ids = [i for i in ids if i != target.background]
        need = renumbered if renumbered is not None else target.expected_num_classes(ids)
        if need is None or need == ctx.num_classes:
            return
        if renumbered is not None:
            msg = _renumbered_message(target, ids, need, info, ctx.num_classes)
        else:
            msg = _num_classes_message(target, ids, need, ctx.num_classes)
            msg += _group_note(target, groups, need)
        yield Problem(msg, _categories_place(info))


def _renumbered_message(target: Target, ids: list[int], need: int, info: DatasetInfo,
                        says: int) -> str:
    names = info.category_names()
    label = f' ("{names[target.background]}")' if target.background in names else ""
    return (f"{target.label} reserves label {target.background} for background, but class id "
            f"{target.background}{label} has annotations (background-index-collision): once the "
            f"classes are renumbered from {target.first_id} (add 1 to every id, the fix MC103 "
            f"asks for), {_classes(len(ids) + 1)} need {target.num_classes_key}={need}, the "
            f"config says {says}. Make both changes")


def _group_note(target: Target, groups: dict[int, str], need: int) -> str:
    """Why a category that groups the others (Roboflow's category 0) is or is not counted."""
    if not groups:
        return ""
    gid, name = min(groups.items())
    head = (f'. Category {gid} "{name}" is a group, not a class (the supercategory of every '
            "other category, with no annotations: Roboflow's placeholder)")
    key = target.num_classes_key
    if not target.remaps:
        if gid == target.background:
            return f"{head}; {target.label} reads ids as labels, so it is the background label"
        return (f"{head}; {target.label} reads ids as labels, so it takes output {gid}, which "
                f"never sees a positive: drop it and renumber the classes from {target.first_id}, "
                f"or keep {key}={need}")
    if target.counts_every_category:
        return (f"{head}, but {target.label} registers every category record as a class: drop it "
                f"from 'categories' (then {key}={need - 1} is right) or set {key}={need} (its "
                "output is never trained)")
    return f"{head}; {target.label} loads only the classes its metainfo lists, so it is not counted"


def _num_classes_message(target: Target, ids: list[int], need: int, says: int) -> str:
    key, n = target.num_classes_key, len(ids)
    classes = _classes(n)
    if target.remaps:
        bg = " plus the background" if target.counts_background else ""
        return (f"{target.label} maps the {classes} of the category list onto indices "
                f"0..{n - 1}{bg}: {classes} need {key}={need}, the config says {says}")
    if target.background is not None:
        head = f"{target.label} reserves label {target.background} for background; "
    else:
        head = f"{target.label} reads class ids {target.first_id}..{key}-1; "
    if need == n + (1 if target.counts_background else 0):
        return f"{head}{classes} need {key}={need}, the config says {says}"
    return (f"{head}the largest class id is {max(ids)}, so {classes} need {key}={need} "
            f"(one logit per id up to it), the config says {says}")


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").split()).casefold()


def _close(name: str, candidates: list[str]) -> str | None:
    """A dataset class name that `name` is a misspelling of, if one is close."""
    loose = [c for c in candidates if _norm(c) == _norm(name)]
    if loose:
        return loose[0]
    near = difflib.get_close_matches(name, candidates, n=1, cutoff=0.7)  # dnet ~ dent
    return near[0] if near else None


class ClassListMismatch(_UsedIds):
    code = "MC504"
    name = "class-list-mismatch"
    summary = "The classes declared in the config differ from the dataset's by name, spelling, id or order."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def finalize(self, state: frozenset[int], info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        declared = ctx.classes
        if declared is None:
            return
        # a group record (Roboflow's category 0) or torchvision's unused id 0 is no class a
        # class list must name
        skip = not_classes(info, state, ctx.target)
        names = {cid: n for cid, n in info.category_names().items()
                 if not is_background_name(n) and cid not in skip}
        rows = category_rows(info)
        by_name = {n: cid for cid, n in sorted(names.items(), reverse=True)}
        if isinstance(declared, dict):
            wanted = {n: i for n, i in declared.items() if not is_background_name(n)}
        else:
            wanted = {n: None for n in declared if not is_background_name(n)}
        matched: set[str] = set()
        for name, cid in wanted.items():
            if name in by_name:
                matched.add(name)
                if cid is not None and by_name[name] != cid:
                    yield category_problem(
                        info, rows[by_name[name]],
                        f'the config maps class "{name}" to id {cid}, the dataset gives it id '
                        f"{by_name[name]}: predictions for this class are scored as another one")
                continue
            close = _close(name, [n for n in by_name if n not in wanted])
            if close is not None:
                matched.add(close)
                yield category_problem(
                    info, rows[by_name[close]],
                    f'the config names class "{name}" where the dataset says "{close}" '
                    f"(id {by_name[close]}): loaders that match classes by name (mmdetection's "
                    "metainfo) drop every annotation of this class. Use one spelling")
            else:
                yield Problem(
                    f'the config declares class "{name}" but the dataset has no class of that '
                    f"name (its classes: {', '.join(sorted(by_name)[:12])})",
                    _categories_place(info))
        for name, cid in sorted(by_name.items(), key=lambda kv: kv[1]):
            if name not in matched and name not in wanted:
                yield category_problem(
                    info, rows[cid],
                    f'the dataset\'s class "{name}" (id {cid}) is missing from the config\'s '
                    "classes: a loader built from that list ignores its annotations")
        if isinstance(declared, list):
            mine = [n for n in wanted if n in by_name]
            theirs = [n for _, n in sorted(names.items()) if n in wanted]
            if mine != theirs and sorted(mine) == sorted(theirs):
                yield Problem(
                    f"the config lists the classes in the order {', '.join(mine[:12])}; the "
                    f"dataset's ids order them {', '.join(theirs[:12])}: label k means one class "
                    "in training and another in evaluation or in the label map. Use one order",
                    _categories_place(info))
