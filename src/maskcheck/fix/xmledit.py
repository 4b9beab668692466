"""Edits of XML annotation files (Pascal VOC, CVAT) by element: every other byte stays.

A fix in an XML file names its element by the line of its start tag (the finding's line):
a CVAT shape is deleted, a VOC object's <bndbox> gets new coordinates. The file is parsed
again here (through defusedxml, as the readers do) with expat's byte offsets of each start
and end tag, so the edit is a splice of exactly that element's bytes; a line left holding
only whitespace goes with it. The result is parsed once more: it must be well-formed and
hold exactly the elements it held less those deleted.
"""

from __future__ import annotations

import bisect
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser


class XmlEditError(ValueError):
    """A file that is not well-formed XML (any more), or an edit that would make it so."""


@dataclass(frozen=True, slots=True)
class Element:
    """One element: its tag (namespace stripped), the line of its start tag, the byte spans
    of the whole element [start, end) and of its content [inner, close), its parent's index
    (-1 for the root) and its depth."""

    tag: str
    line: int
    start: int
    inner: int
    close: int
    end: int
    parent: int
    depth: int


_TAG_END = re.compile(rb'"[^"]*"|\'[^\']*\'|>')


def _tag_end(data: bytes, start: int) -> int:
    """The byte after the `>` that ends the tag opening at `start` (quoted `>` skipped)."""
    for m in _TAG_END.finditer(data, start):
        if m.group() == b">":
            return m.end()
    raise XmlEditError("a tag is not closed")


class _Spans:
    """An XMLParser target that records each element's offsets as expat reports them."""

    def __init__(self, data: bytes) -> None:
        self.buf = data
        self.parser: Any = None
        self.open: list[list[Any]] = []
        self.out: list[list[Any]] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        at = self.parser.CurrentByteIndex
        inner = _tag_end(self.buf, at)
        parent = self.open[-1][0] if self.open else -1
        rec = [len(self.out), tag.rpartition("}")[2], self.parser.CurrentLineNumber, at, inner,
               inner, inner, parent, len(self.open)]
        self.out.append(rec)
        self.open.append(rec)

    def end(self, tag: str) -> None:
        rec = self.open.pop()
        if self.buf[rec[4] - 2:rec[4]] == b"/>":  # <x .../>: no content, no end tag
            return
        close = self.parser.CurrentByteIndex
        rec[5], rec[6] = close, _tag_end(self.buf, close)

    def data(self, text: str) -> None:
        pass

    def close(self) -> list[Element]:
        return [Element(*r[1:]) for r in self.out]


def elements(data: bytes) -> list[Element]:
    """Every element of `data` in document order, the root first. Raises XmlEditError."""
    target = _Spans(data)
    parser = DefusedXMLParser(target=target)
    target.parser = parser.parser
    try:
        parser.feed(data)
        return parser.close()
    except (DefusedXmlException, ET.ParseError, ValueError, LookupError) as exc:
        raise XmlEditError(f"not well-formed XML: {exc}") from None


def _line_span(data: bytes, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to whole lines when nothing else but blanks shares them."""
    left = data.rfind(b"\n", 0, start) + 1
    right = data.find(b"\n", end)
    right = len(data) if right < 0 else right + 1
    if data[left:start].strip() or data[end:right].strip():
        return start, end
    return left, right


def splice(data: bytes, deletes: list[Element], texts: list[tuple[Element, str]],
           before: list[Element] | None = None) -> bytes:
    """`data` without the `deletes` (each with its line, when it had the line to itself)
    and with each (element, text) element's content replaced by the escaped text; checked
    to parse, with every element not deleted still there. `before`: `elements(data)`, when
    the caller has it. Raises XmlEditError."""
    ranges = [(*_line_span(data, e.start, e.end), b"") for e in deletes]
    if any(e.inner == e.end for e, _ in texts):
        raise XmlEditError("an element written <x/> has no content to replace")
    ranges += [(e.inner, e.close, _escape(text)) for e, text in texts]
    ranges.sort()
    pieces, at = [], 0
    for start, end, new in ranges:
        if start < at:
            raise XmlEditError("two edits overlap")
        pieces += (data[at:start], new)
        at = end
    pieces.append(data[at:])
    out = b"".join(pieces)
    before = elements(data) if before is None else before
    starts = [e.start for e in before]  # document order: ascending
    gone = sum(bisect.bisect_left(starts, d.end) - bisect.bisect_left(starts, d.start)
               for d in outermost(deletes))
    if len(elements(out)) != len(before) - gone:
        raise XmlEditError("the edit would change other elements")
    return out


def outermost(els: list[Element]) -> list[Element]:
    """`els` less those inside another of them, in document order."""
    out: list[Element] = []
    for e in sorted(els, key=lambda e: (e.start, -e.end)):
        if not out or e.start >= out[-1].end:
            out.append(e)
    return out


def _escape(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
