"""`--format html`: one self-contained page (no external resource; the CSP forbids any) with
a summary, the classes of each dataset, a gallery of findings drawn on their images and,
for a probe, the failing seeds' pictures.

Every dataset or finding string goes through `esc` (class names are user data: a class named
`<img src=x onerror=...>` must read as text). Data the script needs sits in escaped `data-*`
attributes, never inside the <script>. Everything is rendered here, so the page is complete
without JavaScript; the script only filters the gallery.
"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter, defaultdict
from typing import Any

from maskcheck import __version__, pictures
from maskcheck.docs import page_text, sections
from maskcheck.model import Report
from maskcheck.probe.codes import ProbeCode, page_section
from maskcheck.reporters import html_pictures
from maskcheck.reporters.html_assets import CSP, CSS, JS

SEVERITY_ORDER = ("error", "warning", "info")
DETAIL_SECTIONS = ("Why is this bad?", "How to fix")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render(report: Report) -> str:
    colours = class_colours(report)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{esc(CSP)}\">\n",
        "<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>maskcheck report: {esc(_title(report))}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        _header(report),
        _summary(report),
        _classes(report, colours),
        _gallery(report, colours),
        _probe(report) if report.pictures else "",
        f"<script>{JS}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


def class_colours(report: Report) -> dict[int, tuple[int, int, int]]:
    """One colour per class id for the whole report: distinct colours over the sorted ids."""
    ids = {row.id for table in report.classes for row in table.rows}
    ids |= {i.category_id for e in report.gallery for i in e.instances if i.category_id is not None}
    ordered = sorted(ids)
    return dict(zip(ordered, pictures.distinct_colours(len(ordered)), strict=True))


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _title(report: Report) -> str:
    paths = [str(i.get("path", "")) for i in report.inputs]
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _header(report: Report) -> str:
    nav = ['<a href="#summary">Summary</a>', '<a href="#classes">Classes</a>',
           '<a href="#gallery">Gallery</a>']
    if report.pictures:
        nav.append('<a href="#probe">Probe pictures</a>')
    return (f"<header><h1>maskcheck report</h1><p class=\"note\">maskcheck {esc(__version__)}: "
            f"{esc(_title(report)) or 'no input'}</p><nav>{''.join(nav)}</nav></header>\n")


# ----------------------------------------------------------------------------- summary


def _summary(report: Report) -> str:
    counts = report.counts()
    total = sum(counts.values())
    out = ["<section id=\"summary\">\n<h2>Summary</h2>\n"]
    out.append("<p class=\"counts\">" + ", ".join(
        f"<span class=\"sev-{s}\"><span data-count=\"{s}\">{counts.get(s, 0)}</span> {s}</span>"
        for s in SEVERITY_ORDER) + f"; <span data-count=\"total\">{total}</span> findings in all "
        f"({report.images} images, {report.annotations} annotations)</p>\n")
    out.append(_inputs(report))
    for title, items in (("Errors", [f"{e.path}: {e.message}" for e in report.errors]),
                         ("Skipped", [_skipped(s) for s in report.skipped]),
                         ("Notes", list(report.notes))):
        if items:
            out.append(f"<h3>{title}</h3><ul class=\"{title.lower()}\">"
                       + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>\n")
    out.append(_rules(report))
    out.append("</section>\n")
    return "".join(out)


def _skipped(item: Any) -> str:
    reason = getattr(item, "reason", None)
    return f"{item.path}: {reason}" if reason else str(getattr(item, "path", item))


def _inputs(report: Report) -> str:
    tables = {t.path: t for t in report.classes}
    rows = []
    for entry in report.inputs:
        path = str(entry.get("path", ""))
        images, annotations = entry.get("images"), entry.get("annotations")
        table = tables.get(path)
        if images is None and table is not None:
            images = table.images
        if annotations is None and table is not None:
            annotations = sum(r.instances + r.crowd for r in table.rows) + table.unlabelled
        if len(report.inputs) == 1:  # one input: the report's totals are its own
            images, annotations = report.images, report.annotations
        rows.append(f"<tr data-path=\"{esc(path)}\"><td>{esc(path)}</td>"
                    f"<td>{esc(entry.get('format', ''))}</td><td class=\"num\">{_num(images)}</td>"
                    f"<td class=\"num\">{_num(annotations)}</td></tr>")
    return ("<table id=\"inputs\"><thead><tr><th>Input</th><th>Format</th><th>Images</th>"
            "<th>Annotations</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>\n")


def _num(value: Any) -> str:
    return "" if value is None else esc(value)


def _rules(report: Report) -> str:
    counts = Counter(f.code for f in report.findings)
    if not counts:
        return "<p class=\"note\">No findings.</p>\n<table id=\"rules\"><tbody></tbody></table>\n"
    known = {r.code: r for r in report.rules}
    names = {f.code: f.rule for f in report.findings}
    severities = {f.code: str(f.severity) for f in report.findings}
    rows = []
    for code in sorted(counts):
        rule = known.get(code)
        name = getattr(rule, "name", None) or names[code]
        summary = getattr(rule, "summary", "") or ""
        rows.append(
            f"<tr data-rule=\"{esc(code)}\" data-severity=\"{esc(severities[code])}\">"
            f"<td><code>{esc(code)}</code></td><td class=\"sev-{esc(severities[code])}\">"
            f"{esc(severities[code])}</td><td class=\"count\">{counts[code]}</td>"
            f"<td><strong class=\"rule-name\">{esc(name)}</strong> "
            f"<span class=\"summary\">{esc(summary)}</span>{_details(code, rule)}</td></tr>")
    return ("<table id=\"rules\"><thead><tr><th>Code</th><th>Severity</th><th>Findings</th>"
            "<th>Rule</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>\n")


def _details(code: str, rule: Any) -> str:
    parts = _page_parts(code, rule)
    body = "".join(f"<h4>{esc(title)}</h4>{markdown(parts[title])}"
                   for title in DETAIL_SECTIONS if parts.get(title, "").strip())
    return f"<details><summary>Why and how to fix</summary>{body}</details>" if body else ""


def _page_parts(code: str, rule: Any) -> dict[str, str]:
    if isinstance(rule, ProbeCode) or rule is None:
        text = page_section(code)
        if text is None:
            return {}
        # a probe code's section of PROBE.md: its headings are one level down
        return sections("\n".join(line[1:] if line.startswith("### ") else
                                  ("# " + line if line.startswith("## ") else line)
                                  for line in text.splitlines()))
    text = page_text(type(rule))
    return sections(text) if text else {}


_INLINE_CODE = re.compile(r"`([^`]+)`")


def markdown(text: str) -> str:
    """Markdown rendered simply: paragraphs, bullet lists, fenced code as <pre>; all escaped."""
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if para:
            out.append("<p>" + _inline(" ".join(para)) + "</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append("<pre><code>" + esc("\n".join(body)) + "</code></pre>")
        elif not line.strip():
            flush()
        elif line.lstrip().startswith(("- ", "* ")):
            if para:
                flush()
            items.append(line.lstrip()[2:])
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()
        else:
            if items:
                flush()
            para.append(line.strip())
        i += 1
    flush()
    return "".join(out)


def _inline(text: str) -> str:
    return _INLINE_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", esc(text))


# ----------------------------------------------------------------------------- classes


def _flagged_classes(report: Report) -> dict[tuple[str, int], set[str]]:
    out: dict[tuple[str, int], set[str]] = defaultdict(set)
    for f in report.findings:
        cid = f.location.category_id
        if isinstance(cid, int) and not isinstance(cid, bool):
            out[(f.location.path, cid)].add(f.code)
    return out


def _classes(report: Report, colours: dict[int, tuple[int, int, int]]) -> str:
    out = ["<section id=\"classes\">\n<h2>Classes</h2>\n"]
    if not report.classes:
        out.append("<p class=\"note\" id=\"classes-missing\">Class statistics were not collected "
                   "(lint with --html-examples / examples=N collects them).</p>\n</section>\n")
        return "".join(out)
    flagged = _flagged_classes(report)
    for table in report.classes:
        out.append(_split(table, flagged, colours))
    out.append("</section>\n")
    return "".join(out)


def _split(table: Any, flagged: dict[tuple[str, int], set[str]],
           colours: dict[int, tuple[int, int, int]]) -> str:
    most_instances = max((r.instances for r in table.rows), default=0) or 1
    most_images = max(table.images, 1)
    background = table.background_share
    out = [f"<div class=\"split\" data-path=\"{esc(table.path)}\"><h3>{esc(table.path)} "
           f"<small>({esc(table.format)}, {table.images} images)</small></h3>"]
    facts = [f"{table.without} images without instances"]
    if table.unlabelled:
        facts.append(f"{table.unlabelled} instances without a usable class id")
    if background is None:
        facts.append("no image sizes declared: pixel shares unknown")
    out.append(f"<p class=\"note\">{esc('; '.join(facts))}</p>")
    out.append("<div class=\"class-row head\"><span>Class</span><span>Instances</span>"
               "<span>Images</span><span>Share of image pixels</span></div>")
    for row in table.rows:
        codes = sorted(flagged.get((table.path, row.id), ()))
        name = row.name if row.name is not None else "(not in categories)"
        swatch = hex_colour(colours.get(row.id, html_pictures.NO_CLASS))
        code_list = (f"<span class=\"codes\" data-codes=\"{esc(' '.join(codes))}\">"
                     f"{esc(' '.join(codes))}</span>") if codes else ""
        crowd = f" + {row.crowd} crowd" if row.crowd else ""
        out.append(
            f"<div class=\"class-row{' flagged' if codes else ''}\" data-class-id=\"{row.id}\" "
            f"data-instances=\"{row.instances}\" data-images=\"{row.images}\">"
            f"<span class=\"name\" style=\"border-left: 10px solid {swatch}; padding-left: 4px\">"
            f"{esc(name)} ({row.id}){code_list}</span>"
            f"{_bar('instances', row.instances / most_instances, f'{row.instances}{crowd}')}"
            f"{_bar('images', row.images / most_images, str(row.images))}"
            f"{_bar('pixels', row.share, _percent(row.share) if background is not None else '?')}</div>")
    if background is not None:
        out.append(f"<div class=\"class-row background\" data-class-id=\"background\" "
                   f"data-share=\"{background:.6f}\"><span class=\"name\">background</span>"
                   f"<span></span><span></span>{_bar('pixels', background, _percent(background))}</div>")
    out.append("</div>\n")
    return "".join(out)


def _bar(kind: str, fraction: float, text: str) -> str:
    width = max(0.0, min(1.0, fraction)) * 100
    return (f"<span class=\"bar {kind}\"><span style=\"width: {width:.2f}%\"></span>"
            f"<em>{esc(text)}</em></span>")


def _percent(share: float) -> str:
    if share and share < 0.0001:
        return "< 0.01%"
    return f"{share * 100:.2f}%"


# ----------------------------------------------------------------------------- gallery


def _gallery(report: Report, colours: dict[int, tuple[int, int, int]]) -> str:
    out = ["<section id=\"gallery\">\n<h2>Gallery</h2>\n"]
    if not report.gallery:
        if report.classes:
            out.append("<p class=\"note\" id=\"gallery-empty\">No finding points at an image or "
                       "an annotation: nothing to draw.</p>\n")
        else:
            out.append("<p class=\"note\" id=\"gallery-missing\">The gallery was not collected "
                       "(lint with --html-examples / examples=N collects it).</p>\n")
        out.append("</section>\n")
        return "".join(out)
    by_rule: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for k, example in enumerate(report.gallery):
        by_rule[example.finding.code].append((k, example))
    totals = Counter(f.code for f in report.findings)
    out.append(_filters(report, by_rule))
    for code in sorted(by_rule):
        shown = by_rule[code]
        out.append(f"<div class=\"rule-group\" data-rule=\"{esc(code)}\"><h3 data-rule=\"{esc(code)}\">"
                   f"<code>{esc(code)}</code> {esc(shown[0][1].finding.rule)}: {len(shown)} shown of "
                   f"{totals.get(code, len(shown))} findings</h3><div class=\"cards\">")
        out.extend(_card(k, example, colours) for k, example in shown)
        out.append("</div></div>\n")
    out.append("</section>\n")
    return "".join(out)


def _filters(report: Report, by_rule: dict[str, list[tuple[int, Any]]]) -> str:
    rules = "".join(f"<option value=\"{esc(c)}\">{esc(c)} {esc(v[0][1].finding.rule)}</option>"
                    for c, v in sorted(by_rule.items()))
    present = {str(e.finding.severity) for e in report.gallery}
    sevs = "".join(f"<option value=\"{s}\">{s}</option>" for s in SEVERITY_ORDER if s in present)
    names: dict[int, str | None] = {}
    for e in report.gallery:
        for inst in e.instances:
            if inst.category_id is not None:
                names.setdefault(inst.category_id, inst.name)
    classes = "".join(
        f"<option value=\"{cid}\">{esc(names[cid]) + ' ' if names[cid] is not None else ''}({cid})</option>"
        for cid in sorted(names))
    return ("<div class=\"filters\">"
            f"<label>Rule <select id=\"filter-rule\"><option value=\"\">all</option>{rules}</select></label>"
            f"<label>Severity <select id=\"filter-severity\"><option value=\"\">all</option>{sevs}"
            "</select></label>"
            f"<label>Class <select id=\"filter-class\"><option value=\"\">all</option>{classes}"
            "</select></label>"
            f"<span><span id=\"shown-count\">{len(report.gallery)}</span> of {len(report.gallery)} "
            "examples shown</span></div>\n")


def _card(k: int, example: Any, colours: dict[int, tuple[int, int, int]]) -> str:
    thumb = html_pictures.thumbnail(example, colours)
    finding = example.finding
    severity = str(finding.severity)
    classes = " ".join(str(c) for c in dict.fromkeys(
        i.category_id for i in example.instances if i.category_id is not None))
    attrs = [f"class=\"card\" id=\"card-{k}\"", f"data-rule=\"{esc(finding.code)}\"",
             f"data-severity=\"{esc(severity)}\"", f"data-classes=\"{esc(classes)}\""]
    label = ""
    if example.flagged:
        inst = example.instances[example.flagged[0]]
        colour = hex_colour(colours.get(inst.category_id, html_pictures.NO_CLASS)
                            if inst.category_id is not None else html_pictures.NO_CLASS)
        if thumb.flagged is not None:
            attrs += [f"data-flagged-x=\"{thumb.flagged[0]}\"", f"data-flagged-y=\"{thumb.flagged[1]}\"",
                      f"data-flagged-colour=\"{colour}\""]
        label = (f"<span class=\"flagged-label\" style=\"--swatch: {colour}\">flagged: "
                 f"{esc(_class_text(inst))} #{esc(inst.ann_id)}</span>")
    src = thumb.data_uri()
    where = finding.location.short()
    image = example.file_name if example.file_name is not None else f"image {example.image_id}"
    alt = esc(f"{finding.code} on {image}")
    notes = "".join(f"<p class=\"note\">{esc(n)}</p>" for n in thumb.notes)
    message = (f"<figcaption class=\"message\"><code>{esc(finding.code)}</code> {esc(finding.message)}"
               f"<span class=\"where\">{esc(where)} &middot; {esc(image)} ({esc(example.dataset)})</span>"
               "</figcaption>")
    return (f"<figure {' '.join(attrs)}>"
            f"<a class=\"open\" href=\"#view-{k}\"><img class=\"thumb\" src=\"{src}\" "
            f"width=\"{thumb.width}\" height=\"{thumb.height}\" alt=\"{alt}\"></a>{notes}{label}{message}"
            f"<div class=\"view\" id=\"view-{k}\"><img src=\"{src}\" width=\"{thumb.width}\" "
            f"height=\"{thumb.height}\" alt=\"{alt}\"><p>{esc(finding.message)}</p>"
            f"<a class=\"close\" href=\"#gallery\">close</a></div></figure>\n")


def _class_text(inst: Any) -> str:
    if inst.category_id is None:
        return "no class"
    name = inst.name if inst.name is not None else "unnamed class"
    return f"{name} ({inst.category_id})"


# ----------------------------------------------------------------------------- probe


def _probe(report: Report) -> str:
    out = ["<section id=\"probe\">\n<h2>Probe: failing seeds</h2>\n<div class=\"probe-cards\">"]
    for picture in report.pictures:
        data = base64.b64encode(picture.png).decode("ascii")
        out.append(f"<figure class=\"probe-card\" data-seed=\"{int(picture.seed)}\">"
                   f"<img src=\"data:image/png;base64,{data}\" alt=\"seed {int(picture.seed)}\">"
                   f"<figcaption>{esc(picture.caption)}</figcaption></figure>\n")
    out.append("</div>\n</section>\n")
    return "".join(out)
