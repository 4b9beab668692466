"""YOLO segmentation (Ultralytics): `images/` and `labels/*.txt`, with data.yaml or classes.txt.

Each label row is `class x1 y1 x2 y2 ...` (a polygon, normalized to [0, 1]) or
`class cx cy w h` (a box). Rows keep their file and line. Labels pair with images as
Ultralytics pairs them: the image path with its last `images` folder replaced by `labels`
and the suffix by `.txt`. Geometry is converted to pixels with the image size read from
the image header (Pillow, no decoding); where the image is missing or unreadable the
size is unknown (NaN) and the coordinates stay normalized.

The config (data.yaml: `path`, split folders, `names`, `nc`) travels to the rules as a
YoloConfig in `info.facts`: yolo-names-nc-mismatch and yolo-data-path-missing
read it.

Paths in data.yaml are resolved as Ultralytics' `check_det_dataset` resolves them
(ultralytics/data/utils.py at commit 00bfe3459a05b6c36026fb7689fc73c818da1cd1, 8.3.x):
the dataset root is `path`, or the yaml's folder when `path` is absent or empty; each
split string is `root / value` (an absolute value stays itself) and, when that does not
exist and the value starts with `../`, `root / value[3:]` (the fallback every Roboflow
export relies on: `train: ../train/images` beside data.yaml). Split lists get no fallback.
Ultralytics reads a relative `path` from the process's working directory, then from its
DATASETS_DIR; a linter knows neither, so a relative `path` is read from the yaml's folder
(where `path: .` points when training is started next to the yaml, as the docs show).

data.yaml comes from strangers: only a regular file of at most 16 MiB is read, YAML
anchors and aliases are refused before anything is constructed (a 900-byte alias bomb
expands to billions of nodes), and class indices above MAX_CLASSES are refused with one
line naming the file (no dataset has 100,000 classes; `{100000000: dog}` would otherwise
lay out a list of 10^8 names).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from maskcheck.errors import InputProblem
from maskcheck.files import (
    IMAGE_SUFFIXES,
    files_under,
    image_size,
    read_bytes,
    read_head,
    walk,
)
from maskcheck.model import Dataset, InputError
from maskcheck.readers import classmap, lazy
from maskcheck.readers.builder import Builder
from maskcheck.shapes import YOLO_BOX, YOLO_POLYGON
from maskcheck.targets import TARGETS

NAME = "yolo"
LABEL = "YOLO-seg (labels/*.txt with data.yaml)"  # what `maskcheck lint --help` says it reads
MAX_CLASSES = 100_000  # the largest class index (and nc) accepted from a file
MAX_YAML_BYTES = 16 << 20
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
SPLIT_KEYS = ("train", "val", "test")

# row kinds (the `row_kind` column)
BOX, POLYGON = YOLO_BOX, YOLO_POLYGON


@dataclass
class YoloConfig:
    """What data.yaml / classes.txt said, with lines for locations."""

    path: str  # the yaml or classes.txt ("" when neither exists)
    names: list[str] | None = None
    nc: Any = None
    names_line: int = 0
    nc_line: int = 0
    # (key, value, line, the folder linted instead or ""), for paths Ultralytics cannot find
    missing: list[tuple[str, str, int, str]] = field(default_factory=list)
    name_lines: list[int] = field(default_factory=list)  # the line of each name (0: unknown)


# --------------------------------------------------------------------------------- detection
def _yaml_file(folder: Path) -> Path | None:
    for name in YAML_NAMES:
        if (folder / name).exists() or (folder / name).is_symlink():
            return folder / name
    return None


def _looks_like_yolo_yaml(path: Path) -> bool:
    head = read_head(path, 1 << 14)
    return any(k in head for k in (b"names:", b"nc:")) and any(
        k in head for k in (b"train:", b"val:", b"path:", b"names:"))


def _has_label_txt(folder: Path) -> bool:
    return any(p.name != "classes.txt" for p in files_under(folder, (".txt",)))


def detect(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in (".yaml", ".yml") and _looks_like_yolo_yaml(path)
    return bool(_roots(path))


def _roots(path: Path) -> list[Path]:
    """The dataset roots at `path`: itself, or else its sub-folders that are one (splits or
    variants side by side, as in datumaro's yolo_dataset/{yolov8_detection,yolov8_segmentation})."""
    if not path.is_dir():
        return []
    if _is_root(path):
        return [path]
    try:
        return [p for p in sorted(path.iterdir()) if p.is_dir() and _is_root(p)]
    except OSError:
        return []


def _is_root(path: Path) -> bool:
    yml = _yaml_file(path)
    if yml is not None and _looks_like_yolo_yaml(yml):
        return True
    labels = path / "labels"
    if labels.is_dir() and _has_label_txt(labels):
        return (path / "images").is_dir() or (path / "classes.txt").is_file()
    return False


# --------------------------------------------------------------------------------- config
def _line_of(node: yaml.Node | None, key: str) -> int:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k.start_mark.line + 1
    return 0


def _refuse_aliases(text: str, path: Path) -> None:
    """Anchors and aliases are refused on the event stream, before any node is built."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise InputProblem(str(path), f"YAML anchors and aliases (&name / *name, line {line}) "
                                          "are refused in data.yaml: they can expand a small file "
                                          "into billions of entries. Write the values out")


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    raw = read_bytes(path, str(path), MAX_YAML_BYTES)
    try:
        text = raw.decode("utf-8-sig")
        _refuse_aliases(text, path)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise InputProblem(str(path), f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise InputProblem(str(path), "nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputProblem(str(path), f"invalid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputProblem(str(path), "a YOLO data.yaml must be a mapping (path, train, val, names)")
    return data, node


def _names(value: Any, path: Path) -> list[str] | None:
    """`names` as a list, or a dict {index: name} laid out by index (gaps become "")."""
    if isinstance(value, list):
        if len(value) > MAX_CLASSES:
            raise InputProblem(str(path), f"names lists {len(value):,} classes, more than the "
                                          f"{MAX_CLASSES:,} maskcheck accepts")
        return [_text(v) for v in value]
    if isinstance(value, dict):
        by_id: dict[int, str] = {}
        for k in value:
            if type(k) is not int and not (isinstance(k, str) and k.strip().isdigit()
                                           and len(k.strip()) < 10):
                return None
            i = int(k)
            if i > MAX_CLASSES:
                raise InputProblem(str(path), f"names has class index {_text(k)}, above the "
                                              f"{MAX_CLASSES:,} maskcheck accepts: Ultralytics "
                                              "would build a class list that long")
            by_id[i] = _text(value[k])
        if not by_id or min(by_id) < 0:
            return None
        return [by_id.get(i, "") for i in range(max(by_id) + 1)]
    return None


def _text(value: Any) -> str:
    """A YAML scalar as a name; anything else shortened (never a huge repr)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        s = str(value)
        return s if len(s) <= 200 else s[:200] + "..."
    return f"<{type(value).__name__}>"


def _name_lines(node: yaml.Node | None, names: list[str] | None) -> list[int]:
    """The line of each entry of `names` (a sequence, or a mapping index -> name)."""
    out = [0] * len(names or [])
    if not isinstance(node, yaml.MappingNode):
        return out
    for k, v in node.value:
        if not (isinstance(k, yaml.ScalarNode) and k.value == "names"):
            continue
        if isinstance(v, yaml.SequenceNode):
            for i, item in enumerate(v.value[: len(out)]):
                out[i] = item.start_mark.line + 1
        elif isinstance(v, yaml.MappingNode):
            for key, _ in v.value:
                try:
                    i = int(key.value)
                except (TypeError, ValueError):
                    continue
                if 0 <= i < len(out):
                    out[i] = key.start_mark.line + 1
    return out


def _split_paths(data: dict[str, Any], root: Path, node: yaml.Node | None,
                 cfg: YoloConfig) -> list[Path]:
    out: list[Path] = []
    for key in SPLIT_KEYS:
        value = data.get(key)
        if not value:
            continue  # Ultralytics skips empty and absent keys
        line = _line_of(node, key)
        if isinstance(value, str):
            p = resolve_split(root, value)
            if p is None:
                cfg.missing.append((key, value, line, ""))
            else:
                out.append(p)
            continue
        if not isinstance(value, list):
            cfg.missing.append((key, _text(value), line, ""))
            continue
        for v in value:  # a list: each item from the root, no `../` fallback
            if not isinstance(v, str) or not v:
                cfg.missing.append((key, _text(v), line, ""))
                continue
            p = _join(root, v)
            if p is not None and p.exists():
                out.append(p)
            else:
                cfg.missing.append((key, v, line, ""))
    return out


def _join(root: Path, value: str) -> Path | None:
    try:
        return root / value
    except (TypeError, ValueError):
        return None


def resolve_split(root: Path, value: str) -> Path | None:
    """A split string as check_det_dataset resolves it (None: Ultralytics finds nothing)."""
    p = _join(root, value)
    try:
        if p is not None and p.exists():
            return p
        if value.startswith("../"):
            q = _join(root, value[3:])
            if q is not None and q.exists():
                return q
    except (OSError, ValueError):
        pass
    return None


def load_config(root: Path, yml: Path | None) -> tuple[YoloConfig, Path, list[Path]]:
    """The config, the dataset root and the image folders or list files it names."""
    if yml is None:
        classes = root / "classes.txt"
        cfg = YoloConfig(path=str(classes) if classes.is_file() else "")
        if classes.is_file():
            names, lines = classmap.read_text_names(classes)
            cfg.names, cfg.name_lines = names, lines
        return cfg, root, []
    data, node = read_yaml(yml)
    cfg = YoloConfig(path=str(yml), nc=data.get("nc"), names_line=_line_of(node, "names"),
                     nc_line=_line_of(node, "nc"))
    cfg.names = _names(data.get("names"), yml)
    cfg.name_lines = _name_lines(node, cfg.names)
    base = yml.parent
    given = data.get("path")
    if isinstance(given, str) and given:
        base = Path(given) if Path(given).is_absolute() else yml.parent / given
        if not base.is_dir():
            cfg.missing.append(("path", given, _line_of(node, "path"), ""))
            base = yml.parent
    return cfg, base, _split_paths(data, base, node, cfg)


def class_map(cfg: YoloConfig) -> classmap.ClassMap | None:
    if cfg.names is None:
        return None
    source = f"{Path(cfg.path).name} names" if cfg.path else "names"
    cmap = classmap.ClassMap(source=source, path=cfg.path)
    for i, name in enumerate(cfg.names):
        if not name:
            continue  # a gap in a dict of names
        line = cfg.name_lines[i] if i < len(cfg.name_lines) else 0
        cmap.ids.setdefault(name, i)
        cmap.entries.append((name, i, line))
    return cmap


# --------------------------------------------------------------------------------- pairing
def _label_dir(image_dir: Path) -> Path:
    """Ultralytics' img2label_paths: the last `images` part becomes `labels`."""
    parts = list(image_dir.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts)
    return image_dir.parent / "labels" if image_dir.name != "labels" else image_dir


def _images_in(folder: Path) -> list[Path]:
    return list(files_under(folder, tuple(IMAGE_SUFFIXES)))


def _labels_in(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The label files, and (path, reason) of .txt entries that are not regular files."""
    w = walk(folder)
    special = [(s.path, s.reason) for s in w.skipped
               if s.path.lower().endswith(".txt") and s.kind == "special"]
    return [p for p in w.files if p.name.lower().endswith(".txt") and p.name != "classes.txt"], \
        special


SPLIT_WORDS = {"train": ("train",), "val": ("valid", "val"), "test": ("test",)}


def split_folders(base: Path, key: str) -> list[Path]:
    """Image folders of split `key` next to data.yaml: `train/images` or `images/train`
    (`valid` or `val` for val), the layouts Roboflow and Ultralytics write."""
    out = []
    for word in SPLIT_WORDS[key]:
        for image_dir in (base / word / "images", base / "images" / word):
            if image_dir.is_dir() and _label_dir(image_dir).is_dir():
                out.append(image_dir)
                break
        if out:
            break
    return out


def _recover(cfg: YoloConfig, base: Path, splits: list[Path]) -> list[Path]:
    """For each split path Ultralytics cannot find, the split's folder next to data.yaml
    (linted instead; MC427 still reports the path and names the folder)."""
    out = list(splits)
    for k, (key, value, line, _) in enumerate(cfg.missing):
        if key not in SPLIT_WORDS:
            continue
        for folder in split_folders(base, key):
            if all(folder.resolve() != s.resolve() for s in out):
                out.append(folder)
                cfg.missing[k] = (key, value, line, str(folder))
    return out


def pairs(root: Path, splits: list[Path]) -> list[tuple[Path, Path]]:
    """(image folder, label folder) pairs to read; folders named twice are read once.

    With no split named (or none found), the splits next to the root (`images/train`,
    `train/images`, ...), else `images/` + `labels/` themselves.
    """
    found: list[tuple[Path, Path]] = []
    for s in splits:
        if s.is_dir():
            found.append((s, _label_dir(s)))
    if not found and not _has_top_label(root / "labels"):
        for key in SPLIT_WORDS:
            found += [(f, _label_dir(f)) for f in split_folders(root, key)]
    if not found:
        found.append((root / "images", root / "labels"))
    unique: list[tuple[Path, Path]] = []
    for pair in found:
        if all(pair[0].resolve() != u[0].resolve() for u in unique):
            unique.append(pair)
    # a split folder inside another (images/ and images/train): keep the outer one
    return [p for p in unique
            if not any(o is not p and o[0].resolve() in p[0].resolve().parents for o in unique)]


def _has_top_label(folder: Path) -> bool:
    """Whether `folder` holds label files of its own (not only in sub-folders)."""
    try:
        return any(p.suffix.lower() == ".txt" and p.name != "classes.txt" for p in folder.iterdir())
    except OSError:
        return False


# --------------------------------------------------------------------------------- reading
def read(path: Path, options: dict[str, Any] | None = None) -> Iterator[Dataset | InputError]:
    options = options or {}
    roots = [path] if path.is_file() else _roots(path)
    if not roots:
        yield InputError(str(path), "not a YOLO dataset: no data.yaml, and no labels/ folder "
                                    "of .txt files beside images/ or classes.txt")
        return
    for root in roots:
        yield from _read_root(root, options)


def _read_root(path: Path, options: dict[str, Any]) -> Iterator[Dataset | InputError]:
    try:
        if path.is_file():
            cfg, root, splits = load_config(path.parent, path)
        else:
            cfg, root, splits = load_config(path, _yaml_file(path))
    except InputProblem as exc:
        yield InputError(exc.path, exc.message)
        return
    given = options.get("classes")
    try:
        cmap = (given if isinstance(given, classmap.ClassMap) else classmap.load(Path(given))) \
            if given is not None else class_map(cfg)
    except InputProblem as exc:
        yield InputError(exc.path, exc.message)
        return
    if cmap.by_order:  # the config's class list, numbered for no named target: Ultralytics counts from 0
        cmap = cmap.renumbered(TARGETS["yolo"].first_id or 0)
    base = path.parent if path.is_file() else path
    todo = pairs(root, _recover(cfg, base, splits) if cfg.missing else splits)
    for n, (image_dir, label_dir) in enumerate(todo):
        # Each split is a dataset of its own, named by its label folder (`export/train/labels`),
        # so that the cross-split rules compare them. The config travels with the first only:
        # data.yaml's own findings (MC426, MC427) are reported once, not once per split.
        one = len(todo) == 1 and split_of_pair(root, image_dir) is None
        where = str(path) if one else str(label_dir)
        try:
            units, special = _pair_units(image_dir, label_dir)
        except OSError as exc:
            yield InputError(str(label_dir), f"cannot read: {exc.strerror or exc}")
            continue
        for at, reason in special:
            yield InputError(at, reason)
        # class 0 is a real class to Ultralytics (no background): its target is implied
        facts = {"facts": cfg if n == 0 else None, "implied_target": TARGETS["yolo"]}
        if len(units) >= lazy.LAZY_MIN_FILES:  # read again batch by batch: bounded memory
            yield lazy.dataset(where, NAME, cmap, units, _read_unit, **facts)[2]
            continue
        builder = Builder(where, NAME, cmap)
        for unit in units:
            _read_unit(builder, unit)
        yield builder.build(**facts)


def split_of_pair(root: Path, image_dir: Path) -> str | None:
    """The split word of an image folder below the root (None: the root's own images/)."""
    try:
        rel = image_dir.relative_to(root)
    except ValueError:
        return image_dir.name
    words = {w for ws in SPLIT_WORDS.values() for w in ws}
    hit = [part for part in rel.parts if part.lower() in words]
    return hit[-1] if hit else None


def _image_size(path: Path) -> tuple[float | None, float | None]:
    size = image_size(path)  # header only; unreadable: the image-file rules say why
    return size if size is not None else (None, None)


# One image of a split: its key, its image file and its label file (either may be absent)
_Unit = tuple[Path, Path | None, Path | None, Path]


def _pair_units(image_dir: Path, label_dir: Path) -> tuple[list[_Unit], list[tuple[str, str]]]:
    """The pair's images in key order, and (path, reason) of label entries not read."""
    images = {p.relative_to(image_dir).with_suffix(""): p for p in _images_in(image_dir)} \
        if image_dir.is_dir() else {}
    found, special = _labels_in(label_dir) if label_dir.is_dir() else ([], [])
    labels = {p.relative_to(label_dir).with_suffix(""): p for p in found}
    return [(key, images.get(key), labels.get(key), image_dir)
            for key in sorted(set(images) | set(labels))], special


def _read_unit(b: Builder, unit: _Unit) -> list[InputError]:
    """Adds one image and its label rows (what cannot be read is a column: no errors)."""
    key, img, lab, image_dir = unit
    w, h = _image_size(img) if img is not None else (None, None)
    shown = str(lab if lab is not None else img)
    row = b.add_image(str(img.relative_to(image_dir)) if img else str(key), w, h, shown)
    b.extra_images.setdefault("has_image", []).append(img is not None)
    b.extra_images.setdefault("image_file", []).append(str(img) if img is not None else None)
    b.extra_images.setdefault("has_label_file", []).append(lab is not None)
    b.extra_images.setdefault("bad_rows", []).append(
        _read_label_file(b, row, lab, w, h) if lab is not None else [])
    return []


def _read_label_file(b: Builder, row: int, path: Path, w: float | None,
                     h: float | None) -> list[tuple[int, str]]:
    """Adds the file's rows; returns (line, reason) of rows that are not rows at all."""
    where = str(path)
    try:
        text = read_bytes(path, where).decode("utf-8", errors="replace")
    except InputProblem as exc:
        return [(0, f"cannot read the label file: {exc.message}")]
    bad: list[tuple[int, str]] = []
    sx, sy = (w, h) if w and h else (1.0, 1.0)
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        commas = "," in line
        tokens = line.replace(",", " ").split()
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            bad.append((no, "the row holds text that is not a number: "
                            f"{line.strip()[:60]!r}"))
            continue
        if not all(math.isfinite(v) for v in values):
            bad.append((no, "the row holds nan or inf"))
            continue
        cls, coords = values[0], values[1:]
        if not cls.is_integer():
            bad.append((no, f"the class index {tokens[0]!r} is not a whole number"))
            continue
        n = len(coords)
        if n != 4 and (n % 2 or n < 6):
            what = (f"{n} coordinates: an odd count cannot pair into x y points" if n % 2
                    else f"{n // 2} point{'s' if n != 2 else ''}: a polygon needs at least 3")
            bad.append((no, what))
            continue
        kind = BOX if n == 4 else POLYGON
        lo, hi = min(coords), max(coords)
        if kind == BOX:
            cx, cy, bw, bh = coords
            box = [(cx - bw / 2) * sx, (cy - bh / 2) * sy, bw * sx, bh * sy]
            seg = None
        else:
            xs, ys = coords[0::2], coords[1::2]
            box = [min(xs) * sx, min(ys) * sy, (max(xs) - min(xs)) * sx, (max(ys) - min(ys)) * sy]
            pixels = [c * (sx if i % 2 == 0 else sy) for i, c in enumerate(coords)]
            seg = msgspec.json.encode([pixels])
        b.add_ann(row, int(cls), where, line=no, bbox=box, segmentation=seg,
                  row_kind=kind, commas=commas, coord_min=lo, coord_max=hi)
    return bad
