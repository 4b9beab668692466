"""Plugins: local modules named in the config, the `maskcheck.rules` entry-point group, the example.

The last test builds examples/plugin, installs it with maskcheck into a fresh virtual
environment (no system site-packages) and runs its rule and its reporter from the installed CLI. It needs
PyPI for maskcheck's dependencies (numpy, shapely, ...), so it is slow; CI runs it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import coco_doc
from maskcheck.catalog import find_rule
from maskcheck.cli import main
from maskcheck.config import load_config
from maskcheck.docs import first_fence, page_text, sections
from maskcheck.plugins import PluginError, load_entry_points
from maskcheck.testing import run_example

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin"
EXAMPLE_RULES = EXAMPLE / "src" / "maskcheck_example_plugin" / "rules.py"

RULE_SOURCE = '''
from maskcheck.model import Problem, Severity
from maskcheck.registry import Rule, register


@register
class NoImages(Rule):
    code = "{code}"
    name = "{name}"
    summary = "A dataset with images named x.jpg."
    severity = Severity.WARNING

    def check(self, batch):
        for row in range(len(batch.images)):
            if batch.images.file_name[row] == "x.jpg":
                yield Problem("x.jpg is not allowed", batch.image_location(row), batch.image_order(row))
'''


pytestmark = pytest.mark.usefixtures("isolated_registry")  # plugins register process-wide


def _data(tmp_path: Path) -> Path:
    images = [{"id": 1, "file_name": "x.jpg", "width": 10, "height": 10}]
    path = tmp_path / "data" / "ann.json"
    path.parent.mkdir()
    path.write_text(json.dumps(coco_doc(images=images, annotations=[])))
    return path


@pytest.mark.parametrize("spec", ["local_rules.py", "local_rules"])
def test_local_plugin_from_config(tmp_path, capsys, monkeypatch, spec):
    monkeypatch.chdir(tmp_path)  # the config is the user's project's: trusted to run code
    data = _data(tmp_path)
    (tmp_path / "local_rules.py").write_text(RULE_SOURCE.format(code="LOC001", name="x-image"))
    (tmp_path / ".maskcheck.yaml").write_text(f"plugins: [{spec}]\nselect: [LOC001]\n")
    assert main(["lint", str(data), "--format", "concise", "--fail-on", "warning"]) == 1
    out = capsys.readouterr().out
    assert "ann.json:/images/0: LOC001 x.jpg is not allowed" in out
    assert main(["lint", str(data), "--ignore", "LOC001", "--fail-on", "warning"]) == 0


def test_config_may_select_plugin_rules_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _data(tmp_path)
    (tmp_path / "local_rules.py").write_text(RULE_SOURCE.format(code="LOC002", name="x-image-two"))
    (tmp_path / ".maskcheck.yaml").write_text(
        "plugins: [local_rules.py]\nselect: [x-image-two]\nseverity: {LOC002: error}\n")
    config = load_config([data])
    assert [r.code for r in config.plan().rules] == ["LOC002"]


@pytest.mark.parametrize(("source", "message"), [
    ("raise RuntimeError('boom')", "plugin 'bad_rules.py' ({cfg}) failed to load: RuntimeError: boom"),
    ("import not_a_module_anywhere", "No module named 'not_a_module_anywhere'"),
    (RULE_SOURCE.format(code="MC101", name="another"), "clashes with MC101 string-label"),
    (RULE_SOURCE.format(code="bad code", name="fine-name"), "has code 'bad code'"),
    (RULE_SOURCE.format(code="LOC003", name="Not Kebab"), "has name 'Not Kebab'"),
])
def test_failing_local_plugin_is_an_error_naming_it(tmp_path, capsys, monkeypatch, source,
                                                   message):
    monkeypatch.chdir(tmp_path)
    data = _data(tmp_path)
    (tmp_path / "bad_rules.py").write_text(source)
    cfg = tmp_path / ".maskcheck.yaml"
    cfg.write_text("plugins: [bad_rules.py]\n")
    assert main(["lint", str(data)]) == 2
    err = capsys.readouterr().err
    assert message.format(cfg=cfg) in err and "Traceback" not in err


def test_missing_local_plugin(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _data(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text("plugins: [nowhere.py]\n")
    assert main(["lint", str(data)]) == 2
    assert "plugin 'nowhere.py'" in capsys.readouterr().err


def _fake_distribution(tmp_path: Path, entry: str, module: str | None = None) -> None:
    """An installed distribution with a maskcheck.rules entry point, on sys.path."""
    site = tmp_path / "site"
    dist = site / "fake_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[maskcheck.rules]\nfake = {entry}\n")
    if module is not None:
        (site / "fake_plugin_rules.py").write_text(module)
    sys.path.insert(0, str(site))


def test_entry_point_plugin_loads(tmp_path, capsys):
    _fake_distribution(tmp_path, "fake_plugin_rules",
                       RULE_SOURCE.format(code="FAKE001", name="fake-x-image"))
    try:
        assert load_entry_points(refresh=True) == ["fake"]
        assert find_rule("FAKE001") is not None
        data = _data(tmp_path)
        assert main(["lint", str(data), "--select", "FAKE001", "--fail-on", "warning"]) == 1
        assert main(["rules"]) == 0
        assert "FAKE001" in capsys.readouterr().out
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("fake_plugin_rules", None)


def test_entry_point_class_reference(tmp_path):
    _fake_distribution(tmp_path, "fake_plugin_rules:NoImages",
                       RULE_SOURCE.format(code="FAKE002", name="fake-two").replace("@register\n", ""))
    try:
        load_entry_points(refresh=True)
        assert find_rule("fake-two") is not None
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("fake_plugin_rules", None)


def test_broken_entry_point_is_an_error_naming_it(tmp_path, capsys):
    _fake_distribution(tmp_path, "no_such_plugin_module")
    try:
        with pytest.raises(PluginError, match=r"plugin 'fake' \(entry point no_such_plugin_module\) "
                                              r"failed to load: ModuleNotFoundError"):
            load_entry_points(refresh=True)
        assert main(["lint", str(_data(tmp_path))]) == 2
        assert main(["rules"]) == 2
        assert "plugin 'fake'" in capsys.readouterr().err
    finally:
        sys.path.remove(str(tmp_path / "site"))


def test_example_plugin_page_examples_in_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text(f"plugins: ['{EXAMPLE_RULES}']\n")
    load_config([tmp_path])
    rule = find_rule("EXP101")
    assert rule is not None and page_text(rule).startswith("# unexpected-image-extension (EXP101)")
    found = sections(page_text(rule))
    bad, good = first_fence(found["Example"]), first_fence(found["Use instead"])
    assert [f.code for f in run_example(*bad, "EXP101").findings] == ["EXP101"]
    assert run_example(*good, "EXP101").findings == []


# --- the real thing: build, install into a fresh venv, run the CLI ---------------------------
def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)


def test_example_plugin_installed_in_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    # Build both wheels with this interpreter's hatchling, offline (--no-build-isolation).
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-w", str(wheels), str(ROOT), str(EXAMPLE)])
    assert built.returncode == 0, built.stderr
    names = sorted(p.name for p in wheels.glob("*.whl"))
    assert [n.split("-")[0] for n in names] == ["maskcheck", "maskcheck_example_plugin"], names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = str(bindir / "python")
    # maskcheck and the plugin from the local wheels; their dependencies (numpy, ...) from PyPI.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in examples/plugin
    installed = _run([py, "-m", "pip", "install", "--disable-pip-version-check", "--find-links",
                      str(wheels), "maskcheck", "maskcheck-example-plugin[test]"], env=env)
    if installed.returncode != 0 and ("NewConnectionError" in installed.stderr
                                      or "No matching distribution" in installed.stderr):
        pytest.skip(f"PyPI is unreachable for maskcheck's dependencies: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stderr
    # the installed copy, not this checkout
    where = _run([py, "-c", "import maskcheck, sys; print(maskcheck.__file__, sys.prefix)"], env=env)
    assert str(env_dir) in where.stdout and str(ROOT / "src") not in where.stdout

    maskcheck = str(bindir / "maskcheck")
    data = tmp_path / "ann.json"
    data.write_text(json.dumps(coco_doc(images=[
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
        {"id": 2, "file_name": "b.heic", "width": 100, "height": 80}])))

    rules = _run([maskcheck, "rules"], env=env, cwd=tmp_path)
    assert rules.returncode == 0 and "EXP101" in rules.stdout and "MC103" in rules.stdout

    lint = _run([maskcheck, "lint", str(data), "--format", "concise", "--fail-on", "warning"],
                env=env, cwd=tmp_path)
    assert lint.returncode == 1, lint.stderr
    assert f"{data}:/images/1: EXP101" in lint.stdout  # runs by default, like a built-in

    only = _run([maskcheck, "lint", str(data), "--format", "json", "--select", "EXP101"],
                env=env, cwd=tmp_path)
    assert {f["code"] for f in json.loads(only.stdout)["findings"]} == {"EXP101"}
    only_message = json.loads(only.stdout)["findings"][0]["message"]

    other = _run([maskcheck, "lint", str(data), "--format", "json", "--select", "MC1",
                  "--fail-on", "warning"], env=env, cwd=tmp_path)
    assert "EXP101" not in {f["code"] for f in json.loads(other.stdout)["findings"]}

    ignored = _run([maskcheck, "lint", str(data), "--format", "concise", "--ignore", "EXP101",
                    "--fail-on", "warning"], env=env, cwd=tmp_path)
    assert "EXP101" not in ignored.stdout

    (tmp_path / "mc.yaml").write_text('options: {EXP101: {extensions: "jpg,heic"}}\n')
    option = _run([maskcheck, "lint", str(data), "--format", "json", "--select", "EXP101",
                   "--config", str(tmp_path / "mc.yaml")], env=env, cwd=tmp_path)
    assert json.loads(option.stdout)["findings"] == []

    explain = _run([maskcheck, "explain", "unexpected-image-extension"], env=env, cwd=tmp_path)
    assert explain.returncode == 0 and explain.stdout.startswith("# unexpected-image-extension (EXP101)")

    # the plugin's reporter (the maskcheck.reporters group): on stdout, and with --report
    csv_file = tmp_path / "findings.csv"
    as_csv = _run([maskcheck, "lint", str(data), "--format", "example-csv", "--select", "EXP101",
                   "--report", f"example-csv={csv_file}", "--no-progress"], env=env, cwd=tmp_path)
    assert as_csv.returncode == 0, as_csv.stderr
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["code", "severity", "path", "pointer", "line", "message"],
        ["EXP101", "warning", str(data), "/images/1", "", only_message]]
    assert csv_file.read_text() == as_csv.stdout
    unknown = _run([maskcheck, "lint", str(data), "--format", "csv"], env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.strip().endswith("concise, html, example-csv")

    # the plugin's own tests, through maskcheck's public test harness
    tests = _run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                 env=env, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr
