"""YOLO segmentation (Ultralytics): `images/` and `labels/*.txt`, with data.yaml or classes.txt.

Each label row is `class x1 y1 x2 y2 ...` (a polygon, normalized to [0, 1]) or
`class cx cy w h` (a box). Rows keep their file and line. Labels pair with images as
Ultralytics pairs them: the image path with its last `images` folder replaced by `labels`
and the suffix by `.txt`. Geometry is converted to pixels with the image size read from
the image header (Pillow, no decoding); where the image is missing or unreadable the
size is unknown (NaN) and the coordinates stay normalized.

The config (data.yaml: `path`, split folders, `names`, `nc`) travels to the rules as a
YoloConfig in `info.cache["yolo"]`: yolo-names-nc-mismatch and yolo-data-path-missing
read it.
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
from maskcheck.model import Dataset, InputError
from maskcheck.readers import classmap
from maskcheck.readers.builder import Builder

NAME = "yolo"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".dng",
                            ".mpo", ".pfm", ".heic"})
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
SPLIT_KEYS = ("train", "val", "test")

# row kinds (the `row_kind` column)
BOX, POLYGON = 1, 2


@dataclass
class YoloConfig:
    """What data.yaml / classes.txt said, with lines for locations."""

    path: str  # the yaml or classes.txt ("" when neither exists)
    names: list[str] | None = None
    nc: Any = None
    names_line: int = 0
    nc_line: int = 0
    missing: list[tuple[str, str, int]] = field(default_factory=list)  # (key, value, line)
    name_lines: list[int] = field(default_factory=list)  # the line of each name (0: unknown)


# --------------------------------------------------------------------------------- detection
def _yaml_file(folder: Path) -> Path | None:
    for name in YAML_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _looks_like_yolo_yaml(path: Path) -> bool:
    try:
        head = path.read_bytes()[: 1 << 14]
    except OSError:
        return False
    return any(k in head for k in (b"names:", b"nc:")) and any(
        k in head for k in (b"train:", b"val:", b"path:", b"names:"))


def _has_label_txt(folder: Path) -> bool:
    for n, p in enumerate(folder.rglob("*.txt")):
        if p.name != "classes.txt":
            return True
        if n > 50:
            break
    return False


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


def read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputProblem(str(path), f"cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputProblem(str(path), f"invalid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputProblem(str(path), "a YOLO data.yaml must be a mapping (path, train, val, names)")
    return data, node


def _names(value: Any) -> list[str] | None:
    """`names` as a list, or a dict {index: name} laid out by index (gaps become "")."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        try:
            by_id = {int(k): str(v) for k, v in value.items()}
        except (TypeError, ValueError):
            return None
        if not by_id or min(by_id) < 0:
            return None
        return [by_id.get(i, "") for i in range(max(by_id) + 1)]
    return None


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
        values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for v in values:
            p = Path(v) if Path(v).is_absolute() else root / v
            if p.exists():
                out.append(p)
            else:
                cfg.missing.append((key, v, _line_of(node, key)))
    return out


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
    cfg.names = _names(data.get("names"))
    cfg.name_lines = _name_lines(node, cfg.names)
    base = yml.parent
    given = data.get("path")
    if isinstance(given, str) and given:
        base = Path(given) if Path(given).is_absolute() else yml.parent / given
        if not base.is_dir():
            cfg.missing.append(("path", given, _line_of(node, "path")))
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
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _labels_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.txt") if p.name != "classes.txt" and p.is_file())


def pairs(root: Path, splits: list[Path]) -> list[tuple[Path, Path]]:
    """(image folder, label folder) pairs to read; folders named twice are read once."""
    found: list[tuple[Path, Path]] = []
    for s in splits:
        if s.is_dir():
            found.append((s, _label_dir(s)))
    if not found:
        found.append((root / "images", root / "labels"))
    unique: list[tuple[Path, Path]] = []
    for pair in found:
        if all(pair[0].resolve() != u[0].resolve() for u in unique):
            unique.append(pair)
    # a split folder inside another (images/ and images/train): keep the outer one
    return [p for p in unique
            if not any(o is not p and o[0].resolve() in p[0].resolve().parents for o in unique)]


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
    builder = Builder(str(path), NAME, cmap)
    for image_dir, label_dir in pairs(root, splits):
        try:
            _read_pair(builder, image_dir, label_dir)
        except OSError as exc:
            yield InputError(str(label_dir), f"cannot read: {exc.strerror or exc}")
    ds = builder.build()
    ds.info.cache["yolo"] = cfg
    from maskcheck.targets import TARGETS

    ds.info.target = TARGETS["yolo"]  # class 0 is a real class to Ultralytics (no background)
    yield ds


def _image_size(path: Path) -> tuple[float | None, float | None]:
    try:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
        return float(w), float(h)
    except (OSError, ValueError, SyntaxError):
        return None, None  # unreadable: the image-file rules say why


def _read_pair(b: Builder, image_dir: Path, label_dir: Path) -> None:
    images = {p.relative_to(image_dir).with_suffix(""): p for p in _images_in(image_dir)} \
        if image_dir.is_dir() else {}
    labels = {p.relative_to(label_dir).with_suffix(""): p for p in _labels_in(label_dir)} \
        if label_dir.is_dir() else {}
    for key in sorted(set(images) | set(labels)):
        img, lab = images.get(key), labels.get(key)
        w, h = _image_size(img) if img is not None else (None, None)
        shown = str(lab if lab is not None else img)
        row = b.add_image(str(img.relative_to(image_dir)) if img else str(key), w, h, shown)
        b.extra_images.setdefault("has_image", []).append(img is not None)
        b.extra_images.setdefault("has_label_file", []).append(lab is not None)
        b.extra_images.setdefault("bad_rows", []).append(
            _read_label_file(b, row, lab, w, h) if lab is not None else [])


def _read_label_file(b: Builder, row: int, path: Path, w: float | None,
                     h: float | None) -> list[tuple[int, str]]:
    """Adds the file's rows; returns (line, reason) of rows that are not rows at all."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [(0, f"cannot read the label file: {exc.strerror or exc}")]
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
