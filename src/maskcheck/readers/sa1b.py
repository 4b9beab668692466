"""SA-1B (Segment Anything): one JSON per image, in folders or in `.tar` shards, read in place.

Each file is `{"image": {image_id, width, height, file_name}, "annotations": [{id,
segmentation: COCO RLE, area, bbox, predicted_iou, stability_score, crop_box, point_coords}]}`.
The masks have no class (DatasetInfo.class_agnostic). A path is a folder of such files
(shard folders below it included), one file, a `.tar` shard or a folder of shards; it is one
dataset. Only the list of sources is made up front (a tar's member headers, kept in about
30 bytes an image: Sources); the files are read as the batches are drawn, `batch_size`
images at a time (64 by default), so the memory beyond that listing is the batch's, not the
dataset's (11M images, 1.1B masks).

Tar members are read by offset from the shard, never extracted: only regular members, whose
names are never used as paths on disk, each at most MAX_MEMBER_BYTES. A member that cannot be
read is one InputError naming `shard.tar:member.json`, and the others are still read.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from maskcheck import files
from maskcheck.columns import MISSING, object_column
from maskcheck.errors import InputProblem
from maskcheck.model import Batch, Dataset, DatasetInfo, InputError, Location, Table
from maskcheck.readers import jsonio
from maskcheck.readers.builder import Builder

NAME = "sa1b"
LABEL = "SA-1B JSON (folders or .tar shards)"  # what `maskcheck lint --help` says it reads
MAX_MEMBER_BYTES = 64 * 1024**2  # an SA-1B image's JSON is a few MB; more is not one
# Images per batch by default: SA-1B's ~100 masks an image make 6,400 masks a batch. On
# 4,000 bench images this peaks at 106 MiB against 549 MiB with the engine's 4,096
BATCH_IMAGES = 64
AGNOSTIC_ID = 1  # the one foreground class SAM trains, as the records reader gives it
_U: Any = msgspec.UNSET
_NULL = msgspec.Raw(b"null")
_SA_OBJECT = re.compile(rb'"image"\s*:\s*\{')
_NO_ANNS = re.compile(rb'"annotations"\s*:\s*\[\s*\]')
# Keys only SAM's output has: they tell SA-1B apart from records that nest their instances
_SAM_KEYS = (b'"predicted_iou"', b'"stability_score"', b'"point_coords"', b'"crop_box"')


class _Image(msgspec.Struct):
    image_id: Any = _U
    width: Any = _U
    height: Any = _U
    file_name: Any = _U


class _Ann(msgspec.Struct, gc=False):
    id: Any = _U
    segmentation: msgspec.Raw = _NULL
    area: Any = None
    bbox: Any = _U
    predicted_iou: Any = _U
    stability_score: Any = _U
    crop_box: Any = _U
    point_coords: Any = _U


class _File(msgspec.Struct):
    image: Any = _U
    annotations: msgspec.Raw = msgspec.Raw(b"[]")


_DEC = msgspec.json.Decoder(_File)
_ANNS = msgspec.json.Decoder(list[_Ann])


@dataclass(frozen=True, slots=True)
class Source:
    """One image's JSON: a file on disk, or a member of a shard (`member` set) at `offset`."""

    path: Path
    member: str | None = None
    offset: int = 0
    size: int = 0

    @property
    def where(self) -> str:
        return f"{self.path}:{self.member}" if self.member is not None else str(self.path)


class Sources:
    """Every image's JSON in listing order, kept compact: per tar or folder, the member or
    file names as one fixed-width bytes array and the members' offsets and sizes, about 31
    bytes an image (340 MiB for SA-1B's 11M) where Source objects take 200 to 380."""

    def __init__(self) -> None:
        self._groups: list[tuple[Path, bool, np.ndarray, np.ndarray, np.ndarray]] = []
        self._starts: list[int] = []
        self._n = 0

    def add(self, path: Path, in_tar: bool, names: list[str], offsets: list[int],
            sizes: list[int]) -> None:
        if not names:
            return
        raw = [n.encode("utf-8", "surrogateescape") for n in names]
        self._groups.append((path, in_tar, np.array(raw, dtype=bytes),
                             np.asarray(offsets, dtype=np.int64), np.asarray(sizes, dtype=np.int64)))
        self._starts.append(self._n)
        self._n += len(names)

    def extend(self, other: Sources) -> None:
        for path, in_tar, names, offsets, sizes in other._groups:
            self._groups.append((path, in_tar, names, offsets, sizes))
            self._starts.append(self._n)
            self._n += len(names)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Source:
        if not 0 <= i < self._n:
            raise IndexError(i)
        g = bisect.bisect_right(self._starts, i) - 1
        path, in_tar, names, offsets, sizes = self._groups[g]
        k = i - self._starts[g]
        name = names[k].decode("utf-8", "surrogateescape")
        if in_tar:
            return Source(path, name, int(offsets[k]), int(sizes[k]))
        return Source(path / name)

    def take(self, start: int, stop: int) -> list[Source]:
        return [self[i] for i in range(start, min(stop, self._n))]


# --------------------------------------------------------------------------------- detection
def sniff(path: Path, among_sa1b: bool = False) -> bool:
    """The file's first 16 KiB look like SA-1B's (is_sa1b_head)."""
    return is_sa1b_head(files.read_head(path, 1 << 14), among_sa1b)


def is_sa1b_head(head: bytes, among_sa1b: bool = False) -> bool:
    """An image object, its annotations, and a key only SAM writes. `among_sa1b`: beside
    SA-1B files, an image SAM found no mask in (an empty annotation list and SA-1B's
    `image_id`) is one too; alone, it is as much a record file (readers/records.py)."""
    head = head.lstrip()
    if not (head.startswith(b"{") and _SA_OBJECT.search(head) is not None
            and b'"annotations"' in head and b'"images"' not in head):
        return False
    return any(k in head for k in _SAM_KEYS) or (
        among_sa1b and b'"image_id"' in head and _NO_ANNS.search(head) is not None)


def is_shard(path: Path) -> bool:
    """A `.tar` whose first JSON member is an SA-1B file (only the headers up to it are read)."""
    if not path.name.lower().endswith(".tar") or not files.is_regular_file(path):
        return False
    try:
        with tarfile.open(path, "r:") as tf:
            for _ in range(64):
                m = tf.next()
                if m is None:
                    return False
                if m.isreg() and m.name.lower().endswith(".json"):
                    fh = tf.extractfile(m)
                    return fh is not None and is_sa1b_head(fh.read(1 << 14))
    except (tarfile.TarError, OSError, EOFError):
        return False
    return False


def detect(path: Path) -> bool:
    if path.is_dir():
        found = files.walk(path).files[:200]
        return any(is_shard(p) if p.name.lower().endswith(".tar") else
                   p.name.lower().endswith(".json") and sniff(p) for p in found)
    return is_shard(path) or (path.name.lower().endswith(".json") and sniff(path))


# --------------------------------------------------------------------------------- listing
def shard_sources(path: Path) -> tuple[Sources, list[InputError]]:
    """The JSON members of a shard, read from its headers; what cannot be read, as errors."""
    out = Sources()
    names: list[str] = []
    offsets: list[int] = []
    sizes: list[int] = []
    errors: list[InputError] = []
    try:
        size = path.stat().st_size
        tf = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the `with` below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        return out, [InputError(str(path), f"not a readable tar shard: {exc}")]
    with tf:
        while True:
            try:
                m = tf.next()
            except (tarfile.TarError, OSError, EOFError) as exc:
                errors.append(InputError(str(path), f"the tar is corrupt after {len(names)} JSON "
                                                    f"members ({exc}); the members before it are read"))
                break
            if m is None:
                break
            tf.members.clear()  # tarfile keeps every header it reads: 11k a shard, not needed
            if not m.name.lower().endswith(".json"):
                continue  # the images beside each JSON
            where = f"{path}:{m.name}"
            if not m.isreg() or m.sparse is not None:
                errors.append(InputError(where, "not a regular file member (a link or device): "
                                                "not read"))
            elif files.escapes(m.name):
                errors.append(InputError(where, "the member name climbs out of the archive "
                                                "(absolute or '..'): not read"))
            elif m.size > MAX_MEMBER_BYTES:
                errors.append(InputError(where, f"the member is {m.size:,} bytes, over the "
                                                f"{MAX_MEMBER_BYTES:,} an image's JSON may have: not read"))
            elif m.offset_data + m.size > size:
                errors.append(InputError(where, "the member is cut short: the tar ends before "
                                                "its data does (truncated shard?)"))
            else:
                names.append(m.name)
                offsets.append(m.offset_data)
                sizes.append(m.size)
    out.add(path, True, names, offsets, sizes)
    return out, errors


def list_sources(path: Path) -> tuple[Sources, list[InputError]]:
    out = Sources()
    if not path.is_dir():
        if path.name.lower().endswith(".tar"):
            return shard_sources(path)
        out.add(path.parent, False, [path.name], [0], [0])
        return out, []
    errors: list[InputError] = []
    loose: dict[Path, list[str]] = {}  # JSON files by folder, in walk order
    for p in files.walk(path).files:
        name = p.name.lower()
        if name.endswith(".tar"):
            found, errs = shard_sources(p)
            out.extend(found)
            errors += errs
        elif name.endswith(".json") and sniff(p, among_sa1b=True):
            loose.setdefault(p.parent, []).append(p.name)
    for folder, names in loose.items():
        out.add(folder, False, names, [0] * len(names), [0] * len(names))
    return out, errors


# --------------------------------------------------------------------------------- reading
def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    try:
        sources, errors = list_sources(path)
    except OSError as exc:
        yield InputError(str(path), f"cannot list: {exc.strerror or exc}")
        return
    yield from errors
    if not sources:
        if not errors:
            yield InputError(str(path), "no SA-1B JSON files (an 'image' object and its "
                                        "'annotations') here")
        return
    yield make_dataset(str(path), sources)


# An annotation's index is its file's position and its place in the file, so it is the same
# however the files are batched (a pool's worker, a Dask partition): no table of where each
# file's annotations start. A 64 MiB member holds far fewer than 2**24 annotations.
ANN_BITS = 24
_ANN_MASK = (1 << ANN_BITS) - 1


def make_dataset(where: str, sources: Sources) -> Dataset:
    def locate(section: str, index: int, **ids: Any) -> Location:
        if section == "images" and 0 <= index < len(sources):
            return Location(path=sources[index].where, pointer="/image", **ids)
        k = index >> ANN_BITS
        if section == "annotations" and 0 <= k < len(sources):
            return Location(path=sources[k].where, pointer=f"/annotations/{index & _ANN_MASK}",
                            **ids)
        return Location(path=where, **ids)

    info = DatasetInfo(path=where, format=NAME, categories=_no_categories(),
                       num_images=len(sources), num_annotations=0, num_files=len(sources),
                       locator=locate, class_agnostic=True)

    def step_of(size: int | None) -> int:
        return max(len(sources) if not size or size <= 0 else size, 1)

    def batch_at(step: int, k: int) -> Batch:
        batch, errors = _read_chunk(info, sources.take(k * step, (k + 1) * step), k * step)
        batch.errors = errors
        return batch

    def batches(size: int | None) -> Iterator[Batch]:
        step = step_of(size)
        for k in range(-(-len(sources) // step)):
            yield batch_at(step, k)

    def indexed(size: int | None) -> tuple[int, Callable[[int], Batch]]:
        step = step_of(size)
        return -(-len(sources) // step), functools.partial(batch_at, step)

    # counted: the files are read as the batches are drawn; the engine counts what they held
    return Dataset(info, batches, counted=True, indexed=indexed, batch_images=BATCH_IMAGES)


def _no_categories() -> Table:
    e = np.zeros(0, dtype=np.int64)
    b = np.zeros(0, dtype=bool)
    o = np.zeros(0, dtype=object)
    return Table({"index": e, "id": e, "id_ok": b, "name": o, "is_object": b, "has_id": b,
                  "has_name": b})


def read_source(src: Source) -> bytes:
    """The JSON's bytes: a file, or a member's slice of its shard (sizes checked first)."""
    if src.member is None:
        return files.read_bytes(src.path, src.where, limit=MAX_MEMBER_BYTES)
    try:
        with src.path.open("rb") as fh:
            fh.seek(src.offset)
            data = fh.read(src.size)
    except OSError as exc:
        raise InputProblem(src.where, f"cannot read: {exc.strerror or exc}") from None
    if len(data) != src.size:
        raise InputProblem(src.where, "the member is cut short (truncated shard?)")
    return data


def _decode(src: Source) -> tuple[_File, list[_Ann]]:
    data = read_source(src)
    where = src.where
    try:
        doc = _DEC.decode(data)
        anns = _ANNS.decode(doc.annotations)
    except msgspec.ValidationError as exc:
        jsonio.check_syntax(where, data)  # a truncated file says so, with line and column
        raise InputProblem(where, f"not an SA-1B file: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise jsonio.syntax_problem(where, data) from None
    if not isinstance(doc.image, dict):
        raise InputProblem(where, "not an SA-1B file: 'image' must be an object with image_id, "
                                  "width, height and file_name")
    return doc, anns


def _read_chunk(info: DatasetInfo, chunk: list[Source],
                img_index: int) -> tuple[Batch, list[InputError]]:
    """One batch from `chunk` (its first file is source `img_index`); the files that failed."""
    b = Builder(info.path, NAME, None)
    img_ids: list[Any] = []
    ann_ids: list[Any] = []
    ann_index: list[int] = []
    errors: list[InputError] = []
    cols: dict[str, list[Any]] = {k: [] for k in (
        "predicted_iou", "stability_score", "crop_box", "point_coords", "raw_scores",
        "has_crop_box", "has_point_coords")}
    kept: list[int] = []  # chunk positions of the files read
    for pos, src in enumerate(chunk):
        try:
            doc, anns = _decode(src)
        except InputProblem as exc:
            errors.append(InputError(exc.path, exc.message))
            continue
        kept.append(pos)
        image = msgspec.convert(doc.image, _Image)
        row = b.add_image(image.file_name, _dim(image.width), _dim(image.height), src.where,
                          pointer="/image")
        img_ids.append(image.image_id)
        for k, a in enumerate(anns):
            seg = bytes(a.segmentation)
            b.add_ann(row, AGNOSTIC_ID, src.where, pointer=f"/annotations/{k}",
                      bbox=a.bbox if isinstance(a.bbox, list) else None,
                      segmentation=None if seg == b"null" else seg,
                      area=a.area if type(a.area) in (int, float) else None)
            ann_ids.append(a.id)
            ann_index.append(((img_index + pos) << ANN_BITS) | k)
            cols["predicted_iou"].append(_score(a.predicted_iou))
            cols["stability_score"].append(_score(a.stability_score))
            cols["raw_scores"].append(_raw_scores(a))
            cols["crop_box"].append(_quad(a.crop_box))
            cols["point_coords"].append(_points(a.point_coords))
            cols["has_crop_box"].append(a.crop_box is not _U)
            cols["has_point_coords"].append(a.point_coords is not _U)
    batch = next(b.build().batches(None), None)
    images, anns = (batch.images, batch.anns) if batch is not None else (Table({}), Table({}))
    n_img, n_ann = len(b.img["file_name"]), len(ann_ids)
    img_cols = _ids(img_ids, "id", n_img)
    img_cols["index"] = img_index + np.asarray(kept, dtype=np.int64)
    img_cols["source_id"] = object_column(img_ids)
    images = images.with_columns(**img_cols) if n_img else _empty_images()
    if n_ann:
        order = anns.index  # from_tables keeps file order inside an image, images in order
        ann_cols = _ids(ann_ids, "id", n_ann)
        ann_cols = {k: v[order] for k, v in ann_cols.items()}
        ann_cols["index"] = np.asarray(ann_index, dtype=np.int64)[order]
        img_of = object_column(img_ids)[anns.image_row]
        ann_cols.update(_ids(list(img_of), "image_id", n_ann))
        ann_cols["source_image_id"] = object_column(list(img_of))
        ann_cols["predicted_iou"] = np.asarray(cols["predicted_iou"], dtype=np.float64)[order]
        ann_cols["stability_score"] = np.asarray(cols["stability_score"], dtype=np.float64)[order]
        ann_cols["raw_scores"] = object_column(cols["raw_scores"])[order]
        ann_cols["crop_box"] = np.asarray(cols["crop_box"], dtype=np.float64).reshape(-1, 4)[order]
        ann_cols["point_coords"] = object_column(cols["point_coords"])[order]
        for key in ("has_crop_box", "has_point_coords"):
            ann_cols[key] = np.asarray(cols[key], dtype=bool)[order]
        anns = anns.with_columns(**ann_cols)
    return Batch(info=info, images=images, anns=anns), errors


def _empty_images() -> Table:
    return Table({"index": np.zeros(0, dtype=np.int64), "id": np.zeros(0, dtype=np.int64),
                  "id_ok": np.zeros(0, dtype=bool), "width": np.zeros(0), "height": np.zeros(0),
                  "file_name": np.zeros(0, dtype=object), "path": np.zeros(0, dtype=object),
                  "pointer": np.zeros(0, dtype=object), "is_object": np.zeros(0, dtype=bool)})


def _ids(values: list[Any], name: str, n: int) -> dict[str, np.ndarray]:
    """`name`, `name_ok`, `raw_name` (what is not an int, as written) and `has_name`."""
    col = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    raw = np.full(n, None, dtype=object)
    for i, v in enumerate(values):
        if type(v) is int and -(1 << 63) <= v < (1 << 63):
            col[i], ok[i] = v, True
        elif v is not _U:
            raw[i] = v
    has = np.array([v is not _U for v in values], dtype=bool)
    return {name: col, name + "_ok": ok, "raw_" + name: raw, "has_" + name: has}


def _dim(value: Any) -> Any:
    if value is _U:
        return MISSING
    return value if type(value) in (int, float) else None


def _score(value: Any) -> float:
    """A score as a float; NaN when absent or not a number (raw_scores keeps what it was)."""
    return float(value) if type(value) in (int, float) else math.nan


def _raw_scores(a: _Ann) -> tuple[tuple[str, Any], ...] | None:
    """Scores written as something other than a number (a string, null), as written."""
    bad = tuple((k, v) for k, v in (("predicted_iou", a.predicted_iou),
                                    ("stability_score", a.stability_score))
                if v is not _U and type(v) not in (int, float))
    return bad or None


def _quad(value: Any) -> list[float]:
    if type(value) is list and len(value) == 4 and all(type(c) in (int, float) for c in value):
        return [float(c) for c in value]
    return [math.nan] * 4


def _points(value: Any) -> tuple[tuple[float, float], ...] | None:
    """[[x, y], ...] as float pairs; None when absent or malformed (has_point_coords tells)."""
    if type(value) is not list:
        return None
    out = []
    for p in value:
        if type(p) is not list or len(p) != 2 or not all(type(c) in (int, float) for c in p):
            return None
        out.append((float(p[0]), float(p[1])))
    return tuple(out)
