"""Class labels that will not become the class the user meant."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import replace

import numpy as np

from maskcheck.columns import MISSING
from maskcheck.ids import is_integral_float
from maskcheck.model import At, Batch, DatasetInfo, Fix, Problem, RunContext, SegKind, Severity
from maskcheck.registry import DatasetRule, Rule
from maskcheck.rules import named_labels
from maskcheck.rules._util import (
    ann_problems,
    category_problem,
    counts_by_id,
    fmt_value,
    image_problems,
    is_background_name,
    matching_category_ids,
    merge_counts,
    misspelled_any,
    plural,
    unusable_points,
)
from maskcheck.targets import Target
from maskcheck.targets import effective as effective_target


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def group_categories(info: DatasetInfo, used: Collection[int]) -> dict[int, str]:
    """Categories that name a group of the others, not a class: id -> name.

    Roboflow's COCO export starts every class list with one such record (`{"id": 0, "name":
    "objects", "supercategory": "none"}`, the `supercategory` of every real class) that no
    annotation uses. It is recognized when every other category's `supercategory` is its
    name and no annotation uses it; a reader that keeps no `supercategory` finds none.
    """
    cats = info.categories
    sup = cats.get("supercategory")
    if sup is None or len(cats) < 2:
        return {}
    rows = [r for r in range(len(cats)) if cats.is_object[r] and cats.id_ok[r]]
    if len(rows) < 2:
        return {}
    # how many categories name each supercategory: a group is named by all the others
    named = Counter(sup[r] for r in rows if isinstance(sup[r], str))
    out: dict[int, str] = {}
    for r in rows:
        name, cid = cats.name[r], int(cats.id[r])
        if not isinstance(name, str) or cid in used:
            continue
        if named[name] - (sup[r] == name) == len(rows) - 1:
            out[cid] = name
    return out


def background_slot(info: DatasetInfo, used: Collection[int], target: Target | None) -> int | None:
    """The id of an unused category at the background label of a direct-id target.

    torchvision reads category ids as label indices and label 0 is "no object": a category
    record at id 0 that no annotation uses only names that background slot (Roboflow's
    placeholder is one), so it is not a defined class the model lacks data for.
    """
    target = effective_target(target)
    bg = target.background
    if target.remaps or bg is None or bg in used or bg not in info.category_names():
        return None
    return bg


def not_classes(info: DatasetInfo, used: Collection[int], target: Target | None) -> set[int]:
    """Category ids that are no class of their own when counting the defined classes
    (single-class-collapse, class-list-mismatch): groups of the other categories and the
    background slot of a direct-id target."""
    out = set(group_categories(info, used))
    slot = background_slot(info, used, target)
    if slot is not None:
        out.add(slot)
    return out


def _string_label_message(value: str, names: dict[int, str]) -> tuple[str, int | None]:
    """The message, and the id the string stands for when one can be told."""
    head = f'category_id "{value}" is a string, not an integer id'
    exact = [cid for cid, n in names.items() if n == value]
    if exact:
        return f'{head}: it is a class name; categories define "{value}" as id {exact[0]}', exact[0]
    loose = [(cid, n) for cid, n in names.items() if _norm(n) == _norm(value)]
    if loose:
        cid, n = loose[0]
        return f'{head}: it matches category "{n}" (id {cid}) apart from case or whitespace', cid
    stripped = value.strip()
    if stripped.lstrip("-").isdigit():
        as_int = int(stripped)
        known = f"; categories define id {as_int} as \"{names[as_int]}\"" if as_int in names else ""
        return f"{head}: write it as the integer {as_int}{known}", as_int
    if names:
        return (f"{head}, and no category has that name: map it to one of the ids in "
                "'categories'"), None
    return (f"{head}, and there is no category list to map it with: add 'categories' with "
            "integer ids"), None


def _label_fix(value: str, names: dict[int, str], cid: int | None) -> Fix | None:
    """The id for a string label: safe when exactly one category has that very name or the
    string is the id written in quotes; unsafe when the name matches apart from case or
    whitespace (it may be another class); none when nothing or several match."""
    if cid is None:
        return None
    exact = [c for c, n in names.items() if n == value]
    loose = [c for c, n in names.items() if _norm(n) == _norm(value)]
    what = f'category_id "{value}" -> {cid}'
    if len(exact) == 1 or (not exact and not loose and value.strip().lstrip("-").isdigit()):
        return Fix(cid, what=what, at="/category_id")
    if not exact and len(loose) == 1:
        return Fix(cid, safe=False, what=what, at="/category_id")
    return None


class StringLabel(DatasetRule):
    """Per annotation where ids are expected (COCO); once per dataset for a format that labels
    by name and was given no class map (LabelMe, records): that is one setup problem, not
    one per shape. State: the names seen then, with their counts."""

    code = "MC101"
    name = "string-label"
    summary = "A class label stored as a string where an integer id is expected."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none
    fix_safety = "safe"  # a name of exactly one category; a near match is unsafe

    def initial(self, info: DatasetInfo) -> dict[str, int]:
        return {}

    def accumulate(self, state: dict[str, int], batch: Batch) -> dict[str, int]:
        return merge_counts(state, named_labels.unmapped_names(batch))

    def merge(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return merge_counts(a, b)

    def finalize(self, state: dict[str, int], info: DatasetInfo) -> Iterator[Problem]:
        if state:
            yield named_labels.no_class_map(state, info)

    def check(self, batch: Batch) -> Iterator[Problem]:
        raw = batch.anns.get("raw_category_id")
        if raw is None or "label" in batch.anns:  # named labels: see accumulate
            return
        strings = np.array([isinstance(v, str) for v in raw], dtype=bool)
        if not strings.any():
            return
        names = batch.info.category_names()
        for r in np.flatnonzero(strings).tolist():
            message, cid = _string_label_message(raw[r], names)
            # the location names the id the string stands for, not the string itself
            loc = replace(batch.ann_location(r, category=False), category_id=cid)
            yield Problem(message, loc, batch.ann_order(r), fix=_label_fix(raw[r], names, cid))


def _defined_ids(info: DatasetInfo, known: np.ndarray) -> str:
    """What the category list defines, for MC102's message: its integer ids, and the ids that
    match no integer category_id ("1", 1.5), which invalid-id-type (MC002) reports."""
    cats = info.categories
    raw = cats.get("raw_id")
    others = [] if raw is None else list(dict.fromkeys(
        fmt_value(v) for v in raw[~cats.id_ok].tolist()
        if v is not MISSING and not is_integral_float(v)))
    listed = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    if len(known):
        shown = ", ".join(map(str, known[:12].tolist())) + (", ..." if len(known) > 12 else "")
        if not others:
            return f"defined: {shown}"
        return f"defined: {shown}, and {listed}, which no integer category_id matches"
    if others:
        return f"no category id is an integer: {listed}"
    return "no category has an id" if len(cats) else "no categories are defined"


class UnmappedClass(Rule):
    code = "MC102"
    name = "unmapped-class"
    summary = "A category_id that is not in the category list."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns):
            return
        if "label" in anns:  # a name the class map lacks (LabelMe, records, ...)
            yield from named_labels.unknown_names(batch)
        # every integer id in the list counts, even one whose record lacks a name (MC001's
        # case) or is written 1.0 (MC002's: pycocotools' dict matches it to 1)
        known = matching_category_ids(batch.info)
        unmapped = anns.category_id_ok & ~np.isin(anns.category_id, known)
        if not unmapped.any():
            return
        defined = _defined_ids(batch.info, known)
        yield from ann_problems(
            batch, unmapped,
            lambda r: named_labels.unmapped_id_message(batch, int(anns.category_id[r]), known) or
                      f"category_id {int(anns.category_id[r])} is not in 'categories' ({defined}); "
                      "a loader that maps ids through the category list turns it into background "
                      "or crashes")


class _CountsPerClass(DatasetRule):
    """State: {category_id: count} of non-crowd annotations, plus the first annotation index."""

    def initial(self, info: DatasetInfo) -> tuple[dict[int, int], dict[int, int]]:
        return {}, {}

    def accumulate(self, state: tuple, batch: Batch) -> tuple:
        anns = batch.anns
        if not len(anns):
            return state
        use = anns.category_id_ok & (anns.iscrowd != 1)
        ids, index = anns.category_id[use], anns.index[use]
        first: dict[int, int] = {}
        if len(ids):
            order = np.lexsort((index, ids))
            keep = np.r_[True, ids[order][1:] != ids[order][:-1]]
            first = dict(zip(ids[order][keep].tolist(), index[order][keep].tolist(), strict=True))
        return self.merge(state, (counts_by_id(ids), first))

    def merge(self, a: tuple, b: tuple) -> tuple:
        first = dict(a[1])
        for k, v in b[1].items():
            first[k] = min(v, first.get(k, v))
        return merge_counts(a[0], b[0]), first


class BackgroundIndexCollision(_CountsPerClass):
    code = "MC103"
    name = "background-index-collision"
    summary = "A real class at id 0, or a class named like background, that has annotations."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none
    fix_safety = "unsafe"  # renumbers every class of every split: code that names ids must follow

    def finalize(self, state: tuple, info: DatasetInfo, ctx: RunContext) -> Iterator[Problem]:
        counts, first = state
        cats = info.categories
        names = info.category_names()
        rows = {int(cats.id[r]): r for r in np.flatnonzero(cats.id_ok).tolist()[::-1]}
        # The target decides which id is the background; a loader that remaps the category
        # list (detectron2, mmdet) has none in the file's ids, so id 0 is an ordinary class.
        target = effective_target(ctx.target)
        bg = None if target.remaps else target.background
        if bg is not None and counts.get(bg):
            n = plural(counts[bg], "annotation")
            label = f' ("{names[bg]}")' if bg in names else ""
            msg = (f"class id {bg}{label} has {n}, but {target.label} reserves label {bg} for "
                   f"the background: this class is never learned. Number the classes from "
                   f"{target.first_id if bg == 0 else 0}, skipping {bg}")
            groups = group_categories(info, counts)
            ids = [i for i in (sorted(names) or sorted(counts)) if i not in groups]
            need = target.renumbered_num_classes(ids)
            fix = None
            if need is not None and not is_background_name(names.get(bg)):
                # the second change the fix makes: say it in the same run
                n = len(ids)
                size = (f"{n} class{'' if n == 1 else 'es'} plus the background"
                        if ids == list(range(n)) else "one more than the largest id after the shift")
                msg += (f": add 1 to every id and build the model with "
                        f"{target.num_classes_key}={need} ({size})")
                if bg == 0 and info.format == "coco":  # COCO files are what it renumbers
                    fix = Fix(safe=False, dataset="renumber",
                              what=f"add 1 to every class id of every split given; then "
                                   f"{target.num_classes_key}={need}")
            if bg in rows:
                yield Problem(msg, At.category_row(rows[bg]), fix=fix)
            else:
                loc = info.locate(info.annotation_section, first[bg], category_id=bg)
                yield Problem(msg, loc, (2, first[bg]), fix=fix)
        for cid, name in names.items():
            if cid != bg and counts.get(cid) and is_background_name(name):
                yield category_problem(
                    info, rows[cid],
                    f'category "{name}" (id {cid}) is named like the background but has '
                    f"{plural(counts[cid], 'annotation')}: the model learns \"background\" as an "
                    "object class that competes with the real, implicit background. Drop these "
                    "annotations or rename the class")


class CountMismatch(Rule):
    code = "MC104"
    name = "count-mismatch"
    summary = ("Labels, masks and boxes of a sample differ in number "
               "(COCO: an instance with neither mask nor box).")
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns, imgs = batch.anns, batch.images
        if len(anns):
            no_seg = np.isin(anns.seg_kind, (SegKind.MISSING, SegKind.EMPTY))
            # a misspelled "segmentaion" or "bboxes" is misspelled-key's (MC010) to report, and
            # a LabelMe shape without usable points labelme-point-count's (MC411, or MC410's)
            bare = anns.is_object & no_seg & ~anns.has_bbox & ~misspelled_any(
                anns, ("segmentation", "bbox")) & ~unusable_points(anns)
            yield from ann_problems(
                batch, bare,
                lambda r: "annotation has neither a segmentation nor a bbox: it adds a label with "
                          "no mask and no box, so the label, mask and box lists fall out of step")
        if "n_labels" in imgs:  # formats that store parallel lists per image
            n_l, n_m, n_b = imgs.n_labels, imgs.n_masks, imgs.n_boxes
            present = [(n_l, "labels"), (n_m, "masks"), (n_b, "boxes")]
            differ = np.zeros(len(imgs), dtype=bool)
            for a, _ in present:
                for b, _ in present:
                    differ |= (a >= 0) & (b >= 0) & (a != b)
            yield from image_problems(
                batch, differ,
                lambda r: "this sample has " + ", ".join(
                    f"{int(c[r])} {w}" for c, w in present if c[r] >= 0)
                + ": after the shorter list ends, labels pair with the wrong masks")

