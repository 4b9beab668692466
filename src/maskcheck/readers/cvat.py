"""CVAT for images XML 1.1 (and the keyframes of CVAT for video XML 1.1).

The labels are declared in `<meta>` (a task's or a project's `<labels>`); class ids follow
their order from 1, as CVAT's own COCO export numbers them. Each `<image>` holds shapes:
`<polygon>`, `<box>`, `<ellipse>` and `<mask>` are instances; `<polyline>`, `<points>`,
`<skeleton>`, `<cuboid>` and `<tag>` are not, but their labels are still checked and count
as uses of their class (`info.other_label_uses`). Locations carry CVAT's own `<image id>`
(ids repeat across the subsets of a project export, so rows are keyed by order). A mask is
CVAT's RLE over its own box (`left`, `top`, `width`, `height`): run lengths in row order,
starting with a run of zeros; it becomes a COCO RLE over the whole image.

A video export has `<track>`s instead of images: each visible keyframe shape (outside="0")
becomes an instance of frame N (interpolated frames between keyframes are not generated).

Facts that belong to no instance row (shapes with an empty or undeclared label that are
not instances) go to `info.facts` for the MC45x rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from maskcheck import files, geometry
from maskcheck.errors import InputProblem
from maskcheck.model import Dataset, InputError
from maskcheck.readers import xmlio
from maskcheck.readers.builder import Builder
from maskcheck.readers.classmap import ClassMap
from maskcheck.readers.masks import MAX_MASK_PIXELS
from maskcheck.readers.xmlio import LineElement

NAME = "cvat"
LABEL = "CVAT for images XML"  # what `maskcheck lint --help` says it reads
INSTANCE_SHAPES = frozenset({"polygon", "box", "mask", "ellipse"})
OTHER_SHAPES = frozenset({"polyline", "points", "skeleton", "cuboid", "tag"})
_SEARCH_DEPTH = 3
_SNIFF_FILES = 50


@dataclass(slots=True)
class CvatFacts:
    # (path, line, shape kind, label or None when the attribute is absent or empty)
    unlabelled: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    # (path, line, shape kind, label): labels <meta> does not declare, on non-instance shapes
    undeclared: list[tuple[str, int, str, str]] = field(default_factory=list)
    # label -> how many shapes that are not instances (points, polylines, ...) carry it
    other_uses: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------- detection
def _is_cvat_xml(path: Path) -> bool:
    head = files.read_head(path, xmlio.SNIFF_BYTES)  # b"" for a FIFO or device: never blocks
    return xmlio.root_tag_of(head) == "annotations" and (b"<version>" in head or b"<meta" in head)


def _xml_files(folder: Path) -> list[Path]:
    return [p for p in files.walk(folder).files if p.suffix.lower() == ".xml"
            and len(p.relative_to(folder).parts) <= _SEARCH_DEPTH + 1]


def _cvat_files(folder: Path) -> list[Path]:
    return [p for p in _xml_files(folder) if _is_cvat_xml(p)]


def detect(path: Path) -> bool:
    if path.is_dir():
        return any(_is_cvat_xml(p) for p in _xml_files(path)[:_SNIFF_FILES])
    return path.suffix.lower() == ".xml" and _is_cvat_xml(path)


def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    files = [path] if not path.is_dir() else _cvat_files(path)
    if not files:
        yield InputError(str(path), "no CVAT XML files (<annotations> with <meta>) in this folder")
    for file in files:
        try:
            yield read_file(file)
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)


# --------------------------------------------------------------------------------- parsing
def _labels(meta: LineElement | None) -> tuple[ClassMap, set[str]]:
    """Instance classes (ids from 1 in declaration order) and every declared name."""
    cmap = ClassMap(source="the <labels> of <meta>", path="")
    declared: set[str] = set()
    if meta is None:
        return cmap, declared
    next_id = 1
    for labels in meta.iter("labels"):
        for label in labels.findall("label"):
            name = xmlio.text_of(label, "name")
            if name is None:
                continue
            declared.add(name)
            kind = xmlio.text_of(label, "type")
            if xmlio.text_of(label, "parent") or kind == "tag":
                continue  # skeleton points and tag labels never become instances
            if name not in cmap.ids:
                cmap.ids[name] = next_id
                cmap.lines[name] = xmlio.line_of(label.find("name"))
                next_id += 1
    return cmap, declared


def _float(el: LineElement, key: str) -> float:
    value = float(el.attrib[key])
    if not math.isfinite(value):
        raise ValueError(f"{key} is {value}")
    return value


def _points(text: str) -> list[float]:
    out: list[float] = []
    for pair in text.strip().split(";"):
        if not pair.strip():
            continue
        x, y = pair.split(",")
        out += [float(x), float(y)]
    return out


@dataclass(slots=True)
class _Geometry:
    bbox: list[float] | None = None
    segmentation: bytes | None = None
    area: float | None = None
    problem: str | None = None


def _polygon_geometry(flat: list[float]) -> _Geometry:
    xs, ys = flat[0::2], flat[1::2]
    if not xs:
        return _Geometry(problem="the polygon has no points")
    bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    return _Geometry(bbox=bbox, segmentation=msgspec.json.encode([flat]))


def _geometry(kind: str, el: LineElement, img_w: float, img_h: float) -> _Geometry:
    try:
        if kind == "polygon":
            return _polygon_geometry(_points(el.attrib.get("points", "")))
        if kind == "box":
            x0, y0, x1, y1 = (_float(el, k) for k in ("xtl", "ytl", "xbr", "ybr"))
            return _Geometry(bbox=[x0, y0, x1 - x0, y1 - y0])
        if kind == "ellipse":
            cx, cy, rx, ry = (_float(el, k) for k in ("cx", "cy", "rx", "ry"))
            return _polygon_geometry(geometry.ellipse_polygon(cx, cy, rx, ry))
        return _mask_geometry(el, img_w, img_h)
    except KeyError as exc:
        return _Geometry(problem=f"the {kind} lacks its {exc.args[0]!r} attribute")
    except ValueError as exc:
        return _Geometry(problem=f"the {kind}'s coordinates are not numbers ({exc})")


def _mask_geometry(el: LineElement, img_w: float, img_h: float) -> _Geometry:
    left, top, w, h = (int(_float(el, k)) for k in ("left", "top", "width", "height"))
    text = el.attrib["rle"]
    try:
        values = [int(v) for v in text.split(",") if v.strip()]  # Python ints: no overflow
    except ValueError:
        return _Geometry(problem="the mask's rle is not a comma-separated list of integers")
    box = [float(left), float(top), float(w), float(h)]
    if w <= 0 or h <= 0:
        return _Geometry(bbox=box, problem=f"the mask's width x height is {w}x{h}")
    if w * h > MAX_MASK_PIXELS:  # the runs could expand to any size: never materialize them
        return _Geometry(bbox=box, problem=f"the mask's box is {w}x{h} pixels, over the "
                                           f"{MAX_MASK_PIXELS:,} pixel limit: not decoded")
    if values and min(values) < 0:
        return _Geometry(bbox=box, problem=f"the mask's rle has a negative run ({min(values)})")
    total = sum(values)  # exact: an int64 sum of crafted runs wraps round to w x h
    if total != w * h:
        return _Geometry(bbox=box, problem=(
            f"the mask's rle runs sum to {total:,} pixels, but its width x height is {w}x{h} = "
            f"{w * h:,}: CVAT and converters reshape the runs to the box and fail, or shift "
            "every row after the gap"))
    runs = np.array(values, dtype=np.int64)  # each run <= w x h now
    local = np.repeat((np.arange(len(runs)) % 2).astype(bool), runs).reshape(h, w)
    area = float(np.count_nonzero(local))
    rows, cols = np.flatnonzero(local.any(axis=1)), np.flatnonzero(local.any(axis=0))
    bbox = box if not len(rows) else [float(left + cols[0]), float(top + rows[0]),
                                      float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]
    H = int(img_h) if math.isfinite(img_h) else 0
    W = int(img_w) if math.isfinite(img_w) else 0
    if W * H > geometry.MAX_RLE_PIXELS:  # the image RLE's runs would overflow pycocotools' uint32
        return _Geometry(bbox=bbox, area=area, problem=(
            f"the image's declared size {W}x{H} is over the {geometry.MAX_RLE_PIXELS:,} pixels a COCO "
            "RLE can hold: the mask is not encoded"))
    if not (W and H) or left < 0 or top < 0 or left + w > W or top + h > H:
        return _Geometry(bbox=bbox, area=area, problem=(
            f"the mask's box (left {left}, top {top}, {w}x{h}) does not lie inside the "
            f"{W}x{H} image" if W and H else None))
    return _Geometry(bbox=bbox, area=area, segmentation=_coco_rle(local, left, top, W, H))


def _coco_rle(local: np.ndarray, left: int, top: int, W: int, H: int) -> bytes:
    """A box-local mask as compressed COCO RLE of the whole image, without the full mask."""
    return geometry.rle_json(geometry.encode_mask(local, H, W, top=top, left=left))


# --------------------------------------------------------------------------------- reading
def read_file(path: Path) -> Dataset:
    where = str(path)
    root = xmlio.parse(path, where)
    if root.tag != "annotations":
        raise InputProblem(where, f"the root element is <{root.tag}>, not CVAT's <annotations>")
    meta = root.find("meta")
    cmap, declared = _labels(meta)
    cmap.path = where
    facts = CvatFacts()
    builder = Builder(where, NAME, cmap)
    images = root.findall("image")
    for img in images:
        _add_image(builder, facts, declared, path, img)
    tracks = root.findall("track")
    if tracks:
        _add_tracks(builder, facts, declared, path, meta, tracks)
    return builder.build(counts=False, info_path=where, facts=facts,
                         other_label_uses=dict(facts.other_uses))


def _number_attr(el: LineElement, key: str) -> Any:
    if key not in el.attrib:
        return None
    try:
        return float(el.attrib[key])
    except ValueError:
        return el.attrib[key]


def _file_name(path: Path, img: LineElement) -> str:
    name = img.attrib.get("name", "")
    subset = img.attrib.get("subset")
    # a project export keeps each subset's images in images/<subset>/
    if subset and (path.parent / "images" / subset).is_dir():
        return f"{subset}/{name}"
    return name


def _add_image(builder: Builder, facts: CvatFacts, declared: set[str], path: Path,
               img: LineElement) -> None:
    width, height = _number_attr(img, "width"), _number_attr(img, "height")
    row = builder.add_image(_file_name(path, img), width, height, str(path), line=img.line)
    builder.extra_images.setdefault("source_id", []).append(_image_id(img))
    w = width if isinstance(width, float) else math.nan
    h = height if isinstance(height, float) else math.nan
    for shape in img:
        _add_shape(builder, facts, declared, path, row, shape, w, h)


def _image_id(img: LineElement) -> int | str | None:
    """CVAT's own `<image id>`, as locations show it (an integer when it is one)."""
    text = img.attrib.get("id")
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 19 else text[:40]


def _add_shape(builder: Builder, facts: CvatFacts, declared: set[str], path: Path, row: int,
               shape: LineElement, w: float, h: float, label: str | None = None) -> None:
    kind = shape.tag
    if kind not in INSTANCE_SHAPES and kind not in OTHER_SHAPES:
        return  # <attribute> and future elements
    label = shape.attrib.get("label") if label is None else label
    where = str(path)
    if not label or not label.strip():
        facts.unlabelled.append((where, shape.line, kind, label))
        return
    if kind not in INSTANCE_SHAPES:
        if label not in declared:
            facts.undeclared.append((where, shape.line, kind, label))
        facts.other_uses[label] = facts.other_uses.get(label, 0) + 1
        return
    geo = _geometry(kind, shape, w, h)
    builder.add_ann(row, label, where, line=shape.line, bbox=geo.bbox,
                    segmentation=geo.segmentation, area=geo.area,
                    shape=kind, shape_problem=geo.problem)


def _add_tracks(builder: Builder, facts: CvatFacts, declared: set[str], path: Path,
                meta: LineElement | None, tracks: list[LineElement]) -> None:
    size = meta.find(".//original_size") if meta is not None else None
    width = _float_text(xmlio.text_of(size, "width"))
    height = _float_text(xmlio.text_of(size, "height"))
    frames: dict[int, int] = {}
    w = width if width is not None else math.nan
    h = height if height is not None else math.nan
    for track in tracks:
        label = track.attrib.get("label", "")
        for shape in track:
            if shape.attrib.get("outside", "0") == "1":
                continue  # the object has left the frame
            try:
                frame = int(shape.attrib.get("frame", ""))
            except ValueError:
                continue
            if frame not in frames:
                frames[frame] = builder.add_image(f"frame_{frame:06d}", width, height, str(path),
                                                  line=shape.line)
                builder.extra_images.setdefault("source_id", []).append(frame)
            _add_shape(builder, facts, declared, path, frames[frame], shape, w, h, label=label)


def _float_text(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None
