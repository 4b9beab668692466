"""Class names as people write them: the same name apart from case and whitespace."""

from __future__ import annotations


def norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def suggest(label: str, known: dict[str, int]) -> str | None:
    """A known name equal to `label` apart from case and whitespace."""
    key = norm_name(label)
    for name in known:
        if norm_name(name) == key:
            return name
    return None
