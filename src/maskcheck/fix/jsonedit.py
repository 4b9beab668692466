"""Surgical edits of a JSON text by JSON pointer: every byte not edited stays as it was.

A fix must not reformat a user's 400 MB export, so edits are splices into the original text, never
a `json.dumps` of the whole document. Finding the spans uses msgspec: decoding a container as
`list[Raw]` / `dict[str, Raw]` validates it in C and yields zero-copy slices of the input, whose
buffer address gives each child's byte offset. Only the containers on the paths to the requested
pointers are decoded, so the cost is about one C-speed pass per level (the top object, then
`/annotations`), not a Python loop over tokens.

All pointers address the ORIGINAL document: deleting `/a/0` and replacing `/a/1` replaces what was
the second element. Edits whose pointers are equal or nested (one a prefix of the other) conflict.
An object with duplicate keys is addressed like `json.loads` sees it (the last value wins).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

__all__ = ["Delete", "EditError", "Replace", "apply", "apply_bytes", "locate", "parse_pointer",
           "values_at"]


@dataclass(frozen=True)
class Replace:
    """Write `value` (any JSON-able Python value) at `pointer`."""

    pointer: str
    value: Any


@dataclass(frozen=True)
class Delete:
    """Remove the array element or object member at `pointer`, with its separating comma."""

    pointer: str


Edit = Replace | Delete


class EditError(ValueError):
    """A pointer that is malformed or not found, conflicting edits, or a text that is not JSON."""


_INDEX = re.compile(r"0|[1-9][0-9]*")
_WS = b" \t\r\n"
# The first separator outside a string tells the document's style (strings are skipped whole).
_SEP_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[:,]', re.DOTALL)
_BOM = "\ufeff"
_RAW_LIST = list[msgspec.Raw]
_RAW_DICT = dict[str, msgspec.Raw]


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901 reference tokens, `~1` -> `/` and `~0` -> `~` (in that order, as the RFC says)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise EditError(f"{pointer!r}: a JSON pointer starts with '/' (or is '' for the whole document)")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise EditError(f"{pointer!r}: '~' must be followed by 0 or 1 in a JSON pointer")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in tokens)


def _address(buffer: Any) -> int:
    """Where a buffer's bytes live in memory: a Raw slice minus the input's base is its offset."""
    return int(np.frombuffer(buffer, dtype=np.uint8).ctypes.data)


@dataclass
class _Node:
    """One step of the trie of requested pointers; `edit` set where an edit lands."""

    children: dict[str, _Node] = field(default_factory=dict)
    pointer: str | None = None  # set when this node is a requested pointer
    edit: Edit | None = None


class _Container:
    """A decoded array or object: its children's Raw slices, spans computed on demand."""

    def __init__(self, doc: _Doc, start: int, end: int, raw: Any) -> None:
        self.doc = doc
        self.start, self.end = start, end  # the container's own span, brackets included
        self.is_object = doc.buf[start] == ord("{")
        try:
            if self.is_object:
                members = msgspec.json.decode(raw, type=_RAW_DICT)
                self.keys: list[str] = list(members)
                self.raws: list[Any] = list(members.values())
            else:
                self.keys = []
                self.raws = msgspec.json.decode(raw, type=_RAW_LIST)
        except msgspec.DecodeError as exc:
            raise EditError(f"not JSON: {exc}") from None
        self._index = {k: i for i, k in enumerate(self.keys)}

    def child(self, token: str, pointer: str) -> int:
        """The index of the child named by `token`, or EditError naming the pointer."""
        if self.is_object:
            if token in self._index:
                return self._index[token]
            raise EditError(f"{pointer}: no member {token!r} in the object")
        if not _INDEX.fullmatch(token):
            raise EditError(f"{pointer}: {token!r} is not an array index")
        i = int(token)
        if i >= len(self.raws):
            raise EditError(f"{pointer}: index {i} is past the end of an array of {len(self.raws)}")
        return i

    def value_span(self, i: int) -> tuple[int, int]:
        start = _address(self.raws[i]) - self.doc.base
        return start, start + len(self.raws[i])

    def item_span(self, i: int) -> tuple[int, int]:
        """An array element, or an object member from its key's opening quote to its value's end."""
        start, end = self.value_span(i)
        if self.is_object:
            start = self.doc.key_start(start)
        return start, end


class _Doc:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.base = _address(buf)

    def key_start(self, value_start: int) -> int:
        """The opening quote of the key before a member's value (scanning back over `": "`).

        Inside a key every `"` is preceded by an odd run of backslashes, so the first quote going
        back that is preceded by an even run is the opening one.
        """
        buf = self.buf
        pos = value_start - 1
        while buf[pos] in _WS:
            pos -= 1
        pos -= 1  # the ':'
        while buf[pos] in _WS:
            pos -= 1
        # buf[pos] is the key's closing quote
        while True:
            pos = buf.rfind(b'"', 0, pos)
            slashes = 0
            while buf[pos - 1 - slashes] == 0x5C:
                slashes += 1
            if slashes % 2 == 0:
                return pos


def _trie(pointers: Iterable[str], edits: Sequence[Edit]) -> _Node:
    root = _Node()
    for pointer in pointers:
        node = root
        for token in parse_pointer(pointer):
            node = node.children.setdefault(token, _Node())
        node.pointer = pointer
    for edit in edits:
        if not isinstance(edit, Replace | Delete):
            raise EditError(f"not an edit: {edit!r}")
        node = root
        tokens = parse_pointer(edit.pointer)
        for token in tokens:
            if node.edit is not None:
                raise EditError(f"{edit.pointer}: inside {node.pointer}, which is edited too")
            node = node.children.setdefault(token, _Node())
        if node.edit is not None and _key(node.edit) != _key(edit):
            raise EditError(f"{edit.pointer}: two different edits at the same pointer")
        if node.children and any(_has_edit(c) for c in node.children.values()):
            raise EditError(f"{edit.pointer}: edited, and so is a pointer inside it")
        if isinstance(edit, Delete) and not tokens:
            raise EditError("'': cannot delete the whole document")
        node.edit = edit
        node.pointer = edit.pointer
    return root


def _key(edit: Edit) -> tuple[str, str, str]:
    """Identity of an edit: Replace('/a', 1) and Replace('/a', True) differ although they compare equal."""
    if isinstance(edit, Delete):
        return ("delete", edit.pointer, "")
    return ("replace", edit.pointer, repr(edit.value))


def _has_edit(node: _Node) -> bool:
    return node.edit is not None or any(_has_edit(c) for c in node.children.values())


def _encode(text: str) -> tuple[bytes, int]:
    """UTF-8 bytes and the byte length of a leading BOM (kept, and skipped when parsing)."""
    try:
        buf = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EditError(f"not JSON: the text holds an unencodable character at {exc.start}") from None
    return buf, (3 if text.startswith(_BOM) else 0)


def _root(doc: _Doc, skip: int) -> tuple[tuple[int, int], Any, _Container | None]:
    """The root value's span without surrounding whitespace, its Raw, and its decoded container.

    Decoding the root container is the one full validation pass; decoding it as `Raw` and then
    again as a container would read 400 MB twice.
    """
    buf = doc.buf
    start, end = skip, len(buf)
    while start < end and buf[start] in _WS:
        start += 1
    while end > start and buf[end - 1] in _WS:
        end -= 1
    if start == end:
        raise EditError("not JSON: the text is empty")
    raw: Any = memoryview(buf)[start:end]
    if buf[start] in b"[{":
        box = _Container(doc, start, end, raw)
        return (start, end), raw, box
    try:
        msgspec.json.decode(raw, type=msgspec.Raw)
    except msgspec.DecodeError as exc:
        raise EditError(f"not JSON: {exc}") from None
    return (start, end), raw, None


def _walk(doc: _Doc, node: _Node, span: tuple[int, int], raw: Any, pointer: str,
          spans: dict[str, tuple[int, int]], ranges: list[tuple[int, int, bytes]],
          style: tuple[str, str], box: _Container | None = None,
          missing: dict[str, str] | None = None) -> None:
    """Record the spans of requested pointers under `node` and the byte ranges its edits rewrite.
    With `missing`, a pointer that leads nowhere is put there with why (it and every edit
    below it skipped) instead of raising."""
    if node.pointer is not None:
        spans[node.pointer] = span
    if isinstance(node.edit, Replace):
        ranges.append((span[0], span[1], _dump(node.edit, style, doc.buf[span[0]:span[1]])))
    if not node.children:
        return
    if doc.buf[span[0]] not in b"[{":
        token = next(iter(node.children))
        why = f"{pointer}/{_escape(token)}: {pointer or 'the document'} is not an array or object"
        if missing is None:
            raise EditError(why)
        for child in node.children.values():
            missing.update(dict.fromkeys(_requested(child), why))
        return
    if box is None:
        box = _Container(doc, span[0], span[1], raw)
    deleted: set[int] = set()
    for token, child in node.children.items():
        child_pointer = f"{pointer}/{_escape(token)}"
        try:
            i = box.child(token, child.pointer or child_pointer)
        except EditError as exc:
            if missing is None:
                raise
            missing.update(dict.fromkeys(_requested(child), str(exc)))
            continue
        if isinstance(child.edit, Delete):
            deleted.add(i)
            if child.pointer is not None:
                spans[child.pointer] = box.value_span(i)
            continue
        _walk(doc, child, box.value_span(i), box.raws[i], child_pointer, spans, ranges, style,
              missing=missing)
    if deleted:
        ranges.extend(_deletions(box, deleted))


def _requested(node: _Node) -> Iterable[str]:
    """The requested pointers at and below `node`."""
    if node.pointer is not None:
        yield node.pointer
    for child in node.children.values():
        yield from _requested(child)


def _deletions(box: _Container, deleted: set[int]) -> list[tuple[int, int, bytes]]:
    """Byte ranges that remove the `deleted` children of one container with their commas.

    A child after a kept one goes with the comma before it (`,<ws>child`); a child in the leading
    run before the first kept one goes with what follows it, up to the next child. In an indented
    document either way removes whole lines. When nothing is kept the container becomes `[]`/`{}`.
    """
    n = len(box.raws)
    if len(deleted) == n:
        return [(box.start + 1, box.end - 1, b"")]
    first_kept = 0
    while first_kept in deleted:
        first_kept += 1
    out = []
    for i in sorted(deleted):
        if i < first_kept:
            out.append((box.item_span(i)[0], box.item_span(i + 1)[0], b""))
        else:
            out.append((box.item_span(i - 1)[1], box.item_span(i)[1], b""))
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _style(buf: bytes, skip: int) -> tuple[str, str]:
    """(item, key) separators: compact when the first `:` (else `,`) outside a string has no space after."""
    for match in _SEP_TOKEN.finditer(buf, skip):
        if match.group() in (b":", b","):
            after = buf[match.end():match.end() + 1]
            return (",", ":") if after and after not in _WS else (", ", ": ")
    return ", ", ": "


_INDENTS = re.compile(rb"\n([ \t]*)")


def _layout(old: bytes) -> tuple[str, str] | None:
    """(indent unit, indent of the closing line) of a container written over several lines,
    so that a container replacing it is laid out as it was; None for one written inline."""
    found = _INDENTS.findall(old)
    if len(found) < 2:
        return None
    inner, closing = found[0].decode(), found[-1].decode()
    unit = inner[len(closing):] if inner.startswith(closing) and len(inner) > len(closing) else None
    return (unit, closing) if unit else None


def _dump(edit: Replace, style: tuple[str, str], old: bytes = b"") -> bytes:
    """The replacement text: repr floats (exact round trip), non-ASCII kept, NaN refused. A
    container replacing one laid out over several lines is laid out the same way."""
    layout = _layout(old) if isinstance(edit.value, list | dict) and edit.value else None
    try:
        if layout is None:
            return json.dumps(edit.value, ensure_ascii=False, separators=style,
                              allow_nan=False).encode()
        unit, closing = layout
        text = json.dumps(edit.value, ensure_ascii=False, indent=unit,
                          separators=(style[0].rstrip(), style[1]), allow_nan=False)
        return text.replace("\n", "\n" + closing).encode()
    except (TypeError, ValueError) as exc:
        raise EditError(f"{edit.pointer}: cannot write {edit.value!r} as JSON ({exc})") from None


def _plan(buf: bytes, skip: int, pointers: Iterable[str], edits: Sequence[Edit],
          missing: dict[str, str] | None = None
          ) -> tuple[dict[str, tuple[int, int]], list[tuple[int, int, bytes]]]:
    root = _trie(pointers, edits)
    doc = _Doc(buf)
    span, raw, box = _root(doc, skip)
    spans: dict[str, tuple[int, int]] = {}
    ranges: list[tuple[int, int, bytes]] = []
    style = _style(buf, skip) if any(isinstance(e, Replace) for e in edits) else (", ", ": ")
    _walk(doc, root, span, raw, "", spans, ranges, style, box, missing)
    return spans, ranges


def _splice(buf: bytes, ranges: list[tuple[int, int, bytes]]) -> bytes:
    ranges.sort(key=lambda r: (r[0], r[1]))
    pieces: list[bytes] = []
    at = 0
    for start, end, new in ranges:
        if start < at:
            raise EditError("overlapping edits")  # _trie rules out nesting; kept as a guard
        pieces += (buf[at:start], new)
        at = end
    pieces.append(buf[at:])
    return b"".join(pieces)


def apply_bytes(data: bytes, edits: Sequence[Edit], missing: dict[str, str] | None = None) -> bytes:
    """`apply` on UTF-8 bytes, for callers that read and write bytes (no decode of 400 MB twice).
    With `missing` (a dict), edits whose pointer leads nowhere are skipped and put there,
    pointer -> why, instead of raising."""
    if not edits:
        return data
    try:
        skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    except AttributeError:
        raise EditError("not JSON: expected bytes") from None
    _spans, ranges = _plan(data, skip, (), edits, missing)
    return _splice(data, ranges)


def apply(text: str, edits: Sequence[Edit]) -> str:
    """The text with `edits` spliced in; everything outside the edited spans is unchanged."""
    if not edits:
        return text
    buf, skip = _encode(text)
    _spans, ranges = _plan(buf, skip, (), edits)
    return _splice(buf, ranges).decode("utf-8")


def values_at(data: bytes, pointers: Iterable[str], missing: dict[str, str] | None = None
              ) -> dict[str, Any]:
    """The JSON values at `pointers` in UTF-8 `data`, decoded (what a delete removes). With
    `missing`, pointers that lead nowhere go there with why instead of raising."""
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    spans, _ranges = _plan(data, skip, list(pointers), (), missing)
    return {p: json.loads(data[a:b]) for p, (a, b) in spans.items()}


def locate(text: str, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The (start, end) character span in `text` of the value at each pointer."""
    pointers = list(pointers)
    buf, skip = _encode(text)
    spans, _ranges = _plan(buf, skip, pointers, ())
    if text.isascii():  # O(1) in CPython: byte offsets are character offsets
        return spans
    return _to_chars(buf, spans)


def _to_chars(buf: bytes, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Byte offsets to character offsets, decoding each stretch between sorted offsets once."""
    offsets = sorted({o for span in spans.values() for o in span})
    chars: dict[int, int] = {}
    at_byte = at_char = 0
    for off in offsets:
        at_char += len(buf[at_byte:off].decode("utf-8"))
        at_byte = off
        chars[off] = at_char
    return {p: (chars[s], chars[e]) for p, (s, e) in spans.items()}
