"""Records that cannot be read as what they claim to be, and ids of the wrong type."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import msgspec
import numpy as np

from maskcheck.columns import MISSING, is_number_text, is_numberish
from maskcheck.model import At, Batch, DatasetInfo, Fix, Problem, SegKind, Severity
from maskcheck.registry import DatasetRule
from maskcheck.rules._util import (
    ann_problems,
    category_problem,
    fmt_value,
    image_problems,
    misspelled_fields,
)

_ANN_FIELDS = ("id", "image_id", "category_id")
_IMG_FIELDS = ("id", "file_name", "width", "height")


def _missing_fields(table: Any, fields: tuple[str, ...], row: int) -> list[str]:
    """Required fields the record lacks, but for those it has misspelled (MC010's)."""
    typos = misspelled_fields(table, row)
    return [f for f in fields if not table["has_" + f][row] and f not in typos]


def _lacking(table: Any, fields: tuple[str, ...]) -> np.ndarray:
    rows = table.is_object & ~np.logical_and.reduce([table["has_" + f] for f in fields])
    if "misspelled" in table:
        rows &= np.array([bool(_missing_fields(table, fields, r)) if rows[r] else False
                          for r in range(len(table))], dtype=bool)
    return rows


def _raw(table: Any, name: str) -> np.ndarray | None:
    return table.get("raw_" + name)


class MalformedRecord(DatasetRule):
    code = "MC001"
    name = "malformed-record"
    summary = "A record that is not an object, lacks a required field, or holds a value of the wrong shape."
    severity = Severity.ERROR
    fix_safety = "safe"  # iscrowd true/false only: every other malformed value has no fix

    def check(self, batch: Batch) -> Iterator[Problem]:
        yield from self._annotations(batch)
        yield from self._images(batch)

    def _annotations(self, batch: Batch) -> Iterator[Problem]:
        anns = batch.anns
        if not len(anns):
            return
        yield from ann_problems(batch, ~anns.is_object,
                                lambda r: "this annotation is not a JSON object, so it cannot be read "
                                          "at all; training code skips it or crashes")
        yield from ann_problems(
            batch, _lacking(anns, _ANN_FIELDS),
            lambda r: f"annotation lacks {', '.join(map(repr, _missing_fields(anns, _ANN_FIELDS, r)))}: "
                      "COCO loaders index annotations by these keys and crash or drop the record")
        # a value that is only wrong for being a number in quotes is number-as-string's (MC009)
        raw_box = _raw(anns, "bbox")
        if raw_box is not None:
            bad = np.array([v is not None and not _quoted_box(v) for v in raw_box], dtype=bool)
            yield from ann_problems(
                batch, bad,
                lambda r: "bbox must be a list of 4 numbers [x, y, width, height], got "
                          f"{fmt_value(raw_box[r])}")
        raw_area = _raw(anns, "area")
        if raw_area is not None:
            bad = np.array([v is not None and not is_number_text(v) for v in raw_area], dtype=bool)
            yield from ann_problems(batch, bad,
                                    lambda r: f"area must be a number, got {fmt_value(raw_area[r])}")
        # torchvision keeps only iscrowd == 0 and COCOeval casts it to a flag: null or "no"
        # silently change which instances train and evaluate. An integer other than 0/1 is
        # invalid-iscrowd's (MC220).
        crowd_ok = anns.get("iscrowd_ok")
        if crowd_ok is not None:
            raw_crowd = _raw(anns, "iscrowd")
            quoted = (np.array([is_number_text(v) for v in raw_crowd], dtype=bool)
                      if raw_crowd is not None else np.zeros(len(anns), dtype=bool))
            for r in np.flatnonzero(anns.has_iscrowd & ~crowd_ok & ~quoted).tolist():
                value = _raw_at(anns, "iscrowd", r)
                # true/false: the flag COCOeval makes of it, written as the int COCO uses
                fix = (Fix(int(value), what=f"iscrowd {fmt_value(value)} -> {int(value)}",
                           at="/iscrowd") if isinstance(value, bool) else None)
                yield Problem(f"iscrowd must be 0 or 1, got {fmt_value(value)}", At.ann(r), fix=fix)
        other = anns.is_object & (anns.seg_kind == SegKind.OTHER)
        yield from ann_problems(
            batch, other,
            lambda r: "segmentation must be a list of polygons or an RLE object, got "
                      f"{_json_text(anns.segmentation[r])}")

    def _images(self, batch: Batch) -> Iterator[Problem]:
        imgs = batch.images
        if not len(imgs):
            return
        yield from image_problems(batch, ~imgs.is_object,
                                  lambda r: "this image record is not a JSON object, so it cannot be read")
        yield from image_problems(
            batch, _lacking(imgs, _IMG_FIELDS),
            lambda r: f"image lacks {', '.join(map(repr, _missing_fields(imgs, _IMG_FIELDS, r)))}: "
                      "loaders need the id to attach annotations and the size to build masks")
        for dim in ("width", "height"):
            raw = _raw(imgs, dim)
            if raw is not None:
                bad = np.array([v is not None and not is_number_text(v) for v in raw], dtype=bool)
                nulls = imgs.get("null_" + dim)  # readers that tell a JSON null from no value
                if nulls is not None:
                    bad |= nulls
                at = imgs.get("at_" + dim)  # the key's own pointer (LabelMe's /imageWidth)
                for r in np.flatnonzero(bad).tolist():
                    key = dim if at is None else at[r].rsplit("/", 1)[-1]
                    message = f"{key} must be a number, got {fmt_value(raw[r])}"
                    if at is None:
                        yield Problem(message, At.image(r))
                    else:
                        loc = replace(batch.image_location(r), pointer=at[r])
                        yield Problem(message, loc, batch.image_order(r))
        names = imgs.file_name
        bad_name = imgs.has_file_name & np.array([not isinstance(v, str) for v in names], dtype=bool)
        yield from image_problems(batch, bad_name,
                                  lambda r: f"file_name must be a string, got {fmt_value(names[r])}")

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        for pointer, message in info.problems:
            yield Problem(message, At.pointer(pointer))
        cats = info.categories
        for row in range(len(cats)):
            if not cats.is_object[row]:
                yield category_problem(info, row, "this category is not a JSON object")
                continue
            lacking = [f for f in ("id", "name") if not cats["has_" + f][row]]
            if lacking:
                yield category_problem(info, row, f"category lacks {', '.join(map(repr, lacking))}")
            elif not isinstance(cats.name[row], str):
                yield category_problem(info, row,
                                       f"category name must be a string, got {fmt_value(cats.name[row])}")


def _quoted_box(value: Any) -> bool:
    """A box that would be fine with its numeric strings unquoted: [227, 121, "284.0", 36]."""
    return (isinstance(value, list) and len(value) == 4 and all(map(is_numberish, value))
            and any(map(is_number_text, value)))


def _json_text(raw: Any) -> str:
    """A raw JSON value as a message shows it (5 stays 5; "abc" keeps its quotes)."""
    try:
        return fmt_value(msgspec.json.decode(raw))
    except msgspec.DecodeError:
        return fmt_value(bytes(raw).decode(errors="replace"))


def _id_message(what: str, value: Any) -> str:
    if value is None:
        return f"{what} is null, not an integer: the record cannot be linked to anything"
    if type(value) is int:
        return f"{what} {value} does not fit in a 64-bit integer"
    text = f"{what} {fmt_value(value)} is a {_type_name(value)}, not an integer"
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return (f"{text}: write it as {int(value)}. Mixed with integer ids, pycocotools treats "
                f"\"{value}\" and {int(value)} as different keys and silently loses the link")
    if isinstance(value, float) and value.is_integer():
        return f"{text}: write it as {int(value)}"
    return text


def _type_name(value: Any) -> str:
    return {str: "string", float: "float", bool: "boolean", list: "list", dict: "object",
            type(None): "null"}.get(type(value), type(value).__name__)


def _bad_ids(table: Any, field: str, allow_str: bool = True) -> np.ndarray:
    """Rows whose `field` holds a value that is not an integer.

    The reader keeps such values in `raw_<field>`, except JSON null, which leaves the raw
    slot at None: a present key that is not `_ok` is a null. Tables without a raw column
    (formats whose ids the reader makes up) have nothing to report.
    """
    raw = _raw(table, field)
    if raw is None:
        return np.zeros(len(table), dtype=bool)
    bad = np.array([v is not None and v is not MISSING and (allow_str or not isinstance(v, str))
                    for v in raw], dtype=bool)
    has = table.get("has_" + field)
    if has is not None:
        bad |= has & ~table[field + "_ok"] & np.array([v is None for v in raw], dtype=bool)
    return bad


def _raw_at(table: Any, field: str, row: int) -> Any:
    raw = _raw(table, field)
    return None if raw is None else raw[row]


class InvalidIdType(DatasetRule):
    code = "MC002"
    name = "invalid-id-type"
    summary = "An id that is not an integer (a string, a float), or ids mixing \"2299\" and 2299."
    severity = Severity.ERROR

    def check(self, batch: Batch) -> Iterator[Problem]:
        anns, imgs = batch.anns, batch.images
        if len(anns):
            for field, what in (("id", "annotation id"), ("image_id", "image_id")):
                yield from ann_problems(batch, _bad_ids(anns, field),
                                        lambda r, f=field, w=what: _id_message(w, _raw_at(anns, f, r)))
            # strings belong to string-label; floats, lists, null land here
            yield from ann_problems(batch, _bad_ids(anns, "category_id", allow_str=False),
                                    lambda r: _id_message("category_id", _raw_at(anns, "category_id", r)))
        if len(imgs):
            yield from image_problems(batch, _bad_ids(imgs, "id"),
                                      lambda r: _id_message("image id", _raw_at(imgs, "id", r)))

    def finalize(self, state: Any, info: DatasetInfo) -> Iterator[Problem]:
        cats = info.categories
        if len(cats):
            for row in np.flatnonzero(_bad_ids(cats, "id")).tolist():
                yield category_problem(info, row, _id_message("category id", _raw_at(cats, "id", row)))
