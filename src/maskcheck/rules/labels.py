"""Class labels that will not become the class the user meant."""

from __future__ import annotations

from collections.abc import Iterator
import numpy as np

from maskcheck.model import Batch, DatasetInfo, Problem, SegKind, Severity
from maskcheck.registry import DatasetRule, Rule, register
from maskcheck.rules._util import (
    ann_problems,
    category_problem,
    counts_by_id,
    image_problems,
    is_background_name,
    merge_counts,
    plural,
)


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _string_label_message(value: str, names: dict[int, str]) -> str:
    head = f'category_id "{value}" is a string, not an integer id'
    exact = [cid for cid, n in names.items() if n == value]
    if exact:
        return f'{head}: it is a class name; categories define "{value}" as id {exact[0]}'
    loose = [(cid, n) for cid, n in names.items() if _norm(n) == _norm(value)]
    if loose:
        cid, n = loose[0]
        return f'{head}: it matches category "{n}" (id {cid}) apart from case or whitespace'
    stripped = value.strip()
    if stripped.lstrip("-").isdigit():
        as_int = int(stripped)
        known = f"; categories define id {as_int} as \"{names[as_int]}\"" if as_int in names else ""
        return f"{head}: write it as the integer {as_int}{known}"
    if names:
        return f"{head}, and no category has that name: map it to one of the ids in 'categories'"
    return f"{head}, and there is no category list to map it with: add 'categories' with integer ids"


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
        if strings.any():
            names = batch.info.category_names()
            yield from ann_problems(batch, strings, lambda r: _string_label_message(raw[r], names),
                                    category=False)


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
        names = batch.info.category_names()
        known = np.fromiter(names, dtype=np.int64, count=len(names))
        unmapped = anns.category_id_ok & ~np.isin(anns.category_id, known)
        if not unmapped.any():
            return
        shown = ", ".join(map(str, sorted(names)[:12])) + (", ..." if len(names) > 12 else "")
        defined = f"defined: {shown}" if names else "no categories are defined"
        yield from ann_problems(
            batch, unmapped,
            lambda r: f"category_id {int(anns.category_id[r])} is not in 'categories' ({defined}); "
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
        if counts.get(0):
            n = plural(counts[0], "annotation")
            label = f' ("{names[0]}")' if 0 in names else ""
            msg = (f"class id 0{label} has {n}, but torchvision's Mask R-CNN reserves label 0 for "
                   "the background: this class is never learned. Number the classes from 1")
            if 0 in rows:
                yield category_problem(info, rows[0], msg)
            else:
                loc = info.locate(info.annotation_section, first[0], category_id=0)
                yield Problem(msg, loc, (2, first[0]))
        for cid, name in names.items():
            if cid != 0 and counts.get(cid) and is_background_name(name):
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
    summary = "Labels, masks and boxes of a sample differ in number (COCO: an instance with neither mask nor box)."
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

