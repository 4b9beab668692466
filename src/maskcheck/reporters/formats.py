"""The built-in output formats: each a function from a Report to text (only the CLI writes it).

Adding a format is its module and one entry here. `text`, the rich terminal report, draws on
a console rather than returning text, so it is not in this list (see reporters/outputs.py);
reporters from the `maskcheck.reporters` entry-point group come after these ones.
"""

from __future__ import annotations

from collections.abc import Callable

from maskcheck.model import Report
from maskcheck.reporters import concise, github, html, json_report, junit, sarif

Reporter = Callable[[Report], str]

REPORTERS: dict[str, Reporter] = {
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "concise": concise.render,
    "html": html.render,
}

FORMATS = ("text", *REPORTERS)
