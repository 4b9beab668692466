"""Numbers written as strings: `"bbox": [227, 121, "284.0000", "36.0000"]`, `"width": "640"`.

Exporters that build JSON by string concatenation write them. numpy converts them without
a word, so one loader works and the next (torchvision, detectron2, COCOeval) fails: this
rule names each one at its exact JSON pointer. Readers put what they found in a
`text_numbers` column (a tuple of `columns.TextNumber` per row, full pointers);
COCO segmentations stay raw bytes until geometry decodes them, so their strings come
from `geometry.of(batch)` (polygons) and from the few RLE objects that failed to decode.
The other rules treat a field holding such a string as unusable and stay silent about
it, so each bad value is reported once, here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from maskcheck import geometry
from maskcheck.columns import TextNumber, as_number, rle_text_numbers, unquote_numbers
from maskcheck.model import Batch, Fix, Location, Problem, Severity
from maskcheck.registry import Rule

_WHY = ("torchvision, detectron2 and COCOeval fail on it while numpy converts it silently, so one "
        "loader works and the next crashes")


def message(t: TextNumber) -> str:
    """What the finding says about one entry (one string, or the first of many)."""
    fixed = as_number(t.text, t.integer)
    if t.count == 1:
        return f'{t.name} is the string "{t.text}", not a number: {_WHY}. Write it as {fixed!r}'
    return (f'{t.group} holds {t.count:,} numbers written as strings, the first {t.name} = '
            f'"{t.text}": {_WHY}. Write them as numbers without quotes ({fixed!r}, ...)')


def rle_strings(batch: Batch) -> dict[int, tuple[list[TextNumber], str | None]]:
    """RLE rows holding numeric strings (size ["480", 640], counts ["10", ...]): row ->
    (the strings, pointers under /segmentation; what invalid-rle would still say once the
    quotes go, or None). Only rows that failed to decode are looked at: few, and cached."""
    return batch.derived(_rle_strings)


def _rle_strings(batch: Batch) -> dict[int, tuple[list[TextNumber], str | None]]:
    out: dict[int, tuple[list[TextNumber], str | None]] = {}
    rle = geometry.of(batch).rle
    seg = batch.anns.segmentation if rle.problem else None
    for r in sorted(rle.problem):
        value = geometry.loads_raw(seg[r])
        found = rle_text_numbers(value, "")
        if found:
            out[r] = (found, geometry.check_rle(unquote_numbers(value))[3])
    return out


def _at(loc: Location, pointer: str) -> Location:
    return replace(loc, pointer=pointer)


def _fix(t: TextNumber) -> Fix | None:
    """The number itself, for a finding that stands for one string; for one that stands for
    a field of many, the field with each of its numeric strings unquoted."""
    if t.count != 1:
        return Fix(t.integer, up=t.up, op="unquote",
                   what=f"{t.count:,} strings in {t.group} -> numbers")
    value = as_number(t.text, t.integer)
    return Fix(value, what=f'"{t.text}" -> {value!r}') if isinstance(value, int | float) else None


class NumberAsString(Rule):
    code = "MC009"
    name = "number-as-string"
    summary = 'A numeric field holding a string that is a number: "bbox": [227, 121, "284.0000", 36].'
    severity = Severity.ERROR
    fix_safety = "safe"  # the string's own number, unquoted

    def check(self, batch: Batch) -> Iterator[Problem]:
        imgs, anns = batch.images, batch.anns
        if len(imgs) and "text_numbers" in imgs:
            for r in np.flatnonzero([v is not None for v in imgs.text_numbers]).tolist():
                loc, order = batch.image_location(r), batch.image_order(r)
                for k, t in enumerate(imgs.text_numbers[r]):
                    yield Problem(message(t), _at(loc, t.pointer), (*order, k), _fix(t))
        if not len(anns):
            return
        found: dict[int, list[tuple[str | None, TextNumber]]] = {}  # row -> (pointer base, entry)
        if "text_numbers" in anns:  # full pointers, as the reader saw them
            for r in np.flatnonzero([v is not None for v in anns.text_numbers]).tolist():
                found[r] = [(None, t) for t in anns.text_numbers[r]]
        if "pointer" not in anns:  # COCO: pointers are /annotations/<index>, ours to extend
            geo = geometry.of(batch)
            segments = [(r, f) for r, f in geo.text_numbers.items()]
            segments += [(r, f) for r, (f, _) in rle_strings(batch).items()]
            for r, entries in segments:
                found.setdefault(r, []).extend(("/segmentation", t) for t in entries)
        for r in sorted(found):
            loc, order = batch.ann_location(r), batch.ann_order(r)
            for k, (base, t) in enumerate(found[r]):
                pointer = t.pointer if base is None else f"{loc.pointer}{base}{t.pointer}"
                yield Problem(message(t), _at(loc, pointer), (*order, k), _fix(t))
