"""Parsing XML annotation files safely, keeping the line of every element.

Every XML file goes through defusedxml's parser: it refuses entity declarations, so a
"billion laughs" file fails at once with a clear reason instead of expanding into
gigabytes. The tree builder asks the expat parser for its current line while each start
tag is being handled, which is the line of that tag; elements carry it as `.line`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers.expat import errors as expat_errors

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from maskcheck.errors import InputProblem

# An annotation XML is small; a bigger file is read all the same (CVAT exports of large
# projects reach hundreds of MB), so this only bounds the cheap sniff.
SNIFF_BYTES = 4096
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*)[\s>/]")


class LineElement(ET.Element):
    """An element that knows the line of its start tag (0 when unknown)."""

    line: int = 0


class _LineBuilder(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__(element_factory=LineElement)
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> LineElement:  # type: ignore[override]
        el = super().start(tag, attrs)
        if self.parser is not None:
            el.line = self.parser.parser.CurrentLineNumber
        return el


def parse(path: Path, display: str | None = None) -> LineElement:
    """The root element of an XML file; raises InputProblem with one clear line."""
    where = display or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputProblem(where, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_bytes(data, where)


def parse_bytes(data: bytes, where: str) -> LineElement:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise InputProblem(where, f"refused to parse: the XML declares entities or external "
                                  f"references ({type(exc).__name__}), which can expand without "
                                  "bound; annotation files never need them") from None
    except ET.ParseError as exc:
        line, _col = exc.position
        # expat's own table of reasons, by error code: no parsing of a message's wording
        msg = expat_errors.messages.get(exc.code, "syntax error")
        raise InputProblem(where, f"not well-formed XML at line {line}: {msg}") from None
    except (ValueError, LookupError) as exc:  # a bad encoding declaration, say
        raise InputProblem(where, f"cannot decode the XML: {exc}") from None
    return root


def root_tag_of(head: bytes) -> str | None:
    # skip the declaration, comments and doctype before the root element
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", head, flags=re.S)
    m = _ROOT.search(text)
    return m.group(1).decode("ascii", "replace") if m else None


def text_of(el: ET.Element | None, child: str) -> str | None:
    """Stripped text of a direct child element, None when the child is absent."""
    if el is None:
        return None
    found = el.find(child)
    if found is None:
        return None
    return (found.text or "").strip()


def line_of(el: ET.Element | None) -> int:
    return int(getattr(el, "line", 0) or 0)
