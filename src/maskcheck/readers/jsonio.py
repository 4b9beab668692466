"""Reading JSON files with errors a person can act on (file, line, column)."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import Any

import msgspec

from maskcheck.errors import InputProblem

# A .json.gz that inflates past this is refused rather than filling memory (a gzip bomb).
MAX_INFLATED_BYTES = 4 * 1024**3  # 9x COCO train2017


def read_bytes(path: Path) -> bytes:
    """The file's bytes, inflated for .gz; every OS error becomes one InputProblem line."""
    where = str(path)
    try:
        if path.is_dir():
            raise InputProblem(where, "is a folder, expected a file")
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


def _inflate(path: Path) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 24):
                total += len(chunk)
                if total > MAX_INFLATED_BYTES:
                    raise InputProblem(str(path), "inflates to more than 4 GiB; refusing it (a gzip bomb?)")
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


_BYTE = re.compile(r"\(byte (\d+)\)")


def syntax_problem(path: str, data: bytes, exc: Exception) -> InputProblem:
    """Turn a decoder error into `path: invalid JSON at line L, column C: reason`."""
    if not data.strip():
        return InputProblem(path, "empty file, expected a JSON document")
    if isinstance(exc, UnicodeDecodeError):
        return InputProblem(path, "not UTF-8 text (binary data?)")
    text = str(exc)
    if "truncated" in text:
        line, col = line_col(data, len(data.rstrip()))
        return InputProblem(path, f"truncated JSON: the document ends early at line {line}, column {col}")
    m = _BYTE.search(text)
    reason = _BYTE.sub("", text).replace("JSON is malformed: ", "").strip()
    if m:
        offset = int(m.group(1))
        if offset == 0 and data.lstrip()[:1] not in (b"{", b"["):
            return InputProblem(path, "not JSON (the first byte is not { or [; binary data?)")
        line, col = line_col(data, offset)
        return InputProblem(path, f"invalid JSON at line {line}, column {col}: {reason}")
    return InputProblem(path, f"invalid JSON: {reason}")


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
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise syntax_problem(path, data, exc) from None
    except RecursionError:
        raise too_deep(path) from None


def too_deep(path: str) -> InputProblem:
    return InputProblem(path, "JSON nested too deeply to be an annotation file (hostile input?)")


def check_syntax(path: str, data: bytes) -> None:
    try:
        msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise syntax_problem(path, data, exc) from None
    except RecursionError:
        raise too_deep(path) from None

