"""LabelMe JSON (wkentaro/labelme): one file per image, shapes with string labels.

A folder is one dataset per directory holding LabelMe files, each row with its own file
and JSON pointer (`/shapes/3`). Shapes that share a `group_id` and a label are parts of one
instance, as labelme2coco joins them: they become one annotation with several polygons.
Shapes become COCO geometry in pixels: polygon as is, rectangle as its four corners,
circle as a 32-gon, mask as RLE; line, linestrip and point shapes get no segmentation
(labelme-shape-not-mask reports them). The class map is `--classes FILE`, else a
`labels.txt` in the folder of the files or one of its two parents (labelme's examples keep
it beside `data_annotated/`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from maskcheck import files, geometry
from maskcheck.columns import (
    MISSING,
    TextNumber,
    scalar_text_numbers,
    text_numbers,
    unquote_numbers,
)
from maskcheck.errors import InputProblem
from maskcheck.model import Dataset, InputError, SegKind
from maskcheck.readers import classmap, jsonio, keys, lazy
from maskcheck.readers.builder import Builder
from maskcheck.readers.masks import MAX_MASK_PIXELS
from maskcheck.shapes import LABELME_AREA_SHAPES, LABELME_POINTS

NAME = "labelme"
LABEL = "LabelMe JSON"  # what `maskcheck lint --help` says it reads
_U: Any = msgspec.UNSET
_NULL = msgspec.Raw(b"null")



class _Shape(msgspec.Struct, gc=False):
    label: Any = _U
    points: Any = _U
    group_id: Any = None
    shape_type: Any = "polygon"  # labelme's own default when the key is absent
    mask: Any = None


class _File(msgspec.Struct):
    shapes: msgspec.Raw = msgspec.Raw()
    imagePath: Any = _U
    imageData: msgspec.Raw = _NULL
    imageHeight: Any = _U
    imageWidth: Any = _U


def _respell(doc: _File, data: bytes) -> tuple[tuple[str, str], ...] | None:
    """Read keys that are there only misspelled ("shape" for "shapes") as meant, in `doc`;
    the (written, meant) pairs, for misspelled-key. Only a file lacking a key is looked at."""
    if len(doc.shapes) and all(getattr(doc, k) is not _U for k in ("imagePath", "imageHeight",
                                                                      "imageWidth")):
        return None
    top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    typos = keys.misspellings(top, keys.LABELME_TOP)
    for written, meant in typos.items():
        raw = top[written]
        setattr(doc, meant, raw if meant in ("shapes", "imageData") else msgspec.json.decode(raw))
    return tuple(typos.items()) or None


# --------------------------------------------------------------------------------- detection
def _head(path: Path, size: int = 1 << 14) -> bytes:
    return files.read_head(path, size)  # b"" for a FIFO or device: never blocks


def sniff(path: Path) -> bool:
    """A JSON object with LabelMe's `shapes` key next to one of its image keys."""
    head = _head(path).lstrip()
    return (head.startswith(b"{") and b'"shapes"' in head
            and any(k in head for k in (b'"imagePath"', b'"imageData"', b'"imageHeight"',
                                        b'"flags"', b'"version"')))


def _json_files(folder: Path) -> list[Path]:
    return [p for p in files.walk(folder).files if p.name.lower().endswith(".json")]


def detect(path: Path) -> bool:
    if path.is_dir():
        return any(sniff(p) for p in _json_files(path)[:50])
    return path.name.lower().endswith(".json") and sniff(path)


# --------------------------------------------------------------------------------- class map
def find_labels_txt(folder: Path) -> Path | None:
    for candidate in (folder, folder.parent, folder.parent.parent):
        path = candidate / "labels.txt"
        if path.is_file():
            return path
    return None


def class_map_for(folder: Path, options: dict[str, Any]) -> classmap.ClassMap | None:
    given = options.get("classes")
    if given is not None:
        return given if isinstance(given, classmap.ClassMap) else classmap.load(Path(given))
    path = find_labels_txt(folder)
    if path is None:
        return None
    names, lines = classmap.read_text_names(path)
    return classmap.from_names(names, "labels.txt", str(path), lines) if names else None


# --------------------------------------------------------------------------------- reading
def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    options = options or {}
    if not path.is_dir():
        files = [path]
    else:
        try:
            files = [p for p in _json_files(path) if sniff(p)]
        except OSError as exc:
            yield InputError(str(path), f"cannot list the folder: {exc.strerror or exc}")
            return
        if not files:
            yield InputError(str(path), "no LabelMe JSON files (with 'shapes' and 'imagePath') here")
            return
    yield from read_files(files, options, None if path.is_dir() else str(path))


def read_files(files: list[Path], options: dict[str, Any],
               where_one: str | None = None) -> Iterator[Dataset | InputError]:
    """LabelMe files as datasets, one per folder (a split is a folder of JSON files)."""
    by_dir: dict[Path, list[Path]] = {}
    for f in files:
        by_dir.setdefault(f.parent, []).append(f)
    for folder, group in by_dir.items():
        try:
            cmap = class_map_for(folder, options)
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)
            return
        where = where_one or str(folder)
        if len(group) >= lazy.LAZY_MIN_FILES:  # read again batch by batch: bounded memory
            errors, read_any, dataset = lazy.dataset(where, NAME, cmap, group,
                                                     functools.partial(_read_unit, cmap=cmap))
            yield from errors
            if read_any:
                yield dataset
            continue
        builder = Builder(where, NAME, cmap)
        read_any = False
        for f in group:
            try:
                _read_file(builder, f, cmap)
                read_any = True
            except InputProblem as exc:
                yield InputError(exc.path, exc.message)
        if read_any:
            yield builder.build()


def _read_unit(b: Builder, path: Path, cmap: classmap.ClassMap | None) -> list[InputError]:
    try:
        _read_file(b, path, cmap)
    except InputProblem as exc:
        return [InputError(exc.path, exc.message)]
    return []


def _read_file(b: Builder, path: Path, cmap: classmap.ClassMap | None) -> None:
    where = str(path)
    data = jsonio.read_bytes(path)
    try:
        doc = msgspec.json.decode(data, type=_File)
    except msgspec.ValidationError:
        doc = _file_out_of_range(data) or _strict(where, data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        doc = _strict(where, data)  # raises, saying why
    typos = _respell(doc, data)
    height = _dim(doc.imageHeight)
    width = _dim(doc.imageWidth)
    # "480": number-as-string reports it; the size stays unknown (NaN) like any non-number
    quoted_size = (scalar_text_numbers(doc.imageWidth, "/imageWidth", "imageWidth", integer=True)
                   + scalar_text_numbers(doc.imageHeight, "/imageHeight", "imageHeight", integer=True))
    image_path = doc.imagePath if doc.imagePath is not _U else MISSING
    exists = _image_exists(path, image_path)
    image_file = _image_file(path, image_path) if exists else None
    embedded = bytes(doc.imageData).strip() not in (b"null", b"", b'""')
    row = b.add_image(image_path, width, height, where, pointer="/imagePath")
    b.extra_images.setdefault("image_exists", []).append(exists)
    b.extra_images.setdefault("image_file", []).append(image_file)
    b.extra_images.setdefault("image_embedded", []).append(embedded)
    b.extra_images.setdefault("text_numbers", []).append(tuple(quoted_size) or None)
    b.extra_images.setdefault("misspelled_top", []).append(typos)
    for dim, value in (("width", doc.imageWidth), ("height", doc.imageHeight)):
        # "abc", null, [100]: malformed-record reports them at the key ("480" is MC009's)
        bad = value is not _U and type(value) not in (int, float)
        b.extra_images.setdefault("raw_" + dim, []).append(value if bad and value is not None else None)
        b.extra_images.setdefault("null_" + dim, []).append(value is None)
        b.extra_images.setdefault("at_" + dim, []).append("/image" + dim.capitalize())
    if not len(doc.shapes):
        return
    try:
        shapes = msgspec.json.decode(doc.shapes, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise InputProblem(where, "'shapes' must be a list of shape objects") from None
    dec = msgspec.json.Decoder(_Shape)
    ignored = cmap.ignored if cmap is not None else frozenset()
    groups: dict[tuple[Any, Any], int] = {}  # (label, group_id) -> annotation row
    for i, raw in enumerate(shapes):
        pointer = f"/shapes/{i}"
        try:
            shape = dec.decode(raw)
        except msgspec.ValidationError:
            shape = _out_of_range(raw)
        if shape is None:
            b.add_ann(row, MISSING, where, pointer=pointer, is_object=False,
                      shape_type=None, n_points=-1, points_ok=False, parts=1, group=None,
                      shape_problem=None, text_numbers=None)
            continue
        label = shape.label if shape.label is not _U else MISSING
        if isinstance(label, str) and label in ignored:
            continue  # `__ignore__`: dropped on purpose by the labelme tools
        stype = shape.shape_type if isinstance(shape.shape_type, str) else repr(shape.shape_type)
        pts = _points(shape.points)
        quoted = _quoted_points(shape.points, pointer) if pts is None else []
        unquoted = _points(unquote_numbers(shape.points)) if quoted else None
        # points fine but for numeric strings: number-as-string reports them, and
        # labelme-point-count judges the points as if unquoted
        n_points, points_ok = ((len(unquoted), True) if unquoted is not None else
                               ((-1, False) if pts is None else (len(pts), True)))
        seg, box, problem = _geometry(stype, pts or unquoted, shape.mask, height, width)
        if unquoted is not None and seg is not None and seg[:1] == b"[":
            # an outline in quotes is kept as written, as a COCO polygon with strings is:
            # present (the instance is not "bare") but not used as geometry
            seg, box = msgspec.json.encode([[c for q in shape.points for c in q]]), None
        if problem is not None and seg is None and stype == "mask" and quoted_size:
            problem = None  # the image size is a string: number-as-string says so, once
        gid = shape.group_id
        if gid is not None and type(gid) is not int:
            problem = problem or f"group_id must be an integer or null, got {_short(gid)}"
            gid = None
        key = (label, gid) if gid is not None and isinstance(label, str) else None
        whole = seg is not None and stype in LABELME_AREA_SHAPES
        if key is not None and key in groups and whole and not quoted:  # quoted: its own row, for MC009
            _join(b, groups[key], seg, box)
            continue
        ann = b.add_ann(row, label, where, pointer=pointer, bbox=box, segmentation=seg,
                        shape_type=stype, n_points=n_points, points_ok=points_ok, parts=1,
                        group=gid, shape_problem=problem, text_numbers=tuple(quoted) or None)
        if key is not None:
            groups[key] = ann


def _strict(where: str, data: bytes) -> _File:
    try:
        return jsonio.decode(where, data, _File)
    except msgspec.ValidationError as exc:
        raise InputProblem(where, f"not a LabelMe file: {exc}") from None


def _file_out_of_range(data: bytes) -> _File | None:
    """A file msgspec refused for a number out of float range (`"imageWidth": 1e999`):
    read with json (inf) as labelme does; None when it is not a JSON object."""
    try:
        top = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
        kept = {k: v if k in ("shapes", "imageData") else json.loads(bytes(v))
                for k, v in top.items() if k in _File.__struct_fields__}
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    return _File(**kept)


def _out_of_range(raw: msgspec.Raw) -> _Shape | None:
    """A shape msgspec refused: None when it is not an object; else read with json, which
    reads 1e999 as inf (as labelme's own json.load does) for non-finite-coordinate."""
    try:
        value = json.loads(bytes(raw))
        return msgspec.convert(value, _Shape) if isinstance(value, dict) else None
    except (ValueError, msgspec.ValidationError):
        return None


def _dim(value: Any) -> Any:
    if value is _U:
        return MISSING
    return value if type(value) in (int, float) else None


def _image_exists(json_path: Path, image_path: Any) -> bool:
    if not isinstance(image_path, str) or not image_path:
        return False
    rel = image_path.replace("\\", "/")  # labelme on Windows writes backslashes
    return files.regular_file_problem(json_path.parent / rel) is None  # never raises


def _image_file(json_path: Path, image_path: str) -> str | None:
    """An existing image, to be read for its bytes; None for a path that climbs out of the
    JSON's folder, which is looked at (exists?) but never read."""
    if files.escapes(image_path):
        return None
    return str(json_path.parent / image_path.replace("\\", "/"))


def _points(value: Any) -> list[tuple[float, float]] | None:
    if not isinstance(value, list):
        return None
    out = []
    for p in value:
        if (not isinstance(p, list) or len(p) != 2
                or not all(type(c) in (int, float) for c in p)):  # inf: non-finite-coordinate's
            return None
        out.append((float(p[0]), float(p[1])))
    return out


def _quoted_points(value: Any, pointer: str) -> list[TextNumber]:
    """Numeric strings among a shape's [x, y] points (`pointer` is the shape's)."""
    if not isinstance(value, list):
        return []
    items = ((f"{pointer}/points/{j}/{c}", f"points[{j}][{c}]", v)
             for j, p in enumerate(value) if isinstance(p, list) for c, v in enumerate(p))
    return text_numbers(items, "points")


def _geometry(stype: str, pts: list[tuple[float, float]] | None, mask: Any,
              height: Any, width: Any) -> tuple[bytes | None, list[float] | None, str | None]:
    """(COCO segmentation JSON, xywh box, why the shape is unusable) of a shape."""
    if not pts:
        return None, None, None
    lo, hi = LABELME_POINTS.get(stype, (0, None))
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    if stype not in LABELME_AREA_SHAPES or len(pts) < lo or (hi is not None and len(pts) > hi):
        return None, box, None
    if stype == "polygon":
        flat = [c for p in pts for c in p]
    elif stype == "rectangle":
        x0, y0, w, h = box
        flat = [x0, y0, x0 + w, y0, x0 + w, y0 + h, x0, y0 + h]
    elif stype == "circle":
        (cx, cy), (px, py) = pts
        r = math.hypot(px - cx, py - cy)
        flat = geometry.ellipse_polygon(cx, cy, r, r, decimals=2)
        box = [cx - r, cy - r, 2 * r, 2 * r]
    elif not all(map(math.isfinite, box)):
        return None, box, None  # a bitmap cannot be placed at inf: the box reports it
    else:
        seg, problem = _mask_rle(mask, pts, height, width)
        return seg, box, problem
    if not all(map(math.isfinite, flat)):
        # written as 1e999, not as msgspec's null, so non-finite-coordinate reports the
        # outline; the box made from the same points would only say it twice
        text = json.dumps([flat]).replace("-Infinity", "-1e999").replace("Infinity", "1e999")
        return text.replace("NaN", "1e999").encode(), None, None
    return msgspec.json.encode([flat]), box, None


def _mask_rle(mask: Any, pts: list[tuple[float, float]], height: Any,
              width: Any) -> tuple[bytes | None, str | None]:
    """A `mask` shape: a base64 PNG of the box between its two points, as COCO RLE.

    The PNG's header is checked before its pixels are decoded, and the mask is encoded at
    its own size and offset: neither a PNG bomb nor a huge declared canvas is allocated.
    """
    if not isinstance(mask, str):
        return None, "a 'mask' shape needs its bitmap: 'mask' must be a base64 PNG string"
    if type(height) is not int or type(width) is not int or height <= 0 or width <= 0:
        return None, ("a 'mask' shape is placed on the image, but imageHeight/imageWidth are not "
                      f"positive integers ({_short(height)} x {_short(width)})")
    if height * width > geometry.MAX_RLE_PIXELS:
        return None, (f"the image is declared {width}x{height}: over {geometry.MAX_RLE_PIXELS:,} "
                      "pixels, which COCO RLE (uint32 counts) cannot describe; not decoded")
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # judged below from the header, before any pixel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(base64.b64decode(mask, validate=False))) as im:
                mw, mh = im.size
                if mw * mh > MAX_MASK_PIXELS or mw > width or mh > height:
                    return None, (f"the mask bitmap is {mw}x{mh}: larger than the {width}x{height} "
                                  f"image or over the {MAX_MASK_PIXELS:,}-pixel cap; not decoded")
                small = np.asarray(im)
    except (binascii.Error, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, "the 'mask' field is not a base64 PNG that can be decoded"
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    small = small.any(axis=-1) if small.ndim == 3 else small.astype(bool)
    if small.ndim != 2:
        return None, "the 'mask' field is not a 2-D bitmap"
    x0, y0 = (round(c) for c in pts[0])
    return geometry.rle_json(geometry.encode_mask(small, height, width, top=y0, left=x0)), None


def _short(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _join(b: Builder, row: int, seg: bytes | None, box: list[float] | None) -> None:
    """Add one more part (same label and group_id) to an instance already read."""
    ann = b.ann
    old = ann["segmentation"][row]
    if seg is not None and seg[:1] == b"[" and ann["seg_kind"][row] != SegKind.RLE:
        parts = (msgspec.json.decode(old) if len(old) and bytes(old)[:1] == b"[" else [])
        parts += msgspec.json.decode(seg)
        ann["segmentation"][row] = msgspec.Raw(msgspec.json.encode(parts))
        ann["seg_kind"][row] = SegKind.POLYGONS
    old_box = ann["bbox"][row]
    if box is not None and isinstance(old_box, list):
        x0, y0 = min(old_box[0], box[0]), min(old_box[1], box[1])
        x1 = max(old_box[0] + old_box[2], box[0] + box[2])
        y1 = max(old_box[1] + old_box[3], box[1] + box[3])
        ann["bbox"][row] = [x0, y0, x1 - x0, y1 - y0]
    b.extra["parts"][row] += 1
