"""Finding every dataset under a folder, each with its own format, and saying what was not read.

A folder may hold several datasets side by side (a VOC tree, a COCO file, a LabelMe folder).
The walk goes top-down: a folder that is the root of a folder layout (Pascal VOC, YOLO) is
claimed whole; every other file is judged on its own, JSON by its structure (never by a
substring of its first bytes), XML by its root element. LabelMe files are one dataset per
folder (a split is a folder), as are SA-1B-style one-object-per-image files. Whatever holds
no supported annotations is listed as skipped with the reason, unless another reader
(`plugins`: one with NAME and detect, not in CLASSIFIED) claims it. They are offered only what
the classified formats leave: a file none of them reads, and a folder that is no VOC or YOLO
root, which a reader that claims it owns whole, as a VOC root owns what lies below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from maskcheck import files
from maskcheck.errors import InputProblem
from maskcheck.readers import cvat, jsonio, keys, records, sa1b, voc, yolo

# Files up to this size are classified by decoding them whole (LabelMe, records, small COCO);
# a larger one (a COCO train split) by its first bytes, and its reader checks its structure.
CLASSIFY_WHOLE_BYTES = 64 * 1024**2

_JSON = (".json", ".json.gz")
_JSONL = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
# what `maskcheck fix` writes beside a file it deleted records from (fix/run.py)
_SIDECAR = re.compile(r"\.removed(\.\d+)?\.json$")
_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".7z", ".rar")
CLASS_MAP_NAMES = frozenset({"labels.txt", "classes.txt", "class_names.txt", "labelmap.txt",
                             "obj.names", "classes.names"})
CONFIG_NAMES = frozenset({"maskcheck.yaml", "maskcheck.yml", ".maskcheck.yaml", ".maskcheck.yml"})
# The formats classify_file (and their folder roots) recognise by structure; every other
# reader, built-in or plugin, is asked through its own detect() for what these leave.
CLASSIFIED = frozenset({"voc", "cvat", "yolo", "labelme", "records", "coco", "sa1b"})


@dataclass
class Claim:
    """One dataset to read: a format and its path (a file or a folder), or a group of files."""

    format: str
    path: Path
    files: list[Path] | None = None


@dataclass
class Found:
    claims: list[Claim] = field(default_factory=list)
    skipped: list[files.Skipped] = field(default_factory=list)
    errors: list[InputProblem] = field(default_factory=list)


# ------------------------------------------------------------------------------- JSON
# Classification decodes the top level only, keeping every value as a raw byte slice: it is
# fast, and a value that a strict decoder refuses (1e999) is left for the rules to report.
_Top = dict[str, msgspec.Raw]


def _raw_kind(raw: msgspec.Raw) -> bytes:
    return memoryview(raw)[:1].tobytes()


def _first_object(raw: msgspec.Raw) -> _Top | None:
    """The first element of a raw JSON list that is an object, as raw key -> value."""
    if _raw_kind(raw) != b"[":
        return None
    for item in msgspec.json.decode(raw, type=list[msgspec.Raw])[:1000]:
        if _raw_kind(item) == b"{":
            return msgspec.json.decode(item, type=_Top)
    return None


def coco_structure(doc: _Top) -> bool:
    """COCO by structure: an `annotations` list of annotation objects, or images + categories."""
    anns, imgs, cats = doc.get("annotations"), doc.get("images"), doc.get("categories")
    is_list = {k: v is not None and _raw_kind(v) == b"[" for k, v in
               (("annotations", anns), ("images", imgs), ("categories", cats))}
    if is_list["annotations"]:
        first = _first_object(anns)
        if first is None:
            return is_list["images"] or is_list["categories"]
        return any(k in first for k in ("image_id", "category_id", "bbox", "segmentation", "iscrowd"))
    return is_list["images"] and is_list["categories"]


def _respelled(doc: _Top, expected: tuple[str, ...]) -> _Top:
    """`doc` with its misspelled keys under the names they stand for."""
    typos = keys.misspellings(doc, expected, cutoff=0.75)
    return {typos.get(k, k): v for k, v in doc.items()} if typos else doc


def _looks_like_labelme(doc: _Top) -> bool:
    return "shapes" in doc and any(k in doc for k in ("imagePath", "imageHeight", "imageWidth",
                                                       "imageData"))


def _looks_like_sa1b(doc: _Top) -> bool:
    image, anns = doc.get("image"), doc.get("annotations")
    return (image is not None and _raw_kind(image) == b"{" and anns is not None
            and _raw_kind(anns) == b"[" and "images" not in doc)


def _keys(doc: _Top) -> str:
    keys = [repr(k) for k in list(doc)[:6]]
    return ", ".join(keys) + (", ..." if len(doc) > 6 else "") if keys else "none"


def classify_json(path: Path, where: str, fields: dict[str, str] | None = None,
                  named: bool = False) -> tuple[str | None, str]:
    """(format, "") for a JSON annotation file, or (None, why it is not one).

    `named`: the user named this file, so a list of objects goes to the records reader,
    which says precisely what its records lack. Raises InputProblem for a file that cannot
    be read or is not JSON at all.
    """
    name = path.name.lower()
    if _SIDECAR.search(name):
        return None, "maskcheck fix's record of what it deleted (FILE.removed.json), not a dataset"
    if name.endswith(_JSONL):
        return "records", ""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if size > CLASSIFY_WHOLE_BYTES and not name.endswith(".gz"):
        head = files.read_head(path).lstrip()
        if head.startswith(b"["):
            return "records", ""
        return ("coco", "") if head.startswith(b"{") else (None, "not a JSON document")
    data = jsonio.read_bytes(path) if name.endswith(".gz") else files.read_bytes(path, where)
    stripped = data.lstrip()
    if stripped[:1] not in (b"{", b"["):  # empty, binary, a BOM, UTF-16: say which
        raise jsonio.syntax_problem(where, data)
    problem = jsonio.encoding_problem(data)
    if problem is not None:
        raise InputProblem(where, problem)
    if stripped.startswith(b"{") and records._is_jsonl(stripped[:1 << 16]):
        return "records", ""
    is_list = stripped.startswith(b"[")
    try:
        if is_list:
            items = msgspec.json.decode(data, type=list[msgspec.Raw])
        else:
            doc = msgspec.json.decode(data, type=_Top)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        jsonio.decode(where, data)  # raises the syntax problem with its line and column
        return None, "not a JSON object or list"
    if is_list:
        objects = [msgspec.json.decode(r, type=_Top) for r in items[:1000] if _raw_kind(r) == b"{"]
        if objects and (named or any(records._known(r, fields or {}) for r in objects)):
            return "records", ""
        if not items:
            return None, "an empty JSON list"
        return None, ("a JSON list, but not of annotation records (no image, label, mask or box "
                      "field)" if objects else "a JSON list of values, not of annotation records")
    if _looks_like_labelme(doc) or _looks_like_labelme(_respelled(doc, keys.LABELME_TOP)):
        return "labelme", ""
    if _looks_like_sa1b(doc):  # before COCO: its annotations look like COCO's
        # SAM's own keys (predicted_iou, point_coords...): SA-1B; else records nesting instances
        return ("sa1b" if sa1b.is_sa1b_head(stripped[:1 << 14]) else "records-object"), ""
    if coco_structure(doc) or coco_structure(_respelled(doc, keys.COCO_TOP)):
        return "coco", ""  # misspelled keys ("annotation") are the COCO reader's to report
    if any(k in doc for k in ("images", "annotations", "categories")):
        return None, (f"JSON that mentions COCO's keys but is not COCO (top-level keys: {_keys(doc)}; "
                      "COCO has an 'annotations' list of objects with image_id and category_id, "
                      "or 'images' and 'categories' lists)")
    return None, f"JSON, but not a supported annotation format (top-level keys: {_keys(doc)})"


# ------------------------------------------------------------------------------- one file
def classify_file(path: Path, fields: dict[str, str] | None = None,
                  named: bool = False) -> tuple[str | None, str]:
    """(format, "") or (None, reason) for one file named directly or met in a walk."""
    where = str(path)
    problem = files.regular_file_problem(path)
    if problem is not None:
        raise InputProblem(where, problem)
    name = path.name.lower()
    if name.endswith(_JSON + _JSONL):
        return classify_json(path, where, fields, named)
    if name.endswith(".xml"):
        if cvat._is_cvat_xml(path):
            return "cvat", ""
        if voc._is_voc_xml(path):
            return "voc", ""
        return None, "XML, but neither CVAT for images nor Pascal VOC"
    if name.endswith((".yaml", ".yml")):
        if yolo._looks_like_yolo_yaml(path):
            return "yolo", ""
        return None, "YAML, but not a YOLO data.yaml (no names or nc beside train/val paths)"
    if name.endswith(".tar") and sa1b.is_shard(path):
        return "sa1b", ""  # read in place, member by member, never extracted
    if name.endswith(_ARCHIVES):
        return None, "an archive: maskcheck does not open archives; extract it first"
    return None, "not an annotation file (looked for COCO, LabelMe and records JSON, CVAT and VOC XML)"


# ------------------------------------------------------------------------------- folders
def _is_candidate(path: Path) -> bool:
    """Files whose name says they may hold annotations: listed when nothing reads them."""
    name = path.name.lower()
    if name in CLASS_MAP_NAMES or name in CONFIG_NAMES:
        return False
    return name.endswith(_JSON + _JSONL + _ARCHIVES + (".xml", ".yaml", ".yml", ".txt"))


def plugin_claim(path: Path, plugins: Sequence[Any]) -> str | None:
    """The NAME of the first plugin reader whose `detect` claims `path`, or None.

    A plugin's detect that raises is an InputProblem naming the file and the plugin: the
    other inputs are still read.
    """
    for reader in plugins:
        try:
            if reader.detect(path):
                return str(reader.NAME)
        except Exception as exc:  # third-party code: name it, never a traceback
            raise InputProblem(str(path), f"the {reader.NAME!r} reader plugin failed to detect "
                                          f"its format: {type(exc).__name__}: {exc}") from None
    return None


def discover(root: Path, roots: dict[str, Callable[[Path], bool]],
             fields: dict[str, str] | None = None, plugins: Sequence[Any] = ()) -> Found:
    """Every dataset under `root`. `roots` maps a folder layout's format to its root test;
    `plugins` are the other readers, offered each folder and file the classified formats leave."""
    found = Found()
    walk = files.walk(root)
    found.skipped.extend(walk.skipped)
    owned: set[Path] = set()  # roots of folder layouts: everything below them is theirs

    def under_owned(p: Path) -> bool:
        return p in owned or not owned.isdisjoint(p.parents)

    def offered(p: Path) -> str | None:  # a plugin's claim, or an error noted for the file
        try:
            return plugin_claim(p, plugins) if plugins else None
        except InputProblem as exc:
            found.errors.append(exc)
            return None

    def offer_file(p: Path, skip_reason: str | None) -> None:  # no built-in format claims it
        fmt = offered(p)
        if fmt is not None:
            found.claims.append(Claim(fmt, p))
        elif skip_reason is not None:
            found.skipped.append(files.Skipped(str(p), skip_reason))

    for folder in [root, *walk.dirs]:
        if under_owned(folder):
            continue
        for fmt, is_root in roots.items():
            if is_root(folder):
                found.claims.append(Claim(fmt, folder))
                owned.add(folder)
                break
        else:
            fmt = offered(folder)
            if fmt is not None:
                found.claims.append(Claim(fmt, folder))
                owned.add(folder)
    groups: dict[tuple[str, Path], list[Path]] = {}
    sa1b_found = False
    for path in walk.files:
        if under_owned(path):
            continue
        if not _is_candidate(path):
            offer_file(path, None)  # not listed as skipped: its name says it is no annotation
            continue
        name = path.name.lower()
        if name.endswith(".txt"):
            offer_file(path, "a text file outside any YOLO or VOC dataset (no data.yaml or "
                             "labels/ beside images/)")
            continue
        try:
            fmt, reason = classify_file(path, fields)
        except InputProblem as exc:
            found.errors.append(exc)
            continue
        if fmt is None:
            offer_file(path, reason)
        elif fmt in ("labelme", "records-object"):  # one dataset per folder of such files
            groups.setdefault((fmt, path.parent), []).append(path)
        elif fmt == "sa1b":  # shards and shard folders are one dataset: ids span them
            sa1b_found = True
        else:
            found.claims.append(Claim(fmt, path))
    for (fmt, folder), members in groups.items():
        if sa1b_found and fmt == "records-object":  # SA-1B's images without masks are its own
            members = [p for p in members if not sa1b.sniff(p, among_sa1b=True)]
            if not members:
                continue
        found.claims.append(Claim(fmt, folder, members))
    if sa1b_found:  # its reader lists the folder's SA-1B files and shards again, by itself
        found.claims.append(Claim("sa1b", root))
    found.claims.sort(key=lambda c: str(c.path))
    return found
