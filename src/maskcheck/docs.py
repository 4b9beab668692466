"""Rule pages: `rules/CODE.md` in the repository, `maskcheck/rule_pages/` in the wheel."""

from __future__ import annotations

from pathlib import Path

from maskcheck.registry import Rule


def pages_dir() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here / "rule_pages", here.parents[1] / "rules"):
        if candidate.is_dir():
            return candidate
    return None


def page_path(rule: type[Rule]) -> Path | None:
    own = getattr(rule, "page", None)  # a plugin ships its page beside its code
    if own is not None:
        return Path(own) if Path(own).is_file() else None
    folder = pages_dir()
    if folder is None:
        return None
    path = folder / f"{rule.code}.md"
    return path if path.is_file() else None


def page_text(rule: type[Rule]) -> str | None:
    path = page_path(rule)
    return path.read_text(encoding="utf-8") if path else None


HELP_URI = "https://github.com/maskcheck/maskcheck/blob/main/rules/{code}.md"


SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "How to fix", "Fix safety",
            "Options")


def sections(text: str) -> dict[str, str]:
    """The `## Heading` sections of a page, by heading."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def first_fence(section: str) -> tuple[str, str] | None:
    """(info string, body) of the first fenced code block in a section."""
    lines = section.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("```"):
            info = line[3:].strip()
            body = []
            for inner in lines[i + 1:]:
                if inner.startswith("```"):
                    return info, "\n".join(body) + "\n"
                body.append(inner)
    return None
