"""Thumbnails for the HTML report's gallery: one example's image (or a grey canvas when the
file is missing, unreadable or too large) with every instance drawn in its class colour.

Bounded work per example: the image is decoded at about the thumbnail's size (JPEG draft
mode), its header checked before any pixel is read, and masks are rasterized one instance
at a time and shrunk at once, so a 50-megapixel image with 200 instances costs one mask of
full size at a time, never a stack.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from maskcheck import pictures

MAX_SIDE = 384  # long side of a thumbnail
MAX_PIXELS = 100_000_000  # a header declaring more is not decoded (decompression bombs)
JPEG_QUALITY = 80
CANVAS = (150, 150, 150)
UNKNOWN_SIZE = (256, 192)  # a canvas for an image whose size nobody declares
NO_CLASS = (128, 128, 128)  # an instance without a usable class id
EDGE_PX = 2  # the flagged point keeps this far from its mask's edge when it can
MATCH = 4  # channel tolerance when checking the flagged point shows the plain fill

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Thumbnail:
    mime: str  # image/jpeg for a real image, image/png or jpeg for a canvas
    data: bytes
    width: int
    height: int
    notes: tuple[str, ...]  # what the picture is not: a blank canvas, an unreadable file
    flagged: tuple[int, int] | None  # (x, y) inside the flagged instance's fill, in this picture

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def label(instance: Any) -> str:
    """`name (id) #annid`, as written on the picture."""
    cid = instance.category_id
    cls = f"{instance.name} ({cid})" if instance.name is not None else (
        f"class {cid}" if cid is not None else "no class")
    return f"{cls} #{instance.ann_id}" if instance.ann_id is not None else cls


def thumbnail(example: Any, colours: dict[int, RGB]) -> Thumbnail:
    """The example's picture; `colours` maps class ids to their colour in the report."""
    notes: list[str] = []
    size = (example.width, example.height) if example.width and example.height else None
    image = None
    if example.image_path is None:
        notes.append("image file not found: drawn on a blank canvas")
    else:
        image, problem = _load(example.image_path, size)
        if problem:
            notes.append(problem)
        elif image is not None and size is None:
            size = image.size  # masks cannot be drawn without a declared size anyway
    if size is None:
        size = UNKNOWN_SIZE
        notes.append("the image's size is not declared: the canvas has no meaning of scale")
    width, height = size
    thumb_w, thumb_h = _fit(width, height)
    if image is not None:
        if image.size != (width, height):
            notes.append(f"image file is {image.width} x {image.height} but the annotations say "
                         f"{width} x {height}: stretched to fit")
        base = np.asarray(image.resize((thumb_w, thumb_h), Image.Resampling.BOX))
    else:
        base = np.empty((thumb_h, thumb_w, 3), dtype=np.uint8)
        base[:] = CANVAS
    masks = np.zeros((len(example.instances), thumb_h, thumb_w), dtype=bool)
    for i, inst in enumerate(example.instances):
        if inst.rle is not None:
            masks[i] = _shrink(_decode(inst.rle, height, width), thumb_h, thumb_w)
    cols = [colours.get(inst.category_id, NO_CLASS) if inst.category_id is not None else NO_CLASS
            for inst in example.instances]
    boxes = _boxes(example, thumb_w / width, thumb_h / height) if example.draw_boxes else None
    picture = pictures.draw_instances(base, masks, cols, [label(i) for i in example.instances],
                                      emphasis=example.flagged, boxes=boxes, max_side=None)
    point = None
    if example.flagged:
        point = _flagged_point(picture, base, masks, example.flagged[0], cols[example.flagged[0]])
    mime, data = _encode(picture, real=image is not None)
    return Thumbnail(mime, data, picture.width, picture.height, tuple(notes), point)


def _fit(width: int, height: int) -> tuple[int, int]:
    long = max(width, height)
    if long <= MAX_SIDE:
        return width, height
    scale = MAX_SIDE / long
    return max(1, round(width * scale)), max(1, round(height * scale))


def _load(path: str, size: tuple[int, int] | None) -> tuple[Image.Image | None, str | None]:
    """The image as RGB at about the thumbnail's size, or the reason it is not shown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size  # from the header: nothing decoded yet
                if w * h > MAX_PIXELS:
                    return None, (f"image file is {w} x {h} (over {MAX_PIXELS // 1_000_000} "
                                  "megapixels): not decoded, drawn on a blank canvas")
                target = _fit(*(size or (w, h)))
                if im.format == "JPEG":
                    im.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 scale when it is enough
                return im.convert("RGB"), None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, f"image file could not be decoded ({type(exc).__name__}): drawn on a blank canvas"


def _decode(rle: dict[str, Any], height: int, width: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # pycocotools' __array__ under numpy 2: harmless
            warnings.simplefilter("ignore", DeprecationWarning)
            mask = mask_utils.decode(rle)
    except (TypeError, ValueError, KeyError):
        return np.zeros((height, width), dtype=bool)
    if mask.ndim == 3:
        mask = mask.any(axis=2)
    if mask.shape != (height, width):
        return np.zeros((height, width), dtype=bool)
    return mask.astype(bool)


def _nearest(old: int, new: int) -> np.ndarray:
    # pixel centres, as pictures.draw_instances enlarges: image and masks stay aligned
    return np.minimum(((np.arange(new) + 0.5) * old / new).astype(np.intp), old - 1)


def _shrink(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    small = mask[_nearest(mask.shape[0], height)][:, _nearest(mask.shape[1], width)]
    if not small.any() and mask.any():  # a thin instance must not vanish: keep its centre
        ys, xs = np.nonzero(mask)
        small[min(height - 1, int(ys.mean() * height / mask.shape[0])),
              min(width - 1, int(xs.mean() * width / mask.shape[1]))] = True
    return small


def _boxes(example: Any, sx: float, sy: float) -> np.ndarray:
    rows = np.full((len(example.instances), 4), np.nan)
    for i, inst in enumerate(example.instances):
        if inst.bbox is not None:
            x, y, w, h = inst.bbox
            rows[i] = (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
    return rows


def _erode(mask: np.ndarray) -> np.ndarray:
    p = np.pad(mask, 1, constant_values=False)
    return mask & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]


def _flagged_point(picture: Image.Image, base: np.ndarray, masks: np.ndarray, index: int,
                   colour: RGB) -> tuple[int, int] | None:
    """A pixel of the final picture deep inside the flagged instance that shows its plain
    translucent fill: not under a label, an outline, a box or another instance. When the
    label hides all of the fill, a pixel of the instance's ring (its colour, unblended)."""
    final_w, final_h = picture.size
    rows, cols = _nearest(base.shape[0], final_h), _nearest(base.shape[1], final_w)
    own = masks[index][rows][:, cols]
    if not own.any():
        return None
    others = np.zeros_like(own)
    for i in range(len(masks)):
        if i != index and masks[i].any():
            others |= masks[i][rows][:, cols]
    mine = own & ~others
    # depth: how many erosions a pixel survives (capped: deep enough is deep enough)
    depth = np.zeros(own.shape, dtype=np.int16)
    layer = mine
    for d in range(1, 33):
        layer = _erode(layer)
        if not layer.any():
            break
        depth[layer] = d
    drawn = np.asarray(picture.convert("RGB")).astype(np.int16)
    expected = np.rint(base[rows][:, cols].astype(np.float32) * (1 - pictures.FILL_ALPHA)
                       + np.asarray(colour, np.float32) * pictures.FILL_ALPHA).astype(np.int16)
    plain = mine & (np.abs(drawn - expected).max(axis=2) <= MATCH)
    if not plain.any():
        # a small instance under its own label: its emphasis ring, in the plain colour
        plain = mine & (np.abs(drawn - np.asarray(colour, np.int16)).max(axis=2) <= MATCH)
    if not plain.any():
        return None
    ys, xs = np.nonzero(plain)
    d = depth[ys, xs]
    wanted = d >= EDGE_PX
    if wanted.any():  # the shallowest pixel that is deep enough: far from labels at the top
        ys, xs, d = ys[wanted], xs[wanted], d[wanted]
        # among sufficiently deep pixels, the one nearest the instance's centre
        cy, cx = np.nonzero(own)
        k = int(np.argmin((ys - cy.mean()) ** 2 + (xs - cx.mean()) ** 2))
    else:
        k = int(np.argmax(d))
    return int(xs[k]), int(ys[k])


def _encode(picture: Image.Image, *, real: bool) -> tuple[str, bytes]:
    jpeg = io.BytesIO()
    picture.convert("RGB").save(jpeg, format="JPEG", quality=JPEG_QUALITY)
    if real:
        return "image/jpeg", jpeg.getvalue()
    png = pictures.png_bytes(picture)  # flat canvases compress far better losslessly
    if len(png) <= jpeg.tell():
        return "image/png", png
    return "image/jpeg", jpeg.getvalue()
