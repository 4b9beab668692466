"""Reader and reporter plugins: the `maskcheck.readers` and `maskcheck.reporters` entry-point groups.

Each test installs a fake distribution (a dist-info folder with entry_points.txt, and the
plugin's module beside it) on sys.path, as pip would, and runs the CLI. The tiny format is
one box per line, `file_name width height label x y w h`, so a finding has a file:line.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conftest import coco_doc
from maskcheck import plugins
from maskcheck.cli import main
from maskcheck.plugins import PluginError, load_entry_points
from maskcheck.readers import reading

TINY = '''
"""A tiny annotation format: one box per line, `file_name width height label x y w h`."""
from maskcheck.readers.builder import Builder

NAME = "tiny"


def detect(path):
    return path.is_file() and path.name.endswith(".tiny")


def read(path, options):
    b = Builder(str(path), NAME, None)
    rows = {}
    for n, text in enumerate(path.read_text().splitlines(), 1):
        name, w, h, label, *box = text.split()
        if name not in rows:
            rows[name] = b.add_image(name, int(w), int(h), str(path), line=n)
        b.add_ann(rows[name], int(label), str(path), line=n, bbox=[float(v) for v in box])
    yield b.build()
'''
# the second box reaches past its 100x80 image: box-outside-image (MC209) at line 2
TINY_DATA = "a.jpg 100 80 1 10 10 20 20\nb.jpg 100 80 1 90 70 30 30\n"

COUNT = '''
NAME = "count"


def render(report):
    return f"{len(report.findings)} findings: " + " ".join(f.code for f in report.findings) + "\\n"
'''


@pytest.fixture
def install(tmp_path, isolated_registry):
    """install({group: {entry name: value}}, {module name: source}): a fake installed
    distribution, loaded; everything it brought is forgotten after the test."""
    site = tmp_path / "site"
    site.mkdir()
    saved = dict(plugins._readers), dict(plugins._reporters)
    modules: list[str] = []

    def make(groups: dict[str, dict[str, str]], sources: dict[str, str] | None = None) -> None:
        dist = site / "fake_formats-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-formats\nVersion: 1.0\n")
        (dist / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items())
            for group, entries in groups.items()))
        for name, source in (sources or {}).items():
            (site / f"{name}.py").write_text(source)
            modules.append(name)
        sys.path.insert(0, str(site))

    yield make
    if str(site) in sys.path:
        sys.path.remove(str(site))
    for name in modules:
        sys.modules.pop(name, None)
    plugins._readers.clear()
    plugins._readers.update(saved[0])
    plugins._reporters.clear()
    plugins._reporters.update(saved[1])


def _tiny(install) -> None:
    install({"maskcheck.readers": {"tiny": "fake_tiny"}}, {"fake_tiny": TINY})
    load_entry_points(refresh=True)


def _lint_json(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(["lint", *args, "--format", "json", "--no-progress"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out.strip() else {}, out.err


def _coco(path: Path) -> Path:
    path.write_text(json.dumps(coco_doc(annotations=[])))
    return path


# --- a reader plugin -------------------------------------------------------------------------
def test_reader_plugin_reads_what_discovery_finds(tmp_path, install, capsys):
    _tiny(install)
    data = tmp_path / "data"
    data.mkdir()
    (data / "boxes.tiny").write_text(TINY_DATA)
    _coco(data / "ann.json")
    (data / "notes.txt").write_text("not annotations\n")
    code, doc, err = _lint_json(capsys, str(data), "--select", "MC209", "--exit-zero")
    assert code == 0, err
    assert doc["inputs"] == [{"path": str(data / "ann.json"), "format": "coco"},
                             {"path": str(data / "boxes.tiny"), "format": "tiny"}]
    assert [(f["code"], f["location"]["path"], f["location"]["line"]) for f in doc["findings"]] == [
        ("MC209", str(data / "boxes.tiny"), 2)]
    # a file no reader claims is still listed as skipped, with the same reason as without plugins
    assert doc["skipped"] == [{"path": str(data / "notes.txt"), "reason": (
        "a text file outside any YOLO or VOC dataset (no data.yaml or labels/ beside images/)")}]


def test_reader_plugin_by_input_format_and_by_name(tmp_path, install, capsys):
    _tiny(install)
    odd = tmp_path / "boxes.dat"  # detect() does not claim it: only --input-format reads it
    odd.write_text(TINY_DATA)
    code, doc, _ = _lint_json(capsys, str(odd), "--input-format", "tiny", "--select", "MC209",
                              "--exit-zero")
    assert code == 0 and doc["inputs"] == [{"path": str(odd), "format": "tiny"}]
    assert [(f["code"], f["location"]["line"]) for f in doc["findings"]] == [("MC209", 2)]
    assert main(["lint", str(odd), "--no-progress"]) == 2
    assert "not a supported annotation file" in capsys.readouterr().err

    named = tmp_path / "boxes.tiny"  # a file named directly is offered to detect()
    named.write_text(TINY_DATA)
    code, doc, _ = _lint_json(capsys, str(named), "--select", "MC209", "--exit-zero")
    assert doc["inputs"] == [{"path": str(named), "format": "tiny"}]
    assert reading.detect(named).NAME == "tiny" and reading.detect(tmp_path).NAME == "tiny"
    assert reading.detect(odd) is None


def test_reader_plugin_is_offered_only_what_no_builtin_claims(tmp_path, install, capsys):
    greedy = TINY.replace('path.name.endswith(".tiny")', 'path.suffix in (".tiny", ".json")')
    install({"maskcheck.readers": {"tiny": "fake_greedy"}}, {"fake_greedy": greedy})
    load_entry_points(refresh=True)
    data = tmp_path / "data"
    data.mkdir()
    _coco(data / "ann.json")
    (data / "boxes.tiny").write_text(TINY_DATA)
    code, doc, err = _lint_json(capsys, str(data), "--exit-zero")
    assert code == 0, err
    assert [i["format"] for i in doc["inputs"]] == ["coco", "tiny"]


def test_an_input_format_a_config_names(tmp_path, install, capsys, monkeypatch):
    _tiny(install)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text("format: tiny\nselect: [MC209]\n")
    odd = tmp_path / "boxes.dat"
    odd.write_text(TINY_DATA)
    code, doc, err = _lint_json(capsys, str(odd), "--exit-zero")
    assert code == 0, err
    assert [(f["code"], f["location"]["line"]) for f in doc["findings"]] == [("MC209", 2)]
    assert main(["lint", str(odd), "--input-format", "tinny"]) == 2
    assert "did you mean 'tiny'" in capsys.readouterr().err


def test_reader_plugins_load_once_per_process(tmp_path, install, capsys):
    _tiny(install)
    load_entry_points()
    load_entry_points()
    assert [r.NAME for _, r in plugins.loaded_readers()] == ["tiny"]
    assert list(reading.input_formats())[-1] == "tiny"


def test_a_reader_plugin_that_fails_on_a_file_names_the_file_and_the_plugin(tmp_path, install,
                                                                            capsys):
    broken = TINY.replace("    b = Builder(", "    raise KeyError('boom')\n    b = Builder(")
    install({"maskcheck.readers": {"tiny": "fake_broken_read"}}, {"fake_broken_read": broken})
    load_entry_points(refresh=True)
    data = tmp_path / "boxes.tiny"
    data.write_text(TINY_DATA)
    assert main(["lint", str(data), "--no-progress"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"maskcheck: {data}: could not be read: KeyError: 'boom' (a bug in the 'tiny' reader "
        "plugin: please report it to its authors)"]


def test_a_detect_that_raises_is_an_input_error_naming_the_plugin(tmp_path, install, capsys):
    broken = TINY.replace("    return path.is_file()", "    raise OSError('no')\n    return path")
    install({"maskcheck.readers": {"tiny": "fake_broken_detect"}}, {"fake_broken_detect": broken})
    load_entry_points(refresh=True)
    data = tmp_path / "data"
    data.mkdir()
    _coco(data / "ann.json")
    (data / "photo.jpg").write_bytes(b"\xff\xd8")
    code = main(["lint", str(data), "--no-progress", "--exit-zero"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert f"maskcheck: {data}: the 'tiny' reader plugin failed to detect its format: OSError: no" in err
    assert f"maskcheck: {data / 'photo.jpg'}: the 'tiny' reader plugin failed to detect its format: " \
           "OSError: no" in err


# --- a reporter plugin -----------------------------------------------------------------------
def test_reporter_plugin_by_format_and_report(tmp_path, install, capsys):
    install({"maskcheck.reporters": {"count": "fake_count"}}, {"fake_count": COUNT})
    load_entry_points(refresh=True)
    data = _coco(tmp_path / "ann.json")
    out = tmp_path / "count.txt"
    assert main(["lint", str(data), "--format", "count", "--report", f"count={out}",
                 "--select", "MC008", "--exit-zero", "--no-progress"]) == 0
    assert capsys.readouterr().out == "2 findings: MC008 MC008\n"
    assert out.read_text() == "2 findings: MC008 MC008\n"
    assert main(["lint", str(data), "--format", "nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        "maskcheck: --format 'nope': choose one of text, json, sarif, junit, github, concise, html, "
        "count")


def test_reporter_plugins_load_in_name_order(tmp_path, install, capsys):
    install({"maskcheck.reporters": {"zeta": "fake_zeta", "alpha": "fake_alpha"}},
            {"fake_zeta": COUNT.replace('"count"', '"z-count"'),
             "fake_alpha": COUNT.replace('"count"', '"a-count"')})
    load_entry_points(refresh=True)
    assert [r.NAME for _, r in plugins.loaded_reporters()] == ["a-count", "z-count"]


def test_a_reporter_that_fails_names_the_plugin(tmp_path, install, capsys):
    install({"maskcheck.reporters": {"count": "fake_bad_render"}},
            {"fake_bad_render": COUNT.replace("    return f", "    1 / 0\n    return f")})
    load_entry_points(refresh=True)
    assert main(["lint", str(_coco(tmp_path / "ann.json")), "--format", "count",
                 "--no-progress"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "maskcheck: reporter plugin 'count' (entry point fake_bad_render) failed to render the "
        "report: ZeroDivisionError: division by zero"]


# --- loud failures ---------------------------------------------------------------------------
BROKEN = [
    ("maskcheck.readers", "no_such_reader_module", None,
     "reader plugin 'bad' (entry point no_such_reader_module) failed to load: ModuleNotFoundError"),
    ("maskcheck.readers", "fake_bad", TINY.replace("def detect(path)", "def _detect(path)"),
     "reader plugin 'bad' (entry point fake_bad) failed to load: ValueError: reader 'tiny' has no "
     "detect() function"),
    ("maskcheck.readers", "fake_bad", TINY.replace('NAME = "tiny"', 'NAME = "Tiny Boxes"'),
     "reader plugin 'bad' (entry point fake_bad) failed to load: ValueError: reader fake_bad has "
     "NAME 'Tiny Boxes'; use kebab-case"),
    ("maskcheck.readers", "fake_bad", TINY.replace('NAME = "tiny"', 'NAME = "coco"'),
     "reader plugin 'bad' (entry point fake_bad) failed to load: reader 'coco' clashes with the "
     "built-in reader of that name"),
    ("maskcheck.reporters", "fake_bad", COUNT.replace("def render", "def draw"),
     "reporter plugin 'bad' (entry point fake_bad) failed to load: ValueError: reporter 'count' "
     "has no render() function"),
    ("maskcheck.reporters", "fake_bad", COUNT.replace('"count"', '"json"'),
     "reporter plugin 'bad' (entry point fake_bad) failed to load: reporter 'json' clashes with "
     "the built-in reporter of that name"),
    ("maskcheck.reporters", "fake_bad", COUNT.replace('"count"', '"text"'),
     "reporter plugin 'bad' (entry point fake_bad) failed to load: reporter 'text' clashes with "
     "the built-in reporter of that name"),
]


@pytest.mark.parametrize(("group", "value", "source", "message"), BROKEN)
def test_a_broken_plugin_stops_the_run_with_one_line_naming_it(tmp_path, install, capsys, group,
                                                                value, source, message):
    install({group: {"bad": value}}, {value: source} if source is not None else {})
    with contextlib.suppress(PluginError):  # found at load, or where the format list is assembled
        load_entry_points(refresh=True)
    data = _coco(tmp_path / "ann.json")
    assert main(["lint", str(data), "--no-progress"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"maskcheck: {message}"), err


@pytest.mark.parametrize("group", ["maskcheck.readers", "maskcheck.reporters"])
def test_two_plugins_with_one_name_clash(tmp_path, install, capsys, group):
    source = TINY if group == "maskcheck.readers" else COUNT
    install({group: {"first": "fake_first", "second": "fake_second"}},
            {"fake_first": source, "fake_second": source})
    kind = "reader" if group == "maskcheck.readers" else "reporter"
    name = "tiny" if kind == "reader" else "count"
    with pytest.raises(PluginError, match=(
            rf"^{kind} plugin 'second' \(entry point fake_second\) failed to load: {kind} "
            rf"'{name}' clashes with the one of {kind} plugin 'first' \(entry point fake_first\)$")):
        load_entry_points(refresh=True)


# --- trust: a config beside the data cannot add a format ---------------------------------------
def test_a_datasets_config_cannot_add_a_reader(tmp_path, capsys, monkeypatch, isolated_registry):
    work, data = tmp_path / "work", tmp_path / "download"
    work.mkdir()
    data.mkdir()
    marker = tmp_path / "ran"
    (data / "tiny_plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n" + TINY)
    (data / ".maskcheck.yaml").write_text("plugins: [tiny_plugin.py]\n")
    (data / "boxes.tiny").write_text(TINY_DATA)
    monkeypatch.chdir(work)
    assert main(["lint", str(data), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "plugins [tiny_plugin.py] not loaded" in err and not marker.exists()
    assert main(["lint", str(data / "boxes.tiny"), "--input-format", "tiny"]) == 2
    assert "--input-format 'tiny': unknown input format" in capsys.readouterr().err and not marker.exists()
    # trusted, the module runs, but a config's plugins bring rules: never a reader
    assert main(["lint", str(data / "boxes.tiny"), "--allow-plugins", "--input-format", "tiny"]) == 2
    assert "--input-format 'tiny': unknown input format" in capsys.readouterr().err and marker.exists()
    assert "tiny" not in reading.input_formats()


def test_a_reader_plugin_may_claim_a_folder(tmp_path, install, capsys):
    folder_reader = TINY.replace('return path.is_file() and path.name.endswith(".tiny")',
                                 'return path.is_dir() and (path / "TINY").is_file()').replace(
        "def read(path, options):\n", "def read(path, options):\n    path = path / 'boxes.txt'\n")
    install({"maskcheck.readers": {"tiny": "fake_folder"}}, {"fake_folder": folder_reader})
    load_entry_points(refresh=True)
    data = tmp_path / "data"
    (data / "set").mkdir(parents=True)
    (data / "set" / "TINY").write_text("")
    (data / "set" / "boxes.txt").write_text(TINY_DATA)  # a text file: skipped, were it not claimed
    code, doc, err = _lint_json(capsys, str(data), "--select", "MC209", "--exit-zero")
    assert code == 0, err
    assert doc["inputs"] == [{"path": str(data / "set" / "boxes.txt"), "format": "tiny"}]
    assert "skipped" not in doc
    assert [(f["location"]["path"], f["location"]["line"]) for f in doc["findings"]] == [
        (str(data / "set" / "boxes.txt"), 2)]


def test_a_builtin_added_to_the_format_list_alone_is_found_by_its_detect(tmp_path, monkeypatch,
                                                                        capsys):
    tiny = ModuleType("maskcheck_test_tiny")
    exec(compile(TINY, "tiny.py", "exec"), tiny.__dict__)
    monkeypatch.setitem(reading.FORMATS, "tiny", tiny)  # the dict readers/formats.py builds
    data = tmp_path / "data"
    data.mkdir()
    (data / "boxes.tiny").write_text(TINY_DATA)
    code, doc, err = _lint_json(capsys, str(data), "--select", "MC209", "--exit-zero")
    assert code == 0, err
    assert doc["inputs"] == [{"path": str(data / "boxes.tiny"), "format": "tiny"}]
    assert [(f["code"], f["location"]["line"]) for f in doc["findings"]] == [("MC209", 2)]
