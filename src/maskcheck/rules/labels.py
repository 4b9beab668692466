"""Class labels that will not become the class the user meant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from maskcheck.model import Batch, DatasetInfo, Problem, SegKind, Severity
from maskcheck.registry import DatasetRule, Rule, register
from maskcheck.rules import named_labels
from maskcheck.rules._util import (
    ann_problems,
    category_problem,
    counts_by_id,
    image_problems,
    is_background_name,
    merge_counts,
    plural,
)
from maskcheck.targets import effective as effective_target


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


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


@register
class StringLabel(Rule):
    code = "MC101"
    name = "string-label"
    summary = "A class label stored as a string where an integer id is expected."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        raw = batch.anns.get("raw_category_id")
        if raw is None:
            return
        strings = np.array([isinstance(v, str) for v in raw], dtype=bool)
        if not strings.any():
            return
        if "label" in batch.anns:  # a format that labels by name (LabelMe, records, ...)
            yield from named_labels.string_labels(batch)
            return
        names = batch.info.category_names()
        for r in np.flatnonzero(strings).tolist():
            message, cid = _string_label_message(raw[r], names)
            # the location names the id the string stands for, not the string itself
            loc = replace(batch.ann_location(r, category=False), category_id=cid)
            yield Problem(message, loc, batch.ann_order(r))


@register
class UnmappedClass(Rule):
    code = "MC102"
    name = "unmapped-class"
    summary = "A category_id that is not in the category list."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns):
            return
        if "label" in anns:  # a name the class map lacks (LabelMe, records, ...)
            yield from named_labels.unknown_names(batch)
        cats = batch.info.categories
        # every integer id in the list counts, even one whose record lacks a name (MC001's case)
        known = np.unique(cats.id[cats.id_ok]) if len(cats) else np.zeros(0, dtype=np.int64)
        unmapped = anns.category_id_ok & ~np.isin(anns.category_id, known)
        if not unmapped.any():
            return
        shown = ", ".join(map(str, known[:12].tolist())) + (", ..." if len(known) > 12 else "")
        defined = f"defined: {shown}" if len(known) else "no categories are defined"
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


@register
class BackgroundIndexCollision(_CountsPerClass):
    code = "MC103"
    name = "background-index-collision"
    summary = "A real class at id 0, or a class named like background, that has annotations."
    severity = Severity.ERROR

    def finalize(self, state: tuple, info: DatasetInfo) -> Iterator[Problem]:
        counts, first = state
        cats = info.categories
        names = info.category_names()
        rows = {int(cats.id[r]): r for r in np.flatnonzero(cats.id_ok).tolist()[::-1]}
        # The target decides which id is the background; a loader that remaps the category
        # list (detectron2, mmdet) has none in the file's ids, so id 0 is an ordinary class.
        target = effective_target(info.target)
        bg = None if target.remaps else target.background
        if bg is not None and counts.get(bg):
            n = plural(counts[bg], "annotation")
            label = f' ("{names[bg]}")' if bg in names else ""
            msg = (f"class id {bg}{label} has {n}, but {target.label} reserves label {bg} for "
                   f"the background: this class is never learned. Number the classes from "
                   f"{target.first_id if bg == 0 else 0}, skipping {bg}")
            if bg in rows:
                yield category_problem(info, rows[bg], msg)
            else:
                loc = info.locate(info.annotation_section, first[bg], category_id=bg)
                yield Problem(msg, loc, (2, first[bg]))
        for cid, name in names.items():
            if cid != bg and counts.get(cid) and is_background_name(name):
                yield category_problem(
                    info, rows[cid],
                    f'category "{name}" (id {cid}) is named like the background but has '
                    f"{plural(counts[cid], 'annotation')}: the model learns \"background\" as an "
                    "object class that competes with the real, implicit background. Drop these "
                    "annotations or rename the class")


@register
class CountMismatch(Rule):
    code = "MC104"
    name = "count-mismatch"
    summary = ("Labels, masks and boxes of a sample differ in number "
               "(COCO: an instance with neither mask nor box).")
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns, imgs = batch.anns, batch.images
        if len(anns):
            no_seg = np.isin(anns.seg_kind, (SegKind.MISSING, SegKind.EMPTY))
            bare = anns.is_object & no_seg & ~anns.has_bbox
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

