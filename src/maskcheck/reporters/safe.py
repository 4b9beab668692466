"""Text that a terminal (or a CI log viewer) shows as written, never obeys.

Dataset strings — class names, file names, paths — reach the human-facing reports. Raw,
an ESC sequence clears the screen or retitles the window, a newline forges a report line
and a bidi override reorders what is read. `visible()` renders every such character as a
Python-style escape (`\\x1b`, `\\n`, `\\u202e`) so the text stays on its line and inert.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL and C1 controls; Unicode line/paragraph separators; bidi embeddings, overrides
# and isolates (the "Trojan Source" characters).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    if c in _NAMED:
        return _NAMED[c]
    return f"\\x{ord(c):02x}" if ord(c) <= 0xFF else f"\\u{ord(c):04x}"


def visible(text: str) -> str:
    """`text` with control characters shown as escapes; unchanged when it has none."""
    return _UNSAFE.sub(_escape, text)
