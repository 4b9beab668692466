"""Pictures of instance masks with Pillow: the evidence behind a failing probe seed.

``maskcheck probe --save-failures DIR`` writes one PNG per failing seed (the input instances
beside the pipeline's output, so "the red instance now says 3" is visible), and the HTML
report reuses the same pictures. This module is deliberately neutral: numpy, Pillow and the
standard library only, nothing from the probe or the rules.

Scaling: a picture's long side is brought down to ``max_side``; a tiny image (long side under
256 px) is instead enlarged to 256 px by nearest neighbour (never past ``max_side``), because a
label needs room and a 32 x 32 crop with 11 px text on it shows nothing. Text is drawn after
scaling, so it has the same legible size whatever the image's resolution.
"""

from __future__ import annotations

import colorsys
import io
from collections.abc import Collection, Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["distinct_colours", "draw_instances", "png_bytes", "side_by_side"]

MIN_SIDE = 256  # tiny images are enlarged to this long side so labels fit
FILL_ALPHA = 0.45
OUTLINE_PX = 2
EMPHASIS_PX = 3  # ring inside the mask, in the instance's colour
HALO_PX = 1  # white ring outside an emphasised mask
LABEL_PAD = 2
LABEL_BACKGROUND = (24, 24, 24)
WHITE = (255, 255, 255)
ELLIPSIS = "..."  # ASCII: the bitmap fallback font has no U+2026
MAX_CAPTION_LINES = 6

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


# ----------------------------------------------------------------------------- inputs


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.dtype == np.uint8:
        out = image
    elif np.issubdtype(image.dtype, np.floating):
        # floats are taken to be in [0, 1]; NaN draws as black rather than failing
        scaled = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        out = np.rint(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise ValueError(f"image must be uint8 or float in [0, 1], got dtype {image.dtype}")
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out)


def _as_masks(masks: np.ndarray, height: int, width: int) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[1:] != (height, width):
        raise ValueError(f"masks must be (N, {height}, {width}) to match the image, got shape {masks.shape}")
    if masks.dtype == np.bool_:
        return masks
    if np.issubdtype(masks.dtype, np.floating):
        return masks > 0.5
    if np.issubdtype(masks.dtype, np.integer):
        return masks != 0
    raise ValueError(f"masks must be bool or 0/1 numbers, got dtype {masks.dtype}")


def _as_colour(colour: Sequence[int], index: int) -> RGB:
    values = np.asarray(colour).ravel()
    if values.shape != (3,) or not np.all(np.isfinite(values.astype(np.float64))):
        raise ValueError(f"colours[{index}] must be an (R, G, B) triple, got {colour!r}")
    r, g, b = (int(v) for v in np.clip(np.rint(values.astype(np.float64)), 0, 255))
    return (r, g, b)


def _as_boxes(boxes: np.ndarray | None, count: int) -> np.ndarray | None:
    if boxes is None:
        return None
    array = np.asarray(boxes, dtype=np.float64)
    if array.shape != (count, 4) and not (count == 0 and array.size == 0):
        raise ValueError(f"boxes must be ({count}, 4) as x1 y1 x2 y2, got shape {array.shape}")
    return array.reshape(count, 4)


# ----------------------------------------------------------------------------- scaling


def _target_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    long = max(height, width)
    target = long
    if max_side is not None:
        if max_side < 1:
            raise ValueError(f"max_side must be positive or None, got {max_side}")
        target = min(long, max_side)
    if long < MIN_SIDE:
        target = max(long, MIN_SIDE if max_side is None else min(MIN_SIDE, max_side))
    if target == long:
        return height, width
    scale = target / long
    if height >= width:
        return target, max(1, round(width * scale))
    return max(1, round(height * scale)), target


def _nearest_indices(old: int, new: int) -> np.ndarray:
    # pixel centres, as Pillow's NEAREST does, so image and masks stay aligned
    return np.minimum(((np.arange(new) + 0.5) * old / new).astype(np.intp), old - 1)


def _rescale(image: np.ndarray, masks: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    height, width = image.shape[:2]
    new_h, new_w = size
    if (new_h, new_w) == (height, width):
        return image, masks
    if new_h >= height and new_w >= width:
        rows, cols = _nearest_indices(height, new_h), _nearest_indices(width, new_w)
        return image[rows][:, cols], masks[:, rows][:, :, cols]
    # shrinking: area averaging for both, so a mask covers what it covered before
    small = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BOX))
    scaled = np.zeros((len(masks), new_h, new_w), dtype=bool)
    for i, mask in enumerate(masks):
        if not mask.any():
            continue
        cover = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((new_w, new_h),
                                                                              Image.Resampling.BOX))
        shrunk = cover >= 128
        if not shrunk.any():  # a thin or tiny instance must not vanish from the picture
            shrunk = cover > 0
        if not shrunk.any():
            ys, xs = np.nonzero(mask)
            y = min(new_h - 1, int(ys.mean() * new_h / height))
            x = min(new_w - 1, int(xs.mean() * new_w / width))
            shrunk[y, x] = True
        scaled[i] = shrunk
    return small, scaled


# ----------------------------------------------------------------------------- outlines


def _erode(mask: np.ndarray, times: int) -> np.ndarray:
    for _ in range(times):
        p = np.pad(mask, 1, constant_values=False)
        mask = mask & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask


def _dilate(mask: np.ndarray, times: int) -> np.ndarray:
    for _ in range(times):
        p = np.pad(mask, 1, constant_values=False)
        mask = mask | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return mask


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, x0, y1, x1), inclusive, or None for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])


def _contrast(colour: RGB) -> RGB:
    """The outline colour: darker, or lighter for a colour already near black."""
    r, g, b = colour
    if 0.299 * r + 0.587 * g + 0.114 * b < 60:
        return tuple(int(c + (255 - c) * 0.6) for c in colour)  # type: ignore[return-value]
    return tuple(int(c * 0.5) for c in colour)  # type: ignore[return-value]


def _draw_outline(canvas: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int],
                  colour: RGB, emphasised: bool) -> None:
    # work inside the bounding box plus the halo's margin: fast for many small instances
    y0, x0, y1, x1 = box
    margin = HALO_PX + 1
    ys = slice(max(0, y0 - margin), y1 + margin + 1)
    xs = slice(max(0, x0 - margin), x1 + margin + 1)
    local, region = mask[ys, xs], canvas[ys, xs]
    if emphasised:
        region[_dilate(local, HALO_PX) & ~local] = WHITE
        region[local & ~_erode(local, EMPHASIS_PX)] = colour
    else:
        region[local & ~_erode(local, OUTLINE_PX)] = _contrast(colour)


# ----------------------------------------------------------------------------- text


@lru_cache(maxsize=8)
def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or no FreeType: the bitmap font
        return ImageFont.load_default()


def _printable(text: str, font: Font) -> str:
    text = " ".join(str(text).split())  # one line: newlines and tabs become spaces
    if not isinstance(font, ImageFont.FreeTypeFont):
        text = text.encode("latin-1", "replace").decode("latin-1")  # the bitmap font's range
    return text


def _fit(text: str, font: Font, width: float, *, cut: bool = False) -> str:
    """The text, cut with an ellipsis so that it is at most ``width`` pixels long.

    ``cut``: end it with an ellipsis even when it fits (the text continues elsewhere).
    """
    if not cut and font.getlength(text) <= width:
        return text
    while text and font.getlength(text + ELLIPSIS) > width:
        text = text[:-1]
    return text + ELLIPSIS if text else ""


def _font_size(long_side: int) -> int:
    return int(np.clip(round(long_side / 40), 11, 16))


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place(x: int, y: int, w: int, h: int, size: tuple[int, int],
           taken: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """A label rectangle at (x, y) clamped into the picture, moved down past earlier labels."""
    pic_w, pic_h = size
    x = max(0, min(x, pic_w - w))
    y = max(0, min(y, pic_h - h))
    first = (x, y, x + w, y + h)
    rect = first
    for _ in range(len(taken) + 1):
        hit = next((t for t in taken if _overlaps(rect, t)), None)
        if hit is None:
            return rect
        if hit[3] + h > pic_h:
            break
        rect = (x, hit[3], x + w, hit[3] + h)
    return first  # no free spot below: overlapping beats leaving the picture


def _draw_labels(picture: Image.Image, masks: np.ndarray, boxes: list[tuple[int, int, int, int] | None],
                 colours: list[RGB], texts: Sequence[str], emphasis: set[int]) -> None:
    draw = ImageDraw.Draw(picture)
    font = _font(_font_size(max(picture.size)))
    # emphasised labels get the first pick of position, and are drawn last (on top)
    order = sorted(range(len(masks)), key=lambda i: (i not in emphasis, i))
    taken: list[tuple[int, int, int, int]] = []
    labels = []
    for i in order:
        box = boxes[i]
        text = _printable(texts[i], font)
        if box is None or not text:
            continue
        bold = i in emphasis
        border = 3 if bold else 1
        inset = LABEL_PAD + border
        text = _fit(text, font, picture.width - 2 * inset - int(bold))
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w = right - left + 2 * inset + int(bold)
        h = bottom - top + 2 * inset
        rect = _place(box[1], box[0], w, h, picture.size, taken)
        taken.append(rect)
        labels.append((i, rect, text, left, top, border, bold))
    for i, rect, text, left, top, border, bold in reversed(labels):
        x0, y0, x1, y1 = rect
        if bold:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=WHITE)
            draw.rectangle((x0 + 1, y0 + 1, x1 - 2, y1 - 2), fill=colours[i])
            inner = (x0 + border, y0 + border, x1 - 1 - border, y1 - 1 - border)
            draw.rectangle(inner, fill=LABEL_BACKGROUND)
        else:
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=LABEL_BACKGROUND, outline=colours[i], width=border)
        at = (x0 + LABEL_PAD + border - left, y0 + LABEL_PAD + border - top)
        draw.text(at, text, fill=WHITE, font=font)
        if bold:  # a second pass one pixel right: bold with any font, bitmap or FreeType
            draw.text((at[0] + 1, at[1]), text, fill=WHITE, font=font)


def _draw_boxes(picture: Image.Image, boxes: np.ndarray, colours: list[RGB],
                scale: tuple[float, float]) -> None:
    draw = ImageDraw.Draw(picture)
    sx, sy = scale
    for row, colour in zip(boxes, colours, strict=True):
        if not np.all(np.isfinite(row)):
            continue  # NaN rows mean "no box"
        x1, x2 = sorted((row[0] * sx, row[2] * sx))
        y1, y2 = sorted((row[1] * sy, row[3] * sy))
        # continuous coordinates: the box [x1, x2) covers pixels floor(x1) .. ceil(x2) - 1
        left, top = int(np.floor(x1)), int(np.floor(y1))
        right, bottom = max(left, int(np.ceil(x2)) - 1), max(top, int(np.ceil(y2)) - 1)
        draw.rectangle((left, top, right, bottom), outline=colour, width=2)


# ----------------------------------------------------------------------------- public


def draw_instances(image: np.ndarray, masks: np.ndarray, colours: Sequence[tuple[int, int, int]],
                   texts: Sequence[str], *, emphasis: Collection[int] = (), boxes: np.ndarray | None = None,
                   max_side: int | None = 512) -> Image.Image:
    """The image with each instance filled, outlined and labelled with ``texts[i]``.

    ``image`` is (H, W), (H, W, 3) or (H, W, 4) (alpha dropped), uint8 or float in [0, 1];
    ``masks`` is (N, H, W); ``colours`` and ``texts`` have N entries. Emphasised indices get a
    thick white-and-colour outline and a bold, boxed label. ``boxes`` (N, 4) are x1 y1 x2 y2 in
    the image's pixels; NaN rows are skipped. The long side is scaled down to ``max_side``
    (None: kept), and a long side under 256 px is enlarged to 256 px by nearest neighbour.
    Raises ValueError for inputs of the wrong shape, dtype or length.
    """
    pixels = _as_rgb_uint8(image)
    height, width = pixels.shape[:2]
    mask_stack = _as_masks(masks, height, width)
    count = len(mask_stack)
    if len(colours) != count or len(texts) != count:
        raise ValueError(f"{count} masks need {count} colours and texts, got {len(colours)} and {len(texts)}")
    rgb = [_as_colour(c, i) for i, c in enumerate(colours)]
    box_rows = _as_boxes(boxes, count)
    emphasised = {int(i) for i in emphasis}
    outside = sorted(i for i in emphasised if not 0 <= i < count)
    if outside:
        raise ValueError(f"emphasis indices {outside} are outside the {count} instances")

    pixels, mask_stack = _rescale(pixels, mask_stack, _target_size(height, width, max_side))
    new_h, new_w = pixels.shape[:2]
    extents = [_bbox(m) for m in mask_stack]

    canvas = pixels.astype(np.float32)
    for mask, colour, box in zip(mask_stack, rgb, extents, strict=True):
        if box is not None:
            canvas[mask] = canvas[mask] * (1.0 - FILL_ALPHA) + np.asarray(colour, np.float32) * FILL_ALPHA
    canvas = np.rint(canvas).astype(np.uint8)
    # plain outlines first, emphasised ones over them
    for i in sorted(range(count), key=lambda k: (k in emphasised, k)):
        box = extents[i]
        if box is not None:
            _draw_outline(canvas, mask_stack[i], box, rgb[i], i in emphasised)

    picture = Image.fromarray(canvas)
    if box_rows is not None:
        _draw_boxes(picture, box_rows, rgb, (new_w / width, new_h / height))
    _draw_labels(picture, mask_stack, extents, rgb, texts, emphasised)
    return picture


def side_by_side(panels: Sequence[tuple[str, Image.Image]], caption: str = "", *,
                 gap: int = 12) -> Image.Image:
    """Panels left to right on white, each under its title, top-aligned; the caption below.

    The canvas is exactly as wide as the panels plus ``gap`` between each pair. Titles too
    long for their panel are cut with an ellipsis; the caption wraps to the canvas width,
    at most six lines.
    """
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    images = [picture.convert("RGB") for _, picture in panels]
    width = sum(p.width for p in images) + gap * (len(images) - 1)
    font = _font(13)
    line_h = _line_height(font)
    title_h = line_h + 2 * LABEL_PAD
    lines = _wrap(_printable_lines(caption, font), font, width - 2 * LABEL_PAD)
    caption_h = len(lines) * line_h + 2 * LABEL_PAD if lines else 0
    height = title_h + max(p.height for p in images) + caption_h

    canvas = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for (title, _), picture in zip(panels, images, strict=True):
        text = _fit(_printable(title, font), font, picture.width)
        draw.text((x, LABEL_PAD), text, fill=(0, 0, 0), font=font)
        canvas.paste(picture, (x, title_h))
        x += picture.width + gap
    y = height - caption_h + LABEL_PAD
    for line in lines:
        draw.text((LABEL_PAD, y), line, fill=(0, 0, 0), font=font)
        y += line_h
    return canvas


def _line_height(font: Font) -> int:
    return int(font.getbbox("Ag|")[3]) + 3


def _printable_lines(text: str, font: Font) -> list[str]:
    return [_printable(paragraph, font) for paragraph in str(text).splitlines()]


def _wrap(paragraphs: list[str], font: Font, width: float) -> list[str]:
    """Greedy word wrap; words wider than a line are broken; beyond six lines, an ellipsis."""
    width = max(width, 1.0)
    lines: list[str] = []
    for paragraph in paragraphs:
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while font.getlength(word) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > MAX_CAPTION_LINES:
        last = _fit(lines[MAX_CAPTION_LINES - 1], font, width, cut=True)
        lines = [*lines[: MAX_CAPTION_LINES - 1], last]
    return lines


def png_bytes(picture: Image.Image) -> bytes:
    """The picture as PNG bytes (no optimize pass: it is slow and the files are small)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def distinct_colours(n: int) -> list[tuple[int, int, int]]:
    """``n`` saturated colours evenly spaced on the hue wheel, starting at red; deterministic.

    Beyond eight colours, every other one is darker, so neighbours on the wheel stay apart.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    colours = []
    for i in range(n):
        value = 0.7 if n > 8 and i % 2 else 0.95
        r, g, b = colorsys.hsv_to_rgb(i / n, 0.85, value)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours
