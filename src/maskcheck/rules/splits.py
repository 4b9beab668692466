"""Checks across the splits of one dataset: train.json against val.json.

Splits are recognised by name: files whose paths differ only by a split word (train, val,
valid, validation, test, dev, trainval; `instances_train2017.json` / `instances_val2017.json`,
`train/_annotations.coco.json` / `valid/_annotations.coco.json`) are splits of one dataset.
Unrelated files linted together (`instances_*.json` and `person_keypoints_*.json`) are never
compared.

Each split rule is a dataset rule whose state, once the split is linted, is condensed into a
small summary (the category list; class counts by name; file-name hashes packed into numpy
arrays, about 30 bytes an image); `cross_check` compares the summaries after every dataset
has been linted, so no split is held in memory while the next is read. A summary keeps the
locations its findings may need (`_Where`), not the DatasetInfo: a multi-file reader's
`locator` holds the split's whole image and annotation tables, and does not pickle.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck.files import content_digest, regular_file_problem, regular_size
from maskcheck.model import Batch, DatasetInfo, Location, Problem, RunContext, Severity
from maskcheck.registry import SplitRule
from maskcheck.rules._util import counts_by_id, merge_counts, plural

_SPLIT = re.compile(
    r"(?<![A-Za-z])(trainval|training|train|validation|valid|val|testing|test|dev|eval)(?![A-Za-z])",
    re.IGNORECASE)


def split_of(path: str) -> tuple[str, str] | None:
    """(group key, split word) for a path naming a split; None when it names none."""
    matches = list(_SPLIT.finditer(path))
    if not matches:
        return None
    m = matches[-1]  # the split word nearest the file: `data/train/val.json` is a val split
    return path[:m.start()] + "{split}" + path[m.end():], m.group(1).lower()


def is_train(word: str) -> bool:
    return word.startswith("train")


def _groups(summaries: list[Any]) -> Iterator[list[Any]]:
    """Summaries of splits of one dataset (two or more), train splits first."""
    by_key: dict[str, list[Any]] = {}
    for s in summaries:
        if s.split is not None:
            by_key.setdefault(s.split[0], []).append(s)
    for group in by_key.values():
        if len(group) > 1:
            yield sorted(group, key=lambda s: (not is_train(s.split[1]), s.path))


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a split's records are, located once by `summarize` (see the module docstring)."""

    path: str
    image_section: str
    category_section: str
    categories: Location  # the category list as a whole
    category_rows: dict[tuple[int, int], Location]  # (index in the list, id) -> the record
    images: tuple[Location, ...] | None = None  # per image of a _Files, when a locator places them

    def image(self, index: int, k: int) -> Location:
        """Image `index` of the file, the k-th of its summary."""
        if self.images is None:
            return Location(path=self.path, pointer=f"/{self.image_section}/{index}")
        return self.images[k]


def _where(info: DatasetInfo, images: np.ndarray | None = None) -> _Where:
    rows = {(i, cid): info.locate(info.category_section, i, category_id=cid)
            for i, cid, _ in _category_rows(info)}
    # a file that names no split is never cross-checked: its images need no location
    located = None if images is None or info.locator is None or split_of(info.path) is None \
        else tuple(info.locate(info.image_section, i) for i in images.tolist())
    return _Where(info.path, info.image_section, info.category_section,
                  info.locate_pointer(f"/{info.category_section}"), rows, located)


# --- MC510: category lists that differ between splits ----------------------------------------
@dataclass(frozen=True, slots=True)
class _Categories:
    path: str
    split: tuple[str, str] | None
    cats: tuple[tuple[int, int, str], ...]  # (index in the list, id, name) for well-formed rows
    where: _Where


def _category_rows(info: DatasetInfo) -> tuple[tuple[int, int, str], ...]:
    c = info.categories
    return tuple((int(c.index[r]), int(c.id[r]), c.name[r]) for r in range(len(c))
                 if c.id_ok[r] and isinstance(c.name[r], str))


def _cat_problem(s: Any, index: int, cid: int, message: str) -> Problem:
    return Problem(message, s.where.category_rows[(index, cid)], (0, index))


class SplitCategoriesDiffer(SplitRule):
    code = "MC510"
    name = "split-categories-differ"
    summary = "Splits of one dataset define their categories with different ids, names or order."
    severity = Severity.ERROR
    needs_classes = True  # about classes: SA-1B's masks have none

    def summarize(self, state: Any, info: DatasetInfo) -> _Categories:
        return _Categories(info.path, split_of(info.path), _category_rows(info), _where(info))

    def cross_check(self, summaries: list[_Categories]) -> Iterator[Problem]:
        for group in _groups(summaries):
            ref = group[0]
            ref_by_name = {n: (i, cid) for i, cid, n in reversed(ref.cats)}
            ref_by_id = {cid: n for _, cid, n in reversed(ref.cats)}
            name = Path(ref.path).name
            for other in group[1:]:
                seen = set()
                for index, cid, cat in other.cats:
                    seen.add(cat)
                    if cat in ref_by_name and ref_by_name[cat][1] != cid:
                        yield _cat_problem(other, index, cid,
                            f'class "{cat}" has id {cid} here but id {ref_by_name[cat][1]} in {name}: '
                            "a model trained on one split predicts the wrong class on the other")
                    elif cat not in ref_by_name:
                        was = (f'; {name} gives id {cid} to "{ref_by_id[cid]}"'
                               if cid in ref_by_id else "")
                        yield _cat_problem(other, index, cid,
                            f'class "{cat}" (id {cid}) is not in the categories of {name}{was}: '
                            "the splits disagree on the class list")
                missing = [(i, cid, n) for i, cid, n in ref.cats if n not in seen]
                for _, cid, cat in missing:
                    yield Problem(
                        f'class "{cat}" (id {cid}) of {name} is missing from this split\'s '
                        "categories: the splits disagree on the class list",
                        other.where.categories, (0, -1))
                same = {n for _, _, n in other.cats} == set(ref_by_name) and not missing
                mine = [n for _, _, n in other.cats]
                theirs = [n for _, _, n in ref.cats]
                if same and mine != theirs and all(ref_by_name[n][1] == c for _, c, n in other.cats):
                    yield Problem(
                        f"the categories are listed in a different order than in {name} "
                        f"({', '.join(mine[:8])} against {', '.join(theirs[:8])}): a loader that "
                        "numbers classes by list position gives them different labels per split",
                        other.where.categories, (0, -1))


# --- MC511: classes annotated in val that train never shows ---------------------------------
@dataclass(frozen=True, slots=True)
class _Used:
    path: str
    split: tuple[str, str] | None
    used: dict[str, tuple[int, int]]  # class name (or "id N") -> (category id, annotations)
    rows: dict[int, int]  # category id -> index in the category list
    where: _Where


class ClassMissingFromTrain(SplitRule):
    code = "MC511"
    name = "class-missing-from-train"
    summary = "A class annotated in a validation or test split has no annotation in the train split."
    # A poor split, not broken data: training runs, the evaluation of that class is meaningless.
    severity = Severity.WARNING
    needs_classes = True  # about classes: SA-1B's masks have none

    def initial(self, info: DatasetInfo) -> dict[int, int]:
        return {}

    def accumulate(self, state: dict[int, int], batch: Batch) -> dict[int, int]:
        anns = batch.anns
        if not len(anns):
            return state
        return merge_counts(state, counts_by_id(anns.category_id[anns.category_id_ok]))

    def merge(self, a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
        return merge_counts(a, b)

    def summarize(self, state: dict[int, int], info: DatasetInfo) -> _Used:
        names = info.category_names()
        used = {names.get(cid, f"id {cid}"): (cid, n) for cid, n in sorted(state.items())}
        rows = {cid: i for i, cid, _ in reversed(_category_rows(info))}
        return _Used(info.path, split_of(info.path), used, rows, _where(info))

    def cross_check(self, summaries: list[_Used]) -> Iterator[Problem]:
        for group in _groups(summaries):
            trains = [s for s in group if is_train(s.split[1])]
            if not trains:
                continue
            taught = {n for s in trains for n in s.used}
            where = ", ".join(Path(s.path).name for s in trains)
            for other in group:
                if is_train(other.split[1]):
                    continue
                for cat, (cid, n) in other.used.items():
                    if cat in taught:
                        continue
                    msg = (f'class "{cat}" has {plural(n, "annotation")} in this split but none in '
                           f"{where}: the model never learns it, so it scores zero here")
                    if cid in other.rows:
                        yield _cat_problem(other, other.rows[cid], cid, msg)
                    else:
                        yield Problem(msg, other.where.categories, (0, -1))


# --- MC512: one image in two splits ----------------------------------------------------------
def _name_hash(names: list[str]) -> np.ndarray:
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(n.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                        "little") for n in names), dtype=np.uint64, count=len(names))


@dataclass(frozen=True, slots=True)
class _Files:
    path: str
    split: tuple[str, str] | None
    index: np.ndarray  # image index in the file, sorted
    hashes: np.ndarray  # uint64 hash of each file name
    blob: bytes  # the file names, NUL-separated, to quote them in messages
    offsets: np.ndarray
    sizes: np.ndarray  # file size in bytes, -1 when the image was not found
    root: str | None  # the folder the file names resolve in, when images were found
    where: _Where
    found: tuple[str | None, ...] = ()  # each image's file as its reader found it, if it says

    def file(self, k: int) -> Path | None:
        """Where image k's bytes are: the reader's own path, else the images folder's."""
        if self.found:
            return Path(self.found[k]) if self.found[k] else None
        return Path(self.root) / self.name(k) if self.root is not None else None

    def name(self, k: int) -> str:
        return self.blob[self.offsets[k]:self.offsets[k + 1] - 1].decode("utf-8", "surrogatepass")


@dataclass(slots=True)
class _Named:
    """MC512's state: the named images seen so far, as plain ints and strings."""

    index: list[int] = field(default_factory=list)  # image index in the file
    names: list[str] = field(default_factory=list)
    found: list[str | None] = field(default_factory=list)  # each one's file as its reader found it
    all_found: bool = True  # every batch had the reader's `image_file` (else `found` is unused)


def _image_root(info: DatasetInfo, names: list[str], images_dir: str | None) -> Path | None:
    """The folder the images' file names are relative to, tried on a sample of names."""
    if not names:
        return None
    ann = Path(info.path).parent
    candidates = [Path(images_dir)] if images_dir else []
    candidates += [ann, ann / "images", ann.parent, ann.parent / "images"]
    split = split_of(info.path)
    if split is not None:
        candidates.append(ann.parent / "images" / split[1])
    step = max(len(names) // 16, 1)
    sample = names[::step][:16]
    for root in candidates:
        if sum(regular_file_problem(root / n) is None for n in sample) * 2 > len(sample):
            return root
    return None


def _content_hash(path: Path | None) -> bytes | None:
    return None if path is None else content_digest(path)


class ImageInTwoSplits(SplitRule):
    code = "MC512"
    name = "image-in-two-splits"
    summary = "The same image (by file name, or by content when the images are found) is in two splits."
    severity = Severity.WARNING

    def initial(self, info: DatasetInfo) -> _Named:
        return _Named()

    def accumulate(self, state: _Named, batch: Batch) -> _Named:
        imgs = batch.images
        if not len(imgs):
            return state
        named = np.array([isinstance(v, str) and v != "" for v in imgs.file_name], dtype=bool)
        state.index += imgs.index[named].tolist()
        state.names += imgs.file_name[named].tolist()
        state.all_found = state.all_found and "image_file" in imgs
        if state.all_found:
            state.found += [v if isinstance(v, str) else None for v in imgs.image_file[named].tolist()]
        else:
            state.found = []
        return state

    def merge(self, a: _Named, b: _Named) -> _Named:
        all_found = a.all_found and b.all_found
        return _Named(a.index + b.index, a.names + b.names,
                      a.found + b.found if all_found else [], all_found)

    def summarize(self, state: _Named, info: DatasetInfo, ctx: RunContext) -> _Files:
        index = np.array(state.index, dtype=np.int64)
        has_found = state.all_found
        order = np.argsort(index, kind="stable")
        index = index[order]
        names = [state.names[k] for k in order.tolist()]
        found = [state.found[k] for k in order.tolist()] if has_found else []
        encoded = [n.encode("utf-8", "surrogatepass") + b"\0" for n in names]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        root = None if found else _image_root(info, names, ctx.images_dir)
        sizes = np.full(len(names), -1, dtype=np.int64)
        paths = found if found else [root / n if root is not None else None for n in names]
        for k, p in enumerate(paths):
            size = regular_size(Path(p)) if p is not None else None
            if size is not None:  # a missing image (or a FIFO: never opened) keeps size -1
                sizes[k] = size
        return _Files(info.path, split_of(info.path), index, _name_hash(names), b"".join(encoded),
                      offsets, sizes, None if root is None else str(root), _where(info, index),
                      tuple(found))

    def cross_check(self, summaries: list[_Files]) -> Iterator[Problem]:
        for group in _groups(summaries):
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    yield from self._pair(a, b)

    def _pair(self, a: _Files, b: _Files) -> Iterator[Problem]:
        other = Path(a.path).name
        same_name: set[tuple[int, int]] = set()
        _, ka, kb = np.intersect1d(a.hashes, b.hashes, return_indices=True)
        for x, y in zip(ka.tolist(), kb.tolist(), strict=True):
            name = b.name(y)
            if a.name(x) != name:
                continue  # a 64-bit hash collision
            both_found = a.sizes[x] >= 0 and b.sizes[y] >= 0
            if both_found and (a.sizes[x] != b.sizes[y] or _content_hash(a.file(x))
                               != _content_hash(b.file(y))):
                continue  # two different pictures that happen to share a name
            same_name.add((x, y))
            how = "the same file name and content" if both_found else "the same file name"
            yield self._problem(b, y, f'image "{name}" is also in {other} (/{a.where.image_section}/'
                                      f"{int(a.index[x])}), {how}: evaluating on training images "
                                      "overstates accuracy. Keep each image in one split")
        yield from self._same_content(a, b, same_name)

    def _same_content(self, a: _Files, b: _Files, skip: set[tuple[int, int]]) -> Iterator[Problem]:
        if (a.root is None and not a.found) or (b.root is None and not b.found):
            return
        # Only files whose sizes match can be equal: hash just those.
        sizes_a = {}
        for x in np.flatnonzero(a.sizes >= 0).tolist():
            sizes_a.setdefault(int(a.sizes[x]), []).append(x)
        digests: dict[tuple[int, int], bytes | None] = {}

        def digest(s: _Files, side: int, k: int) -> bytes | None:
            if (side, k) not in digests:
                digests[(side, k)] = _content_hash(s.file(k))
            return digests[(side, k)]

        for y in np.flatnonzero(b.sizes >= 0).tolist():
            for x in sizes_a.get(int(b.sizes[y]), ()):
                if (x, y) in skip or a.name(x) == b.name(y):
                    continue
                d = digest(b, 1, y)
                if d is not None and d == digest(a, 0, x):
                    yield self._problem(
                        b, y, f'image "{b.name(y)}" has the same content as "{a.name(x)}" in '
                              f"{Path(a.path).name} (/{a.where.image_section}/{int(a.index[x])}): "
                              "the same picture in two splits overstates accuracy. Keep it in one")
                    break

    @staticmethod
    def _problem(s: _Files, k: int, message: str) -> Problem:
        index = int(s.index[k])
        return Problem(message, s.where.image(index, k), (1, index))
