"""The HTML report (`--format html`), read back with html.parser: its sections, its escaping,
its counts against the report, and its thumbnails decoded and looked at pixel by pixel.

Built from real runs: the bundled defects example (no image files: grey canvases), a small
COCO dataset written here with real JPEG files and planted defects, and a probe of a buggy
crop (tests/probe_fixtures.py)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

import maskcheck
from maskcheck.reporters import html as html_report
from maskcheck.reporters import html_pictures
from maskcheck.reporters.formats import REPORTERS
from maskcheck.reporters.html_assets import CSP

ROOT = Path(__file__).resolve().parents[1]
DEFECTS = ROOT / "examples" / "defects"
HOSTILE = "<img src=x onerror=alert(1)>"
BLUE, GREEN, YELLOW, GREY = (0, 0, 255), (0, 200, 0), (255, 230, 0), (128, 128, 128)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# ----------------------------------------------------------------------------- a small DOM


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.texts: list[str] = []

    def text(self) -> str:
        return "".join(self.texts) + "".join(c.text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for node in self.iter():
            if tag is not None and node.tag != tag:
                continue
            if all(_has(node, k, v) for k, v in attrs.items()):
                out.append(node)
        return out

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.attrs.get(name, default)
        return default if value is None else value


def _has(node: Node, key: str, value: str) -> bool:
    key = key.rstrip("_").replace("_", "-")
    if key == "class":
        return value in (node.get("class") or "").split()
    return node.get(key) == value if value != "*" else key in node.attrs


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root
        self.starts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.starts.append(tag)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.texts.append(data)


def parse(document: str) -> Tree:
    tree = Tree()
    tree.feed(document)
    tree.close()
    assert tree.current is tree.root, "unclosed elements"
    return tree


# ----------------------------------------------------------------------------- data


def _rect(x: int, y: int, w: int, h: int) -> list[list[int]]:
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def write_coco(root: Path) -> Path:
    """Two real 640 x 480 JPEGs (a coloured rectangle where the instance is, a yellow one that
    no instance covers) and a third image whose file is missing, with planted defects."""
    root.mkdir(parents=True, exist_ok=True)
    for name, fill in (("a.jpg", BLUE), ("b.jpg", GREEN)):
        image = Image.new("RGB", (640, 480), GREY)
        draw = ImageDraw.Draw(image)
        draw.rectangle((100, 100, 299, 249), fill=fill)
        draw.rectangle((450, 300, 599, 449), fill=YELLOW)
        image.save(root / name, quality=92)
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
                   {"id": 2, "file_name": "b.jpg", "width": 640, "height": 480},
                   {"id": 3, "file_name": "missing.jpg", "width": 640, "height": 480}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 2, "segmentation": _rect(100, 100, 200, 150),
             "bbox": [300, 200, 200, 150], "area": 30000, "iscrowd": 0},  # box off its mask
            {"id": 2, "image_id": 2, "category_id": 0, "segmentation": _rect(100, 100, 200, 150),
             "bbox": [100, 100, 200, 150], "area": 30000, "iscrowd": 0},  # background index
            {"id": 3, "image_id": 3, "category_id": "tool", "segmentation": _rect(50, 50, 100, 100),
             "bbox": [50, 50, 100, 100], "area": 10000, "iscrowd": 0},  # a name, not an id
            {"id": 4, "image_id": 3, "category_id": 1, "segmentation": _rect(300, 200, 120, 90),
             "bbox": [300, 200, 120, 90], "area": 10800, "iscrowd": 0},
        ],
        "categories": [{"id": 0, "name": "background"}, {"id": 1, "name": "tool"},
                       {"id": 2, "name": HOSTILE}, {"id": 3, "name": "unused"}],
    }
    path = root / "annotations.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def defects() -> tuple[Any, str]:
    report = maskcheck.lint([DEFECTS], examples=24)
    return report, html_report.render(report)


@pytest.fixture(scope="module")
def coco(tmp_path_factory) -> tuple[Any, str]:
    path = write_coco(tmp_path_factory.mktemp("coco"))
    report = maskcheck.lint([path], examples=24)
    return report, html_report.render(report)


@pytest.fixture(scope="module")
def probe() -> tuple[Any, str]:
    report = maskcheck.probe_transform("probe_fixtures:buggy_random_crop", runs=5, pictures=5)
    return report, html_report.render(report)


ALL = ("defects", "coco", "probe")


def _decode(src: str) -> Image.Image:
    match = re.fullmatch(r"data:image/(jpeg|png);base64,([A-Za-z0-9+/=]+)", src)
    assert match, src[:60]
    image = Image.open(io.BytesIO(base64.b64decode(match.group(2))))
    assert image.format.lower() == match.group(1)
    return image.convert("RGB")


def _cards(tree: Tree) -> list[Node]:
    return tree.root.find("section", id="gallery").find_all("figure", class_="card")


# ----------------------------------------------------------------------------- document


def test_html_is_a_registered_format():
    assert REPORTERS["html"] is html_report.render


@pytest.mark.parametrize("name", ALL)
def test_document_has_the_sections_and_the_csp_first(name, request):
    report, document = request.getfixturevalue(name)
    tree = parse(document)
    assert document.startswith("<!DOCTYPE html>")
    sections = [s.get("id") for s in tree.root.find_all("section")]
    assert sections == ["summary", "classes", "gallery"] + (["probe"] if report.pictures else [])
    head = tree.root.find("head")
    first = head.children[0]
    assert first.tag == "meta" and first.get("http-equiv") == "Content-Security-Policy"
    assert first.get("content") == CSP == (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'")
    ids = [n.get("id") for n in tree.root.iter() if n.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"


@pytest.mark.parametrize("name", ALL)
def test_no_external_url_anywhere(name, request):
    _, document = request.getfixturevalue(name)
    tree = parse(document)
    for node in tree.root.iter():
        for key in ("src", "href"):
            value = node.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), f"<{node.tag} {key}={value[:40]}>"
    for style in [n.text() for n in tree.root.find_all("style")] + [
            n.get("style") or "" for n in tree.root.iter()]:
        for url in re.findall(r"url\(([^)]*)\)", style):
            assert url.strip("'\" ").startswith("data:"), url
    for script in tree.root.find_all("script"):
        assert script.get("src") is None
        assert not re.search(r"https?:|//[a-z]", script.text()), "script fetches something"
        assert "fetch(" not in script.text() and "XMLHttpRequest" not in script.text()


def test_hostile_class_name_is_text_never_a_tag(coco):
    report, document = coco
    assert any(row.name == HOSTILE for table in report.classes for row in table.rows)
    assert HOSTILE not in document
    assert html_report.esc(HOSTILE) in document  # escaped where the class is shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in document
    tree = parse(document)
    imgs = tree.root.find_all("img")
    assert imgs and all(i.get("src", "").startswith("data:") for i in imgs)
    assert not any("onerror" in n.attrs for n in tree.root.iter())
    # the name reads as text in the class row and in the flagged label
    row = tree.root.find("div", class_="class-row", data_class_id="2")
    assert HOSTILE in row.text()
    card = next(c for c in _cards(tree) if c.get("data-rule") == "MC211")
    assert f"{HOSTILE} (2)" in card.find("span", class_="flagged-label").text()
    for script in tree.root.find_all("script"):
        assert "onerror" not in script.text() and "tool" not in script.text()


# ----------------------------------------------------------------------------- summary


@pytest.mark.parametrize("name", ALL)
def test_counts_and_rule_rows_match_the_report(name, request):
    report, document = request.getfixturevalue(name)
    summary = parse(document).root.find("section", id="summary")
    counts = report.counts()
    shown = {n.get("data-count"): int(n.text()) for n in summary.find_all("span", data_count="*")}
    assert shown == {**counts, "total": len(report.findings)}
    per_rule = Counter(f.code for f in report.findings)
    rows = summary.find("table", id="rules").find_all("tr", data_rule="*")
    assert {r.get("data-rule"): int(r.find("td", class_="count").text()) for r in rows} == per_rule
    inputs = summary.find("table", id="inputs").find_all("tr", data_path="*")
    assert [r.get("data-path") for r in inputs] == [i["path"] for i in report.inputs]


def test_rule_rows_carry_name_summary_and_page_details(coco):
    report, document = coco
    row = parse(document).root.find("tr", data_rule="MC211")
    assert "box-mask-mismatch" in row.text()
    rule = next(r for r in report.rules if r.code == "MC211")
    assert rule.summary in row.text()
    details = row.find("details")
    titles = [h.text() for h in details.find_all("h4")]
    assert titles == ["Why is this bad?", "How to fix"]
    assert "Mask R-CNN crops the mask target with the box" in " ".join(details.text().split())


def test_probe_rule_rows_use_the_probe_page(probe):
    _, document = probe
    row = parse(document).root.find("tr", data_rule="MC602")
    assert [h.text() for h in row.find("details").find_all("h4")] == ["Why is this bad?", "How to fix"]
    assert row.find("details").find_all("code"), "inline code of the page is rendered as <code>"


def test_markdown_is_escaped_and_keeps_code_blocks():
    out = html_report.markdown("A <b> `x<y`\nsame para.\n\n```python\nif a < b:\n    pass\n```\n- one\n- two")
    assert out == ("<p>A &lt;b&gt; <code>x&lt;y</code> same para.</p>"
                   "<pre><code>if a &lt; b:\n    pass</code></pre><ul><li>one</li><li>two</li></ul>")


# ----------------------------------------------------------------------------- classes


def test_class_rows_and_flags(coco):
    report, document = coco
    section = parse(document).root.find("section", id="classes")
    (table,) = report.classes
    split = section.find("div", class_="split", data_path=table.path)
    rows = {r.get("data-class-id"): r for r in split.find_all("div", class_="class-row")
            if r.get("data-class-id")}
    assert set(rows) == {str(r.id) for r in table.rows} | {"background"}
    for r in table.rows:
        node = rows[str(r.id)]
        assert (int(node.get("data-instances")), int(node.get("data-images"))) == (r.instances, r.images)
    # id 3 is declared and never used: MC107 (and every used class is rare: MC105)
    assert rows["3"].get("data-instances") == "0"
    assert "flagged" in rows["3"].get("class").split()
    assert rows["3"].find("span", data_codes="*").get("data-codes") == "MC107"
    assert rows["0"].find("span", data_codes="*").get("data-codes") == "MC103 MC105"
    assert rows["background"].get("data-share") == f"{table.background_share:.6f}"
    assert 0.8 < table.background_share < 1
    bars = rows["background"].find_all("span", class_="pixels")
    assert bars and f"{table.background_share * 100:.2f}%" in bars[0].text()


def test_unflagged_class_has_no_codes(defects):
    report, document = defects
    section = parse(document).root.find("section", id="classes")
    codes = Counter()
    for f in report.findings:
        if isinstance(f.location.category_id, int):
            codes[(f.location.path, f.location.category_id)] += 1
    for split in section.find_all("div", class_="split"):
        for row in split.find_all("div", class_="class-row", data_class_id="*"):
            cid = row.get("data-class-id")
            if cid == "background":
                continue
            flagged = codes[(split.get("data-path"), int(cid))] > 0
            assert ("flagged" in row.get("class").split()) == flagged, (split.get("data-path"), cid)


# ----------------------------------------------------------------------------- gallery


@pytest.mark.parametrize("name", ("defects", "coco"))
def test_one_card_per_example_with_its_rule_severity_and_classes(name, request):
    report, document = request.getfixturevalue(name)
    tree = parse(document)
    cards = _cards(tree)
    assert len(cards) == len(report.gallery) > 0
    for k, (card, example) in enumerate(zip(cards, report.gallery, strict=True)):
        assert card.get("id") == f"card-{k}"
        assert card.get("data-rule") == example.finding.code
        assert card.get("data-severity") == str(example.finding.severity)
        wanted = list(dict.fromkeys(i.category_id for i in example.instances if i.category_id is not None))
        assert card.get("data-classes") == " ".join(map(str, wanted))
        assert example.finding.message in " ".join(card.find("figcaption", class_="message").text().split()) \
            or html_report.esc(example.finding.message) in document
        link = card.find("a", class_="open")
        assert link.get("href") == f"#view-{k}"
        view = tree.root.find("div", id=f"view-{k}")
        assert view.find("a", class_="close").get("href") == "#gallery"
        assert view.find("img").get("src") == link.find("img", class_="thumb").get("src")
    totals = Counter(f.code for f in report.findings)
    shown = Counter(e.finding.code for e in report.gallery)
    for heading in tree.root.find("section", id="gallery").find_all("h3", data_rule="*"):
        code = heading.get("data-rule")
        assert f"{shown[code]} shown of {totals[code]} findings" in heading.text()
    assert tree.root.find("span", id="shown-count").text() == str(len(cards))


@pytest.mark.parametrize("name", ("defects", "coco"))
def test_thumbnails_decode_small_and_at_their_declared_size(name, request):
    _, document = request.getfixturevalue(name)
    for card in _cards(parse(document)):
        img = card.find("img", class_="thumb")
        picture = _decode(img.get("src"))
        assert max(picture.size) <= 384
        assert picture.size == (int(img.get("width")), int(img.get("height")))
        assert img.get("alt")


def _blend(under: tuple[int, ...], colour: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(u * 0.55 + c * 0.45 for u, c in zip(under, colour, strict=True))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    assert re.fullmatch(r"#[0-9a-f]{6}", hex_colour)
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _order(values: tuple[float, ...]) -> list[int]:
    return sorted(range(3), key=lambda i: values[i])


def test_flagged_point_on_a_canvas_shows_the_class_colour(defects):
    report, document = defects
    cards = [c for c in _cards(parse(document)) if c.get("data-flagged-x") is not None]
    assert cards, "the defects example has a flagged, drawable instance"
    colours = html_report.class_colours(report)
    for card in cards:
        example = report.gallery[int(card.get("id").split("-")[1])]
        inst = example.instances[example.flagged[0]]
        colour = _rgb(card.get("data-flagged-colour"))
        assert colour == colours[inst.category_id]
        x, y = int(card.get("data-flagged-x")), int(card.get("data-flagged-y"))
        pixel = _decode(card.find("img", class_="thumb").get("src")).getpixel((x, y))
        # the translucent fill over the grey canvas, or (under its own label) the ring itself
        near = [max(abs(p - e) for p, e in zip(pixel, want, strict=True))
                for want in (_blend((150, 150, 150), colour), colour)]
        assert min(near) <= 12, (pixel, colour)
        assert _order(pixel)[-1] == _order(colour)[-1]
        label = card.find("span", class_="flagged-label").text()
        assert f"({inst.category_id})" in label


def test_real_image_is_shown_with_the_flagged_instance_over_it(coco):
    report, document = coco
    tree = parse(document)
    cards = {c.get("data-rule"): c for c in _cards(tree)}
    card = cards["MC211"]
    assert not card.find_all("p", class_="note"), "the image file is there"
    picture = _decode(card.find("img", class_="thumb").get("src"))
    assert picture.size == (384, 288)  # 640 x 480 scaled to a long side of 384
    # the yellow rectangle no instance covers, (450..599, 300..449) at 0.6 scale
    r, g, b = picture.getpixel((315, 225))
    assert r > 200 and g > 180 and b < 80, (r, g, b)
    # the flagged instance lies exactly on the blue rectangle, filled in class 2's colour
    x, y = int(card.get("data-flagged-x")), int(card.get("data-flagged-y"))
    assert 60 + 2 <= x <= 180 - 2 and 60 + 2 <= y <= 150 - 2
    colour = _rgb(card.get("data-flagged-colour"))
    assert colour == html_report.class_colours(report)[2]
    pixel = picture.getpixel((x, y))
    want = _blend(BLUE, colour)
    assert max(abs(p - w) for p, w in zip(pixel, want, strict=True)) <= 16, (pixel, want)
    assert _order(pixel) == _order(want)
    # the box is drawn too (MC211 draws boxes): its top edge at y = 200 * 0.6
    top = [picture.getpixel((x0, 120)) for x0 in range(200, 290, 10)]
    assert all(max(abs(p - c) for p, c in zip(px, colour, strict=True)) < 60 for px in top), top


def test_missing_image_file_says_so(coco):
    _, document = coco
    cards = {c.get("data-rule"): c for c in _cards(parse(document))}
    card = cards["MC301"]
    notes = [n.text() for n in card.find_all("p", class_="note")]
    assert "image file not found: drawn on a blank canvas" in notes
    picture = _decode(card.find("img", class_="thumb").get("src"))
    assert picture.getpixel((5, 280)) == (150, 150, 150)  # the canvas, nothing of a photo


def test_an_image_over_100_megapixels_is_not_decoded(coco, tmp_path):
    report, _ = coco
    big = tmp_path / "big.png"
    Image.new("1", (10_001, 10_001)).save(big)  # a small file whose header says 100 MP
    example = next(e for e in report.gallery if e.finding.code == "MC211")
    thumb = html_pictures.thumbnail(dataclasses.replace(example, image_path=str(big)),
                                    html_report.class_colours(report))
    assert any("10001 x 10001" in n and "not decoded" in n for n in thumb.notes)
    picture = Image.open(io.BytesIO(thumb.data)).convert("RGB")
    assert picture.size == (384, 288) and picture.getpixel((315, 225)) == (150, 150, 150)
    assert thumb.flagged is not None  # the instance is still drawn, on the canvas


def test_filters_offer_what_the_cards_hold(coco):
    report, document = coco
    tree = parse(document)
    rule = [o.get("value") for o in tree.root.find("select", id="filter-rule").find_all("option")]
    assert rule == ["", *sorted({e.finding.code for e in report.gallery})]
    severity = [o.get("value") for o in tree.root.find("select", id="filter-severity").find_all("option")]
    assert severity[0] == "" and set(severity[1:]) == {str(e.finding.severity) for e in report.gallery}
    classes = tree.root.find("select", id="filter-class").find_all("option")
    ids = {str(i.category_id) for e in report.gallery for i in e.instances if i.category_id is not None}
    assert [o.get("value") for o in classes] == ["", *sorted(ids, key=int)]
    assert all(o.text() for o in classes)


def test_without_gallery_data_the_summary_still_renders(tmp_path):
    report = maskcheck.lint([write_coco(tmp_path)])
    assert not report.gallery and not report.classes and report.findings
    tree = parse(html_report.render(report))
    assert [s.get("id") for s in tree.root.find_all("section")] == ["summary", "classes", "gallery"]
    total = tree.root.find("span", data_count="total")
    assert int(total.text()) == len(report.findings)
    gallery = tree.root.find("section", id="gallery")
    assert "not collected" in gallery.find("p", class_="note").text()
    assert not gallery.find_all("figure")


# ----------------------------------------------------------------------------- probe


def test_probe_section_has_one_card_per_picture(probe):
    report, document = probe
    assert report.pictures
    section = parse(document).root.find("section", id="probe")
    cards = section.find_all("figure", class_="probe-card")
    assert [int(c.get("data-seed")) for c in cards] == [p.seed for p in report.pictures]
    for card, picture in zip(cards, report.pictures, strict=True):
        src = card.find("img").get("src")
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == picture.png
        assert card.find("figcaption").text() == picture.caption


def test_lint_report_has_no_probe_section(defects):
    _, document = defects
    assert not parse(document).root.find_all("section", id="probe")
