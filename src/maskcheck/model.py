"""The normalized dataset that readers fill and rules read.

Scale decides the shape: a batch holds a block of images and all their annotations as
columns (numpy arrays), never a Python object per annotation. Every row keeps where it
came from (an RFC 6901 JSON pointer, or a file and line) so a finding can name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np

SEVERITIES = ("error", "warning", "info")
T = TypeVar("T")
# The finding a rule that raised leaves behind: never a silent pass (exit 2).
CRASH_CODE = "MC000"
CRASH_NAME = "rule-crashed"


class Severity(IntEnum):
    """Ordered so that `finding.severity >= fail_on` reads naturally."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use error, warning or info") from None

    def __str__(self) -> str:
        return self.name.lower()


class SegKind(IntEnum):
    """What an annotation's `segmentation` holds, decided from its first JSON byte."""

    MISSING = 0  # key absent or null
    POLYGONS = 1  # a non-empty JSON array
    RLE = 2  # a JSON object (compressed or uncompressed RLE)
    EMPTY = 3  # [] : a bbox-only annotation in many exporters
    OTHER = 4  # a number, a string, true/false: not a segmentation at all


class Table:
    """Named numpy columns of equal length; `take` keeps them in step.

    Optional columns (for example `raw_category_id`, which only exists when some value was
    not an integer) are simply absent: rules test with `"name" in table`.
    """

    __slots__ = ("_cols", "_n")

    def __init__(self, columns: Mapping[str, np.ndarray], n: int | None = None) -> None:
        cols = dict(columns)
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: { {k: len(v) for k, v in cols.items()} }")
        self._cols = cols
        self._n = lengths.pop() if lengths else (n or 0)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, name: str) -> bool:
        return name in self._cols

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name]

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):  # slots not yet set (unpickling, copy): no column lookup
            raise AttributeError(name)
        try:
            return self._cols[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str) -> np.ndarray | None:
        return self._cols.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._cols)

    def take(self, rows: np.ndarray | slice) -> Table:
        return Table({k: v[rows] for k, v in self._cols.items()}, n=0)

    def with_columns(self, **columns: np.ndarray) -> Table:
        return Table({**self._cols, **columns})


@dataclass(frozen=True, slots=True)
class Location:
    """The smallest location that identifies a record. JSON-safe, immutable."""

    path: str
    pointer: str | None = None
    line: int | None = None
    image_id: Any = None
    annotation_id: Any = None
    category_id: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        for key in ("pointer", "line", "image_id", "annotation_id", "category_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def short(self) -> str:
        """`ann.json:/annotations/17` or `labels/a.txt:3`: for terminals and grep."""
        if self.line is not None:
            return f"{self.path}:{self.line}"
        if self.pointer is not None:
            return f"{self.path}:{self.pointer or '/'}"
        return self.path


@dataclass(frozen=True, slots=True)
class At:
    """Where a rule found something, as the rule knows it: an annotation or image row of the
    batch (with a JSON pointer below the record), a category row, a pointer into the
    dataset's file, or the dataset as a whole. The engine turns it into a `Location`
    through the reader's locator and gives it its sort order (`resolve`); rules never
    build either by hand. Make one with the class methods."""

    kind: str  # "ann", "image", "category", "pointer", "file", "dataset"
    row: int = 0
    sub: str = ""  # RFC 6901 pointer below the record: "/bbox/2"
    category: bool = True  # ann: name its category id in the location
    then: tuple = ()  # orders several findings at one record (the k-th polygon, say)

    @classmethod
    def ann(cls, row: int, sub: str = "", *, category: bool = True, then: tuple = ()) -> At:
        return cls("ann", row, sub, category, then)

    @classmethod
    def image(cls, row: int, sub: str = "", *, then: tuple = ()) -> At:
        return cls("image", row, sub, then=then)

    @classmethod
    def category_row(cls, row: int) -> At:
        return cls("category", row)

    @classmethod
    def pointer(cls, pointer: str, *, then: tuple = ()) -> At:
        return cls("pointer", sub=pointer, then=then)

    @classmethod
    def file(cls, path: str, line: int = 0, *, then: tuple = ()) -> At:
        """A line of a file the dataset was read from (0: the file as a whole)."""
        return cls("file", line, path, then=then)

    @classmethod
    def dataset(cls) -> At:
        return cls("dataset")


@dataclass(frozen=True, slots=True)
class Fix:
    """How `maskcheck fix` repairs a finding, at the finding's location (`at` below it:
    "/area"): `value` replaces what is there (in JSON, the value at that pointer) or, with
    `delete`, the record there is removed. `safe` fixes run by default; the others only
    with --unsafe-fixes. `what` says it in a few words ("area 1600 -> 1584.5")."""

    value: Any = None
    safe: bool = True
    what: str = ""
    at: str = ""
    delete: bool = False
    up: int = 0  # pointer levels above the location to apply at (2: a polygon's annotation)
    # other records of the finding's file the fix edits instead (pointers): a duplicate's twins
    targets: tuple[str, ...] = ()
    # the same by line, in line-located formats: the CVAT elements or JSONL records deleted
    lines: tuple[int, ...] = ()
    # a fix of the whole run rather than of one value ("renumber": every class id of every
    # split given, fix/renumber.py); the finding's location is then only where it was seen
    dataset: str = ""
    # line formats: the located line rewritten by this named edit (fix/lines.py: "clip01")
    line_op: str = ""
    # "unquote": the value there rewritten with its numeric strings as numbers (`value`:
    # whether they are integers), read from the file: a field of many, reported once
    op: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """What a rule yields: a message and where. The engine stamps code, rule and severity.

    `location` is an `At` (the engine resolves it and derives `order`), or a `Location`
    built by the rule with its own `order`, as plugins written for 0.1 do. `fix`: the
    repair, for a rule whose `fix_safety` says it has one."""

    message: str
    location: Location | At
    order: tuple = ()  # a sort key in source order; pointers sort wrongly as text
    fix: Fix | None = field(default=None, compare=False)


def _below(loc: Location, sub: str) -> Location:
    return replace(loc, pointer=loc.pointer + sub) if sub and loc.pointer is not None else loc


def resolve(at: At, info: DatasetInfo, batch: Batch | None) -> tuple[Location, tuple]:
    """The Location and sort order of a logical place. Rows of a batch need the batch:
    a dataset rule that reports a row keeps a resolved Problem in its state."""
    if at.kind in ("ann", "image"):
        if batch is None:
            raise ValueError(f"an {at.kind} row is only known in its batch (check, not finalize)")
        if at.kind == "ann":
            loc, order = batch.ann_location(at.row, category=at.category), batch.ann_order(at.row)
        else:
            loc, order = batch.image_location(at.row), batch.image_order(at.row)
        return _below(loc, at.sub), (*order, *at.then)
    if at.kind == "category":
        cats = info.categories
        cid = int(cats.id[at.row]) if cats.id_ok[at.row] else None
        index = int(cats.index[at.row])
        return info.locate(info.category_section, index, category_id=cid), (0, index)
    if at.kind == "pointer":
        return info.locate_pointer(at.sub), (0, -1, *at.then)
    if at.kind == "file":
        return Location(path=at.sub, line=at.row or None), (0, at.row, *at.then)
    if at.kind == "dataset":
        return Location(path=info.path), (0, -1)
    raise ValueError(f"unknown place {at.kind!r}")


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    rule: str
    severity: Severity
    message: str
    location: Location
    order: tuple = ()
    # not part of a finding's identity (baselines, sets): the same defect, however repaired
    fix: Fix | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "code": self.code,
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "location": self.location.to_dict(),
        }
        if self.fix is not None:  # as ruff's JSON says it: what `fix` would do, and whether by default
            out["fix"] = {"applicability": "safe" if self.fix.safe else "unsafe",
                          "message": self.fix.what}
        return out


@dataclass(frozen=True, slots=True)
class InputError:
    """An input that could not be read at all: one line, exit 2."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What the reader read besides the batches: the class list and where the data came from.
    Frozen once the reader builds it: the user's setup is the separate RunContext.

    `categories` is a Table with `index`, `id`, `id_ok`, `name`, `is_object` (and `raw_id`
    when an id was not an integer). `problems` holds structural defects found while reading
    that belong to no row (a top-level key of the wrong type, say), as (pointer, message).
    """

    path: str
    format: str
    categories: Table
    num_images: int = 0
    num_annotations: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Section names used to build JSON pointers: "/{section}/{index}".
    image_section: str = "images"
    annotation_section: str = "annotations"
    category_section: str = "categories"
    locator: Any = None  # Callable[[str, int], Location] for multi-file formats
    # Formats that label by name: where their name -> id map came from ("labels.txt",
    # "--classes x.yaml"); None when there is none (string-label then says how to give one).
    class_source: str | None = None
    # The trainer a format implies (YOLO: Ultralytics, whose class 0 is a real class), used
    # when the user names no target; None: torchvision's conventions.
    implied_target: Any = None
    # The format has no classes at all (SA-1B): rules with `needs_classes` do not run.
    class_agnostic: bool = False
    # What a format's reader found beyond the tables, typed by the reader (VOC's VocFacts,
    # YOLO's YoloConfig, CVAT's CvatFacts), for that format's rules; None for the others.
    facts: Any = None
    # `cache` holds per-dataset lookups rules share (the found image root).
    num_files: int = 1  # annotation files this dataset was read from
    # Labels used by shapes that are not instances (CVAT points, polylines, skeletons, tags):
    # name -> count. Such a class is labelled in the data, so it is not an unused class.
    other_label_uses: dict[str, int] = field(default_factory=dict)
    # Keys the format expects, found only misspelled and read as meant: (pointer of the
    # written key, the key as written, the key a loader looks for).
    misspelled: list[tuple[str, str, str]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def locate(self, section: str, index: int, **ids: Any) -> Location:
        """Where record `index` of `section` is, for dataset rules that kept only indices.

        Readers whose records live in many files (one LabelMe JSON per image, say) replace
        this with their own lookup through `locator`.
        """
        if self.locator is not None:
            return self.locator(section, index, **ids)
        return Location(path=self.path, pointer=f"/{section}/{index}", **ids)

    def locate_pointer(self, pointer: str) -> Location:
        return Location(path=self.path, pointer=pointer)

    def category_names(self) -> dict[int, str]:
        cats = self.categories
        out: dict[int, str] = {}
        for i in range(len(cats)):
            if cats.id_ok[i] and isinstance(cats.name[i], str):
                out.setdefault(int(cats.id[i]), cats.name[i])
        return out


@dataclass(frozen=True, slots=True)
class RunContext:
    """The user's setup for linting one dataset, apart from what its reader read.

    Built once per dataset from the config and flags (`Config.context`): the target
    (a targets.Target; None: judged as torchvision would), the num_classes the model is
    built with, the class list the user declared, and the folder of the image files
    (--images; None: the image rules look next to the annotation file)."""

    target: Any = None
    num_classes: int | None = None
    classes: Any = None  # list[str] in label order, or dict[str, int] name -> id
    images_dir: str | None = None
    # Facts about the whole dataset that rules declare they need (`Rule.dataset_facts`),
    # decided by the engine once, on the first batch holding images, before any rule sees
    # it (the images folder): fact function -> value. Every batch then agrees.
    dataset_facts: dict[Any, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Batch:
    """A block of images with all of their annotations.

    `anns.image_row` is each annotation's row in `images` (-1: its image is unknown; such
    annotations travel in a batch of their own). Every annotation of an image is in the
    same batch as the image, so per-image checks are batch rules.
    """

    info: DatasetInfo
    images: Table
    anns: Table
    # Derived data several rules share, keyed by the function that computes it (`derived`).
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    ctx: RunContext = field(default_factory=RunContext)  # set by the engine
    # Files a lazy reader found unreadable while drawing this batch (they reach the report's
    # errors from whichever process drew it: the pool's workers, Dask's)
    errors: list[InputError] = field(default_factory=list)

    def derived(self, make: Callable[[Batch], T]) -> T:
        """What `make(batch)` gives (the decoded geometry, the box fit, the file scan),
        computed once per batch and shared by every rule that asks: typed by `make`."""
        try:
            return self.cache[make]
        except KeyError:
            value = self.cache[make] = make(self)
            return value

    def ann_location(self, row: int, *, category: bool = True) -> Location:
        return _location(self.info, self.info.annotation_section, self.anns, row, category)

    def image_location(self, row: int) -> Location:
        return _location(self.info, self.info.image_section, self.images, row, False)

    def ann_order(self, row: int) -> tuple:
        return (2, int(self.anns.index[row]))

    def image_order(self, row: int) -> tuple:
        return (1, int(self.images.index[row]))


def _scalar(table: Table, name: str, row: int) -> Any:
    raw = table.get("raw_" + name)
    if raw is not None and raw[row] is not None:
        value = raw[row]
        return value if isinstance(value, str | int | float | bool) else None
    ok = table.get(name + "_ok")
    if ok is not None and not ok[row]:
        return None
    col = table.get(name)
    return None if col is None else int(col[row])


def source_image_id(table: Table, row: int, is_ann: bool) -> Any:
    """The format's own image id of a row (CVAT's `<image id>`), where the reader kept one."""
    source = table.get("source_image_id" if is_ann else "source_id")
    value = source[row] if source is not None else None
    return value.item() if isinstance(value, np.generic) else value


def _location(info: DatasetInfo, section: str, table: Table, row: int, category: bool) -> Location:
    path = table.path[row] if "path" in table else info.path
    line = int(table.line[row]) if "line" in table and table.line[row] > 0 else None
    pointer = table.pointer[row] if "pointer" in table else f"/{section}/{int(table.index[row])}"
    is_ann = section == info.annotation_section
    image_id = source_image_id(table, row, is_ann)
    return Location(
        path=str(path),
        pointer=pointer,
        line=line,
        image_id=image_id if image_id is not None else _scalar(table, "image_id" if is_ann else "id", row),
        annotation_id=_scalar(table, "id", row) if is_ann else None,
        category_id=_scalar(table, "category_id", row) if is_ann and category else None,
    )


@dataclass(slots=True)
class Dataset:
    """One annotation source (a file, or one split of a folder) ready to be linted."""

    info: DatasetInfo
    _batches: Any  # Callable[[int | None], Iterator[Batch]]
    # A reader that reads as the batches are drawn (folders and shards of per-image files)
    # cannot count in advance: set (True) when the engine is to count images and annotations
    # as the batches pass, in place of info.num_images / num_annotations.
    counted: Any = None
    # Batches by number, for a pool that hands out batch numbers: size -> (how many,
    # batch_at(k)); None when the batches can only be drawn in turn.
    indexed: Any = None  # Callable[[int | None], tuple[int, Callable[[int], Batch]]] | None
    # Images a batch should hold when the user gives no --batch-size, for a reader whose
    # images carry many masks each (SA-1B: ~100): memory is bounded by the batch
    batch_images: int | None = None

    def batches(self, batch_size: int | None = None) -> Iterator[Batch]:
        """Yield batches of `batch_size` images (None: everything in one batch)."""
        return self._batches(batch_size)

    @classmethod
    def from_tables(cls, info: DatasetInfo, images: Table, anns: Table, image_row: np.ndarray) -> Dataset:
        """Group annotations by image (file order inside each image; orphans last) and batch.

        `image_row` is each annotation's row in `images`, -1 when its image is unknown.
        """
        key = np.where(image_row < 0, len(images), image_row)
        if (key[1:] >= key[:-1]).all():  # grouped already, as most exporters write: no copy
            anns = anns.with_columns(image_row=image_row)
        else:
            order = np.argsort(key, kind="stable")
            anns = anns.take(order).with_columns(image_row=image_row[order])
            key = key[order]
        # starts[k]: first annotation of image k; starts[n]: first orphan
        starts = np.searchsorted(key, np.arange(len(images) + 1), side="left")

        def indexed(size: int | None) -> tuple[int, Callable[[int], Batch]]:
            n = len(images)
            step = max(n if not size or size <= 0 else size, 1)
            full = -(-n // step)
            orphans = starts[n] < len(anns)  # annotations of unknown images travel on their own

            def batch_at(k: int) -> Batch:
                if k == full:
                    return Batch(info=info, images=images.take(slice(0, 0)),
                                 anns=anns.take(slice(int(starts[n]), None)))
                s, e = k * step, min(k * step + step, n)
                sub = anns.take(slice(int(starts[s]), int(starts[e])))
                return Batch(info=info, images=images.take(slice(s, e)),
                             anns=sub.with_columns(image_row=sub.image_row - s))

            return full + int(orphans), batch_at

        def batches(size: int | None) -> Iterator[Batch]:
            count, batch_at = indexed(size)
            for k in range(count):
                yield batch_at(k)

        return cls(info=info, _batches=batches, indexed=indexed)


@dataclass(slots=True)
class Report:
    """The result of a run: the same object for lint and for the reporters."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    images: int = 0
    annotations: int = 0
    rules: list[Any] = field(default_factory=list)  # the enabled rules, for reporters
    # What was not read, and why: files and folders holding no supported annotations
    # (files.Skipped), and checks that could not run (one line each).
    skipped: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0  # annotation files read, over all datasets
    # Set by baseline.apply: findings hidden by the baseline, and baseline entries gone.
    baselined: int | None = None
    baseline_gone: int | None = None
    # Collected only when a report needs them (HTML, `maskcheck stats`): per-dataset class
    # tables (classstats.ClassTable), gallery examples (gallery.Example) and, for a probe,
    # the failure pictures (probe.failures.Picture).
    classes: list[Any] = field(default_factory=list)
    gallery: list[Any] = field(default_factory=list)
    pictures: list[Any] = field(default_factory=list)
    # Findings counted but not kept, past the first `max_findings` of a rule:
    # code -> (severity, how many were not kept). `counts()` includes them.
    dropped: dict[str, tuple[Severity, int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[str(f.severity)] += 1
        for severity, n in self.dropped.values():
            out[str(severity)] += n
        return out

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def crashed(self) -> bool:
        return any(f.code == CRASH_CODE for f in self.findings)
