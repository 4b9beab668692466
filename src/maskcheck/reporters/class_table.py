"""`maskcheck stats`: the per-class histogram of each dataset, as terminal bars or JSON.

Rows are laid out by hand (not a rich Table) so a row is always exactly one line: at a
narrow width the bars and the name shrink, they never wrap into a second line. Every
dataset string goes through `visible()` and into a `Text` (never markup), so a class named
`[bold]x[/]` or one holding ESC prints as written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from maskcheck.classstats import ClassRow, ClassTable
from maskcheck.reporters.safe import visible
from maskcheck.reporters.summary import plural

_GAP = "  "
_NAME_WANT = 28  # a longer name is cut with "…" rather than squeezing the bars
_BAR_MAX, _SHARE_MAX = 40, 20  # bar widths at a wide console
_EIGHTHS = " ▏▎▍▌▋▊▉"


def render(tables: Sequence[ClassTable], console: Console, *, width: int | None = None) -> None:
    """Write one heading and one histogram per table to `console`.

    `width`: the line width to lay out for; the console's width when None.
    """
    w = max(20, width or console.width)
    utf = console.encoding.lower().replace("-", "").startswith("utf")
    for k, t in enumerate(tables):
        if k:
            console.print()
        _table(t, console, w, utf)


def to_json(tables: Sequence[ClassTable]) -> str:
    """`{"version": 1, "datasets": [...]}`, indented; a non-finite number becomes null."""
    doc = {"version": 1, "datasets": [_finite(t.to_dict()) for t in tables]}
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def percent(share: float) -> str:
    """`12.34%`; a small non-zero share keeps two significant digits instead of reading 0."""
    p = share * 100
    if p == 0:
        return "0%"
    if p >= 0.01:
        return f"{p:.2f}%"
    return f"{p:.2g}%"


def _heading(t: ClassTable, console: Console, width: int, utf: bool) -> None:
    console.print(_plain(Text(visible(t.path), style="bold"), utf), overflow="fold", highlight=False,
                  width=width)
    parts = [visible(t.format), plural(t.images, "image")]
    if 0 < t.sized_images < t.images:
        parts.append(f"sizes known for {t.sized_images:,}")
    if t.without:
        parts.append(f"{t.without:,} without instances")
    bg = t.background_share
    parts.append("image sizes unknown" if bg is None else f"background {percent(bg)}")
    # wrapped between the parts, never inside one; continued lines indented
    sep = " · " if utf else " | "
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append("  " + part)
    for line in lines:
        _line(console, Text(line, style="dim"), width, utf)


def _table(t: ClassTable, console: Console, width: int, utf: bool) -> None:
    _heading(t, console, width, utf)
    rows = sorted(t.rows, key=lambda r: r.id)
    sized = t.background_share is not None
    names = [_name(r) for r in rows]
    counts = [f"{r.instances:,}" for r in rows]
    images = [f"{r.images:,}" for r in rows]
    shares = [percent(r.share) if sized else "?" for r in rows]
    bg_share = percent(t.background_share) if t.background_share is not None else "?"
    crowds = [f"+{r.crowd:,} crowd" if r.crowd else "" for r in rows]
    idw = max([len("id"), *(len(str(r.id)) for r in rows)])
    iw = max([1, *map(len, counts)])
    gw = max([len("images"), *map(len, images)])
    pw = max([len(bg_share), *map(len, shares)])
    cw = max([0, *map(len, crowds)])
    # id, name, count+bar, images, share+bar[, crowd]: two spaces between columns
    fixed = idw + iw + 1 + gw + pw + 1 + 4 * len(_GAP) + (len(_GAP) + cw if cw else 0)
    avail = max(0, width - fixed)
    want = min(_NAME_WANT, max([len("background"), *(n.cell_len for n in names)]))
    nw = min(want, max(6, avail - 10))
    bars = max(0, avail - nw)
    # the headers span number and bar, so each bar is at least wide enough for its header
    bw = min(_BAR_MAX, max(len("instances") - iw - 1, len("unused"), bars * 2 // 3))
    sw = min(_SHARE_MAX, max(len("pixels") - pw - 1, 1, bars - bw))

    _line(console, Text(f"{'id':>{idw}}{_GAP}{'name':<{nw}}{_GAP}{'instances':<{iw + 1 + bw}}{_GAP}"
                        f"{'images':>{gw}}{_GAP}{'pixels':<{pw + 1 + sw}}", style="bold"), width, utf)
    if not rows:
        _line(console, Text("    no classes", style="dim"), width, utf)
    top = max([0, *(r.instances for r in rows)])
    for r, name, n, g, s, crowd in zip(rows, names, counts, images, shares, crowds, strict=True):
        line = Text()
        line.append(f"{r.id:>{idw}}{_GAP}")
        line.append_text(_fit(name, nw, utf))
        line.append(f"{_GAP}{n:>{iw}} ")
        if r.instances == 0 and r.crowd == 0:
            line.append(f"{'unused':<{bw}}", style="yellow")
        else:
            line.append(f"{_bar(r.instances, top, bw, utf):<{bw}}", style="cyan")
        line.append(f"{_GAP}{g:>{gw}}{_GAP}{s:>{pw}} ")
        line.append(f"{_share_bar(r.share if sized else 0.0, sw, utf):<{sw}}", style="magenta")
        if crowd:
            line.append(f"{_GAP}{crowd}", style="dim")
        _line(console, line, width, utf)
    bg = Text(f"{'background':<{idw + len(_GAP) + nw}}{_GAP}{'':>{iw + 1 + bw}}{_GAP}{'':>{gw}}{_GAP}"
              f"{bg_share:>{pw}} ", style="dim")
    bg.append(_share_bar(t.background_share or 0.0, sw, utf))
    _line(console, bg, width, utf)
    if t.unlabelled:
        console.print(Text(f"note: {plural(t.unlabelled, 'instance')} without a usable class id",
                           style="yellow"), highlight=False, width=width)


def _line(console: Console, text: Text, width: int, utf: bool) -> None:
    # crop, never wrap: at a width below the minimum layout a row loses its tail, not its shape
    text = _plain(text, utf)
    text.rstrip()
    text.truncate(width, overflow="ellipsis" if utf else "crop")
    console.print(text, no_wrap=True, crop=True, highlight=False, width=width)


def _name(r: ClassRow) -> Text:
    if r.name is None:  # an id used by annotations that no category declares
        return Text("(undeclared)", style="dim italic")
    # quoted when blanks at its ends (or nothing at all) would otherwise go unseen
    shown = visible(r.name)
    return Text(f'"{shown}"' if not shown or shown != shown.strip() else shown)


def _plain(text: Text, utf: bool) -> Text:
    """On a console that cannot encode everything, non-ASCII shown as escapes (unstyled)."""
    if utf or text.plain.isascii():
        return text
    return Text(text.plain.encode("ascii", "backslashreplace").decode("ascii"), style=text.style)


def _fit(name: Text, width: int, utf: bool) -> Text:
    out = _plain(name, utf).copy()
    out.truncate(width, overflow="ellipsis" if utf else "crop", pad=True)
    return out


def _bar(value: int, top: int, width: int, utf: bool) -> str:
    """Whole blocks scaled to the table's largest class; a used class shows at least one."""
    if value <= 0 or top <= 0:
        return ""
    n = max(1, round(value / top * width))
    return ("█" if utf else "#") * n


def _share_bar(share: float, width: int, utf: bool) -> str:
    """A share of 1.0 fills the width; eighth blocks keep a tiny non-zero share visible."""
    if share <= 0 or not math.isfinite(share):
        return ""
    if not utf:
        return "#" * max(1, round(min(share, 1.0) * width))
    eighths = max(1, round(min(share, 1.0) * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")
