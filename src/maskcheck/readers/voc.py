"""Pascal VOC: Annotations/*.xml, JPEGImages/, SegmentationClass/, SegmentationObject/.

Three layouts are read: the VOC folder tree; the flat layout (each XML beside its image,
as Roboflow and labelImg export); and the mask-only layout (labelme2voc output, no XML).
A folder holding several VOC roots (one per split or variant) gives one dataset per root.

A sample is an id (the file stem, relative to its folder). Its instances are the XML
`<object>`s in order, and object k pairs with instance id k+1 of the object PNG (VOC's own
convention, which SBD-style loaders follow); instance ids beyond the objects become rows of
their own, their class taken from the class PNG. Masks are palette PNGs (255 = void border)
or RGB colour-coded PNGs, whose colours go through labelmap.txt (or VOC's colour map).
Class names reach ids through labelmap.txt, class_names.txt, class_id_to_name.json or, when
none exists, the 21 VOC classes with background at 0.

Facts that belong to no annotation row (unpaired files, split lists naming missing ids,
files that cannot be read) go to `info.facts` for the MC44x rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck import files, geometry
from maskcheck.columns import MISSING
from maskcheck.errors import InputProblem
from maskcheck.model import Dataset, InputError
from maskcheck.readers import classmap, xmlio
from maskcheck.readers.builder import Builder
from maskcheck.readers.classmap import ClassMap
from maskcheck.readers.masks import (
    MaskFileProblem,
    read_label_png,
    voc_colormap,
)

NAME = "voc"
LABEL = "Pascal VOC (Annotations/*.xml, mask PNGs)"  # what `maskcheck lint --help` says it reads
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)
VOID = 255
# Tags that only MIT-CSAIL LabelMe XML has (its root is <annotation> too): such a folder
# is not VOC and must not be misread as VOC.
_LABELME_MARKERS = (b"<imagesize", b"<pt>", b"<segm>", b"<sourceAnnotation")
_SNIFF_FILES = 20
DEFAULT_SOURCE = "the class names used (no labelmap.txt or class_names.txt; VOC's ids where they apply)"


@dataclass(slots=True)
class VocFacts:
    """What the MC41x dataset rules report; all paths are display strings."""

    # (path, line, message) of files that could not be read at all
    unreadable: list[tuple[str, int, str]] = field(default_factory=list)
    # (image path, case-variant annotation path or None)
    images_without_annotation: list[tuple[str, str | None]] = field(default_factory=list)
    # (annotation path, case-variant image path or None)
    annotations_without_image: list[tuple[str, str | None]] = field(default_factory=list)
    # (split file, line, id, what is missing)
    split_ids_missing: list[tuple[str, int, str, str]] = field(default_factory=list)
    annotation_kind: str = "XML"  # what counts as an image's annotation in this layout


# --------------------------------------------------------------------------------- detection
def _is_voc_xml(path: Path) -> bool:
    head = files.read_head(path, xmlio.SNIFF_BYTES)  # b"" for a FIFO or device: never blocks
    return xmlio.root_tag_of(head) == "annotation" and not any(m in head for m in _LABELME_MARKERS)


def _has_png(folder: Path) -> bool:
    return folder.is_dir() and next(files.files_under(folder, (".png",)), None) is not None


def _is_root(folder: Path) -> bool:
    ann = folder / "Annotations"
    if ann.is_dir() and any(_is_voc_xml(p) for p in sorted(ann.glob("*.xml"))[:_SNIFF_FILES]):
        return True
    if _has_png(folder / "SegmentationObject") or _has_png(folder / "SegmentationClass"):
        return True
    return any(_is_voc_xml(p) for p in sorted(folder.glob("*.xml"))[:_SNIFF_FILES])


def _roots(path: Path) -> list[Path]:
    """The VOC roots at `path`: itself, else its immediate subfolders that are roots."""
    try:
        if _is_root(path):
            return [path]
        return [p for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".")
                and _is_root(p)]
    except OSError:
        return []


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(_roots(path))
    return path.suffix.lower() == ".xml" and _is_voc_xml(path)


def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    if not path.is_dir():
        try:
            _parse_xml(path, str(path))  # one file given: unreadable is an input error (exit 2)
            yield _read_root(path.parent, only=path)
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)
        return
    roots = _roots(path)
    if not roots:
        yield InputError(str(path), "no Pascal VOC annotations (Annotations/*.xml, "
                                    "SegmentationObject/*.png or XML beside images) in this folder")
    for root in roots:
        try:
            yield _read_root(root)
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)


# --------------------------------------------------------------------------------- classes
@dataclass(slots=True)
class _Classes:
    cmap: ClassMap
    colours: dict[int, int]  # packed RGB -> class id, for colour-coded class masks
    assumed: bool = False  # no class list shipped: VOC's own classes, narrowed to those used


def _pack(rgb: tuple[int, int, int]) -> int:
    return (rgb[0] << 16) | (rgb[1] << 8) | rgb[2]


@cache
def _palette_colours() -> dict[int, int]:
    """Colour -> palette index for RGB instance masks, which encode ids in VOC's colours."""
    return _default_colours(list(range(256)))


def _default_colours(ids: list[int]) -> dict[int, int]:
    cmap = voc_colormap()
    out = {_pack(tuple(cmap[i])): i for i in ids if 0 <= i < 256}
    out.setdefault(_pack(tuple(cmap[VOID])), VOID)
    return out


def _load_classes(root: Path) -> _Classes:
    labelmap = root / "labelmap.txt"
    if labelmap.is_file():
        return _read_labelmap(labelmap)
    names_file = root / "class_names.txt"
    if names_file.is_file():
        names, lines = classmap.read_text_names(names_file)
        cmap = classmap.from_names(names, "class_names.txt", str(names_file), lines)
        return _Classes(cmap, _default_colours(list(cmap.ids.values())))
    id_json = root / "class_id_to_name.json"
    if id_json.is_file():
        try:
            value = json.loads(id_json.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputProblem(str(id_json), f"cannot read the class list: {exc}") from None
        cmap = classmap.from_mapping(value, "class_id_to_name.json", str(id_json))
        for name in [n for n, i in cmap.ids.items() if i == VOID]:
            del cmap.ids[name]  # 255 is the void border, not a class
        return _Classes(cmap, _default_colours(list(cmap.ids.values())))
    cmap = ClassMap(source=DEFAULT_SOURCE, path=str(root))
    cmap.ids = {name: i for i, name in enumerate(VOC_CLASSES)}
    return _Classes(cmap, _default_colours(list(range(len(VOC_CLASSES)))), assumed=True)


def _settle_assumed(cmap: ClassMap, labels: list[Any]) -> None:
    """With no class list shipped, the classes are the ones the data uses.

    VOC names and palette indices keep VOC's ids (cat is 8); other names follow from 21 in
    order of first use. Listing all 20 VOC classes would report the unused ones and a
    "single class" collapse for a class list nobody wrote.
    """
    used_names = {v for v in labels if isinstance(v, str)}
    used_ids = {v for v in labels if type(v) is int}
    ids = {"background": 0}
    for i, name in enumerate(VOC_CLASSES):
        if name in used_names or i in used_ids:
            ids[name] = i
    next_id = len(VOC_CLASSES)
    for v in labels:
        if isinstance(v, str) and v not in ids:
            ids[v] = next_id
            next_id += 1
    cmap.ids = ids


def _read_labelmap(path: Path) -> _Classes:
    """datumaro's `name:r,g,b:parts:actions`, one class per line, `#` comments."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputProblem(str(path), f"cannot read the label map: {exc}") from None
    cmap = ClassMap(source="labelmap.txt", path=str(path))
    colours: dict[int, int] = {}
    index = 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        name = name.strip()
        cmap.ids.setdefault(name, index)
        cmap.lines.setdefault(name, no)
        colour = rest.split(":")[0].split(",")
        if len(colour) == 3 and all(c.strip().isdigit() for c in colour):
            colours.setdefault(_pack(tuple(int(c) for c in colour)), index)  # type: ignore[arg-type]
        index += 1
    if not colours:
        colours = _default_colours(list(cmap.ids.values()))
    else:
        colours.setdefault(_pack(tuple(voc_colormap()[VOID])), VOID)
    return _Classes(cmap, colours)


# --------------------------------------------------------------------------------- files
def _files(folder: Path, suffixes: frozenset[str] | set[str], recursive: bool = True
           ) -> dict[str, Path]:
    """Relative stem (posix, no suffix) -> file; the first of several suffixes wins."""
    if not folder.is_dir():
        return {}
    found: dict[str, Path] = {}
    listed = [p for p in files.walk(folder).files if recursive or p.parent == folder]
    for p in listed:  # the walk: regular files only, never out of the folder
        if p.suffix.lower() not in suffixes:
            continue
        found.setdefault(p.relative_to(folder).with_suffix("").as_posix(), p)
    return found


def _case_map(keys: dict[str, Path]) -> dict[str, Path]:
    return {k.casefold(): v for k, v in keys.items()}


# --------------------------------------------------------------------------------- XML
@dataclass(slots=True)
class _Object:
    name: Any  # str, or MISSING when <name> is absent
    line: int
    bndbox: tuple[float, float, float, float] | None
    box_line: int
    box_problem: str | None  # why the bndbox could not be read


@dataclass(slots=True)
class _Xml:
    line: int
    filename: str | None
    width: Any
    height: Any
    objects: list[_Object]


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _parse_xml(path: Path, where: str) -> _Xml:
    root = xmlio.parse(path, where)
    if root.tag != "annotation":
        raise InputProblem(where, f"the root element is <{root.tag}>, not a VOC <annotation>")
    size = root.find("size")
    width: Any = MISSING
    height: Any = MISSING
    if size is not None:
        width = _number(xmlio.text_of(size, "width"))
        height = _number(xmlio.text_of(size, "height"))
    objects = []
    for obj in root.findall("object"):
        name_text = xmlio.text_of(obj, "name")
        box_el = obj.find("bndbox")
        box = None
        problem = None
        if box_el is not None:
            coords = [xmlio.text_of(box_el, k) for k in ("xmin", "ymin", "xmax", "ymax")]
            values = [_number(c) for c in coords]
            if all(v is not None for v in values):
                box = tuple(values)  # type: ignore[assignment]
            else:
                bad = [f"{k} {'is missing' if c is None else repr(c) + ' is not a number'}"
                       for k, c, v in zip(("xmin", "ymin", "xmax", "ymax"), coords, values,
                                          strict=True) if v is None]
                problem = ", ".join(bad)
        objects.append(_Object(name=MISSING if name_text is None else name_text,
                               line=xmlio.line_of(obj), bndbox=box,
                               box_line=xmlio.line_of(box_el), box_problem=problem))
    return _Xml(line=xmlio.line_of(root), filename=xmlio.text_of(root, "filename"),
                width=width, height=height, objects=objects)


# --------------------------------------------------------------------------------- reading
def _display(path: Path) -> str:
    return str(path)


def _read_root(root: Path, only: Path | None = None) -> Dataset:
    classes = _load_classes(root)
    facts = VocFacts()
    if only is not None:  # one XML given: its image beside it, nothing else of the folder
        xmls = {only.stem: only}
        beside = {k: v for k, v in _files(root, IMAGE_SUFFIXES, recursive=False).items()
                  if k.casefold() == only.stem.casefold()}
        images = {k: v for k, v in beside.items() if k == only.stem}
        img_fold = _case_map(beside)
        cls_pngs: dict[str, Path] = {}
        obj_pngs: dict[str, Path] = {}
    else:
        ann_dir = root / "Annotations"
        flat = not ann_dir.is_dir()
        xml_dir = root if flat else ann_dir
        img_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() or not flat else root
        xmls = _files(xml_dir, frozenset({".xml"}), recursive=not flat)
        if flat:  # other XML beside the images (a CVAT export, say) is not ours
            xmls = {k: p for k, p in xmls.items() if _is_voc_xml(p)}
        images = _files(img_dir, IMAGE_SUFFIXES, recursive=img_dir != root)
        img_fold = _case_map(images)
        cls_pngs = _files(root / "SegmentationClass", frozenset({".png"}))
        obj_pngs = _files(root / "SegmentationObject", frozenset({".png"}))
    facts.annotation_kind = "XML" if xmls else "mask"

    builder = Builder(str(root if only is None else only), NAME, classes.cmap)
    mask_keys = set(cls_pngs) | set(obj_pngs)
    keys = sorted(set(xmls) | set(images) | mask_keys)
    have_images = bool(img_fold)
    xml_fold = _case_map(xmls)
    for key in keys:
        xml_path, img_path = xmls.get(key), images.get(key)
        annotated = xml_path is not None if xmls else key in mask_keys
        if img_path is not None and not annotated:
            twin = xml_fold.get(key.casefold()) if xmls else None
            facts.images_without_annotation.append(
                (_display(img_path), _display(twin) if twin is not None else None))
        if img_path is None and have_images and (xml_path is not None or key in mask_keys):
            own = xml_path or obj_pngs.get(key) or cls_pngs.get(key)
            twin = img_fold.get(key.casefold())
            facts.annotations_without_image.append(
                (_display(own), _display(twin) if twin is not None else None))
        _add_sample(builder, classes, facts, key, xml_path, img_path,
                    cls_pngs.get(key), obj_pngs.get(key))
    if only is None:
        _check_splits(root, xmls, images, cls_pngs, obj_pngs, facts)
    if classes.assumed:
        _settle_assumed(classes.cmap, builder.ann["label"])
    return builder.build(counts=True, info_path=str(root if only is None else only), facts=facts)


def _add_sample(builder: Builder, classes: _Classes, facts: VocFacts, key: str,
                xml_path: Path | None, img_path: Path | None, cls_png: Path | None,
                obj_png: Path | None) -> None:
    xml: _Xml | None = None
    if xml_path is not None:
        try:
            xml = _parse_xml(xml_path, _display(xml_path))
        except InputProblem as exc:
            line = _line_in(exc.message)
            facts.unreadable.append((_display(xml_path), line, exc.message))
    width: Any = None
    height: Any = None
    if xml is not None and xml.width is not MISSING:
        width, height = xml.width, xml.height
    elif img_path is not None:
        width, height = files.image_size(img_path) or (None, None)
    if img_path is not None:
        file_name = key + img_path.suffix  # relative to the images folder (--images)
    elif xml is not None and xml.filename:
        file_name = xml.filename
    else:
        file_name = key
    instances = _read_masks(facts, classes, cls_png, obj_png)
    if width is None and instances is not None:
        height, width = (float(v) for v in instances.shape)
    where = xml_path or img_path or obj_png or cls_png
    assert where is not None  # every key comes from at least one file
    objects = xml.objects if xml is not None else []
    n_masks = len(instances.ids) if instances is not None and instances.from_objects else -1
    n_boxes = sum(o.bndbox is not None for o in objects)
    counts = (len(objects), n_masks, n_boxes) if xml is not None else (-1, n_masks, -1)
    row = builder.add_image(file_name, width, height, _display(where),
                            line=xml.line if xml is not None else 0, counts=counts)
    builder.extra_images.setdefault("image_file", []).append(str(img_path) if img_path else None)
    used: set[int] = set()
    for k, obj in enumerate(objects):
        inst = instances.get(k + 1) if instances is not None and instances.from_objects else None
        label: Any = obj.name
        if inst is not None:
            used.add(k + 1)
            if inst.classes and all(c == 0 for c, _ in inst.classes):
                label = 0  # painted as background in the class PNG: it trains as background
        bbox = None
        if obj.bndbox is not None:
            x0, y0, x1, y1 = obj.bndbox
            bbox = [x0, y0, x1 - x0, y1 - y0]
        builder.add_ann(
            row, label, _display(xml_path), line=obj.line, bbox=bbox,
            segmentation=inst.rle if inst is not None else None,
            area=inst.area if inst is not None else None,
            bndbox=obj.bndbox, box_line=obj.box_line, box_problem=obj.box_problem,
            instance_id=k + 1 if inst is not None else -1,
            mask_path=_display(obj_png) if inst is not None else None,
            mask_classes=inst.classes if inst is not None else None)
    if instances is None:
        return
    mask_file = obj_png if instances.from_objects else cls_png
    for inst_id in instances.ids:
        if inst_id in used:
            continue
        inst = instances.get(inst_id)
        label = inst.major if inst.major is not None else MISSING
        builder.add_ann(
            row, label, _display(mask_file), bbox=inst.bbox, segmentation=inst.rle, area=inst.area,
            bndbox=None, box_line=0, box_problem=None, instance_id=inst_id,
            mask_path=_display(mask_file), mask_classes=inst.classes)


def _line_in(message: str) -> int:
    marker = "at line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(":")[0]
        if digits.isdigit():
            return int(digits)
    return 0


# --------------------------------------------------------------------------------- masks
@dataclass(slots=True)
class _Instance:
    rle: bytes
    area: float
    bbox: list[float]
    classes: tuple[tuple[Any, int], ...]  # (class id or colour text, pixels), most first
    major: Any  # the class of most pixels (None: no class PNG or only void)


@dataclass(slots=True)
class _Instances:
    shape: tuple[int, int]
    ids: list[int]
    from_objects: bool  # True: ids are object-PNG instance ids; False: class ids (semantic)
    _by_id: dict[int, _Instance]

    def get(self, inst_id: int) -> _Instance | None:
        return self._by_id.get(inst_id)


def _read_masks(facts: VocFacts, classes: _Classes, cls_png: Path | None,
                obj_png: Path | None) -> _Instances | None:
    cls = obj = None
    cls_names: dict[int, str] = {}
    if cls_png is not None:
        try:
            cls, cls_names = read_label_png(cls_png, classes.colours)
        except MaskFileProblem as exc:
            facts.unreadable.append((_display(cls_png), 0, exc.message))
    if obj_png is not None:
        try:
            obj, _ = read_label_png(obj_png, _palette_colours())
        except MaskFileProblem as exc:
            facts.unreadable.append((_display(obj_png), 0, exc.message))
    if cls is not None and obj is not None and cls.shape != obj.shape:
        facts.unreadable.append((
            _display(cls_png), 0,  # type: ignore[arg-type]
            f"SegmentationClass mask is {cls.shape[1]}x{cls.shape[0]} but its SegmentationObject "
            f"mask is {obj.shape[1]}x{obj.shape[0]}: instances cannot be given their classes"))
        cls = None
    if obj is None and cls is None:
        return None
    if obj is not None:
        return _instances(obj, cls, cls_names, from_objects=True)
    assert cls is not None
    return _instances(cls, cls, cls_names, from_objects=False)


def _class_key(value: int, names: dict[int, str]) -> Any:
    return names.get(value, value)


def _instances(ids_img: np.ndarray, cls: np.ndarray | None, cls_names: dict[int, str],
               from_objects: bool) -> _Instances:
    """One instance per id in `ids_img` other than 0 (background) and 255 (void)."""
    fg = (ids_img != 0) & (ids_img != VOID)
    ids = np.unique(ids_img[fg]).tolist()
    by_id: dict[int, _Instance] = {}
    pair_counts: dict[int, list[tuple[int, int]]] = {}
    if cls is not None and ids:
        # one pass over the image: (instance, class) pairs and their pixel counts
        inst, klass = ids_img[fg].astype(np.int64), cls[fg].astype(np.int64)
        keys, counts = np.unique(inst * (1 << 32) + klass, return_counts=True)
        for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
            i, c = divmod(key, 1 << 32)
            if c != VOID:
                pair_counts.setdefault(i, []).append((c, n))
    encoded = geometry.encode_label_image(ids_img, ids)
    for inst_id in ids:
        rle_obj, area, bbox = encoded[inst_id]
        rle = geometry.rle_json(rle_obj)
        pairs = sorted(pair_counts.get(inst_id, []), key=lambda p: (-p[1], p[0]))
        classes = tuple((_class_key(c, cls_names), n) for c, n in pairs)
        major = classes[0][0] if classes else None
        by_id[inst_id] = _Instance(rle=rle, area=area, bbox=bbox, classes=classes, major=major)
    return _Instances(shape=ids_img.shape, ids=ids, from_objects=from_objects, _by_id=by_id)


# --------------------------------------------------------------------------------- splits
def _check_splits(root: Path, xmls: dict[str, Path], images: dict[str, Path],
                  cls_pngs: dict[str, Path], obj_pngs: dict[str, Path], facts: VocFacts) -> None:
    """ImageSets/Segmentation/*.txt need a mask; ImageSets/Main/<split>.txt an XML or image."""
    sets = root / "ImageSets"
    for kind in ("Segmentation", "Main"):
        folder = sets / kind
        if not folder.is_dir():
            continue
        for split in sorted(folder.glob("*.txt")):
            if kind == "Main" and "_" in split.stem:
                continue  # per-class lists (aeroplane_train.txt): same ids as the split list
            try:
                text = split.read_text(encoding="utf-8-sig", errors="replace")
            except OSError as exc:
                facts.unreadable.append((_display(split), 0, f"cannot read: {exc.strerror or exc}"))
                continue
            for no, line in enumerate(text.splitlines(), 1):
                item = line.strip()
                if not item or item.startswith("#"):
                    continue
                sid = item.split()[0]
                missing = _missing_for(kind, sid, xmls, images, cls_pngs, obj_pngs)
                if missing:
                    facts.split_ids_missing.append((_display(split), no, sid, missing))


def _missing_for(kind: str, sid: str, xmls: dict[str, Path], images: dict[str, Path],
                 cls_pngs: dict[str, Path], obj_pngs: dict[str, Path]) -> str | None:
    if kind == "Segmentation":
        if sid in cls_pngs or sid in obj_pngs:
            return None
        where = "SegmentationClass/ or SegmentationObject/"
        return f"no mask in {where}" + ("" if sid in images else ", and no image")
    if sid in xmls or sid in images:
        return None
    return "no annotation XML and no image"
