"""COCO instances files (.json, .json.gz) into columnar batches.

msgspec decodes straight into slotted structs that keep only the fields rules read; each
segmentation stays a raw byte slice of the file until a geometry rule asks for it. The
reader never stops at a bad record: a record that is not an object, a missing field or a
value of the wrong type becomes a row with an `ok` mask and a `raw_` column that rules
report with its JSON pointer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain, repeat
from operator import attrgetter, is_not
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np

from maskcheck import files
from maskcheck.columns import (
    MISSING,
    box_column,
    float_column,
    int_column,
    object_column,
    text_number_column,
)
from maskcheck.errors import InputProblem, NotThisFormat
from maskcheck.ids import dict_key_ids
from maskcheck.model import Dataset, DatasetInfo, InputError, SegKind, Table
from maskcheck.readers import jsonio, keys

_U: Any = msgspec.UNSET
_NO_RAW = msgspec.Raw()


class _Ann(msgspec.Struct, gc=False):
    id: Any = _U
    image_id: Any = _U
    category_id: Any = _U
    bbox: Any = _U
    area: Any = _U
    iscrowd: Any = _U
    segmentation: msgspec.Raw = _NO_RAW


class _Img(msgspec.Struct, gc=False):
    id: Any = _U
    file_name: Any = _U
    width: Any = _U
    height: Any = _U


class _Doc(msgspec.Struct):
    images: msgspec.Raw = _NO_RAW
    annotations: msgspec.Raw = _NO_RAW
    categories: msgspec.Raw = _NO_RAW


# The fast path: a clean file decoded in one pass straight into typed records (half the time
# of the raw sections and then the loosely typed records below). Every field is required
# and every number typed and bounded as the column builders' own fast paths would take it,
# so a file this decodes gives the very tables the general path gives; any other file
# (a missing key, a string id, 1e999, a syntax error) fails it and takes the general path.
_I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# bounded like the ints: beyond, numpy's own conversions take other paths (object arrays)
_NUM = Annotated[float, msgspec.Meta(ge=-(2**63), lt=2**63)]


class _CleanAnn(msgspec.Struct, gc=False):
    id: _I64
    image_id: _I64
    category_id: _I64
    bbox: tuple[_NUM, _NUM, _NUM, _NUM]
    area: _NUM
    iscrowd: _I64
    segmentation: msgspec.Raw


class _CleanImg(msgspec.Struct, gc=False):
    id: _I64
    file_name: Any
    width: _NUM
    height: _NUM


class _CleanDoc(msgspec.Struct, gc=False):
    images: list[_CleanImg]
    annotations: list[_CleanAnn]
    categories: msgspec.Raw


COCO_KEYS = ("images", "annotations", "categories")
REQUIRED_ANN = ("id", "image_id", "category_id")
REQUIRED_IMG = ("id", "file_name", "width", "height")
REQUIRED_CAT = ("id", "name")


NAME = "coco"
LABEL = "COCO (.json, .json.gz)"  # what `maskcheck lint --help` says it reads
_SUFFIXES = (".json", ".json.gz")


def _is_json_name(path: Path) -> bool:
    return path.name.lower().endswith(_SUFFIXES)


def detect(path: Path) -> bool:
    """A .json/.json.gz file whose first bytes hold a COCO key, or a folder holding one."""
    if path.is_dir():
        return any(_sniff(p) for p in _json_files(path)[:50])
    return _is_json_name(path) and _sniff(path)


def _sniff(path: Path) -> bool:
    if not files.is_regular_file(path):
        return False  # a FIFO or device is never opened
    try:
        if path.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as fh:
                head = fh.read(1 << 16)
        else:
            head = files.read_head(path)
    except (OSError, EOFError):
        return True  # unreadable: let read() report it with the reason
    stripped = head.lstrip()
    if not stripped.startswith(b"{"):
        # A JSON array is some other format (records). Anything else (empty, binary) is no
        # format at all, and the COCO reader is the one to explain what is wrong with it.
        return not stripped.startswith(b"[")
    return any(b'"%s"' % k.encode() in head for k in COCO_KEYS)


def _json_files(folder: Path) -> list[Path]:
    return [p for p in files.walk(folder).files if _is_json_name(p)]


def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    """A COCO file, or every COCO file in a folder (other JSON there is left alone)."""
    if not path.is_dir():
        try:
            yield read_file(path, str(path))
        except InputProblem as exc:
            yield InputError(exc.path, exc.message)
        return
    try:
        files = _json_files(path)
    except OSError as exc:
        yield InputError(str(path), f"cannot list the folder: {exc.strerror or exc}")
        return
    read_any = False
    for file in files:
        try:
            yield read_file(file, str(file))
            read_any = True
        except NotThisFormat:
            continue  # some other JSON (a config, a LabelMe file): not ours to judge here
        except InputProblem as exc:
            read_any = True
            yield InputError(exc.path, exc.message)
    if not read_any:
        yield InputError(str(path), "no COCO annotation files (*.json, *.json.gz) in this folder")


def looks_like_coco(doc: Any) -> bool:
    return isinstance(doc, _Doc) and any(len(getattr(doc, k)) for k in COCO_KEYS)


def _document(top: dict[str, msgspec.Raw]) -> tuple[_Doc, dict[str, str]]:
    """The three sections, each read under its misspelling when only that is there
    ("annotation" for "annotations"): the file is linted as meant, and the key reported."""
    typos = keys.misspellings(top, COCO_KEYS, cutoff=0.75)
    spelled = {want: written for written, want in typos.items()}
    doc = _Doc(**{k: top.get(spelled.get(k, k), _NO_RAW) for k in COCO_KEYS})
    return doc, spelled


def read_file(path: Path, display: str | None = None) -> Dataset:
    """Read one COCO file. Raises InputProblem when it is not JSON or not a COCO document."""
    where = display or str(path)
    data = jsonio.read_bytes(path)
    clean = _clean_document(data)
    if clean is not None and clean.annotations:  # (no annotations: the general path's columns)
        return _read_clean(clean, where, data)
    try:
        doc, spelled = _document(jsonio.decode(where, data, dict[str, msgspec.Raw]))
    except msgspec.ValidationError:
        kind = type(msgspec.json.decode(data)).__name__
        raise NotThisFormat(where, f"not a COCO document: the top level is a JSON {_json_kind(kind)}, "
                                  "expected an object with images, annotations and categories") from None
    if not looks_like_coco(doc):
        raise NotThisFormat(where, "not a COCO document: no images, annotations or categories key")
    try:
        return from_document(doc, where, spelled)
    except (msgspec.DecodeError, UnicodeDecodeError):  # strings are checked lazily
        raise jsonio.syntax_problem(where, data) from None
    except RecursionError:
        raise jsonio.too_deep(where) from None


def _read_clean(clean: _CleanDoc, where: str, data: bytes) -> Dataset:
    try:
        return _from_clean(clean, where)
    except (msgspec.DecodeError, UnicodeDecodeError):  # strings are checked lazily
        raise jsonio.syntax_problem(where, data) from None
    except RecursionError:
        raise jsonio.too_deep(where) from None


def _clean_document(data: bytes) -> _CleanDoc | None:
    """The file as a clean COCO document, or None when it is anything else."""
    try:
        return msgspec.json.decode(data, type=_CleanDoc)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # ValidationError too
        return None


def _from_clean(doc: _CleanDoc, where: str) -> Dataset:
    """`from_document` for a clean document: the same tables, built without the checks its
    type already made (every record an object holding every key, every number in range).
    Nothing can be misspelled: every key a record is checked for is there."""
    problems: list[tuple[str, str]] = []
    images = _clean_images_table(doc.images)
    anns = _clean_anns_table(doc.annotations)
    cats = _categories_table(doc.categories, len(anns) > 0, problems)
    info = DatasetInfo(path=where, format="coco", categories=cats,
                       num_images=len(images), num_annotations=len(anns), problems=problems,
                       image_section="images", annotation_section="annotations",
                       category_section="categories", misspelled=[])
    return Dataset.from_tables(info, images, anns, _resolve_images(images, anns))


def _ints(records: list[Any], name: str) -> np.ndarray:
    return np.fromiter(map(attrgetter(name), records), dtype=np.int64, count=len(records))


def _floats(records: list[Any], name: str) -> np.ndarray:
    return np.fromiter(map(attrgetter(name), records), dtype=np.float64, count=len(records))


def _clean_images_table(imgs: list[_CleanImg]) -> Table:
    """`_images_table` of clean records: the same columns, in the same order."""
    n = len(imgs)
    yes = np.ones(n, dtype=bool)
    cols: dict[str, np.ndarray] = {"index": np.arange(n, dtype=np.int64), "is_object": yes.copy()}
    cols["id"], cols["id_ok"] = _ints(imgs, "id"), yes.copy()
    cols["width"], cols["height"] = _floats(imgs, "width"), _floats(imgs, "height")
    cols["file_name"] = object_column(_field(imgs, "file_name"))
    for name in REQUIRED_IMG:
        cols["has_" + name] = yes.copy()
    return Table(cols)


def _clean_anns_table(anns: list[_CleanAnn]) -> Table:
    """`_anns_table` of clean records: the same columns, in the same order."""
    n = len(anns)
    yes = np.ones(n, dtype=bool)
    cols: dict[str, np.ndarray] = {"index": np.arange(n, dtype=np.int64), "is_object": yes.copy()}
    for name in REQUIRED_ANN:
        cols[name], cols[name + "_ok"], cols["has_" + name] = _ints(anns, name), yes.copy(), yes.copy()
    boxes = chain.from_iterable(map(attrgetter("bbox"), anns))
    cols["bbox"] = np.fromiter(boxes, dtype=np.float64, count=4 * n).reshape(n, 4)
    cols["has_bbox"] = yes.copy()
    cols["area"] = _floats(anns, "area")
    cols["iscrowd"], cols["iscrowd_ok"], cols["has_iscrowd"] = _ints(anns, "iscrowd"), yes.copy(), yes.copy()
    segs = _field(anns, "segmentation")
    cols["seg_kind"] = _seg_kinds(segs)
    cols["segmentation"] = object_column(segs)
    return Table(cols)


def _json_kind(pytype: str) -> str:
    return {"list": "array", "dict": "object", "str": "string", "int": "number",
            "float": "number", "bool": "boolean", "NoneType": "null"}.get(pytype, pytype)


def _section(doc: _Doc, name: str, struct: type, problems: list[tuple[str, str]],
             key: str | None = None) -> list[Any]:
    """Decode a top-level list; elements that are not objects become None. `key`: the
    section's key as the file spells it, for messages."""
    raw = getattr(doc, name)
    name = key or name
    if not len(raw):
        return []  # an image-info file (test-dev) legitimately has no annotations
    try:
        return msgspec.json.decode(raw, type=list[struct])
    except msgspec.ValidationError:
        pass
    try:
        items = msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        kind = _json_kind(type(msgspec.json.decode(raw)).__name__)
        problems.append((f"/{name}", f"{name!r} must be a list of objects, got a JSON {kind}"))
        return []
    dec = msgspec.json.Decoder(struct)
    out: list[Any] = []
    for item in items:
        try:
            out.append(dec.decode(item))
        except msgspec.ValidationError:
            out.append(_out_of_range(item, struct))
    return out


def _out_of_range(item: msgspec.Raw, struct: type) -> Any:
    """A record msgspec refused: None when it is not an object; else read again with json,
    which reads a number out of float range (1e999) as inf, as training code's json.load
    does, so the rules see the value instead of a record that "cannot be read"."""
    try:
        fields = msgspec.json.decode(item, type=dict[str, msgspec.Raw])
    except msgspec.ValidationError:
        return None
    raw_kept = {f for f, t in struct.__annotations__.items() if t in (msgspec.Raw, "msgspec.Raw")}
    return struct(**{k: v if k in raw_kept else json.loads(bytes(v))
                     for k, v in fields.items() if k in struct.__struct_fields__})


def _field(records: list[Any], name: str) -> list[Any]:
    """One field of every record; MISSING (msgspec.UNSET) where absent or not an object."""
    get = attrgetter(name)
    if None not in records:
        return list(map(get, records))
    return [MISSING if r is None else get(r) for r in records]


def _present(values: list[Any]) -> np.ndarray:
    # a C-level map, not a generator: 0.03 s instead of 0.1 s on 860k annotations
    return np.fromiter(map(is_not, values, repeat(MISSING)), dtype=bool, count=len(values))


_HEAD_KIND = {ord("["): SegKind.POLYGONS, ord("{"): SegKind.RLE, ord("n"): SegKind.MISSING}


def _seg_kind(raw: msgspec.Raw) -> int:
    n = len(raw)
    if not n:
        return SegKind.MISSING
    kind = _HEAD_KIND.get(memoryview(raw)[0], SegKind.OTHER)
    if kind == SegKind.POLYGONS and n < 16 and bytes(raw).translate(None, b" \t\r\n") == b"[]":
        return SegKind.EMPTY
    return kind


_KIND_OF_HEAD = np.full(256, SegKind.OTHER, dtype=np.uint8)
for _head, _kind in _HEAD_KIND.items():
    _KIND_OF_HEAD[_head] = _kind


_HEADS_AT_ONCE = 4096


def _seg_kinds(segs: list[msgspec.Raw]) -> np.ndarray:
    """`_seg_kind` of every segmentation, on whole arrays: the first byte and the length of
    each raw slice, looked up; only short `[`-slices, which may be `[]`, are looked at one by
    one. 0.11 s instead of 0.7 s on 860k annotations."""
    n = len(segs)
    lengths = np.fromiter(map(len, segs), dtype=np.int64, count=n)
    if not n:
        return np.zeros(0, dtype=np.uint8)
    if (lengths == 0).any():  # an empty slice has no first byte
        return np.fromiter(map(_seg_kind, segs), dtype=np.uint8, count=n)
    # each slice's first byte, read from a few thousand slices joined at a time: copying
    # the bytes costs less than a memoryview per slice (0.08 s instead of 0.18 s)
    heads = np.empty(n, dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    for i in range(0, n, _HEADS_AT_ONCE):
        j = min(n, i + _HEADS_AT_ONCE)
        heads[i:j] = np.frombuffer(b"".join(segs[i:j]), dtype=np.uint8)[starts[i:j] - starts[i]]
    kinds = _KIND_OF_HEAD[heads]
    for i in np.flatnonzero((kinds == SegKind.POLYGONS) & (lengths < 16)).tolist():
        kinds[i] = _seg_kind(segs[i])
    return kinds


def _images_table(imgs: list[Any]) -> Table:
    n = len(imgs)
    cols: dict[str, np.ndarray] = {"index": np.arange(n, dtype=np.int64)}
    cols["is_object"] = np.array([r is not None for r in imgs], dtype=bool)
    cols.update(int_column(_field(imgs, "id"), "id"))
    cols.update(float_column(_field(imgs, "width"), "width"))
    cols.update(float_column(_field(imgs, "height"), "height"))
    cols["file_name"] = object_column(_field(imgs, "file_name"))
    for name in REQUIRED_IMG:
        cols["has_" + name] = _present(_field(imgs, name))
    found = text_number_column("images", cols, ("width", "height"), integer=("width", "height"))
    if found is not None:  # "640": number-as-string reports it, malformed-record does not
        cols["text_numbers"] = found
    return Table(cols)


def _anns_table(anns: list[Any]) -> Table:
    n = len(anns)
    cols: dict[str, np.ndarray] = {"index": np.arange(n, dtype=np.int64)}
    cols["is_object"] = np.array([r is not None for r in anns], dtype=bool)
    for name in REQUIRED_ANN:
        values = _field(anns, name)
        cols.update(int_column(values, name))
        cols["has_" + name] = _present(values)
    cols.update(box_column(_field(anns, "bbox")))
    cols.update(float_column(_field(anns, "area"), "area"))
    values = _field(anns, "iscrowd")
    cols.update(int_column(values, "iscrowd"))
    cols["has_iscrowd"] = _present(values)
    segs = _field(anns, "segmentation")
    if None in anns:
        segs = [_NO_RAW if s is MISSING else s for s in segs]
    cols["seg_kind"] = _seg_kinds(segs)
    cols["segmentation"] = object_column(segs)
    # strings inside segmentations are found where geometry decodes them, lazily
    found = text_number_column("annotations", cols, ("bbox", "area", "iscrowd"), integer=("iscrowd",))
    if found is not None:
        cols["text_numbers"] = found
    return Table(cols)


def _categories_table(raw: msgspec.Raw, has_annotations: bool,
                      problems: list[tuple[str, str]]) -> Table:
    try:
        cats: Any = msgspec.json.decode(raw) if len(raw) else []
    except msgspec.ValidationError:  # a number out of float range (1e999): json reads inf
        cats = json.loads(bytes(raw))
    if not isinstance(cats, list):
        problems.append(("/categories", f"'categories' must be a list of objects, got a JSON "
                                        f"{_json_kind(type(cats).__name__)}"))
        cats = []
    if not len(raw) and has_annotations:
        problems.append(("", "the document has no 'categories' list: class ids cannot be mapped"))
    objs = [c if isinstance(c, dict) else None for c in cats]
    n = len(objs)
    cols: dict[str, np.ndarray] = {"index": np.arange(n, dtype=np.int64)}
    cols["is_object"] = np.array([c is not None for c in objs], dtype=bool)
    cols.update(int_column([MISSING if c is None else c.get("id", MISSING) for c in objs], "id"))
    cols["name"] = object_column([MISSING if c is None else c.get("name", MISSING) for c in objs])
    # a category every other one names as supercategory is a group (Roboflow's id 0)
    cols["supercategory"] = object_column(
        [MISSING if c is None else c.get("supercategory", MISSING) for c in objs])
    cols["has_id"] = np.array([c is not None and "id" in c for c in objs], dtype=bool)
    cols["has_name"] = np.array([c is not None and "name" in c for c in objs], dtype=bool)
    return Table(cols)


def _resolve_images(images: Table, anns: Table) -> np.ndarray:
    """Each annotation's image row (-1 when no image has its image_id).

    Integer ids (and integral floats: image 1.0 is image 1 in a dict) match through a
    sorted search; other ids (strings, say) match only an image id of the same type and
    value, as a Python dict lookup would in pycocotools.
    """
    rows = np.full(len(anns), -1, dtype=np.int64)
    img_ids, img_ok = dict_key_ids(images, "id")
    ok_rows = np.flatnonzero(img_ok)
    if len(ok_rows):
        order = ok_rows[np.argsort(img_ids[ok_rows], kind="stable")]
        keys = img_ids[order]
        want = anns.image_id
        pos = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
        hit = anns.image_id_ok & (keys[pos] == want)
        rows[hit] = order[pos[hit]]
    raw_ann = anns.get("raw_image_id")
    if raw_ann is not None:  # rare: some image_id is not an int; do what a dict lookup does
        lookup: dict[Any, int] = {}
        raw_img = images.get("raw_id")
        for i in range(len(images) - 1, -1, -1):  # first record wins, as in the int path
            v = images.id[i] if images.id_ok[i] else (raw_img[i] if raw_img is not None else None)
            if isinstance(v, str | int | float | np.integer):
                lookup[v.item() if isinstance(v, np.integer) else v] = i
        for i in np.flatnonzero([v is not None for v in raw_ann]).tolist():
            v = raw_ann[i]
            if isinstance(v, str | int | float):  # 1.0 finds image 1, "1" only "1"
                rows[i] = lookup.get(v, -1)
    return rows


def from_document(doc: _Doc, where: str, spelled: dict[str, str] | None = None) -> Dataset:
    """`spelled`: section -> the misspelled key it was read under (pointers follow it)."""
    spelled = spelled or {}
    section = {k: spelled.get(k, k) for k in COCO_KEYS}
    problems: list[tuple[str, str]] = []
    images = _images_table(_section(doc, "images", _Img, problems, section["images"]))
    anns = _anns_table(_section(doc, "annotations", _Ann, problems, section["annotations"]))
    cats = _categories_table(doc.categories, len(anns) > 0, problems)
    info = DatasetInfo(path=where, format="coco", categories=cats,
                       num_images=len(images), num_annotations=len(anns), problems=problems,
                       image_section=section["images"], annotation_section=section["annotations"],
                       category_section=section["categories"],
                       misspelled=[(f"/{written}", written, want) for want, written in spelled.items()])
    images = _with_typos(doc.images, images, keys.COCO_IMAGE, _lacks(images, REQUIRED_IMG))
    lacks = _lacks(anns, REQUIRED_ANN) | (anns.is_object & (anns.seg_kind == SegKind.MISSING)
                                          & ~anns.has_bbox)
    anns = _with_typos(doc.annotations, anns, keys.COCO_ANNOTATION, lacks)
    image_row = _resolve_images(images, anns)
    return Dataset.from_tables(info, images, anns, image_row)


# A misspelled record key is systematic (one exporter wrote every record): the first records
# and those lacking a key are looked at, and all of them only when those show a misspelling.
_TYPO_SAMPLE = 100
_TYPO_PREFIX = 1 << 20


def _lacks(table: Table, required: tuple[str, ...]) -> np.ndarray:
    lacking = np.zeros(len(table), dtype=bool)
    for name in required:
        lacking |= ~table["has_" + name]
    return table.is_object & lacking


def _first_keys(raw: msgspec.Raw, count: int) -> list[Any]:
    """The keys of the first `count` records of a raw JSON list, read from its first bytes
    only (a whole-list decode would cost a tenth of the read on a COCO-train file)."""
    text = bytes(memoryview(raw)[:_TYPO_PREFIX]).decode("utf-8", "replace")
    dec, out, i = json.JSONDecoder(), [], text.find("[") + 1
    while i and len(out) < count:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        try:
            value, i = dec.raw_decode(text, i)
        except ValueError:  # the list's end, or the prefix cut a record
            break
        out.append(list(value) if isinstance(value, dict) else None)
    return out


def _with_typos(raw: msgspec.Raw, table: Table, expected: tuple[str, ...],
                suspect: np.ndarray) -> Table:
    """`table` with a `misspelled` column (None, or ((written, meant), ...) per record)."""
    n = len(table)
    if not n or not len(raw):
        return table
    found: dict[int, tuple[tuple[str, str], ...]] = {}
    for r, names in enumerate(_first_keys(raw, min(n, _TYPO_SAMPLE))):
        typos = keys.misspellings(names, expected) if names is not None else {}
        if typos:
            found[r] = tuple(typos.items())
    if not found and not suspect.any():
        return table  # the common case: nothing decoded beyond the first records
    items = msgspec.json.decode(raw, type=list[msgspec.Raw])
    rows = np.arange(n) if found else np.flatnonzero(suspect)
    for r in rows.tolist():
        if r in found or not table.is_object[r]:
            continue
        typos = keys.misspellings(msgspec.json.decode(items[r], type=dict[str, msgspec.Raw]), expected)
        if typos:
            found[r] = tuple(typos.items())
    if not found:
        return table
    column = np.full(n, None, dtype=object)
    for r, pairs in found.items():
        column[r] = pairs
    return table.with_columns(misspelled=column)
