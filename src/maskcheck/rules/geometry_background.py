"""Background dominance: how much of the pixels, and of the images, carry any instance.

Dataset rules with a small mergeable state: pixel sums per class and image counts. A
class is judged against the pixels it competes with, those of the images it appears in,
so a class of small objects is not blamed for the size of the other classes' images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from maskcheck import geometry
from maskcheck.model import At, Batch, DatasetInfo, Problem, Severity
from maskcheck.registry import DatasetRule, Option


@dataclass
class PixelState:
    image_pixels: float = 0.0  # width x height summed over images of known size
    foreground: float = 0.0  # mask areas of non-crowd instances
    images: int = 0
    without: int = 0  # images with no non-crowd instance
    # class id -> [its mask pixels, pixels of the images it appears in, instances]
    classes: dict[int, list[float]] = field(default_factory=dict)


def _accumulate(state: PixelState, batch: Batch) -> PixelState:
    imgs, anns = batch.images, batch.anns
    n = len(imgs)
    if not n:
        return state
    w, h = imgs.width, imgs.height
    sized = np.isfinite(w) & np.isfinite(h) & (w > 0) & (h > 0) & imgs.is_object
    pixels = np.where(sized, w * h, 0.0)
    state.images += int(imgs.is_object.sum())
    state.image_pixels += float(pixels.sum())
    rows = anns.image_row if len(anns) else np.zeros(0, dtype=np.int64)
    crowd = (anns.iscrowd == 1) if "iscrowd" in anns and len(anns) else np.zeros(len(anns), dtype=bool)
    inst = (rows >= 0) & ~crowd
    count = np.bincount(rows[inst], minlength=n) if inst.any() else np.zeros(n, dtype=np.int64)
    state.without += int(((count == 0) & imgs.is_object).sum())
    if "category_id_ok" in anns and len(anns):  # a class share needs a class id
        inst &= anns.category_id_ok
    if not inst.any():
        return state
    mask = geometry.of(batch).mask
    measured = inst & mask.measured & sized[np.maximum(rows, 0)]
    area = np.where(measured, mask.area, 0.0)
    state.foreground += float(area.sum())
    cid = anns.category_id
    sel = np.flatnonzero(measured)
    cls, inverse = np.unique(cid[sel], return_inverse=True)
    fg = np.bincount(inverse, weights=area[sel], minlength=len(cls))
    k = np.bincount(inverse, minlength=len(cls))
    pairs = np.unique(inverse.astype(np.int64) * n + rows[sel])  # (class, image) once each
    competing = np.bincount(pairs // n, weights=pixels[pairs % n], minlength=len(cls))
    for c, f, p, m in zip(cls.tolist(), fg.tolist(), competing.tolist(), k.tolist(), strict=True):
        entry = state.classes.setdefault(c, [0.0, 0.0, 0])
        entry[0] += f
        entry[1] += p
        entry[2] += m
    return state


def _merge(a: PixelState, b: PixelState) -> PixelState:
    out = PixelState(a.image_pixels + b.image_pixels, a.foreground + b.foreground,
                     a.images + b.images, a.without + b.without,
                     {c: list(v) for c, v in a.classes.items()})
    for c, v in b.classes.items():
        entry = out.classes.setdefault(c, [0.0, 0.0, 0])
        for i in range(3):
            entry[i] += v[i]
    return out


def _class_place(info: DatasetInfo, cid: int) -> At:
    """The category record of class `cid`, else the document."""
    cats = info.categories
    rows = np.flatnonzero(cats.id_ok & (cats.id == cid)) if len(cats) else []
    return At.category_row(int(rows[0])) if len(rows) else At.pointer("")


class BackgroundDominance(DatasetRule):
    code = "MC216"
    name = "background-dominance"
    summary = "A class covering a vanishing share of its images' pixels, or most images without instances."
    severity = Severity.WARNING
    options = (
        Option("min_class_share", float, 0.0001,
               "warn when a class covers less than this share of the pixels of the images it is in"),
        Option("max_empty_share", float, 0.5,
               "warn when more than this share of the images have no (non-crowd) instance"),
    )

    def initial(self, info: DatasetInfo) -> PixelState:
        return PixelState()

    def accumulate(self, state: PixelState, batch: Batch) -> PixelState:
        return _accumulate(state, batch)

    def merge(self, a: PixelState, b: PixelState) -> PixelState:
        return _merge(a, b)

    def finalize(self, state: PixelState, info: DatasetInfo) -> Iterator[Problem]:
        if not state.images:
            return
        overall = state.foreground / state.image_pixels if state.image_pixels else 0.0
        names = info.category_names()
        limit = self.opts["min_class_share"]
        for cid in sorted(state.classes):
            fg, competing, count = state.classes[cid]
            if competing <= 0 or fg <= 0:
                continue
            share = fg / competing
            if share < limit:
                yield Problem(
                    f"class {cid} ({names.get(cid, '?')!r}) covers {share:.4%} of the pixels of the "
                    f"images holding its {_n(count, 'instance')} (below {limit:.4%}; all classes "
                    f"together: {overall:.1%}): per-pixel losses are swamped by background and the model "
                    "learns to predict background there. Weight the class up, crop around it, or "
                    "sample its images more often", _class_place(info, cid))
        share_empty = state.without / state.images
        if share_empty > self.opts["max_empty_share"]:
            yield Problem(
                f"{state.without:,} of {state.images:,} images ({share_empty:.0%}) have no instance "
                f"(above {self.opts['max_empty_share']:.0%}; foreground is {overall:.1%} of all "
                "pixels): background swamps the loss and the model drifts towards predicting "
                "nothing. Subsample the empty images", At.pointer(""))


def _n(count: float, word: str) -> str:
    return f"{int(count):,} {word}" + ("" if int(count) == 1 else "s")


class NoNegativeImages(DatasetRule):
    code = "MC217"
    name = "no-negative-images"
    summary = "Every image holds an instance: the model never sees a pure-background image."
    severity = Severity.INFO
    # a detector's concern: SAM's class-agnostic masks cover every image by design
    needs_classes = True

    def initial(self, info: DatasetInfo) -> PixelState:
        return PixelState()

    def accumulate(self, state: PixelState, batch: Batch) -> PixelState:
        imgs, anns = batch.images, batch.anns
        n = len(imgs)
        if not n:
            return state
        state.images += int(imgs.is_object.sum())
        rows = anns.image_row if len(anns) else np.zeros(0, dtype=np.int64)
        count = np.bincount(rows[rows >= 0], minlength=n) if len(rows) else np.zeros(n, dtype=np.int64)
        state.without += int(((count == 0) & imgs.is_object).sum())
        return state

    def merge(self, a: PixelState, b: PixelState) -> PixelState:
        return PixelState(images=a.images + b.images, without=a.without + b.without)

    def finalize(self, state: PixelState, info: DatasetInfo) -> Iterator[Problem]:
        if state.images >= 2 and state.without == 0:
            yield Problem(
                f"all {state.images:,} images hold at least one annotation: there is no pure "
                "background image, so false positives on empty scenes are never penalized. Fine "
                "if deployment never sees empty scenes; otherwise add some negatives",
                At.pointer(""))
