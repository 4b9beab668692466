"""The HTML report in a real browser (Debian's chromium driven by Playwright): the DOM contract
of reporters/html.py checked on the rendered page, not on the markup. Reports come from real
lint runs of examples/defects/ and of a small COCO dataset with real JPEGs and planted defects
(tests/html_browser_support.py); one browser serves the whole module."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import maskcheck
from html_browser_support import HOSTILE, hue_distance, parse_hex, saturation, write_coco
from maskcheck.gallery import Example
from maskcheck.model import Report
from maskcheck.reporters import json_report
from maskcheck.reporters.formats import REPORTERS

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright==1.65.2)")

CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium at /usr/bin/chromium or on PATH (apt-get install chromium)",
                allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1280, "height": 900}
BIG_ENOUGH = 16  # px: a flagged instance this wide and tall (image pixels) has a clear interior

# Draws the thumbnail into a canvas and reads one pixel (the image is a data: URI, so the canvas
# stays untainted); returns [r, g, b, a, naturalWidth, naturalHeight].
PIXEL_JS = """async ([src, x, y]) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return [...ctx.getImageData(x, y, 1, 1).data, img.naturalWidth, img.naturalHeight];
}"""


@dataclass
class Rendered:
    name: str
    report: Report
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()


@dataclass
class Visit:
    """A loaded page and everything it did while loading and afterwards."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def _render(name: str, report: Report, out: Path) -> Rendered:
    assert "html" in REPORTERS, "format 'html' is not registered in maskcheck/reporters/formats.py"
    path = out / f"{name}.html"
    path.write_text(REPORTERS["html"](report), encoding="utf-8")
    return Rendered(name, report, path)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def coco(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    root = tmp_path_factory.mktemp("coco")
    report = maskcheck.lint([write_coco(root / "data").parent], examples=24)
    return _render("coco", report, root)


@pytest.fixture(scope="module")
def defects(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    report = maskcheck.lint([ROOT / "examples" / "defects"], examples=24)
    return _render("defects", report, tmp_path_factory.mktemp("defects"))


@pytest.fixture(params=["coco", "defects"])
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return request.getfixturevalue(request.param)


def _visit(browser: Any, rendered: Rendered, *, js: bool = True) -> Visit:
    context = browser.new_context(java_script_enabled=js, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    visit = Visit(page)
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))
    page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))
    page.goto(rendered.url, wait_until="load")
    return visit


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """Opens a report in a fresh context; contexts close after the test."""
    contexts: list[Any] = []

    def opener(rendered: Rendered, *, js: bool = True) -> Visit:
        visit = _visit(browser, rendered, js=js)
        contexts.append(visit.page.context)
        return visit

    yield opener
    for context in contexts:
        context.close()


def _number(text: str) -> int:
    found = re.search(r"\d[\d,]*", text)
    assert found, f"no number in {text!r}"
    return int(found.group().replace(",", ""))


def _cards(page: Any) -> list[Any]:
    return page.locator("#gallery figure.card").all()


def _flagged_class(example: Example) -> tuple[int | None, str | None]:
    instance = example.instances[example.flagged[0]]
    return instance.category_id, instance.name


def _examples_for(report: Report, card: Any) -> list[Example]:
    """The gallery examples a card can show: same rule, message in its caption."""
    rule = card.get_attribute("data-rule")
    caption = card.locator("figcaption.message").inner_text()
    return [e for e in report.gallery if e.finding.code == rule and e.finding.message in caption]


# ---------------------------------------------------------------------------- 1. self-contained


def test_no_errors_and_no_requests_but_the_document(open_page: Any, rendered: Rendered) -> None:
    visit = open_page(rendered)
    page = visit.page
    assert page.locator("#gallery figure.card").count() == len(rendered.report.gallery) > 0
    # every thumbnail decoded (a broken data: URI would leave naturalWidth at 0)
    sizes = page.locator("img.thumb").evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert sizes and all(sizes), sizes
    first = page.evaluate("() => { const m = document.head.firstElementChild;"
                          " return [m.tagName, m.httpEquiv, m.content]; }")
    assert first[0] == "META" and first[1].lower() == "content-security-policy"
    assert "default-src 'none'" in first[2] and "img-src data:" in first[2]
    assert visit.console_errors == [] and visit.page_errors == []
    strays = [u for u in visit.requests if not (u == rendered.url or u.startswith("data:"))]
    assert strays == [], f"requests beyond the document itself: {strays}"
    assert visit.requests.count(rendered.url) == 1


# ---------------------------------------------------------------------------- 2. counts


def test_counts_match_the_json_report(open_page: Any, rendered: Rendered) -> None:
    report = rendered.report
    page = open_page(rendered).page
    summary = json_report.to_dict(report)["summary"]
    expected = {k: summary[k] for k in ("error", "warning", "info")}
    expected["total"] = len(report.findings)
    assert sum(report.counts().values()) == expected["total"] > 0
    for name, want in expected.items():
        spans = page.locator(f'#summary [data-count="{name}"]')
        assert spans.count() == 1, name
        assert _number(spans.inner_text()) == want, name

    per_rule = Counter(f.code for f in report.findings)
    rows = {r.get_attribute("data-rule"): r for r in page.locator("#rules tr[data-rule]").all()}
    assert set(per_rule) <= set(rows), f"rules with findings but no row: {set(per_rule) - set(rows)}"
    for code, row in rows.items():
        assert _number(row.locator(".count").inner_text()) == per_rule.get(code, 0), code

    shown = Counter(e.finding.code for e in report.gallery)
    for code, n in shown.items():
        heading = page.locator(f'#gallery h3[data-rule="{code}"]')
        assert heading.count() == 1, code
        assert re.search(rf"\b{n} shown of {per_rule[code]}\b", heading.inner_text()), heading.inner_text()
        assert page.locator(f'#gallery figure.card[data-rule="{code}"]').count() == n


# ---------------------------------------------------------------------------- 3. gallery pixels


def test_flagged_pixel_shows_the_class_colour(open_page: Any, rendered: Rendered) -> None:
    report = rendered.report
    page = open_page(rendered).page
    checked = 0
    colour_of: dict[int | None, str] = {}
    for card in _cards(page):
        examples = _examples_for(report, card)
        assert examples, f"card {card.get_attribute('id')} matches no gallery example"
        flagged = {_flagged_class(e) for e in examples if e.flagged}
        x = card.get_attribute("data-flagged-x")
        if not flagged:
            assert x is None, "a finding about the whole image has no flagged instance"
            continue
        assert len(flagged) == 1, card.get_attribute("id")
        (class_id, name), = flagged
        label = card.locator(".flagged-label").inner_text()
        assert str(class_id) in label and (name is None or name in label), label
        example = next(e for e in examples if e.flagged)
        box = example.instances[example.flagged[0]].bbox
        big = box is not None and min(box[2], box[3]) >= BIG_ENOUGH
        if x is None:  # allowed only where scaling leaves no clear interior to point at
            assert not big, f"{card.get_attribute('id')}: no data-flagged-x for a large instance"
            continue
        colour = card.get_attribute("data-flagged-colour")
        assert re.fullmatch(r"#[0-9a-f]{6}", colour or "", re.IGNORECASE), colour
        assert colour_of.setdefault(class_id, colour.lower()) == colour.lower(), "one colour per class"

        thumb = card.locator("img.thumb")
        src = thumb.get_attribute("src")
        assert src.startswith("data:image/")
        if not big:
            continue  # too small for a pixel well inside it to survive scaling and JPEG
        px, py = int(x), int(card.get_attribute("data-flagged-y"))
        r, g, b, a, width, height = page.evaluate(PIXEL_JS, [src, px, py])
        assert (width, height) == (int(thumb.get_attribute("width")), int(thumb.get_attribute("height")))
        assert max(width, height) <= 384 and 0 <= px < width and 0 <= py < height
        want = parse_hex(colour)
        assert a == 255 and saturation((r, g, b)) > 0.15, f"pixel {(r, g, b)} is grey, not {colour}"
        assert hue_distance((r, g, b), want) < 30, f"pixel {(r, g, b)} is not {colour}'s hue"
        checked += 1
    assert len(set(colour_of.values())) == len(colour_of), f"classes share a colour: {colour_of}"
    if rendered.name == "coco":
        assert checked >= 3  # the MC211 dog, the MC213 cat and the MC213 hostile-named class


def test_missing_image_is_said_on_its_card(open_page: Any, coco: Rendered) -> None:
    page = open_page(coco).page
    for card in _cards(page):
        examples = _examples_for(coco.report, card)
        missing = {e.image_path is None for e in examples}
        assert len(missing) == 1
        notes = card.locator("p.note")
        if missing == {True}:
            assert "not found" in notes.inner_text()
        else:
            assert notes.count() == 0, notes.all_inner_texts()
            assert card.locator("img.thumb").get_attribute("src").startswith("data:image/jpeg;base64,")


# ---------------------------------------------------------------------------- 4. filters


def _check_filter(page: Any, select: str, matches: Any) -> None:
    """For each non-empty option of `select`, only the cards `matches(card, value)` stay."""
    values = [v for v in page.locator(f"{select} option").evaluate_all("os => os.map(o => o.value)")]
    assert "" in values and len(values) > 2, values
    cards = _cards(page)
    for value in [v for v in values if v]:
        page.select_option(select, value)
        wanted = [c for c in cards if matches(c, value)]
        for card in cards:
            if matches(card, value):
                assert card.get_attribute("hidden") is None and card.is_visible()
            else:
                assert card.get_attribute("hidden") is not None and card.is_hidden(), (select, value)
        assert _number(page.locator("#shown-count").inner_text()) == len(wanted)
        assert page.locator("#gallery figure.card:visible").count() == len(wanted)
        for heading in page.locator("#gallery h3[data-rule]").all():
            rule = heading.get_attribute("data-rule")
            has_cards = any(c.get_attribute("data-rule") == rule for c in wanted)
            assert heading.is_visible() == has_cards, (select, value, rule)
    page.select_option(select, "")
    assert all(c.is_visible() for c in cards)
    assert _number(page.locator("#shown-count").inner_text()) == len(cards)


def test_filters_hide_other_cards(open_page: Any, rendered: Rendered) -> None:
    page = open_page(rendered).page
    gallery = rendered.report.gallery
    assert _number(page.locator("#shown-count").inner_text()) == len(gallery)
    for card in _cards(page):  # the attributes the filters read say what the card shows
        examples = _examples_for(rendered.report, card)
        assert {str(e.finding.severity) for e in examples} == {card.get_attribute("data-severity")}
        ids = {" ".join(sorted({str(i.category_id) for i in e.instances if i.category_id is not None}))
               for e in examples}
        assert ids == {" ".join(sorted(set((card.get_attribute("data-classes") or "").split())))}
    if rendered.name == "coco":  # every filter has something to hide, within one rule too
        assert {c.get_attribute("data-severity") for c in _cards(page)} == {"error", "warning", "info"}
        same_rule = page.locator('#gallery figure.card[data-rule="MC213"]').all()
        assert len({c.get_attribute("data-classes") for c in same_rule}) == 2
    _check_filter(page, "#filter-rule", lambda c, v: c.get_attribute("data-rule") == v)
    _check_filter(page, "#filter-severity", lambda c, v: c.get_attribute("data-severity") == v)
    _check_filter(page, "#filter-class", lambda c, v: v in (c.get_attribute("data-classes") or "").split())
    rules = page.locator("#filter-rule option").evaluate_all("os => os.map(o => o.value)")
    assert {e.finding.code for e in gallery} <= set(rules)
    classes = page.locator("#filter-class option").evaluate_all("os => os.map(o => o.value)")
    used = {str(i.category_id) for e in gallery for i in e.instances if i.category_id is not None}
    assert used <= set(classes), classes
    assert page.locator("#filter-class option").all_inner_texts()  # named, not blank


# ---------------------------------------------------------------------------- 5. hostile names


def test_hostile_class_name_stays_text(open_page: Any, coco: Rendered) -> None:
    visit = open_page(coco)
    page = visit.page
    assert any(i.name == HOSTILE for e in coco.report.gallery for i in e.instances)
    # drive the JS that reads dataset strings: filter to the class, open its card's view
    page.select_option("#filter-class", "3")
    card = page.locator("#gallery figure.card:visible").first
    view = card.get_attribute("id").replace("card-", "view-")
    page.locator(f'a.open[href="#{view}"]').first.click()
    assert page.locator(f"#{view}").is_visible()
    page.wait_for_timeout(200)  # an injected onerror would fire on the failed load of "x"
    assert visit.dialogs == []
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("[onerror]").count() == 0
    assert HOSTILE in card.locator(".flagged-label").inner_text()
    page.select_option("#filter-class", "")
    assert HOSTILE in page.locator("#classes").inner_text()
    assert HOSTILE in page.evaluate("document.body.innerText")
    assert visit.dialogs == [] and visit.page_errors == []
    assert all(u == coco.url or u.startswith("data:") for u in visit.requests), visit.requests


# ---------------------------------------------------------------------------- 6. without JS


def test_complete_without_javascript(open_page: Any, rendered: Rendered) -> None:
    report = rendered.report
    page = open_page(rendered, js=False).page
    assert page.locator("#summary").is_visible()
    assert _number(page.locator('#summary [data-count="total"]').inner_text()) == len(report.findings)
    inputs = page.locator("#inputs tr[data-path]")
    assert inputs.count() == len(report.inputs)
    assert all(r.is_visible() for r in inputs.all())
    assert page.locator("#rules tr[data-rule]").count() >= len({f.code for f in report.findings})

    splits = page.locator("#classes .split[data-path]").all()
    assert [s.get_attribute("data-path") for s in splits] == [t.path for t in report.classes]
    for split, table in zip(splits, report.classes, strict=True):
        assert split.is_visible()
        rows = {r.get_attribute("data-class-id"): r for r in split.locator(".class-row[data-class-id]").all()}
        assert set(rows) == {str(r.id) for r in table.rows} | {"background"}
        for row in table.rows:
            shown = rows[str(row.id)]
            assert shown.is_visible()
            if row.name is not None:
                assert row.name in shown.inner_text()
            assert int(shown.get_attribute("data-instances")) == row.instances
            assert int(shown.get_attribute("data-images")) == row.images
        flagged: dict[str, set[str]] = {}
        for f in report.findings:
            if f.location.path == table.path and f.location.category_id is not None:
                flagged.setdefault(str(f.location.category_id), set()).add(f.code)
        assert flagged or rendered.name != "coco"
        for class_id, codes in flagged.items():
            if class_id in rows:  # an unknown id (MC102) has no row of its own
                row = rows[class_id]
                assert "flagged" in (row.get_attribute("class") or "").split(), class_id
                listed = row.get_attribute("data-codes") or " ".join(
                    row.locator("[data-codes]").evaluate_all("es => es.map(e => e.dataset.codes)"))
                assert codes <= set(listed.split()), (class_id, codes, listed)
        if table.background_share is not None:
            percent = re.search(r"(\d+(?:\.\d+)?)\s*%", rows["background"].inner_text())
            assert percent and abs(float(percent.group(1)) / 100 - table.background_share) < 0.01

    cards = _cards(page)
    assert len(cards) == len(report.gallery) > 0
    for card in cards:
        assert card.is_visible() and card.locator("img.thumb").is_visible()
        assert card.locator("figcaption.message").inner_text().strip()
    assert _number(page.locator("#shown-count").inner_text()) == len(cards)


# ---------------------------------------------------------------------------- 7. larger view


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_card_opens_and_closes_its_view(open_page: Any, coco: Rendered, js: bool) -> None:
    page = open_page(coco, js=js).page
    cards = _cards(page)
    for card in (cards[0], cards[-1]):
        view_id = card.get_attribute("id").replace("card-", "view-")
        view = page.locator(f"#{view_id}")
        assert view.count() == 1 and view.is_hidden()
        opener = page.locator(f'a.open[href="#{view_id}"]')
        assert opener.count() == 1
        opener.click()
        assert view.is_visible()
        big = view.locator("img")
        assert big.count() >= 1 and big.first.is_visible()
        # "larger": the view's image is drawn bigger than the card's thumbnail
        assert big.first.bounding_box()["width"] > card.locator("img.thumb").bounding_box()["width"]
        view.locator('a[href="#gallery"]').first.click()
        assert view.is_hidden()


# ---------------------------------------------------------------------------- 8. screenshot


def test_screenshot(open_page: Any, coco: Rendered, tmp_path: Path) -> None:
    from PIL import Image

    page = open_page(coco).page
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("MASKCHECK_SCREENSHOT"):
        target = Path(os.environ["MASKCHECK_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
    assert shot.stat().st_size > 10_000
    with Image.open(shot) as picture:
        assert picture.format == "PNG" and picture.width >= 800 and picture.height >= 600
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 16, "the page is (nearly) one colour"
