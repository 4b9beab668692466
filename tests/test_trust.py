"""Hostile datasets: a shipped config runs no code, symlink loops, control characters, warnings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import coco_doc
from maskcheck.cli import main
from maskcheck.reporters.safe import visible

EVIL = '''
from pathlib import Path
Path({marker!r}).write_text("ran")
'''


pytestmark = pytest.mark.usefixtures("isolated_registry")  # plugins register process-wide


def _hostile(tmp_path: Path, config: str = "plugins: [evil.py]\n") -> tuple[Path, Path, Path]:
    """A downloaded dataset whose config names a plugin that leaves a marker when run."""
    data = tmp_path / "download"
    data.mkdir()
    (data / "ann.json").write_text(json.dumps(coco_doc()))
    marker = tmp_path / "marker"
    (data / "evil.py").write_text(EVIL.format(marker=str(marker)))
    (data / ".maskcheck.yaml").write_text(config)
    work = tmp_path / "work"  # the user's own folder, outside the dataset
    work.mkdir()
    return data, marker, work


def _no_pycache(root: Path) -> bool:
    return not any(p.name == "__pycache__" for p in root.rglob("*"))


def test_config_beside_the_data_runs_no_code(tmp_path, capsys, monkeypatch):
    data, marker, work = _hostile(tmp_path)
    monkeypatch.chdir(work)
    assert main(["lint", str(data / "ann.json"), "--format", "json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert not marker.exists() and _no_pycache(tmp_path)
    assert err == [f"maskcheck: {data / '.maskcheck.yaml'}: plugins [evil.py] not loaded: a config "
                   "found beside the linted data may not run code (use --config or --allow-plugins)"]


def test_blocked_config_keeps_its_other_settings(tmp_path, capsys, monkeypatch):
    data, marker, work = _hostile(tmp_path, "plugins: [evil.py]\nselect: [MC1]\n")
    monkeypatch.chdir(work)
    assert main(["lint", str(data), "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["config", str(data), "--format", "json"]) == 0
    out = capsys.readouterr()
    settings = json.loads(out.out)["settings"]
    assert settings["select"]["value"] == ["MC1"] and settings["plugins"]["value"] == []
    assert "not loaded" in out.err and not marker.exists()


def test_blocked_plugin_rule_reference_says_why(tmp_path, capsys, monkeypatch):
    data, marker, work = _hostile(tmp_path, "plugins: [evil.py]\nselect: [EVIL001]\n")
    monkeypatch.chdir(work)
    assert main(["lint", str(data)]) == 2
    err = capsys.readouterr().err
    assert "'EVIL001' matches no rule" in err and "plugins [evil.py] were not loaded" in err
    assert not marker.exists() and "Traceback" not in err


@pytest.mark.parametrize("how", ["--config", "--allow-plugins", "cwd"])
def test_trusted_config_loads_its_plugins(tmp_path, capsys, monkeypatch, how):
    data, marker, work = _hostile(tmp_path)
    monkeypatch.chdir(data if how == "cwd" else work)
    extra = {"--config": ["--config", str(data / ".maskcheck.yaml")],
             "--allow-plugins": ["--allow-plugins"], "cwd": []}[how]
    assert main(["lint", str(data / "ann.json"), "--format", "json", *extra]) == 0
    assert marker.read_text() == "ran"
    assert "not loaded" not in capsys.readouterr().err
    assert _no_pycache(tmp_path)  # imported without writing bytecode beside it


def test_dotted_local_plugin_writes_no_bytecode(tmp_path, monkeypatch):
    data, marker, _ = _hostile(tmp_path, "plugins: [evil_dotted]\n")
    (data / "evil_dotted.py").write_text(EVIL.format(marker=str(marker)))
    monkeypatch.chdir(data)
    assert main(["lint", str(data / "ann.json"), "--format", "json"]) == 0
    assert marker.exists() and _no_pycache(tmp_path)


# --- symlink loops -------------------------------------------------------------------------
@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
@pytest.mark.parametrize("names", [["loop"], ["a", "b"]])
def test_symlink_loop_argument_is_one_line(tmp_path, capsys, monkeypatch, names):
    monkeypatch.chdir(tmp_path)
    for src, dst in zip(names, names[1:] + names[:1], strict=True):
        os.symlink(dst, src)
    assert main(["lint", names[0]]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and names[0] in err
    assert "Traceback" not in err and "internal error" not in err


# --- control characters --------------------------------------------------------------------
NASTY = "a\x1b[2Jb\x1b]0;pwned\x07c\nd\re\x9bf"


def _nasty_coco(tmp_path: Path) -> Path:
    doc = coco_doc(categories=[{"id": 1, "name": NASTY}, {"id": 2, "name": "fine"}],
                   images=[{"id": 1, "file_name": NASTY + ".jpg", "width": 10, "height": 10}],
                   annotations=[{"id": 1, "image_id": 1, "category_id": 3, "area": 4.0,
                                 "bbox": [1, 1, 2, 2], "iscrowd": 0,
                                 "segmentation": [[1, 1, 3, 1, 3, 3]]}])
    folder = tmp_path / ("evil\x1b]0;x\x07\ndir")
    folder.mkdir()
    path = folder / "ann.json"
    path.write_text(json.dumps(doc))
    return path


def _unsafe(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def test_visible_escapes():
    assert visible(NASTY) == "a\\x1b[2Jb\\x1b]0;pwned\\x07c\\nd\\re\\x9bf"
    assert visible("tab\there \u202e") == "tab\\there \\u202e"
    assert visible("plain ünïcode") == "plain ünïcode"


@pytest.mark.parametrize("fmt", ["text", "concise", "github"])
def test_human_formats_show_control_characters_escaped(tmp_path, capsys, fmt):
    path = _nasty_coco(tmp_path)
    main(["lint", str(path), "--format", fmt, "--fail-on", "never", "--no-progress"])
    out = capsys.readouterr().out
    assert _unsafe(out) == []
    assert "\\x1b[2J" in out
    if fmt in ("concise", "github"):  # one line per finding (github adds a summary line)
        n = json.loads(_json(path))["findings"]
        assert len(out.splitlines()) == len(n) + (fmt == "github")


def _json(path: Path) -> str:
    from maskcheck.api import lint
    from maskcheck.reporters import json_report

    return json_report.render(lint([path]))


def test_machine_formats_stay_valid(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    path = _nasty_coco(tmp_path)
    main(["lint", str(path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert any(NASTY in f["message"] for f in doc["findings"])  # JSON keeps the data exact
    main(["lint", str(path), "--format", "sarif"])
    json.loads(capsys.readouterr().out)
    main(["lint", str(path), "--format", "junit"])
    xml = capsys.readouterr().out
    ET.fromstring(xml)  # parses: no character XML forbids
    assert not any(ord(c) < 0x20 and c not in "\t\n\r" for c in xml)


def test_junit_escapes_what_xml_forbids():
    from maskcheck.reporters.junit import _clean

    assert _clean("a\x00b\ufffec\t") == "a\\x00b\\ufffec\t"


def test_unreadable_input_line_is_escaped(tmp_path, capsys):
    bad = tmp_path / "bro\nken\x1b[2J.json"
    bad.write_text("{not json")
    assert main(["lint", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "bro\\nken\\x1b[2J.json" in err and _unsafe(err) == []


# --- warnings ------------------------------------------------------------------------------
def test_numpy_warnings_stay_off_stderr(tmp_path, capsys, monkeypatch):
    doc = coco_doc(annotations=[{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                                 "area": 1e308, "bbox": [1e308, 1e308, 1e308, 1e308],
                                 "segmentation": [[1e308, 1e308, -1e308, 1e308, 1e308, -1e308]]}])
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    import warnings

    # pytest collects warnings itself, so check that none escape the CLI, not just stderr
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        main(["lint", str(path), "--format", "json"])
    assert escaped == [] and capsys.readouterr().err == ""
    monkeypatch.setenv("MASKCHECK_DEBUG", "1")  # for the developer: still visible on request
    main(["lint", str(path), "--format", "json"])
    assert "RuntimeWarning: overflow" in capsys.readouterr().err
