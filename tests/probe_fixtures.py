"""Pipelines for the probe tests: the random crop that started the project, its fix, and
torch-style Datasets built on numpy (no torch needed)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np


def _crop_window(h: int, w: int) -> tuple[int, int, int, int]:
    ch, cw = random.randint(h // 3, h * 2 // 3), random.randint(w // 3, w * 2 // 3)
    return random.randint(0, h - ch), random.randint(0, w - cw), ch, cw


def _crop(image: np.ndarray, boxes: np.ndarray, masks: np.ndarray):
    y0, x0, ch, cw = _crop_window(*image.shape[:2])
    image = image[y0:y0 + ch, x0:x0 + cw]
    masks = masks[:, y0:y0 + ch, x0:x0 + cw]
    boxes = boxes - np.array([x0, y0, x0, y0], dtype=boxes.dtype)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, cw)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, ch)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return image, boxes, masks, keep


def buggy_random_crop(image, boxes, masks, labels):
    """Keeps the boxes and masks inside the crop, but pops the labels of the others by their
    ORIGINAL index: after the first pop every later label belongs to the wrong mask."""
    image, boxes, masks, keep = _crop(image, boxes, masks)
    labels = list(labels)
    for i in np.flatnonzero(~keep):
        if i < len(labels):  # the original guarded the pop, so nothing ever crashed
            labels.pop(i)
    return image, boxes[keep], masks[keep], np.asarray(labels[:int(keep.sum())], dtype=np.int64)


def fixed_random_crop(image, boxes, masks, labels):
    image, boxes, masks, keep = _crop(image, boxes, masks)
    return image, boxes[keep], masks[keep], np.asarray(labels)[keep]


def crop_keeping_empty_masks(image, boxes, masks, labels):
    """Filters nothing: instances cropped away keep an empty mask and a degenerate box."""
    image, boxes, masks, _ = _crop(image, boxes, masks)
    return image, boxes, masks, labels


def flip_image_only(image, boxes, masks, labels):
    """Flips the image but not the masks or boxes."""
    return image[:, ::-1].copy(), boxes, masks, labels


def float_labels(image, boxes, masks, labels):
    image, boxes, masks, labels = fixed_random_crop(image, boxes, masks, labels)
    return image, boxes, masks, labels.astype(np.float32)


def drops_a_label(image, boxes, masks, labels):
    return image, boxes, masks, labels[:-1]


def raises_on_many(image, boxes, masks, labels):
    if len(labels) > 4:
        raise IndexError("list index out of range")
    return fixed_random_crop(image, boxes, masks, labels)


def hflip_torchvision(image, target):
    """A correct torchvision-style flip on a (C, H, W) image."""
    w = image.shape[-1]
    boxes = target["boxes"].copy()
    boxes[:, [0, 2]] = w - target["boxes"][:, [2, 0]]
    return image[..., ::-1].copy(), {**target, "boxes": boxes,
                                     "masks": target["masks"][..., ::-1].copy()}


def hflip_torchvision_boxes_forgotten(image, target):
    """Flips the image and the masks, not the boxes."""
    return image[..., ::-1].copy(), {**target, "masks": target["masks"][..., ::-1].copy()}


def identity(image, boxes, masks, labels):
    return image, boxes, masks, labels


def returns_three(image, boxes, masks, labels):
    return image, boxes, masks


def grayscale(image, boxes, masks, labels):
    grey = image.mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    return grey, boxes, masks, labels


def darker_float_tensors(image, boxes, masks, labels):
    """Brightness jitter and a float [0, 1] image, returned as tensors: still checkable."""
    return (FakeTensor(image.astype(np.float32) / 255 * 0.6), FakeTensor(boxes),
            FakeTensor(masks), FakeTensor(labels))


def noisy_fixed_crop(image, boxes, masks, labels):
    print("cropping!")  # user code that prints must not corrupt a JSON report on stdout
    return fixed_random_crop(image, boxes, masks, labels)


def albumentations_crop_keeping_masks(image, masks, bboxes, labels):
    """What albumentations' Compose does with bbox_params but masks as a plain list: boxes and
    labels are filtered, masks are not."""
    boxes = np.array(bboxes, dtype=np.float32).reshape(-1, 4)
    image, boxes, cropped, keep = _crop(image, boxes, np.stack(masks))
    return {"image": image, "masks": list(cropped),
            "bboxes": [tuple(b) for b in boxes[keep]],
            "labels": [lab for lab, k in zip(labels, keep, strict=True) if k]}


NOT_CALLABLE = 42


# --- torch-style datasets on numpy -----------------------------------------------------------

def _scene(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 40 x 60 image with index-dependent instances: (image, boxes, masks, labels)."""
    h, w = 40, 60
    n = 2 + index % 3
    image = np.zeros((3, h, w), dtype=np.float32)
    masks = np.zeros((n, h, w), dtype=np.uint8)
    boxes = np.zeros((n, 4), dtype=np.float32)
    for i in range(n):
        x1, y1 = 2 + 14 * i, 4 + (index % 5)
        masks[i, y1:y1 + 10, x1:x1 + 10] = 1
        boxes[i] = (x1, y1, x1 + 10, y1 + 10)
    labels = (np.arange(n, dtype=np.int64) + index) % 3 + 1
    return image, boxes, masks, labels


class GoodDataset:
    """A torch-style map dataset: len() and [i] -> (image, target) with numpy arrays."""

    def __init__(self, size: int = 12) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        image, boxes, masks, labels = _scene(index)
        return image, {"boxes": boxes, "labels": labels, "masks": masks}


class BuggyDataset(GoodDataset):
    """Mixes the classic mistakes: int32 labels, a background label, a box shifted to the
    next mask's place, and a random crop that keeps empty masks now and then."""

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        image, boxes, masks, labels = _scene(index)
        labels = labels.astype(np.int32)
        if index == 3:
            labels[0] = 0
        if index == 5:
            boxes = np.roll(boxes, 1, axis=0)
        if index == 7 and random.random() < 0.5:
            masks[1] = 0
        return image, {"boxes": boxes, "labels": labels, "masks": masks}


class CollapsingDataset(GoodDataset):
    """A label mapping that sends every class to 1."""

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        image, target = super().__getitem__(index)
        target["labels"] = np.ones_like(target["labels"])
        return image, target


class MissingClassDataset(GoodDataset):
    """A label map that loses class 3 (it becomes 2)."""

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        image, target = super().__getitem__(index)
        target["labels"] = np.minimum(target["labels"], 2)
        return image, target


class IterableDataset:
    """An iterable-style dataset (no __len__)."""

    def __iter__(self):
        for i in range(1000):
            image, boxes, masks, labels = _scene(i)
            yield image, {"boxes": boxes, "labels": labels, "masks": masks}


def make_dataset(size: int = 12, buggy: bool = False) -> GoodDataset:
    return BuggyDataset(size) if buggy else GoodDataset(size)


def broken_factory() -> GoodDataset:
    raise FileNotFoundError("data/train: no such folder")


def not_a_dataset_factory() -> int:
    return 3


class FakeTensor:
    """Duck-types a torch tensor: .detach(), .cpu(), .numpy()."""

    def __init__(self, array: np.ndarray) -> None:
        self._a = array
        self.shape = array.shape
        self.dtype = array.dtype

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self._a


class TensorDataset(GoodDataset):
    def __getitem__(self, index: int) -> tuple[FakeTensor, dict[str, Any]]:
        image, boxes, masks, labels = _scene(index)
        return FakeTensor(image), {"boxes": FakeTensor(boxes), "labels": FakeTensor(labels),
                                   "masks": FakeTensor(masks)}


class CocoNumpyDataset:
    """A torchvision-style dataset over a real COCO file: non-crowd instances rasterized with
    pycocotools, blank images of the annotated size (the pixels do not matter here)."""

    def __init__(self, path: str) -> None:
        import json

        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        self.anns: dict[int, list[dict[str, Any]]] = {}
        for a in doc["annotations"]:
            if not a.get("iscrowd"):
                self.anns.setdefault(a["image_id"], []).append(a)
        self.images = [im for im in doc["images"] if im["id"] in self.anns]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        from pycocotools import mask as mask_utils

        im = self.images[index]
        h, w = im["height"], im["width"]
        anns = self.anns[im["id"]]
        masks = [mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(a["segmentation"], h, w)))
                 for a in anns]
        boxes = np.array([[x, y, x + bw, y + bh] for x, y, bw, bh in (a["bbox"] for a in anns)],
                         dtype=np.float32)
        labels = np.array([a["category_id"] for a in anns], dtype=np.int64)
        return np.zeros((3, h, w), np.float32), {"boxes": boxes, "labels": labels,
                                                 "masks": np.stack(masks)}
