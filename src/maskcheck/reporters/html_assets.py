"""The HTML report's inline stylesheet and script (the CSP allows inline only).

The script holds no data: it reads the cards' `data-*` attributes, so no dataset string is
ever inside a <script>. Without it the page is complete; it only filters the gallery and
lets Escape close the larger view (which CSS `:target` opens and closes on its own).
"""

from __future__ import annotations

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")

CSS = """
:root { --fg: #1d1f23; --muted: #5f6570; --line: #d9dce1; --bg: #ffffff; --soft: #f4f5f7;
  --error: #c62828; --warning: #b26a00; --info: #1565c0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header, section { padding: 12px 24px; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 18px 0 8px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
nav a { margin-right: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top;
  border-bottom: 1px solid var(--soft); }
td.count, td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--soft); padding: 6px 8px; overflow-x: auto; white-space: pre-wrap; }
details summary { cursor: pointer; color: var(--muted); }
.counts span[data-count] { font-weight: 600; }
.sev-error { color: var(--error); } .sev-warning { color: var(--warning); }
.sev-info { color: var(--info); }
.note { color: var(--muted); font-style: italic; margin: 4px 0; }
.split { margin: 8px 0 20px; }
.class-row { display: grid; grid-template-columns: minmax(140px, 260px) 1fr 1fr 1fr; gap: 8px;
  align-items: center; padding: 2px 0; border-bottom: 1px solid var(--soft); }
.class-row.head { font-weight: 600; color: var(--muted); }
.class-row.flagged { background: #fff4f2; }
.class-row .name { overflow-wrap: anywhere; }
.class-row .codes { font-size: 12px; color: var(--error); margin-left: 4px; }
.bar { position: relative; height: 16px; background: var(--soft); border-radius: 2px; }
.bar > span { display: block; height: 100%; background: #7aa6d6; border-radius: 2px; }
.bar.pixels > span { background: #8bbf8b; }
.bar > em { position: absolute; left: 4px; top: 0; font-size: 11px; font-style: normal;
  line-height: 16px; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 8px 0;
  position: sticky; top: 0; background: var(--bg); padding: 6px 0; z-index: 2; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
figure.card { margin: 0; width: 400px; border: 1px solid var(--line); border-radius: 4px;
  padding: 8px; background: var(--bg); }
figure.card[hidden], h3[hidden], .cards[hidden] { display: none; }
img.thumb { display: block; max-width: 100%; height: auto; image-rendering: auto; }
figcaption.message { font-size: 13px; margin-top: 6px; overflow-wrap: anywhere; }
figcaption .where { display: block; color: var(--muted); font-size: 12px; }
.flagged-label { display: inline-block; font-size: 12px; margin-top: 4px; padding: 0 6px;
  border-left: 10px solid var(--swatch, #888); }
.view { display: none; }
.view:target { display: flex; position: fixed; inset: 0; z-index: 10; flex-direction: column;
  align-items: center; justify-content: center; background: rgba(10, 12, 16, .88); padding: 16px; }
.view img { width: auto; height: auto; max-width: 96vw; max-height: 86vh; min-width: min(90vw, 900px);
  object-fit: contain; background: #222; }
.view a.close { color: #fff; font-size: 16px; margin-top: 8px; }
.view p { color: #eee; max-width: 90vw; overflow-wrap: anywhere; }
.probe-cards { display: flex; flex-wrap: wrap; gap: 12px; }
figure.probe-card { margin: 0; max-width: 100%; border: 1px solid var(--line); padding: 8px; }
figure.probe-card img { max-width: 100%; height: auto; }
figure.probe-card figcaption { white-space: pre-wrap; font-size: 12px; }
"""

JS = """
(function () {
  "use strict";
  var rule = document.getElementById("filter-rule");
  var severity = document.getElementById("filter-severity");
  var cls = document.getElementById("filter-class");
  var shown = document.getElementById("shown-count");
  if (!rule || !severity || !cls) { return; }
  function apply() {
    var visible = 0;
    var cards = document.querySelectorAll("#gallery figure.card");
    cards.forEach(function (card) {
      var classes = (card.getAttribute("data-classes") || "").split(" ");
      var ok = (!rule.value || card.getAttribute("data-rule") === rule.value) &&
        (!severity.value || card.getAttribute("data-severity") === severity.value) &&
        (!cls.value || classes.indexOf(cls.value) >= 0);
      if (ok) { card.removeAttribute("hidden"); visible += 1; }
      else { card.setAttribute("hidden", ""); }
    });
    document.querySelectorAll("#gallery .rule-group").forEach(function (group) {
      var any = group.querySelector("figure.card:not([hidden])") !== null;
      var heading = group.querySelector("h3[data-rule]");
      if (any) { group.removeAttribute("hidden"); if (heading) { heading.removeAttribute("hidden"); } }
      else { group.setAttribute("hidden", ""); if (heading) { heading.setAttribute("hidden", ""); } }
    });
    if (shown) { shown.textContent = String(visible); }
  }
  [rule, severity, cls].forEach(function (el) { el.addEventListener("change", apply); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && location.hash.indexOf("#view-") === 0) {
      location.hash = "#gallery";
    }
  });
  apply();
})();
"""
