"""The same picture twice in one split, found by the bytes of the image files.

A file name says nothing: exports rename images (`IMG_0001.jpg` and `IMG_0001_1.jpg`,
Roboflow's `*.rf.<hash>.jpg`). Images are compared by a hash of their bytes, but only those
whose file sizes collide are read, each once and in chunks; a dataset whose image files are
not found is not checked (the report says so through the image-file rules).

Two copies with different labels are an error (the model is told two things about one
picture); with the same labels, a warning (the picture weighs double). The labels of an
image are compared as the multiset of its annotations' category ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck.files import content_digest, escapes, regular_size
from maskcheck.model import Batch, DatasetInfo, Problem, Severity
from maskcheck.registry import DatasetRule
from maskcheck.rules.images import image_folder, image_root

MAX_LISTED = 10


def image_files(batch: Batch) -> list[str | None]:
    """Each image's file as found: the reader's `image_file`, else the images folder's."""
    imgs = batch.images
    if "image_file" in imgs:
        return [v if isinstance(v, str) and v else None for v in imgs.image_file]
    root = image_root(batch)
    if root is None:
        return [None] * len(imgs)
    out: list[str | None] = []
    for name in imgs.file_name:
        ok = isinstance(name, str) and name and not escapes(name)
        out.append(str(root / name.replace("\\", "/")) if ok else None)
    return out


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64: spreads category ids so a sum of them identifies the multiset."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _digest(path: str, cache: dict[str, bytes | None]) -> bytes | None:
    """The file's content digest, read once per lint however many rules ask (MC308, MC309)."""
    if path not in cache:
        cache[path] = content_digest(Path(path))
    return cache[path]


class _DuplicateImages(DatasetRule):
    """State: per image found, (index, file size, label signature) and its path."""

    dataset_facts = (image_folder,)

    conflicting: bool

    def initial(self, info: DatasetInfo) -> dict[str, list[Any]]:
        return {"index": [], "id": [], "size": [], "labels": [], "path": []}

    def accumulate(self, state: dict[str, list[Any]], batch: Batch) -> dict[str, list[Any]]:
        imgs, anns = batch.images, batch.anns
        if not len(imgs):
            return state
        files = image_files(batch)
        sizes = np.full(len(imgs), -1, dtype=np.int64)
        for r, path in enumerate(files):
            size = regular_size(Path(path)) if path is not None else None
            if size is not None:  # a missing or special file is not compared
                sizes[r] = size
        signature = np.zeros(len(imgs), dtype=np.uint64)
        if len(anns):
            rows = anns.image_row
            ok = anns.category_id_ok if "category_id_ok" in anns else np.ones(len(anns), bool)
            ids = np.where(ok, anns.category_id, 0).astype(np.int64)
            if not ok.all() and "label" in anns:  # labelled by name: the name is the label
                for r in np.flatnonzero(~ok).tolist():
                    name = anns.label[r]
                    if isinstance(name, str):
                        digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=7)
                        ids[r] = -1 - int.from_bytes(digest.digest(), "little")
            keep = rows >= 0
            with np.errstate(over="ignore"):
                np.add.at(signature, rows[keep], _mix(ids[keep].view(np.uint64)) | np.uint64(1))
        found = np.flatnonzero(sizes >= 0)
        state["index"].append(imgs.index[found].astype(np.int64))
        ids_ok = imgs.id_ok[found] if "id_ok" in imgs else np.zeros(len(found), bool)
        state["id"].append(np.where(ids_ok, imgs.id[found], -1).astype(np.int64)
                           if "id" in imgs else np.full(len(found), -1, np.int64))
        state["size"].append(sizes[found])
        state["labels"].append(signature[found])
        state["path"].extend(files[r] for r in found.tolist())
        return state

    def merge(self, a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {k: a[k] + b[k] for k in a}

    def finalize(self, state: dict[str, list[Any]], info: DatasetInfo) -> Iterator[Problem]:
        if not state["index"]:
            return
        index = np.concatenate(state["index"])
        image_ids = np.concatenate(state["id"])
        size = np.concatenate(state["size"])
        labels = np.concatenate(state["labels"])
        paths = state["path"]
        order = np.argsort(index, kind="stable")  # the same clusters however batches came
        index, size, labels, image_ids = index[order], size[order], labels[order], image_ids[order]
        paths = [paths[k] for k in order.tolist()]
        values, counts = np.unique(size, return_counts=True)
        collide = np.isin(size, values[counts > 1])
        cache: dict[str, bytes | None] = info.cache.setdefault("content_digests", {})
        clusters: dict[bytes, list[int]] = {}
        for k in np.flatnonzero(collide).tolist():
            digest = _digest(paths[k], cache)
            if digest is not None:
                clusters.setdefault(digest, []).append(k)
        for members in clusters.values():
            if len(members) < 2:
                continue
            differ = len({int(labels[k]) for k in members}) > 1
            if differ != self.conflicting:
                continue
            first, rest = members[0], members[1:]
            listed = ", ".join(f"/{info.image_section}/{int(index[k])} ({Path(paths[k]).name})"
                               for k in rest[:MAX_LISTED])
            more = f" and {len(rest) - MAX_LISTED:,} more" if len(rest) > MAX_LISTED else ""
            what = (f"{Path(paths[first]).name} has the same bytes as {listed}{more}")
            i = int(index[first])
            image_id = int(image_ids[first]) if image_ids[first] >= 0 else None
            yield Problem(f"{what}: {self.consequence}",
                          info.locate(info.image_section, i, image_id=image_id), (1, i))


class DuplicateImage(_DuplicateImages):
    code = "MC308"
    name = "duplicate-image"
    summary = "The same image file (byte for byte) appears twice in one split, with the same labels."
    severity = Severity.WARNING
    conflicting = False
    consequence = ("the picture is trained on twice as often as the others, and a random split "
                   "can put one copy in train and the other in val. Keep one copy")


class DuplicateImageConflictingLabels(_DuplicateImages):
    code = "MC309"
    name = "duplicate-image-conflicting-labels"
    summary = "The same image file appears twice in one split with different labels."
    severity = Severity.ERROR
    conflicting = True
    consequence = ("their labels differ, so the model is told two different things about one "
                   "picture. Keep one copy, with the right labels")
