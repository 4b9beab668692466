"""Training frameworks and the label conventions their loaders expect.

Whether a label is wrong depends on the code that reads it. Two families exist:

- loaders that feed the file's category ids straight to the model (torchvision's Mask R-CNN
  reference scripts, a matterport `Dataset.load_mask`, YOLO label files): the ids themselves
  must lie in the range the model's head has logits for;
- loaders that remap the category list onto 0..K-1 (detectron2's
  `thing_dataset_id_to_contiguous_id`, mmdetection's `cat2label`, pycocotools): the raw ids
  may be anything, but `num_classes` must match the number of classes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    label: str  # how messages name the framework
    background: int | None  # the label the model reserves for "no object", if any
    counts_background: bool  # does num_classes include the background class?
    remaps: bool  # does the loader map the category list onto 0..K-1 itself?
    contiguous: bool  # must the ids in the data be first_id..first_id+K-1 without gaps?
    first_id: int | None  # the smallest id the model accepts as a class (None: any, remapped)
    num_classes_key: str  # what the framework calls num_classes, for messages
    # Does the loader make a class of every category record, even one that only groups the
    # others (Roboflow's category 0)? detectron2's load_coco_json and pycocotools' getCatIds
    # do; mmdetection loads the classes its metainfo lists.
    counts_every_category: bool = False

    def expected_num_classes(self, ids: list[int]) -> int | None:
        """The num_classes this target needs for a dataset whose class ids are `ids`."""
        if not ids:
            return None
        if self.remaps:
            return len(ids) + (1 if self.counts_background else 0)
        return max(ids) + 1  # a direct loader needs a logit for every id up to the largest

    def renumbered_num_classes(self, ids: list[int]) -> int | None:
        """The num_classes needed once a class sitting on background label 0 is moved off it by
        adding 1 to every id (background-index-collision's fix); None where that does not apply."""
        if self.remaps or self.background != 0 or self.first_id != 1 or not ids:
            return None
        return max(ids) + 2

    def id_range(self, num_classes: int | None) -> tuple[int, int | None] | None:
        """(lowest, highest) valid id as the model indexes labels; None when ids are remapped."""
        if self.remaps or self.first_id is None:
            return None
        return self.first_id, None if num_classes is None else num_classes - 1

    def convention(self) -> str:
        """One clause stating the convention, for messages."""
        if self.remaps:
            bg = ("and counts a background class in" if self.counts_background
                  else "and excludes the background from")
            return (f"{self.label} maps the category list onto contiguous indices {bg} "
                    f"{self.num_classes_key}")
        if self.background is not None:
            return (f"{self.label} reserves label {self.background} for background and reads "
                    f"class ids {self.first_id}..{self.num_classes_key}-1")
        return (f"{self.label} reads class ids {self.first_id}..{self.num_classes_key}-1 "
                "with no background")


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("torchvision", "torchvision Mask R-CNN", background=0, counts_background=True,
           remaps=False, contiguous=False, first_id=1, num_classes_key="num_classes"),
    Target("matterport", "matterport Mask R-CNN", background=0, counts_background=True,
           remaps=False, contiguous=True, first_id=1, num_classes_key="NUM_CLASSES"),
    Target("detectron2", "detectron2", background=None, counts_background=False,
           remaps=True, contiguous=False, first_id=None,
           num_classes_key="MODEL.ROI_HEADS.NUM_CLASSES", counts_every_category=True),
    Target("mmdet", "mmdetection", background=None, counts_background=False,
           remaps=True, contiguous=False, first_id=None, num_classes_key="num_classes"),
    Target("yolo", "YOLO", background=None, counts_background=False,
           remaps=False, contiguous=True, first_id=0, num_classes_key="nc"),
    Target("coco", "a COCO loader (pycocotools)", background=None, counts_background=False,
           remaps=True, contiguous=False, first_id=None, num_classes_key="num_classes",
           counts_every_category=True),
)}

# With no target configured, rules judge the data as torchvision would: the most common
# reader of COCO instance masks, and the strictest about label 0.
DEFAULT_TARGET = TARGETS["torchvision"]


def resolve(name: str | None, background_index: Any = ...) -> Target | None:
    """The named target, with `background_index` from the config applied when given."""
    if name is None and background_index is ...:
        return None
    target = TARGETS[name] if name is not None else DEFAULT_TARGET
    if background_index is not ...:
        target = replace(target, background=background_index)
    return target


def effective(target: Target | None) -> Target:
    return DEFAULT_TARGET if target is None else target
