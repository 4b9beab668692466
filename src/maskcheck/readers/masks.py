"""Label PNGs (VOC class and instance masks) into integer arrays, and masks into COCO RLE.

Palette and greyscale PNGs hold the label in the pixel value; 16-bit PNGs hold instance
ids above 255; RGB PNGs are colour-coded and go through a colour -> id table. A colour the
table lacks gets a code above 65535 and a readable name, so it is reported, not lost.
Only the header is read before the size is checked: a decompression bomb is refused
before any pixel is decoded.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np

# Larger masks are refused unread (8192 x 8192; an RGB mask costs about 16 bytes a pixel
# while its colours become ids, so this keeps one mask near 1 GB). Pillow's own guard (a warning
# at 89 Mpx, an error at twice that) is global state we leave to the user; this one is ours.
MAX_MASK_PIXELS = 1 << 26
UNKNOWN_BASE = 1 << 16


class MaskFileProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@cache
def voc_colormap() -> np.ndarray:
    """The 256-entry Pascal VOC palette (index -> RGB), as VOC's devkit builds it."""
    cmap = np.zeros((256, 3), dtype=np.int64)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def read_label_png(path: Path, colours: dict[int, int]) -> tuple[np.ndarray, dict[int, str]]:
    """(labels as an integer HxW array, {code: name} for colours that `colours` lacks)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            w, h = im.size
            if w * h > MAX_MASK_PIXELS:
                raise MaskFileProblem(f"mask is {w}x{h} pixels, over the {MAX_MASK_PIXELS:,} "
                                      "pixel limit: not decoded (a decompression bomb?)")
            mode = im.mode
            if mode in ("P", "L", "I", "I;16", "I;16B", "I;16L"):
                return np.asarray(im), {}  # uint8 / int32: widened only where needed
            if mode == "1" or mode == "LA" or mode == "PA":
                return np.asarray(im.convert("L")), {}
            rgb = np.asarray(im.convert("RGB"))
    except MaskFileProblem:
        raise
    except Image.DecompressionBombError as exc:
        raise MaskFileProblem(f"mask not decoded: {exc}") from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise MaskFileProblem(f"cannot read the mask: {exc}") from None
    # packed into uint32 in place: one 4-byte array, not three int64 copies of the image
    packed = rgb[..., 0].astype(np.uint32)
    packed <<= 8
    packed |= rgb[..., 1]
    packed <<= 8
    packed |= rgb[..., 2]
    del rgb
    values = np.unique(packed)  # a mask has few colours: index them, not every pixel
    codes = np.empty(len(values), dtype=np.int32)
    names: dict[int, str] = {}
    for k, v in enumerate(values.tolist()):
        if v in colours:
            codes[k] = colours[v]
        else:
            codes[k] = UNKNOWN_BASE + k
            names[int(codes[k])] = f"colour ({v >> 16}, {(v >> 8) & 255}, {v & 255})"
    if len(values) == 1:
        return np.full(packed.shape, codes[0], dtype=np.int32), names
    out = np.empty(packed.shape, dtype=np.int32)
    for start in range(0, packed.shape[0], 512):  # in row blocks: small temporaries
        block = packed[start:start + 512]
        out[start:start + 512] = codes[np.searchsorted(values, block)]
    return out, names
