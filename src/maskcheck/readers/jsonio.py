"""Reading JSON files with errors a person can act on (file, line, column)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import msgspec

from maskcheck import files
from maskcheck.errors import InputProblem

# A .json.gz that inflates past this is refused rather than filling memory (a gzip bomb).
MAX_INFLATED_BYTES = 4 * 1024**3  # 9x COCO train2017
# Real annotation JSON compresses 5-15x; past this ratio (and a floor for small files) the
# file is a bomb: a 3.5 MB .gz of repeated records once inflated to 7 GB in memory.
MAX_INFLATE_RATIO = 100
MIN_INFLATED_CAP = 256 * 1024**2


def read_bytes(path: Path) -> bytes:
    """The file's bytes, inflated for .gz; every OS error becomes one InputProblem line."""
    where = str(path)
    try:
        if path.is_dir():
            raise InputProblem(where, "is a folder, expected a file")
        files.require_regular_file(path, where)  # a FIFO or /dev/zero would never end
        if path.name.endswith(".gz"):
            return _inflate(path)
        return path.read_bytes()
    except InputProblem:
        raise
    except FileNotFoundError:
        raise InputProblem(where, "no such file") from None
    except PermissionError:
        raise InputProblem(where, "permission denied (cannot read the file)") from None
    except OSError as exc:
        raise InputProblem(where, f"cannot read: {exc.strerror or exc}") from None


def inflate_cap(compressed: int) -> int:
    """How far a .gz of `compressed` bytes may inflate: a ratio, a floor, and 4 GiB at most."""
    return min(MAX_INFLATED_BYTES, max(MIN_INFLATED_CAP, MAX_INFLATE_RATIO * compressed))


def _inflate(path: Path) -> bytes:
    chunks: list[bytes] = []
    total = 0
    cap = inflate_cap(path.stat().st_size)
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                total += len(chunk)
                if total > cap:
                    raise InputProblem(str(path), f"inflates to more than {cap:,} bytes "
                                                  f"({MAX_INFLATE_RATIO}x its size, 4 GiB at most); "
                                                  "refusing it (a gzip bomb?)")
                chunks.append(chunk)
    except (gzip.BadGzipFile, zlib.error):
        raise InputProblem(str(path), "not a gzip file (the name ends in .gz)") from None
    except EOFError:
        raise InputProblem(str(path), "truncated gzip stream") from None
    return b"".join(chunks)


def line_col(data: bytes, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(data)))
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


_UTF8_BOM = b"\xef\xbb\xbf"


def _wide(data: bytes) -> bool:
    """UTF-16 or UTF-32 text, with or without its byte-order mark."""
    return data.startswith((b"\xff\xfe", b"\xfe\xff")) or _wide_json(data[:4])


def _wide_json(head: bytes) -> bool:
    """UTF-16/32 JSON without a BOM: its first character (`{`, `[` or blank) beside NULs."""
    first = b"{[ \t\r\n"
    return len(head) == 4 and (
        (head[0] in first and head[1] == 0)  # UTF-16LE, UTF-32LE
        or (head[0] == 0 and head[1] in first)  # UTF-16BE
        or (head[:3] == b"\x00\x00\x00" and head[3] in first))  # UTF-32BE


def encoding_problem(data: bytes) -> str | None:
    """Why `data` is not UTF-8 JSON text, decided from the bytes (None: it is UTF-8).

    Decided here rather than from a decoder's message, whose wording changes between
    versions: a byte-order mark, UTF-16/32 (NUL bytes between ASCII), invalid UTF-8.
    """
    if data.startswith(_UTF8_BOM):
        return ("starts with a UTF-8 byte-order mark, which json.load (and so pycocotools) "
                "refuses; save the file as UTF-8 without BOM")
    if _wide(data):
        wide = "UTF-32" if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        return f"{wide} text, not UTF-8; json.load and pycocotools read UTF-8: re-save it as UTF-8"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col(data, exc.start)
        return (f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}, "
                f"column {col}) is not valid UTF-8 (Latin-1 or binary data?)")
    return None


class _NotJson(ValueError):
    pass


def _drop(_value: Any) -> None:
    return None


def _constant(_name: str) -> None:
    raise _NotJson


def syntax_problem(path: str, data: bytes) -> InputProblem:
    """Why `data` is not a JSON document: `path: invalid JSON at line L, column C: reason`.

    Called after a fast decoder refused the bytes; the reason is found again here from the
    bytes themselves (stdlib json gives positions as attributes, not as text to parse).
    """
    if not data.strip():
        return InputProblem(path, "empty file, expected a JSON document")
    if not (data.startswith(_UTF8_BOM) or _wide(data)) and data.lstrip()[:1] not in (b"{", b"["):
        return InputProblem(path, "not JSON (the first byte is not { or [; binary data?)")
    problem = encoding_problem(data)
    if problem is not None:
        return InputProblem(path, problem)
    text = data.decode("utf-8")
    try:
        # values are dropped as they are parsed, so a large broken file costs little memory
        json.loads(text, object_pairs_hook=_drop, parse_int=_drop, parse_float=_drop,
                   parse_constant=_constant)
    except _NotJson:
        return InputProblem(path, "holds NaN or Infinity, which is not JSON (most loaders refuse it)")
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()):
            line, col = line_col(data, len(data.rstrip()))
            return InputProblem(path, f"truncated JSON: the document ends early at line {line}, "
                                      f"column {col}")
        return InputProblem(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}")
    except RecursionError:
        return too_deep(path)
    except ValueError as err:  # a number too large for stdlib json's int conversion, say
        return InputProblem(path, f"invalid JSON: {type(err).__name__}")
    return InputProblem(path, "invalid JSON (refused by the decoder)")


def decode(path: str, data: bytes, type: Any = Any) -> Any:
    """Decode `data` as `type`; syntax errors become InputProblem with line and column.

    A msgspec.ValidationError (valid JSON of the wrong shape) is left to the caller.
    """
    try:
        return msgspec.json.decode(data, type=type)
    except msgspec.ValidationError:
        # The typed decoder may stop at a shape error before it sees a syntax error later
        # in the file; check the syntax first so a truncated file says "truncated".
        check_syntax(path, data)
        raise
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise syntax_problem(path, data) from None
    except RecursionError:
        raise too_deep(path) from None


def too_deep(path: str) -> InputProblem:
    return InputProblem(path, "JSON nested too deeply to be an annotation file (hostile input?)")


def check_syntax(path: str, data: bytes) -> None:
    try:
        msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise syntax_problem(path, data) from None
    except RecursionError:
        raise too_deep(path) from None

