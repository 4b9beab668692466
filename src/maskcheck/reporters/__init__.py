"""Output formats over one Report. Each reporter returns text; only the CLI writes it."""

from __future__ import annotations

from collections.abc import Callable

from maskcheck.model import Report
from maskcheck.reporters import concise, github, json_report, junit, sarif, terminal

Reporter = Callable[[Report], str]

REPORTERS: dict[str, Reporter] = {
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "concise": concise.render,
}

FORMATS = ("text", *REPORTERS)

__all__ = ["FORMATS", "REPORTERS", "terminal"]
