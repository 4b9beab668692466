"""How instances spread over classes: imbalance, collapse to one class, unused classes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maskcheck.model import At, DatasetInfo, Fix, Problem, RunContext, Severity
from maskcheck.registry import Option
from maskcheck.rules._util import category_problem, category_rows, is_background_name, plural
from maskcheck.rules.labels import _CountsPerClass, background_slot, group_categories, not_classes
from maskcheck.targets import effective as effective_target


def _label(names: dict[int, str], cid: int) -> str:
    return f'"{names[cid]}" (id {cid})' if cid in names else f"id {cid}"


class ClassImbalance(_CountsPerClass):
    code = "MC105"
    name = "class-imbalance"
    summary = "The most and least frequent classes differ beyond a ratio, or a class has very few instances."
    severity = Severity.INFO
    needs_classes = True  # about classes: SA-1B's masks have none
    options = (
        Option("max_ratio", float, 50.0, "largest accepted ratio of most to least frequent used class"),
        Option("min_instances", int, 10, "a used class with fewer non-crowd instances is reported"),
    )

    def finalize(self, state: tuple, info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        counts, _ = state
        names = info.category_names()
        rows = category_rows(info)
        used = {cid: n for cid, n in counts.items() if cid in names}
        if not used:
            return
        top = max(used, key=lambda c: (used[c], -c))
        low = min(used, key=lambda c: (used[c], c))
        ratio = used[top] / used[low]
        if len(used) > 1 and ratio > self.opts["max_ratio"]:
            yield category_problem(
                info, rows[low],
                f"class {_label(names, low)} has {plural(used[low], 'instance')} against "
                f"{used[top]:,} of {_label(names, top)}: ratio {ratio:,.0f} exceeds "
                f"{self.opts['max_ratio']:g}. The loss is dominated by the frequent class; use "
                "class-balanced sampling or collect more of the rare one")
        for cid in sorted(used):
            if used[cid] < self.opts["min_instances"]:
                yield category_problem(
                    info, rows[cid],
                    f"class {_label(names, cid)} has only {plural(used[cid], 'instance')} "
                    f"(fewer than {self.opts['min_instances']}): too few to learn it, and its "
                    "validation score will be noise")


class SingleClassCollapse(_CountsPerClass):
    code = "MC106"
    name = "single-class-collapse"
    summary = "Only one class is used although several are defined."
    severity = Severity.WARNING
    needs_classes = True  # about classes: SA-1B's masks have none

    def finalize(self, state: tuple, info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        counts, _ = state
        names = info.category_names()
        skip = not_classes(info, counts, ctx.target)  # a group record, the background slot
        # A label that only points or polylines use (CVAT) is labelled data, not a class
        # the export lost: it is not counted as a defined class either.
        other = info.other_label_uses
        real = {cid for cid, name in names.items() if not is_background_name(name)
                and cid not in skip and not (name in other and not counts.get(cid))}
        used = [cid for cid in counts if cid in names]
        if len(real) > 1 and len(used) == 1:
            cid = used[0]
            yield category_problem(
                info, category_rows(info)[cid],
                f"every annotation is class {_label(names, cid)} although categories define "
                f"{len(real)} classes: the model can only ever predict this one. Check the "
                "label mapping of the export")


class UnusedClass(_CountsPerClass):
    code = "MC107"
    name = "unused-class"
    summary = "A category that no annotation uses."
    severity = Severity.INFO
    needs_classes = True  # about classes: SA-1B's masks have none
    fix_safety = "unsafe"  # deleted where no split uses it: the model's outputs change

    def finalize(self, state: tuple, info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        counts, _ = state
        cats = info.categories
        names = info.category_names()  # once: per unused class it made this quadratic
        seen: set[int] = set(group_categories(info, counts))  # a group is no class (MC106)
        slot = background_slot(info, counts, ctx.target)
        for r in np.flatnonzero(cats.id_ok).tolist():
            cid = int(cats.id[r])
            if cid in seen:
                continue
            seen.add(cid)
            # a class labelled only by points or polylines (CVAT) is used, though not as a mask
            if counts.get(cid) or is_background_name(cats.name[r]) or \
                    (isinstance(cats.name[r], str) and cats.name[r] in info.other_label_uses):
                continue
            if cid == slot:  # torchvision: id 0 is the background output, trained anyway
                target = effective_target(ctx.target)
                yield category_problem(
                    info, r,
                    f"class {_label(names, cid)} has no (non-crowd) annotation, and "
                    f"{target.label} reads id {cid} as the background, so it could never be "
                    f"learned: remove it, or renumber the classes from {target.first_id} "
                    "before adding data for it")
                continue
            yield Problem(
                f"class {_label(names, cid)} has no (non-crowd) annotation: the "
                "model gets an output it never sees a positive for. Remove it, or add data",
                At.category_row(r),
                # COCO's category list is what the fix edits; other formats' class lists are
                # a labelmap, a task's labels or --classes, which it leaves to the user
                fix=Fix(cid, safe=False, dataset="drop-unused-categories",
                        what=f"delete category {cid} from every split given that none uses")
                if info.format == "coco" else None)
