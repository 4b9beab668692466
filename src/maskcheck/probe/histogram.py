"""Labels seen through the pipeline against the annotation file's classes.

A sample sees only part of the data, so a class is said to vanish only when the file puts it
in enough images that a sample without it would be a fluke: with `k` of `n` items probed
and the class in `m` images, about m * k / n sampled items should hold it, and none does
with probability about exp(-m * k / n); VANISH_MIN = 8 puts that near 1 in 3000. Images,
not annotations, are counted because instances of a class cluster in the same images.
Crowd annotations are left out: torchvision-style pipelines usually drop them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskcheck.model import InputError
from maskcheck.probe.codes import Issue
from maskcheck.readers import reading as readers

VANISH_MIN = 8.0  # expected sampled items holding the class
COLLAPSE_MIN = 8  # instances seen before "all the same label" means something


@dataclass(slots=True)
class FileCounts:
    counts: Counter[int]  # annotations per category id
    images_with: Counter[int]  # images holding the category
    only: Counter[int]  # images holding that category and no other
    annotated: int  # images holding any annotation
    images: int
    names: dict[int, str]


def read_counts(path: str | Path) -> FileCounts | InputError:
    """Non-crowd annotations per category id, read with maskcheck's COCO reader."""
    counts: Counter[int] = Counter()
    pairs: list[np.ndarray] = []
    names: dict[int, str] = {}
    images = 0
    for item in readers.read_all([Path(path)], "coco"):
        if isinstance(item, InputError):
            return item
        names.update(item.info.category_names())
        images += item.info.num_images
        for batch in item.batches(None):
            anns = batch.anns
            ok = anns.is_object & anns.category_id_ok & anns.image_id_ok
            if "iscrowd" in anns:
                ok &= ~((anns.iscrowd == 1) & anns.iscrowd_ok)
            ids, n = np.unique(anns.category_id[ok], return_counts=True)
            counts.update(dict(zip(ids.tolist(), n.tolist(), strict=True)))
            pairs.append(np.stack([anns.image_id[ok], anns.category_id[ok]], axis=1))
    both = np.unique(np.concatenate(pairs), axis=0) if pairs else np.zeros((0, 2), np.int64)
    img, cat = both[:, 0], both[:, 1]
    images_with = Counter(dict(zip(*(a.tolist() for a in np.unique(cat, return_counts=True)),
                                   strict=True)))
    per_image, first, classes = np.unique(img, return_index=True, return_counts=True)
    only = Counter(cat[first[classes == 1]].tolist())
    return FileCounts(counts, images_with, only, len(per_image), images, names)


def compare(file: FileCounts, seen: Counter[int], fraction: float, where: str) -> list[Issue]:
    """`fraction`: distinct items probed / items in the dataset."""
    expected = {c: m * fraction for c, m in file.images_with.items()}
    total = sum(seen.values())
    if len(seen) == 1 and total >= COLLAPSE_MIN:
        (label,) = seen
        # items that should show some class other than `label` (when the pipeline renames
        # classes, the most favourable reading: the class most often alone in an image)
        alone = file.only[label] if label in file.images_with else max(file.only.values(),
                                                                       default=0)
        others = (file.annotated - alone) * fraction
        if others >= VANISH_MIN:
            return [Issue("MC616", f"all {total} instances out of the pipeline have label {label}, "
                                   f"but {where} has {len(file.counts)} classes and about "
                                   f"{others:.0f} of the items probed should show another: a "
                                   "label mapping sends every class to one")]
    frequent = sorted(c for c, e in expected.items() if e >= VANISH_MIN)
    missing = [c for c in frequent if seen.get(c, 0) == 0]
    if not missing:
        return []
    if set(seen) <= set(file.counts):  # the pipeline keeps the file's ids: name the class
        return [Issue("MC615", f"class {_name(file, c)} never came out of the pipeline, though "
                               f"{file.images_with[c]} of the {file.images} images in {where} "
                               f"hold it: about {expected[c]:.0f} of the items probed should")
                for c in missing]
    if len(seen) < len(frequent):  # ids are remapped: only the count of classes can be compared
        return [Issue("MC615", f"the pipeline produced {len(seen)} distinct labels "
                               f"({', '.join(map(str, sorted(seen)))}), but {len(frequent)} classes "
                               f"of {where} are frequent enough to show in the items probed: "
                               "some class vanishes or two are merged")]
    return []


def _name(file: FileCounts, c: int) -> str:
    return f'{c} "{file.names[c]}"' if c in file.names else str(c)
