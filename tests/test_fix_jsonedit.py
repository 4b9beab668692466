"""jsonedit: pointer edits that change the parsed document exactly there and no other byte."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskcheck.fix.jsonedit import Delete, EditError, Replace, apply, apply_bytes, locate, parse_pointer

# Layouts as writers produce them; ensure_ascii=False so non-ASCII text sits in the file as is.
STYLES: dict[str, dict[str, Any]] = {
    "compact": {"separators": (",", ":")},
    "spaced": {},
    "indent2": {"indent": 2},
    "indent4": {"indent": 4},
}
_settings = settings(max_examples=150, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_text = st.text(alphabet=st.sampled_from([*'ab~/"\\é中😀 \n\t:,{}[]', "\u2028", "\x00"]),
                max_size=6)
_floats = st.one_of(st.sampled_from([0.1, 1e-07, 5e+20, -0.0, 0.0, 1.5e300, 2.5, -1e-300]),
                    st.floats(allow_nan=False, allow_infinity=False))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), _floats, _text)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_text, inner, max_size=5)),
    max_leaves=25,
)


def canon(value: Any) -> str:
    """A strict equality: 1, 1.0 and True differ, -0.0 differs from 0.0, key order counts."""
    return json.dumps(value, ensure_ascii=False)


def escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, list):
        for i, item in enumerate(value):
            out += paths(item, (*prefix, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    return out


def pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + escape(t) for t in path)


def get(value: Any, path: tuple[str | int, ...]) -> Any:
    for token in path:
        value = value[token]
    return value


def reference(doc: Any, edits: list[tuple[str, tuple[str | int, ...], Any]]) -> Any:
    """The Python-side edit: replaces first, then deletes from the last path back (original indices)."""
    doc = copy.deepcopy(doc)
    for kind, path, value in edits:
        if kind == "replace":
            if not path:
                doc = copy.deepcopy(value)
            else:
                get(doc, path[:-1])[path[-1]] = copy.deepcopy(value)
    deletes = [path for kind, path, _ in edits if kind == "delete"]
    for path in sorted(deletes, key=lambda p: [(isinstance(t, int), t) for t in p], reverse=True):
        del get(doc, path[:-1])[path[-1]]
    return doc


def has_separator(value: Any) -> bool:
    """Whether a dump of `value` shows its separator style (a `:` or a `,` outside strings)."""
    if isinstance(value, dict):
        return bool(value)
    if isinstance(value, list):
        return len(value) > 1 or any(has_separator(v) for v in value)
    return False


@st.composite
def cases(draw: st.DrawFn) -> tuple[Any, str, str, list[tuple[str, tuple[str | int, ...], Any]]]:
    doc = draw(_values)
    style = draw(st.sampled_from(sorted(STYLES)))
    text = json.dumps(doc, ensure_ascii=False, **STYLES[style])
    candidates = paths(doc)
    chosen = draw(st.lists(st.sampled_from(candidates), max_size=6, unique=True))
    picked: list[tuple[str | int, ...]] = []
    for path in chosen:  # no edit nested in another
        if not any(p[:len(path)] == path or path[:len(p)] == p for p in picked):
            picked.append(path)
    edits = []
    for path in picked:
        if path and draw(st.booleans()):
            edits.append(("delete", path, None))
        else:
            edits.append(("replace", path, draw(_values)))
    return doc, style, text, edits


def to_edits(edits: list[tuple[str, tuple[str | int, ...], Any]]) -> list[Replace | Delete]:
    return [Replace(pointer(p), v) if k == "replace" else Delete(pointer(p)) for k, p, v in edits]


@_settings
@given(cases())
def test_apply_equals_the_python_side_edit(case: Any) -> None:
    doc, style, text, edits = case
    out = apply(text, to_edits(edits))
    expected = reference(doc, edits)
    assert canon(json.loads(out)) == canon(expected)
    # Deletes and scalar replaces keep the writer's layout exactly (whole lines go in indented
    # files, an emptied container is `[]`); replaced containers are one line, so not in indent.
    one_line = any(k == "replace" and isinstance(v, list | dict) and v for k, _, v in edits)
    if not (one_line and style.startswith("indent")) and (has_separator(doc) or not edits):
        assert out == json.dumps(expected, ensure_ascii=False, **STYLES[style])
    assert apply_bytes(text.encode(), to_edits(edits)) == out.encode()


@_settings
@given(cases())
def test_a_single_edit_leaves_every_other_byte(case: Any) -> None:
    doc, _style, text, edits = case
    if not edits:
        return
    kind, path, value = edits[0]
    span = locate(text, [pointer(path)])[pointer(path)]
    start, end = span
    assert canon(json.loads(text[start:end])) == canon(get(doc, path))  # character offsets
    if kind == "replace":
        out = apply(text, [Replace(pointer(path), value)])
        assert out.startswith(text[:start]) and out.endswith(text[end:])
        assert canon(json.loads(out[start:len(out) - (len(text) - end)])) == canon(value)
    else:
        out = apply(text, [Delete(pointer(path))])
        # one contiguous stretch went, at least the value (its exact layout is checked above)
        head = next((i for i, (a, b) in enumerate(zip(out, text, strict=False)) if a != b), len(out))
        assert text.endswith(out[head:])
        assert len(text) - len(out) >= end - start


@_settings
@given(cases())
def test_replace_is_idempotent(case: Any) -> None:
    _doc, _style, text, edits = case
    replaces = [Replace(pointer(p), v) for k, p, v in edits if k == "replace"]
    once = apply(text, replaces)
    assert apply(once, replaces) == once


def test_exact_outputs_in_each_layout() -> None:
    compact = '{"a":[1,2,3],"b":{"x":0.1,"y":"é"}}'
    assert apply(compact, [Replace("/b/x", {"k": [1e-07, 5e+20]})]) == \
        '{"a":[1,2,3],"b":{"x":{"k":[1e-07,5e+20]},"y":"é"}}'
    assert apply(compact, [Delete("/a/2"), Delete("/b/x")]) == '{"a":[1,2],"b":{"y":"é"}}'
    assert apply(compact, [Delete("/a/0"), Delete("/a/1"), Delete("/a/2")]) == \
        '{"a":[],"b":{"x":0.1,"y":"é"}}'
    spaced = '{"a": [1, 2], "b": -0.0}'
    assert apply(spaced, [Replace("/b", [10**40, -0.0, "ü"])]) == \
        '{"a": [1, 2], "b": [10000000000000000000000000000000000000000, -0.0, "ü"]}'
    indented = '{\n    "a": [\n        1,\n        2,\n        3\n    ],\n    "b": 1\n}\n'
    assert apply(indented, [Delete("/a/1")]) == \
        '{\n    "a": [\n        1,\n        3\n    ],\n    "b": 1\n}\n'
    assert apply(indented, [Delete("/a/2")]) == \
        '{\n    "a": [\n        1,\n        2\n    ],\n    "b": 1\n}\n'
    assert apply(indented, [Delete("/a/0"), Delete("/a/1")]) == \
        '{\n    "a": [\n        3\n    ],\n    "b": 1\n}\n'
    assert apply(indented, [Delete("/b")]) == '{\n    "a": [\n        1,\n        2,\n        3\n    ]\n}\n'
    assert apply(indented, [Delete("/a")]) == '{\n    "b": 1\n}\n'


def test_unusual_whitespace_and_bom_are_kept() -> None:
    text = '\ufeff\r\n{ "a" :\t[ 1 , 2 ]\r\n, "k\\"ey" : true }  \r\n'
    assert apply(text, [Replace("/a/1", 2.5)]) == \
        '\ufeff\r\n{ "a" :\t[ 1 , 2.5 ]\r\n, "k\\"ey" : true }  \r\n'
    assert apply(text, [Delete('/k"ey')]) == '\ufeff\r\n{ "a" :\t[ 1 , 2 ] }  \r\n'
    assert apply(text, [Delete("/a")]) == '\ufeff\r\n{ "k\\"ey" : true }  \r\n'
    one = text.index("1")
    assert locate(text, ["", "/a/0"]) == {"": (3, len(text) - 4), "/a/0": (one, one + 1)}


def test_pointers_follow_rfc6901() -> None:
    text = '{"a/b": {"m~n": [0, {"": 7}]}, "é": "ü"}'
    assert parse_pointer("/a~1b/m~0n/1/") == ("a/b", "m~n", "1", "")
    spans = locate(text, ["/a~1b/m~0n/1/", "/é"])
    assert text[slice(*spans["/a~1b/m~0n/1/"])] == "7"
    assert text[slice(*spans["/é"])] == '"ü"'
    assert apply(text, [Replace("/a~1b/m~0n/0", 1)]) == '{"a/b": {"m~n": [1, {"": 7}]}, "é": "ü"}'
    assert apply("3", [Replace("", [1])]) == "[1]"


def test_keys_are_matched_decoded() -> None:
    text = '{"\\u0061": 1, "b": 2}'
    assert apply(text, [Replace("/a", 5)]) == '{"\\u0061": 5, "b": 2}'
    assert apply(text, [Delete("/a")]) == '{"b": 2}'


@pytest.mark.parametrize(("text", "edits", "message"), [
    ('{"a": [1]}', [Replace("/b", 1)], "/b: no member 'b'"),
    ('{"a": [1]}', [Replace("/a/1", 1)], "/a/1: index 1 is past the end of an array of 1"),
    ('{"a": [1]}', [Replace("/a/-", 1)], "'-' is not an array index"),
    ('{"a": [1]}', [Replace("/a/01", 1)], "'01' is not an array index"),
    ('{"a": [1]}', [Replace("/a/0/x", 1)], "/a/0/x: /a/0 is not an array or object"),
    ('{"a": [1]}', [Replace("a", 1)], "starts with '/'"),
    ('{"a": [1]}', [Replace("/a~2", 1)], "'~' must be followed by 0 or 1"),
    ('{"a": [1]}', [Replace("/a", 1), Delete("/a/0")], "/a/0: inside /a"),
    ('{"a": [1]}', [Delete("/a/0"), Replace("/a", 1)], "/a: edited, and so is a pointer inside it"),
    ('{"a": [1]}', [Replace("/a", 1), Replace("/a", 2)], "two different edits"),
    ('{"a": [1]}', [Replace("/a", 1), Replace("/a", True)], "two different edits"),
    ('{"a": [1]}', [Delete("")], "cannot delete the whole document"),
    ('{"a": [1]}', [Replace("/a", float("nan"))], "cannot write nan"),
    ('{"a": [1]}', [Replace("/a", {1, 2})], "cannot write"),
    ('{"a": [1,]}', [Replace("/a", 1)], "not JSON"),
    ('{"a": NaN}', [Replace("/a", 1)], "not JSON"),
    ('{"a": 1} x', [Replace("/a", 1)], "not JSON"),
    ("  ", [Replace("", 1)], "not JSON"),
])
def test_errors(text: str, edits: list[Replace | Delete], message: str) -> None:
    with pytest.raises(EditError, match=message.replace("[", r"\[")):
        apply(text, edits)


def test_the_same_edit_twice_is_one_edit() -> None:
    assert apply('{"a": [1, 2]}', [Delete("/a/0"), Delete("/a/0")]) == '{"a": [2]}'


def test_locate_refuses_missing_pointers() -> None:
    with pytest.raises(EditError, match="/x: no member"):
        locate('{"a": 1}', ["/a", "/x"])
