"""JSON records: what people write for their own loaders (a JSON list, JSONL, or one object per file).

Two shapes, told apart per record:
- one record per instance: an image key (`image_id`, `image`, `file_name`, ...), a label,
  a mask (`mask` | `segmentation` | `polygon`) and/or a `bbox` ([x, y, w, h], as in COCO).
  COCO results files (lists with `score`) are of this kind;
- one record per image: an image key and parallel lists `labels`, `masks`, `boxes`
  (boxes as torchvision targets hold them: [x1, y1, x2, y2]), or a list of instance
  records under `annotations` (SA-1B: `{"image": {...}, "annotations": [...]}`, one file
  per image; a folder of them is one dataset).

Masks may be a 2D 0/1 array, COCO RLE (compressed or not) or a polygon (flat, as pairs,
or COCO's list of lists); they become COCO segmentation JSON. Labels are ints or names
(names go through `--classes`). `--field label=cls` renames a field; otherwise the first
name present from each candidate list below is used. A dataset whose records carry no
label anywhere (SA-1B) is class-agnostic: its instances get no class and no finding for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from maskcheck import files, geometry
from maskcheck.columns import (
    MISSING,
    TextNumber,
    is_number_text,
    is_numberish,
    list_text_numbers,
    rle_text_numbers,
    scalar_text_numbers,
    text_numbers,
)
from maskcheck.errors import InputProblem
from maskcheck.model import Dataset, InputError
from maskcheck.readers import classmap, coco, jsonio, lazy
from maskcheck.readers.builder import Builder

NAME = "records"
LABEL = "JSON/JSONL records"  # what `maskcheck lint --help` says it reads

CANDIDATES: dict[str, tuple[str, ...]] = {
    "image": ("image_id", "image", "file_name", "filename", "image_path", "img", "image_name",
              "path"),
    "label": ("label", "category_id", "class", "cls", "class_id", "category", "category_name",
              "class_name"),
    "mask": ("mask", "segmentation", "polygon", "rle", "segm"),
    "bbox": ("bbox", "box"),
    "labels": ("labels", "classes", "category_ids", "class_ids"),
    "masks": ("masks", "segmentations", "polygons"),
    "boxes": ("boxes", "bboxes"),
    "annotations": ("annotations", "instances", "objects"),
}
FIELDS = tuple(CANDIDATES)
_JSONL = (".jsonl", ".ndjson")
AGNOSTIC_ID = 1  # the one class of a dataset that has no labels at all, as SAM trains it
_SA_OBJECT = re.compile(rb'"image"\s*:\s*\{')


# --------------------------------------------------------------------------------- detection
def _head(path: Path) -> bytes:
    return files.read_head(path)  # b"" for a FIFO or device: never blocks


def sniff(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(_JSONL):
        return True
    if not name.endswith(".json"):
        return False
    head = _head(path).lstrip()
    if head.startswith(b"["):
        return head[1:].lstrip()[:1] in (b"{", b"]")  # a list of objects ([1, 2] is nothing)
    if not head.startswith(b"{"):
        return False
    if _SA_OBJECT.search(head) and b'"images"' not in head and b'"annotations"' in head:
        return True  # SA-1B: one image object and its annotations
    return _is_jsonl(head)


def _is_jsonl(head: bytes) -> bool:
    """Two or more lines that each hold one JSON object."""
    lines = [ln for ln in head.split(b"\n") if ln.strip()]
    if len(lines) < 2 or not lines[1].lstrip().startswith(b"{"):
        return False
    try:
        return isinstance(msgspec.json.decode(lines[0]), dict)
    except (msgspec.DecodeError, RecursionError):
        return False


def _json_files(folder: Path) -> list[Path]:
    return [p for p in files.walk(folder).files if p.name.lower().endswith((".json", *_JSONL))]


def detect(path: Path) -> bool:
    if not path.is_dir():
        return sniff(path)
    files = _json_files(path)[:50]
    # a folder with a COCO file is COCO's (results beside ground truth are read with it)
    return any(sniff(p) for p in files) and not any(coco._sniff(p) and not sniff(p) for p in files)


# --------------------------------------------------------------------------------- options
def _fields(options: dict[str, Any]) -> dict[str, str]:
    given = options.get("fields") or {}
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise InputProblem("--field", f"unknown field {unknown[0]!r}; known: {', '.join(FIELDS)}")
    return dict(given)


def _pick(record: dict[str, Any], logical: str, fields: dict[str, str]) -> tuple[str | None, Any]:
    """(key used, value) of a logical field in one record; (None, MISSING) when absent."""
    if logical in fields:
        key = fields[logical]
        return (key, record[key]) if key in record else (None, MISSING)
    for key in CANDIDATES[logical]:
        if key in record:
            return key, record[key]
    return None, MISSING


# --------------------------------------------------------------------------------- reading
def _setup(options: dict[str, Any]) -> tuple[dict[str, str], classmap.ClassMap | None]:
    """The user's field names and class map; raises InputProblem for bad ones."""
    given = options.get("classes")
    cmap = (given if isinstance(given, classmap.ClassMap) or given is None
            else classmap.load(Path(given)))
    return _fields(options), cmap


def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    options = options or {}
    try:
        fields, cmap = _setup(options)
    except InputProblem as exc:
        yield InputError(exc.path, exc.message)
        return
    if not path.is_dir():
        yield from _read_files([path], str(path), fields, cmap, single=True)
        return
    files = [p for p in _json_files(path) if sniff(p)]
    if not files:
        yield InputError(str(path), "no JSON record files (.json list, .jsonl) in this folder")
        return
    objects = [p for p in files if _head(p).lstrip().startswith(b"{") and not _is_jsonl(_head(p))
               and not p.name.lower().endswith(_JSONL)]
    for p in files:
        if p not in objects:
            yield from _read_files([p], str(p), fields, cmap, single=True)
    if objects:  # one object per image (SA-1B): the folder is one dataset
        yield from _read_files(objects, str(path), fields, cmap, single=False)


def read_objects(folder: Path, paths: list[Path],
                 options: dict[str, Any]) -> Iterator[Dataset | InputError]:
    """A folder of one-object-per-image files (SA-1B's layout) as one dataset."""
    try:
        fields, cmap = _setup(options)
    except InputProblem as exc:
        yield InputError(exc.path, exc.message)
        return
    yield from _read_files(paths, str(folder), fields, cmap, single=False)


def _load(path: Path) -> list[tuple[Any, str, int]]:
    """(record, pointer prefix, line) for every record in the file."""
    where = str(path)
    data = jsonio.read_bytes(path)
    stripped = data.lstrip()
    if path.name.lower().endswith(_JSONL) or (stripped.startswith(b"{") and _is_jsonl(stripped[:1 << 16])):
        out = []
        for no, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                out.append((_decode(line), "", no))
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                out.append((None, "", no))  # one broken line: malformed-record, not the file
        return out
    try:
        doc = _decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        doc = jsonio.decode(where, data)  # raises, saying where the file is broken
    if isinstance(doc, list):
        return [(rec, f"/{i}", 0) for i, rec in enumerate(doc)]
    if isinstance(doc, dict):
        return [(doc, "", 0)]
    raise InputProblem(where, "expected a JSON list of records, JSONL, or one record object")


def _decode(data: bytes) -> Any:
    """JSON text as Python values. msgspec refuses a number out of float range (1e999) as
    a ValidationError; json, as training code's json.load, reads it as inf for
    non-finite-coordinate to report (NaN and Infinity, which are not JSON, stay refused)."""
    try:
        return msgspec.json.decode(data)
    except msgspec.ValidationError:
        try:
            return json.loads(data, parse_constant=_not_json)
        except ValueError:
            raise msgspec.DecodeError from None


def _not_json(name: str) -> Any:
    raise ValueError(name)


def _read_files(files: list[Path], where: str, fields: dict[str, str],
                cmap: classmap.ClassMap | None, single: bool) -> Iterator[Dataset | InputError]:
    if single and len(files) == 1 and _lazy_jsonl(files[0]):
        found = _jsonl_images(files[0], fields)
        if found is not None:
            yield from _read_jsonl_lazily(files[0], where, fields, cmap, *found)
            return
    loaded: list[tuple[Path, list[tuple[Any, str, int]]]] = []
    for f in files:
        try:
            recs = _load(f)
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)
            continue
        if recs and not any(_known(rec, fields) for rec, _, _ in recs):
            yield InputError(str(f), "not JSON records: no record has an image, label, mask or "
                                     "box field (name them with --field, e.g. label=cls)")
            continue
        loaded.append((f, recs))
    if not loaded:
        return
    labelled = any(_has_label(rec, fields) for _, recs in loaded for rec, _, _ in recs)
    b = Builder(where, NAME, cmap)
    images: dict[tuple[str, Any], int] = {}
    for f, recs in loaded:
        for rec, prefix, line in recs:
            _record(b, images, str(f), rec, prefix, line, fields, labelled)
    yield b.build(counts=True)


# ------------------------------------------------------------------- large JSONL, lazily
# A JSONL file of this size or more whose images each sit on consecutive lines (one line an
# image, as SA-1B-style exports write them) is read batch by batch (readers/lazy.py): a first
# pass finds where each image's lines start; batches read their lines again by offset.
LAZY_MIN_BYTES = 1024**2


def _lazy_jsonl(path: Path) -> bool:
    name = path.name.lower()
    try:
        return (name.endswith(_JSONL) and files.is_regular_file(path)
                and path.stat().st_size >= LAZY_MIN_BYTES
                and not files.read_head(path, 4).startswith(b"\xef\xbb\xbf"))
    except OSError:
        return False


class _Runs:
    """Each image's lines: byte offsets [start, end) and the first line's number."""

    def __init__(self, path: Path, starts: list[int], ends: list[int], lines: list[int]) -> None:
        self.path = path
        self.starts = np.asarray(starts, dtype=np.int64)
        self.ends = np.asarray(ends, dtype=np.int64)
        self.lines = np.asarray(lines, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, k: int) -> tuple[Path, int, int, int]:
        return self.path, int(self.starts[k]), int(self.ends[k]), int(self.lines[k])


def _unit_key(rec: Any, line: int, fields: dict[str, str]) -> Any:
    """The image a record belongs to, as _record finds it (a line of its own without one)."""
    if isinstance(rec, dict):
        key, img = _pick(rec, "image", fields)
        if key:
            return _image_key(img)
    return ("record", line)


def _jsonl_images(path: Path, fields: dict[str, str]) -> tuple[_Runs, bool] | None:
    """(each image's lines, whether any record is labelled), or None when the file is to be
    read whole: an image's lines apart, fewer images than are worth batching, no record
    the reader knows (the eager path says so), or a file that cannot be read."""
    starts: list[int] = []
    ends: list[int] = []
    lines: list[int] = []
    seen: set[int] = set()  # hashes of the images met: a repeat after others means apart
    known = labelled = False
    prev: Any = object()
    offset = 0
    try:
        with path.open("rb") as fh:
            for no, line in enumerate(fh, 1):
                begin, offset = offset, offset + len(line)
                if not line.strip():
                    if ends:
                        ends[-1] = offset
                    continue
                try:
                    rec = _decode(line)
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                    rec = None
                known = known or _known(rec, fields)
                labelled = labelled or _has_label(rec, fields)
                key = _unit_key(rec, no, fields)
                if key == prev:
                    ends[-1] = offset
                    continue
                h = hash(key) if not isinstance(key, dict | list) else hash(repr(key))
                if h in seen:
                    return None  # maybe a hash collision: the eager path decides
                seen.add(h)
                prev = key
                starts.append(begin)
                ends.append(offset)
                lines.append(no)
    except (OSError, TypeError):
        return None
    if not known or len(starts) < lazy.LAZY_MIN_FILES:
        return None
    return _Runs(path, starts, ends, lines), labelled


def _read_jsonl_lazily(path: Path, where: str, fields: dict[str, str],
                       cmap: classmap.ClassMap | None, runs: _Runs,
                       labelled: bool) -> Iterator[Dataset | InputError]:
    def read_unit(b: Builder, unit: tuple[Path, int, int, int]) -> list[InputError]:
        src, start, end, first = unit
        try:
            with src.open("rb") as fh:
                fh.seek(start)
                data = fh.read(end - start)
        except OSError as exc:
            return [InputError(str(src), f"cannot read: {exc.strerror or exc}")]
        images: dict[tuple[str, Any], int] = {}
        for no, line in enumerate(data.split(b"\n"), first):
            if not line.strip():
                continue
            try:
                rec = _decode(line)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                rec = None  # one broken line: malformed-record, not the file
            _record(b, images, str(src), rec, "", no, fields, labelled)
        return []

    errors, read_any, dataset = lazy.dataset(where, NAME, cmap, runs, read_unit, counts=True)
    yield from errors
    if read_any:
        yield dataset


def _known(rec: Any, fields: dict[str, str]) -> bool:
    return isinstance(rec, dict) and any(_pick(rec, k, fields)[0] for k in FIELDS)


def _has_label(rec: Any, fields: dict[str, str]) -> bool:
    if not isinstance(rec, dict):
        return False
    if _pick(rec, "label", fields)[0] or _pick(rec, "labels", fields)[0]:
        return True
    _, anns = _pick(rec, "annotations", fields)
    return isinstance(anns, list) and any(isinstance(a, dict) and _pick(a, "label", fields)[0]
                                          for a in anns)


def _image_key(value: Any) -> Any:
    if isinstance(value, dict):  # SA-1B's image object
        for k in ("image_id", "id", "file_name"):
            if k in value and isinstance(value[k], str | int):
                return value[k]
        return repr(sorted(value.items()))[:200]
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else repr(value)


def _image_row(b: Builder, images: dict[tuple[str, Any], int], path: str, value: Any,
               pointer: str, line: int, size: tuple[Any, Any], field: str | None = None) -> int:
    """`field`: the key the image object sits under (SA-1B's `image`), for pointers."""
    key = (path, _image_key(value))
    if key in images:
        return images[key]
    name = value.get("file_name", key[1]) if isinstance(value, dict) else key[1]
    w, h = size
    quoted: list[TextNumber] = []
    if isinstance(value, dict):
        w, h = value.get("width", w), value.get("height", h)
        for dim, v in (("width", w), ("height", h)):  # "640": unknown here, MC009 says why
            quoted += scalar_text_numbers(v, f"{pointer}/{field}/{dim}", dim, integer=True)
    row = b.add_image(str(name), w, h, path, line=line, pointer=pointer, counts=(-1, -1, -1))
    b.extra_images.setdefault("text_numbers", []).append(tuple(quoted) or None)
    images[key] = row
    return row


def _record(b: Builder, images: dict[tuple[str, Any], int], path: str, rec: Any, prefix: str,
            line: int, fields: dict[str, str], labelled: bool) -> None:
    if not isinstance(rec, dict):
        row = _image_row(b, images, path, f"record {prefix or line}", prefix, line, (None, None))
        b.add_ann(row, MISSING, path, line=line, pointer=prefix, is_object=False, text_numbers=None,
                  bbox_key=None)
        return
    img_key, img = _pick(rec, "image", fields)
    lists = {k: _pick(rec, k, fields) for k in ("labels", "masks", "boxes")}
    ann_key, anns = _pick(rec, "annotations", fields)
    if any(k for k, _ in lists.values()) or isinstance(anns, list):
        img_value = img if img_key else f"record {prefix or line}"
        size = _masks_size(lists["masks"][1]) if not isinstance(anns, list) else (None, None)
        row = _image_row(b, images, path, img_value, prefix, line, size, img_key)
        if isinstance(anns, list):
            for i, a in enumerate(anns):
                _instance(b, row, path, a, f"{prefix}/{ann_key}/{i}", line, fields, labelled)
            return
        _parallel(b, row, path, lists, prefix, line, labelled)
        return
    _, mask = _pick(rec, "mask", fields)
    row = _image_row(b, images, path, img if img_key else f"record {prefix or line}", prefix,
                     line, _mask_size(mask), img_key)
    _instance(b, row, path, rec, prefix, line, fields, labelled)


def _instance(b: Builder, row: int, path: str, rec: Any, pointer: str, line: int,
              fields: dict[str, str], labelled: bool) -> None:
    if not isinstance(rec, dict):
        b.add_ann(row, MISSING, path, line=line, pointer=pointer, is_object=False, text_numbers=None,
                  bbox_key=None)
        return
    _, label = _pick(rec, "label", fields)
    if label is MISSING and not labelled:
        label = AGNOSTIC_ID  # a class-agnostic dataset (SA-1B): one foreground class
    mask_key, mask = _pick(rec, "mask", fields)
    box_key, box = _pick(rec, "bbox", fields)
    crowd, area = rec.get("iscrowd", 0), rec.get("area")
    quoted = (list_text_numbers(box, f"{pointer}/{box_key}", box_key or "bbox")  # COCO's order
              + scalar_text_numbers(area, f"{pointer}/area", "area")
              + scalar_text_numbers(crowd, f"{pointer}/iscrowd", "iscrowd", integer=True)
              + _mask_text_numbers(mask, f"{pointer}/{mask_key}", mask_key or "mask"))
    # a quoted iscrowd stays a string: unknown to the crowd rules, as in a COCO file
    b.add_ann(row, label, path, line=line, pointer=pointer, bbox=_box(box, xyxy=False),
              segmentation=_segmentation(mask),
              iscrowd=crowd if type(crowd) is int or is_number_text(crowd) else 0,
              area=area if type(area) in (int, float) else None, text_numbers=tuple(quoted) or None,
              bbox_key=box_key if box_key not in (None, "bbox") else None)


def _parallel(b: Builder, row: int, path: str, lists: dict[str, tuple[str | None, Any]],
              prefix: str, line: int, labelled: bool) -> None:
    """Per-image parallel lists: one annotation per position, counts kept for count-mismatch."""
    seqs = {k: (key, v if isinstance(v, list) else None) for k, (key, v) in lists.items()}
    counts = tuple(len(v) if v is not None else -1 for _, v in seqs.values())
    b.img["n_labels"][row], b.img["n_masks"][row], b.img["n_boxes"][row] = counts
    labels, masks, boxes = (seqs[k][1] for k in ("labels", "masks", "boxes"))
    # Only the positions every list has become instances: where the lists differ in length,
    # count-mismatch reports the sample once instead of a finding per unpaired entry.
    for key_used, value in lists.values():
        if key_used is not None and not isinstance(value, list):
            b.problems.append((f"{prefix}/{key_used}", f"{key_used!r} must be a list (one entry per "
                                                       f"instance, parallel to the other lists), got "
                                                       f"{type(value).__name__} {str(value)[:40]}"))
    present = [c for c in counts if c >= 0]
    key = next((k for k in ("labels", "masks", "boxes") if seqs[k][1] is not None), None)
    if key is None:  # no parallel list at all: reported above, nothing to pair
        return
    for i in range(min(present) if present else 0):
        label: Any = labels[i] if labels is not None else (MISSING if labelled else AGNOSTIC_ID)
        quoted: list[TextNumber] = []
        if boxes is not None:
            name = seqs["boxes"][0]
            quoted += list_text_numbers(boxes[i], f"{prefix}/{name}/{i}", f"{name}[{i}]")
        if masks is not None:
            name = seqs["masks"][0]
            quoted += _mask_text_numbers(masks[i], f"{prefix}/{name}/{i}", f"{name}[{i}]")
        b.add_ann(row, label, path, line=line, pointer=f"{prefix}/{seqs[key][0]}/{i}",
                  bbox=_box(boxes[i] if boxes is not None else None, xyxy=True),
                  segmentation=_segmentation(masks[i] if masks is not None else None),
                  text_numbers=tuple(quoted) or None, bbox_key=None)


# --------------------------------------------------------------------------------- geometry
def _box(value: Any, xyxy: bool) -> Any:
    if value is MISSING or value is None:
        return None
    if (xyxy and isinstance(value, list) and len(value) == 4
            and all(type(v) in (int, float) for v in value)):
        x0, y0, x1, y1 = value
        return [x0, y0, x1 - x0, y1 - y0]
    return value  # malformed ones are malformed-record's to report


def _is_binary_mask(value: list[Any]) -> bool:
    if not value or not all(isinstance(r, list) for r in value):
        return False
    width = len(value[0])
    return width > 0 and len(value) > 1 and all(
        len(r) == width and all((type(v) is int and v in (0, 1)) or type(v) is bool for v in r)
        for r in value)


def _segmentation(value: Any) -> bytes | None:
    """A mask in any accepted form as COCO segmentation JSON; None when there is none."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, dict):
        return msgspec.json.encode(value)  # RLE (its shape is the geometry rules' to check)
    if isinstance(value, list):
        if not value:
            return b"[]"
        if all(map(is_numberish, value)):  # numeric strings stay, for MC009 to report
            return msgspec.json.encode([value])  # one flat polygon
        if _is_binary_mask(value):
            return _encode_mask(np.array(value, dtype=np.uint8))
        if _is_pairs(value):
            return msgspec.json.encode([[c for p in value for c in p]])  # [[x, y], ...]
        return msgspec.json.encode(value)  # COCO polygons (or something the rules report)
    return msgspec.json.encode(value)


def _is_pairs(value: list[Any]) -> bool:
    return len(value) >= 3 and all(isinstance(p, list) and len(p) == 2 for p in value)


def _mask_text_numbers(value: Any, pointer: str, name: str) -> list[TextNumber]:
    """Numbers written as strings in a mask as `_segmentation` reads it: RLE size and counts,
    a flat polygon, [x, y] pairs (one field), or COCO polygons (one field each)."""
    if isinstance(value, dict):
        return rle_text_numbers(value, pointer, name)
    if not isinstance(value, list) or not any(isinstance(v, str | list) for v in value):
        return []  # the common case, a polygon of numbers, costs one pass
    if all(not isinstance(v, list) for v in value):
        return list_text_numbers(value, pointer, name)
    if _is_pairs(value):
        if not any(str in map(type, p) for p in value):
            return []
        return text_numbers(((f"{pointer}/{j}/{c}", f"{name}[{j}][{c}]", v)
                             for j, p in enumerate(value) for c, v in enumerate(p)), name)
    return [t for k, poly in enumerate(value)
            for t in list_text_numbers(poly, f"{pointer}/{k}", f"{name}[{k}]", f"polygon {k} of {name}")]


def _encode_mask(arr: np.ndarray) -> bytes:
    return geometry.rle_json(geometry.encode_mask(arr.astype(bool), *arr.shape))


def _masks_size(masks: Any) -> tuple[Any, Any]:
    """The image size the parallel `masks` state, as `_mask_size` reads one; unknown when
    none states one or two disagree (a stack of masks shares the image's size)."""
    if not isinstance(masks, list):
        return None, None
    sizes = {_mask_size(m) for m in masks} - {(None, None)}
    return sizes.pop() if len(sizes) == 1 else (None, None)


def _mask_size(mask: Any) -> tuple[Any, Any]:
    """(width, height) a mask states: RLE `size` is [height, width]; a 2D array its shape."""
    if isinstance(mask, dict):
        size = mask.get("size")
        if isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size):
            return size[1], size[0]
    if isinstance(mask, list) and _is_binary_mask(mask):
        return len(mask[0]), len(mask)
    return None, None
