"""Image files (MC3xx): missing, unreadable or truncated files, declared sizes that lie.

Files are checked where the annotations say they are: under `--images DIR`, or under a
folder found next to the annotation file (the file itself, `images/`, `../<split>/`...)
when a sample of the file names exists there. When no folder is found, the file checks
do nothing and cost nothing. Sizes come from the file header (Pillow's lazy open): pixels
are never decoded, so a decompression bomb is reported, not opened. A `file_name` that
leads outside the images folder is reported and never opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maskcheck.files import (
    ImageUnreadable,
    escapes,
    file_problem,
    read_image_header,
    regular_file_problem,
)
from maskcheck.model import Batch, DatasetInfo, Problem, Severity
from maskcheck.registry import DatasetRule, Option, Rule
from maskcheck.rules._util import image_problems

PROBE = 20  # file names tried when looking for the images folder
OK, MISSING, UNREADABLE = 1, 2, 3
BOMB_PIXELS = 89_478_485  # Pillow's Image.MAX_IMAGE_PIXELS: loaders refuse or warn above it
_TRUNCATED = "the {fmt} file is truncated (cut off before its end): decoding fails or yields grey rows"


def _split_names(stem: str) -> list[str]:
    """`instances_val2017` -> [`val2017`]: COCO's `annotations/instances_<split>.json`."""
    stem = stem.removesuffix(".json")
    return [stem.rsplit("_", 1)[1]] if "_" in stem else []


def _candidates(info: DatasetInfo) -> list[Path]:
    ann = Path(info.path)
    if not ann.is_file():
        return []
    here = ann.parent
    splits = _split_names(ann.name.removesuffix(".gz"))
    out = [here, here / "images", here.parent, here.parent / "images", here / "JPEGImages"]
    for s in splits:
        out += [here / s, here.parent / s, here / "images" / s, here.parent / "images" / s]
    seen: list[Path] = []
    for p in out:
        if p not in seen and p.is_dir():
            seen.append(p)
    return seen


def _multi_file(batch: Batch) -> bool:
    """Formats with an annotation file per image name images relative to that file."""
    return "path" in batch.images


@dataclass(frozen=True, slots=True)
class ImageFolder:
    """Where a dataset's image files are: `root` (None: no file is checked) and whether none
    was found for a format that names images relative to one folder (the report says so)."""

    root: Path | None
    not_found: bool


def image_folder(batch: Batch) -> ImageFolder:
    """A dataset fact (`Rule.dataset_facts`): decided by the engine on the first batch that
    holds images, from a sample of its file names, so every batch checks the same folder."""
    info, images_dir = batch.info, batch.ctx.images_dir
    root: Path | None = None
    if images_dir:
        root = Path(images_dir)
    elif not _multi_file(batch) and len(batch.images):
        names = [n for n in batch.images.file_name[:PROBE * 5] if isinstance(n, str) and n
                 and not escapes(n)][:PROBE]
        best = 0
        for cand in _candidates(info) if names else []:
            hits = sum(regular_file_problem(cand / n) is None for n in names)
            if hits > best:
                root, best = cand, hits
    return ImageFolder(root, root is None and not images_dir and not _multi_file(batch))


def image_root(batch: Batch) -> Path | None:
    """The folder file names are relative to, or None: then no file is checked."""
    folder = batch.ctx.dataset_facts.get(image_folder)
    if folder is None:  # a batch without images, or a rule driven outside the engine
        folder = image_folder(batch) if len(batch.images) else ImageFolder(None, False)
    return folder.root


@dataclass
class FileScan:
    status: np.ndarray  # 0 not checked, OK, MISSING, UNREADABLE
    message: dict[int, str]
    size: np.ndarray  # (n, 2) real width, height; -1 unknown
    orientation: dict[int, int]  # EXIF orientation where the size is swapped


def _truncated(path: Path, fmt: str | None) -> bool:
    """A JPEG or PNG whose image data ends before its end marker. Data after the marker is
    no truncation: cameras pad with zeros, Samsung phones append a trailer, a Motion Photo
    a whole video."""
    if fmt not in ("JPEG", "PNG"):
        return False
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, end - 64))
        tail = fh.read()
        if fmt == "JPEG":
            return not (tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9") or _jpeg_ends(fh, end))
        return b"IEND" not in tail[-16:] and not _png_ends(fh, end)


# Chunks or segments walked before a file is judged by its tail alone (a hostile file of
# millions of empty chunks must not cost millions of reads).
_MAX_WALK = 100_000
_READ = 1 << 20


def _png_ends(fh: Any, end: int) -> bool:
    """The chunk walk reaches IEND inside the file (whatever follows it)."""
    pos = 8
    for _ in range(_MAX_WALK):
        if pos + 12 > end:
            return False
        fh.seek(pos)
        head = fh.read(8)
        if head[4:8] == b"IEND":
            return True
        pos += 12 + int.from_bytes(head[:4], "big")
    return False


def _jpeg_ends(fh: Any, end: int) -> bool:
    """An end marker after the first scan. Segments before the scan are skipped by their
    lengths (an EXIF thumbnail holds an end marker of its own); inside entropy-coded data
    0xFF is always stuffed, so the first 0xFFD9 there is the image's end."""
    pos = 2
    for _ in range(_MAX_WALK):
        if pos + 4 > end:
            return False
        fh.seek(pos)
        head = fh.read(4)
        if head[0] != 0xFF:
            return False
        marker = head[1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
        elif marker == 0xDA:  # start of scan: search the rest
            break
        else:
            pos += 2 + int.from_bytes(head[2:4], "big")
    else:
        return False
    fh.seek(pos)
    carry = b""
    while chunk := fh.read(_READ):
        if b"\xff\xd9" in carry + chunk:
            return True
        carry = chunk[-1:]
    return False


def _sniff(path: Path) -> str | None:
    """JPEG or PNG by the file's magic bytes; None for anything else or an unreadable file."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return "PNG" if head.startswith(b"\x89PNG\r\n\x1a\n") else None


def scan_files(batch: Batch) -> FileScan | None:
    return batch.derived(_scan_files)


def _scan_files(batch: Batch) -> FileScan | None:
    root = image_root(batch)
    return None if root is None else _scan(batch, root)


def _scan(batch: Batch, root: Path) -> FileScan:
    imgs = batch.images
    n = len(imgs)
    status = np.zeros(n, dtype=np.int8)
    size = np.full((n, 2), -1, dtype=np.int64)
    message: dict[int, str] = {}
    orientation: dict[int, int] = {}
    for r in range(n):
        name = imgs.file_name[r]
        if not isinstance(name, str) or not name or escapes(name):
            continue
        path = root / name.replace("\\", "/")
        problem = file_problem(path)  # never raises: a 300-character name is a reason
        if problem is not None and problem.kind == "missing":
            status[r], message[r] = MISSING, str(path)
            continue
        if problem is not None:
            status[r] = UNREADABLE
            message[r] = ("it is a folder, not an image file" if problem.kind == "folder"
                          else problem.message)
            continue
        try:
            header = read_image_header(path, orientation=True)
            cut = _truncated(path, header.format)
        except ImageUnreadable as exc:
            fmt = _sniff(path)  # a header cut short: judged from the bytes, not Pillow's wording
            status[r] = UNREADABLE
            message[r] = (_TRUNCATED.format(fmt=fmt) if fmt is not None and _truncated(path, fmt)
                          else str(exc))
            continue
        except OSError as exc:  # the file vanished or became unreadable between the two reads
            status[r], message[r] = UNREADABLE, f"cannot be read: {exc.strerror or exc}"
            continue
        w, h = header.width, header.height
        size[r] = (w, h)
        if header.orientation != 1 and _swapped(imgs, r, w, h):
            orientation[r] = header.orientation
        if cut:
            status[r], message[r] = UNREADABLE, _TRUNCATED.format(fmt=header.format)
        else:
            status[r] = OK
    return FileScan(status, message, size, orientation)


def _swapped(imgs: Any, r: int, w: int, h: int) -> bool:
    return bool(imgs.width[r] == h and imgs.height[r] == w and w != h)


def _name(batch: Batch, r: int) -> str:
    return repr(batch.images.file_name[r])


class MissingImageFile(Rule):
    code = "MC301"
    name = "missing-image-file"
    summary = "An image listed in the annotations whose file is not in the images folder."
    severity = Severity.ERROR
    dataset_facts = (image_folder,)

    def check(self, batch: Batch) -> Iterator[Problem]:
        scan = scan_files(batch)
        if scan is None:
            return
        yield from image_problems(
            batch, scan.status == MISSING,
            lambda r: f"image file {_name(batch, r)} is not there ({scan.message[r]}): the data "
                      "loader raises FileNotFoundError when it reaches this image")


class UnreadableImage(Rule):
    code = "MC302"
    name = "unreadable-image"
    summary = "An image file that cannot be opened or is truncated."
    severity = Severity.ERROR
    dataset_facts = (image_folder,)

    def check(self, batch: Batch) -> Iterator[Problem]:
        scan = scan_files(batch)
        if scan is None:
            return
        yield from image_problems(batch, scan.status == UNREADABLE,
                                  lambda r: f"image file {_name(batch, r)}: {scan.message[r]}")


class ImageSizeMismatch(Rule):
    code = "MC303"
    name = "image-size-mismatch"
    summary = "Declared width/height differ from the size in the image file's header."
    severity = Severity.ERROR
    dataset_facts = (image_folder,)

    def check(self, batch: Batch) -> Iterator[Problem]:
        scan = scan_files(batch)
        if scan is None:
            return
        imgs = batch.images
        w, h = scan.size[:, 0], scan.size[:, 1]
        declared = np.isfinite(imgs.width) & np.isfinite(imgs.height)
        bad = (scan.status > 0) & (w >= 0) & declared & ((imgs.width != w) | (imgs.height != h))

        def message(r: int) -> str:
            text = (f"declared {imgs.width[r]:g}x{imgs.height[r]:g} (width x height) but the file "
                    f"{_name(batch, r)} is {w[r]}x{h[r]}")
            if _swapped(imgs, r, int(w[r]), int(h[r])):
                o = scan.orientation.get(r)
                exif = (f"; its EXIF orientation is {o}, so a loader that applies EXIF rotation "
                        "sees the declared size, one that does not sees the file's" if o
                        else "; width and height are swapped (an EXIF rotation applied on export?)")
                return text + exif + ": masks land rotated relative to the pixels"
            return text + ": masks are built at the declared size and no longer cover the pixels"

        yield from image_problems(batch, bad, message)


class InvalidImageSize(Rule):
    code = "MC304"
    name = "invalid-image-size"
    summary = "A declared image width or height that is zero or negative."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not len(imgs):
            return
        with np.errstate(invalid="ignore"):
            bad = (imgs.width <= 0) | (imgs.height <= 0)
        yield from image_problems(
            batch, bad,
            lambda r: f"declared size {imgs.width[r]:g}x{imgs.height[r]:g}: an image needs a "
                      "positive width and height; masks cannot be built and loaders divide by it")


class DuplicateFileName(DatasetRule):
    code = "MC305"
    name = "duplicate-file-name"
    summary = "The same image file listed by two image records."
    severity = Severity.WARNING

    def initial(self, info: DatasetInfo) -> tuple[list[str], list[int]]:
        return [], []

    def accumulate(self, state: tuple[list[str], list[int]], batch: Batch) -> tuple:
        imgs = batch.images
        paths = imgs.path if "path" in imgs else None
        keys, index = state
        for r, name in enumerate(imgs.file_name.tolist()):
            if not isinstance(name, str) or not name:
                continue
            if paths is not None or "\\" in name or "." in name[:2] or "/." in name or "//" in name:
                key = name.replace("\\", "/")
                if paths is not None:
                    key = os.path.join(os.path.dirname(str(paths[r])), key)
                name = os.path.normpath(key)
            keys.append(name)
            index.append(int(imgs.index[r]))
        return state

    def merge(self, a: tuple[list[str], list[int]], b: tuple[list[str], list[int]]) -> tuple:
        return a[0] + b[0], a[1] + b[1]

    def finalize(self, state: tuple[list[str], list[int]], info: DatasetInfo) -> Iterator[Problem]:
        keys, index = state
        first: dict[str, int] = {}
        repeats: list[tuple[int, str]] = []
        for i, k in sorted(zip(index, keys, strict=True)):
            if k in first:
                repeats.append((i, k))
            else:
                first[k] = i
        for i, key in repeats:
            yield Problem(
                f"image file {key!r} is already listed by /{info.image_section}/{first[key]}: the "
                "same pixels are trained twice under two ids, and a copy split across train "
                "and validation leaks", info.locate(info.image_section, i), (1, i))


class FileNameEscapes(Rule):
    code = "MC306"
    name = "file-name-escapes"
    summary = "A file_name that is absolute or climbs out of the images folder with `..`."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not len(imgs) or (_multi_file(batch) and not batch.ctx.images_dir):
            return  # there, names are relative to each annotation file (`../img.jpg` is fine)
        names = imgs.file_name
        bad = np.array([isinstance(v, str) and escapes(v) for v in names], dtype=bool)
        yield from image_problems(
            batch, bad,
            lambda r: f"file_name {names[r]!r} leads outside the images folder; it was not opened. "
                      "Loaders join it to their image root and read whatever it points to: "
                      "store paths relative to the images folder")


class ImageTooLarge(Rule):
    code = "MC307"
    name = "image-too-large"
    summary = "An image whose pixel count trips Pillow's decompression-bomb guard."
    severity = Severity.WARNING
    dataset_facts = (image_folder,)
    options = (Option("max_pixels", int, BOMB_PIXELS, "pixels above which an image is reported"),)

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not len(imgs):
            return
        limit = self.opts["max_pixels"]
        scan = scan_files(batch)
        real = scan.size if scan is not None else np.full((len(imgs), 2), -1)
        w = np.where(real[:, 0] >= 0, real[:, 0], imgs.width)
        h = np.where(real[:, 1] >= 0, real[:, 1], imgs.height)
        with np.errstate(invalid="ignore"):
            big = (w * h) > limit
        yield from image_problems(
            batch, big,
            lambda r: f"{w[r]:g}x{h[r]:g} is {w[r] * h[r]:,.0f} pixels, above {limit:,}: Pillow "
                      "warns above that and refuses (DecompressionBombError) above twice that, so "
                      "the loader crashes or needs the limit lifted; pixels were not decoded here")
