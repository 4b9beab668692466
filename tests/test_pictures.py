"""maskcheck.pictures: instance pictures for --save-failures and the report gallery."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskcheck import pictures
from maskcheck.pictures import distinct_colours, draw_instances, png_bytes, side_by_side

RED, BLUE = (255, 0, 0), (0, 0, 255)
GREY = 100


def _scene(size: tuple[int, int] = (256, 320)) -> tuple[np.ndarray, np.ndarray]:
    """A grey image with a red-to-be rectangle at rows 40..119, cols 60..179 (scale 1)."""
    h, w = size
    image = np.full((h, w, 3), GREY, np.uint8)
    masks = np.zeros((2, h, w), bool)
    masks[0, 40:120, 60:180] = True
    masks[1, 150:220, 200:300] = True
    return image, masks


def _px(picture: Image.Image, y: int, x: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.asarray(picture)[y, x])


def test_fill_is_translucent_in_the_instance_colour_and_the_outline_differs():
    image, masks = _scene()
    picture = draw_instances(image, masks, [RED, BLUE], ["", ""], max_side=None)
    assert picture.size == (320, 256) and picture.mode == "RGB"
    r, g, b = _px(picture, 100, 150)  # deep inside the red mask, away from any label
    assert r > g + 60 and r > b + 60  # reddish
    assert GREY < r < 255 and 0 < g < GREY  # blended with the grey image, not painted over
    assert _px(picture, 200, 250)[2] > _px(picture, 200, 250)[0] + 60  # the blue one is blue
    assert _px(picture, 5, 5) == (GREY,) * 3  # background untouched
    edge = _px(picture, 80, 60)  # the left column of the red mask
    assert edge != (r, g, b) and edge != (GREY,) * 3
    assert _px(picture, 80, 61) == edge  # a 2 px outline
    assert _px(picture, 80, 59) == (GREY,) * 3  # drawn inside the mask, not outside


def test_text_is_written_at_the_instance_top_left():
    image, masks = _scene()
    plain = np.asarray(draw_instances(image, masks, [RED, BLUE], ["", ""]))
    labelled = np.asarray(draw_instances(image, masks, [RED, BLUE], ["label 3", ""]))
    changed = np.any(plain != labelled, axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.size > 50
    # only near the red instance's top-left corner (row 40, col 60)
    assert ys.min() >= 40 and xs.min() >= 60 and ys.max() < 40 + 30 and xs.max() < 60 + 100
    # the label's background is dark and its text white, whatever the colour under it
    label = labelled[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].reshape(-1, 3)
    assert (label.max(axis=1) < 60).mean() > 0.3
    assert np.any(label.min(axis=1) > 200)


def test_text_is_clamped_inside_the_picture():
    image = np.zeros((256, 256, 3), np.uint8)
    masks = np.zeros((1, 256, 256), bool)
    masks[0, 250:, 250:] = True  # the bottom-right corner: the label cannot start there
    picture = np.asarray(draw_instances(image, masks, [RED], ["a long label text"]))
    bare = np.asarray(draw_instances(image, masks, [RED], [""]))
    changed = np.any(picture != bare, axis=2)
    # pulled back into the picture, left of and above the corner, not cut off at its edges
    assert changed[:250, :].sum() > 200 and changed[:, :250].sum() > 200
    assert changed[200:, 120:].sum() == changed.sum()  # still next to the instance


def test_emphasis_thickens_the_outline_and_boxes_the_label():
    image, masks = _scene()
    plain = draw_instances(image, masks, [RED, BLUE], ["label 3", "label 1"])
    bold = draw_instances(image, masks, [RED, BLUE], ["label 3", "label 1"], emphasis={0})
    assert np.any(np.asarray(plain) != np.asarray(bold))
    assert _px(bold, 100, 59) == (255, 255, 255)  # a white halo just outside the red mask
    assert _px(bold, 100, 62) == RED  # and a ring of the full colour inside it
    assert _px(plain, 100, 62) != RED
    # the blue instance, not emphasised, is drawn the same in both
    assert np.array_equal(np.asarray(plain)[150:, 200:], np.asarray(bold)[150:, 200:])
    with pytest.raises(ValueError, match="emphasis"):
        draw_instances(image, masks, [RED, BLUE], ["", ""], emphasis={2})


def test_boxes_are_drawn_in_the_instance_colour_and_nan_rows_skipped():
    image, masks = _scene()
    boxes = np.array([[20.0, 10.0, 240.0, 30.0], [np.nan] * 4])
    picture = draw_instances(image, np.zeros_like(masks), [RED, BLUE], ["", ""], boxes=boxes)
    assert _px(picture, 20, 20) == RED  # left edge
    assert _px(picture, 10, 100) == RED  # top edge
    assert _px(picture, 29, 100) == RED  # bottom edge (x2, y2 exclusive)
    assert _px(picture, 20, 100) == (GREY,) * 3  # inside is not filled
    assert not np.any(np.all(np.asarray(picture) == BLUE, axis=2))  # the NaN row drew nothing
    with pytest.raises(ValueError, match="boxes"):
        draw_instances(image, masks, [RED, BLUE], ["", ""], boxes=np.zeros((3, 4)))


def test_max_side_scales_the_long_side_exactly_with_masks_and_boxes():
    image, masks = _scene((600, 1000))
    boxes = np.array([[500.0, 400.0, 900.0, 590.0], [np.nan] * 4])
    picture = draw_instances(image, masks, [RED, BLUE], ["x", "y"], boxes=boxes, max_side=500)
    assert picture.size == (500, 300)
    r, g, b = _px(picture, 40, 60)  # mask 0 (rows 40..119, cols 60..179) at half scale
    assert r > g + 60 and r > b + 60
    assert _px(picture, 200, 250) == RED  # the box's left edge, x = 500 / 2
    full = draw_instances(image, masks, [RED, BLUE], ["x", "y"], max_side=None)
    assert full.size == (1000, 600)
    assert draw_instances(image, masks, [RED, BLUE], ["x", "y"], max_side=2000).size == (1000, 600)


def test_a_tiny_image_is_enlarged_to_256_by_nearest_neighbour():
    image = np.full((16, 32, 3), GREY, np.uint8)
    masks = np.zeros((1, 16, 32), bool)
    masks[0, 8:, 16:] = True
    picture = draw_instances(image, masks, [RED], [""])
    assert picture.size == (256, 128)
    assert _px(picture, 100, 200)[0] > 150  # the mask's quarter, 8x larger
    assert _px(picture, 30, 30) == (GREY,) * 3
    assert draw_instances(image, masks, [RED], [""], max_side=100).size == (100, 50)  # never past max_side
    assert draw_instances(image, masks, [RED], [""], max_side=None).size == (256, 128)


def test_a_shrunk_thin_instance_stays_visible():
    image = np.zeros((2000, 2000, 3), np.uint8)
    masks = np.zeros((1, 2000, 2000), bool)
    masks[0, 1000, 500:1500] = True  # one pixel high: a 1/8 area cover after scaling
    picture = np.asarray(draw_instances(image, masks, [RED], [""], max_side=250))
    assert picture.shape == (250, 250, 3)
    assert np.count_nonzero(picture[:, :, 0] > 50) >= 100  # still a line, not a dot


def test_image_kinds_float_grey_and_alpha_are_accepted():
    masks = np.zeros((0, 256, 256), bool)
    as_float = draw_instances(np.full((256, 256, 3), 0.5), masks, [], [])
    assert _px(as_float, 0, 0) == (128, 128, 128)
    clipped = draw_instances(np.full((256, 256), 2.0, np.float32), masks, [], [])
    assert _px(clipped, 0, 0) == (255, 255, 255)
    grey = draw_instances(np.full((256, 256), 7, np.uint8), masks, [], [])
    assert _px(grey, 9, 9) == (7, 7, 7)
    rgba = np.zeros((256, 256, 4), np.uint8)
    rgba[..., 1] = 200
    assert _px(draw_instances(rgba, masks, [], []), 3, 3) == (0, 200, 0)


@pytest.mark.parametrize(
    ("image", "masks", "match"),
    [
        (np.zeros((64, 64, 2), np.uint8), np.zeros((0, 64, 64), bool), "shape"),
        (np.zeros((64,), np.uint8), np.zeros((0, 64, 64), bool), "shape"),
        (np.zeros((64, 64, 3), np.int64), np.zeros((0, 64, 64), bool), "dtype"),
        (np.zeros((64, 64, 3), np.uint16), np.zeros((0, 64, 64), bool), "dtype"),
        (np.zeros((64, 64, 3), np.uint8), np.zeros((1, 32, 64), bool), "masks"),
        (np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64), bool), "masks"),
    ],
)
def test_bad_inputs_raise_a_clear_value_error(image, masks, match):
    n = masks.shape[0] if masks.ndim == 3 else 0
    with pytest.raises(ValueError, match=match):
        draw_instances(image, masks, [RED] * n, [""] * n)


def test_colours_and_texts_must_match_the_masks():
    image, masks = _scene()
    with pytest.raises(ValueError, match="2 masks"):
        draw_instances(image, masks, [RED], ["", ""])
    with pytest.raises(ValueError, match="2 masks"):
        draw_instances(image, masks, [RED, BLUE], ["one"])


def test_no_instances_and_empty_masks_draw_only_the_image():
    image, _ = _scene()
    none = draw_instances(image, np.zeros((0, 256, 320), bool), [], [], boxes=np.zeros((0, 4)))
    assert np.array_equal(np.asarray(none), image)
    empty = draw_instances(image, np.zeros((2, 256, 320), np.uint8), [RED, BLUE], ["label 3", "x"],
                           emphasis={1})
    assert np.array_equal(np.asarray(empty), image)


def test_side_by_side_places_panels_with_titles_and_a_wrapped_caption():
    left = Image.new("RGB", (100, 80), RED)
    right = Image.new("RGB", (60, 120), BLUE)
    short = side_by_side([("input", left), ("output", right)], gap=12)
    assert short.width == 100 + 12 + 60
    pixels = np.asarray(short)
    top = short.height - 120  # no caption: the taller panel ends at the bottom
    assert _px(short, top + 10, 50) == RED and _px(short, top + 10, 140) == BLUE
    assert _px(short, top + 100, 50) == (255, 255, 255)  # shorter panel: white below, top-aligned
    assert _px(short, top + 10, 106) == (255, 255, 255)  # the gap
    assert np.any(pixels[:top, :100].min(axis=2) < 128)  # a title is written above
    captioned = side_by_side([("input", left), ("output", right)], "the red instance now says 3")
    assert captioned.width == short.width and captioned.height > short.height
    assert np.any(np.asarray(captioned)[short.height :].min(axis=2) < 128)
    long = side_by_side([("input", left), ("output", right)], "word " * 500)
    assert short.height < long.height < short.height + 200  # at most a few lines, not 500 words' worth
    with pytest.raises(ValueError):
        side_by_side([])


def test_png_bytes_round_trip():
    picture = draw_instances(*_scene(), [RED, BLUE], ["a", "b"])
    data = png_bytes(picture)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    back = Image.open(io.BytesIO(data))
    assert back.format == "PNG" and back.size == picture.size
    assert np.array_equal(np.asarray(back.convert("RGB")), np.asarray(picture))


def test_distinct_colours_are_distinct_saturated_and_deterministic():
    colours = distinct_colours(12)
    assert len(colours) == 12 and len(set(colours)) == 12
    assert colours == distinct_colours(12)
    for colour in colours:
        assert all(isinstance(c, int) and 0 <= c <= 255 for c in colour)
        assert max(colour) - min(colour) > 100  # saturated, not greys
    assert distinct_colours(0) == []
    assert distinct_colours(1)[0][0] > 200  # starts at red
    # neighbours are well apart
    gaps = [sum(abs(a - b) for a, b in zip(p, q, strict=True)) for p, q in itertools.pairwise(colours)]
    assert min(gaps) > 60
    many = distinct_colours(40)
    assert len(set(many)) == 40
    assert min(sum(abs(a - b) for a, b in zip(p, q, strict=True)) for p, q in itertools.pairwise(many)) > 60


def test_the_module_stays_neutral():
    source = Path(pictures.__file__).read_text(encoding="utf-8")
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, flags=re.MULTILINE))
    assert not {name for name in imported if name.startswith("maskcheck")}


def test_labels_of_instances_sharing_a_corner_do_not_cover_each_other():
    image = np.full((256, 256, 3), GREY, np.uint8)
    masks = np.zeros((2, 256, 256), bool)
    masks[0, 50:200, 50:200] = True
    masks[1, 50:120, 50:120] = True  # same top-left corner
    both = np.asarray(draw_instances(image, masks, [RED, BLUE], ["label 3", "label 1"]))
    first = np.asarray(draw_instances(image, masks, [RED, BLUE], ["label 3", ""]))
    second = np.asarray(draw_instances(image, masks, [RED, BLUE], ["", "label 1"]))
    bare = np.asarray(draw_instances(image, masks, [RED, BLUE], ["", ""]))
    rows_first = np.nonzero(np.any(first != bare, axis=(1, 2)))[0]
    rows_both = np.nonzero(np.any(both != bare, axis=(1, 2)))[0]
    assert rows_both.size >= 2 * rows_first.size  # stacked, one below the other
    assert np.array_equal(both[rows_first], first[rows_first])  # the first label is intact
    assert np.any(second != bare)
