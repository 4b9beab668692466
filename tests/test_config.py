"""The config file: discovery, every key, errors that name the file and the key, `maskcheck config`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ann, coco_doc
from maskcheck.api import lint
from maskcheck.cli import main
from maskcheck.config import Config, ConfigError, find_config, load_config
from maskcheck.errors import UsageProblem
from maskcheck.model import Severity

ZERO_DOC = coco_doc(categories=[{"id": 0, "name": "a"}, {"id": 1, "name": "b"}],
                    annotations=[ann(1, 1, 0), ann(2, 2, 1)])


def _data(tmp_path: Path, doc=ZERO_DOC) -> Path:
    folder = tmp_path / "data" / "coco"
    folder.mkdir(parents=True)
    path = folder / "ann.json"
    path.write_text(json.dumps(doc))
    return path


# --- discovery -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [".maskcheck.yaml", "maskcheck.yaml", ".maskcheck.yml"])
def test_found_walking_up(tmp_path, name):
    path = _data(tmp_path)
    (tmp_path / name).write_text("target: yolo\n")
    assert find_config([path]) == tmp_path / name
    config = load_config([path])
    assert config.target == "yolo" and config.sources["target"] == str(tmp_path / name)


def test_nearest_wins_and_pyproject_needs_the_table(tmp_path):
    path = _data(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text("target: yolo\n")
    (tmp_path / "data" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config([path]) == tmp_path / ".maskcheck.yaml"  # no [tool.maskcheck]: skipped
    (tmp_path / "data" / "pyproject.toml").write_text(
        "[tool.maskcheck]\ntarget = 'mmdet'\nnum-classes = 2\nselect = ['MC1']\n")
    config = load_config([path])
    assert (config.target, config.num_classes, config.select) == ("mmdet", 2, ["MC1"])


def test_broken_unrelated_pyproject_is_ignored(tmp_path):
    path = _data(tmp_path)
    (tmp_path / "pyproject.toml").write_text("this is [not toml")
    assert load_config([path]).path is None


def test_explicit_config_overrides_discovery(tmp_path):
    path = _data(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text("target: yolo\n")
    other = tmp_path / "elsewhere.yaml"
    other.write_text("target: detectron2\n")
    assert load_config([path], other).target == "detectron2"


def test_no_config_gives_defaults(tmp_path):
    path = _data(tmp_path)
    config = load_config([path])
    assert config.path is None and config.target is None and config.select is None


def test_config_drives_lint(tmp_path, capsys):
    path = _data(tmp_path)
    args = ["lint", str(path), "--format", "concise", "--select", "MC103"]
    assert main(args) == 1  # id 0 is torchvision's background
    (tmp_path / ".maskcheck.yaml").write_text("target: detectron2\n")
    assert main(args) == 0
    (tmp_path / ".maskcheck.yaml").write_text("severity:\n  MC103: warning\n")
    assert main(args) == 0  # fail-on error; the finding is now a warning
    assert "MC103" in capsys.readouterr().out
    assert main([*args, "--fail-on", "warning"]) == 1


def test_every_key(tmp_path):
    path = _data(tmp_path)
    (tmp_path / ".maskcheck.yaml").write_text(
        "format: coco\n"
        "classes: {a: 0, b: 1}\n"
        "background_index: null\n"
        "num_classes: 3\n"
        "target: torchvision\n"
        "select: [MC1, MC5]\n"
        "ignore: [MC105]\n"
        "extend-select: [MC001]\n"
        "severity: {background-index-collision: info}\n"
        "options: {class-imbalance: {max_ratio: 10}}\n"
        "per_path_ignores: {'data/coco/*.json': [MC107]}\n"
        "fields: {label: cls}\n"
        "plugins: []\n")
    config = load_config([path])
    assert config.format == "coco"
    assert config.classes == {"a": 0, "b": 1}
    assert config.background_index is None and config.resolved_target().background is None
    assert config.options == {"MC105": {"max_ratio": 10.0}}
    assert config.reader_options() == {"fields": {"label": "cls"}}
    plan = config.plan()
    codes = [r.code for r in plan.rules]
    assert "MC001" in codes and "MC105" not in codes and "MC501" in codes and "MC002" not in codes
    assert plan.severity["MC103"] == Severity.INFO


def test_per_path_ignores(tmp_path):
    doc = coco_doc(categories=[{"id": 1, "name": "a"}, {"id": 2, "name": "unused"}],
                   annotations=[ann(1, 1, 1)])
    path = _data(tmp_path, doc)
    assert [f.code for f in lint([path], select=["MC107"]).findings] == ["MC107"]
    (tmp_path / ".maskcheck.yaml").write_text("per-path-ignores:\n  'data/*/ann.json': [unused-class]\n")
    config = load_config([path])
    assert lint([path], select=["MC107"], config=config).findings == []
    (tmp_path / ".maskcheck.yaml").write_text("per-path-ignores:\n  'other/*.json': [MC107]\n")
    assert len(lint([path], select=["MC107"], config=load_config([path])).findings) == 1


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("selct: [MC1]\n", "'selct' is not a maskcheck setting; did you mean 'select'?"),
    ("select: [MC9]\n", "select: 'MC9' matches no rule"),
    ("ignore: [unmaped-class]\n", "ignore: 'unmaped-class' matches no rule; did you mean 'unmapped-class'?"),
    ("target: detectron\n", "target: unknown target 'detectron'; did you mean 'detectron2'?"),
    ("num_classes: three\n", "num_classes: expected an integer, got a string 'three'"),
    ("num_classes: 0\n", "num_classes: must be at least 1, got 0"),
    ("classes: [a, a]\n", "classes: class 'a' is listed twice"),
    ("classes: 3\n", "classes: expected a list of class names or a mapping"),
    ("severity: {MC103: fatal}\n", "severity.MC103: unknown severity 'fatal'"),
    ("options: {MC105: {max_ratio: high}}\n",
     "options.MC105.max_ratio: option 'max_ratio' of rule MC105 must be float, got str 'high'"),
    ("options: {MC105: {max_rato: 3}}\n", "has no option 'max_rato'; did you mean 'max_ratio'?"),
    ("options: {class-imbalanse: {max_ratio: 3}}\n",
     "no rule 'class-imbalanse'; did you mean 'class-imbalance'?"),
    ("format: cocoo\n", "format: unknown input format 'cocoo'; did you mean 'coco'?"),
    ("per_path_ignores: {'*.json': [MC99]}\n", "per_path_ignores.*.json: 'MC99' matches no rule"),
    ("fields: {label: 3}\n", "fields.label: expected a field name"),
    ("- a\n- b\n", "the config must be a mapping of settings"),
    ("target: [unclosed\n", "not valid YAML (line 2)"),
])
def test_config_errors_name_file_and_key(tmp_path, capsys, text, message):
    path = _data(tmp_path)
    cfg = tmp_path / ".maskcheck.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config([path])
    assert str(info.value).startswith(f"{cfg}: ")
    assert message in str(info.value)
    assert main(["lint", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(cfg) in err and "Traceback" not in err


def test_pyproject_errors_name_the_file(tmp_path):
    path = _data(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.maskcheck]\ntraget = 'yolo'\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: 'traget' is not a maskcheck setting; "
                                          r"did you mean 'target'\?"):
        load_config([path])


def test_missing_explicit_config(tmp_path, capsys):
    path = _data(tmp_path)
    assert main(["lint", str(path), "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: no such config file" in capsys.readouterr().err


def test_empty_config_is_defaults(tmp_path):
    path = _data(tmp_path)
    (tmp_path / "maskcheck.yaml").write_text("# nothing yet\n")
    assert load_config([path]).sources == {}


# --- maskcheck config -------------------------------------------------------------------------
def test_config_command_shows_values_and_sources(tmp_path, capsys):
    _data(tmp_path)
    cfg = tmp_path / ".maskcheck.yaml"
    cfg.write_text("num_classes: 4\nseverity: {MC103: warning}\n")
    assert main(["config", str(tmp_path / "data"), "--target", "matterport"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"# config file: {cfg}"
    assert f"num_classes: 4  # {cfg}" in out
    assert 'target: "matterport"  # command line' in out
    # not set: commented out, with the value used (the output is a config file)
    assert "# background_index: 0  # default; matterport's background" in out
    assert '# select: ["ALL"]  # default' in out
    assert main(["config", str(tmp_path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["severity"] == {"value": {"MC103": "warning"}, "source": str(cfg)}


def test_config_command_without_a_file(tmp_path, capsys):
    assert main(["config", str(tmp_path)]) == 0
    assert "(none found; defaults)" in capsys.readouterr().out


def test_config_object_defaults_are_independent():
    a, b = Config(), Config()
    a.ignore.append("MC101")
    assert b.ignore == []


def test_config_classes_are_the_class_map_for_named_labels(tmp_path):
    import json

    from maskcheck.api import lint
    from maskcheck.config import load_config

    folder = tmp_path / "labelme"
    folder.mkdir()
    shape = {"label": "scratch", "points": [[1, 1], [8, 1], [8, 8]], "shape_type": "polygon",
             "group_id": None, "flags": {}}
    doc = {"version": "5.0.1", "flags": {}, "shapes": [shape, {**shape, "label": "dent"}],
           "imagePath": "a.jpg", "imageData": None, "imageHeight": 10, "imageWidth": 10}
    (folder / "a.json").write_text(json.dumps(doc))
    cfg = tmp_path / ".maskcheck.yaml"
    cfg.write_text("classes: [scratch, crack]\n")
    report = lint([folder], config=load_config(explicit=cfg), select=["MC101", "MC102"])
    # "scratch" maps through the config's list; "dent" is not in it
    assert [(f.code, f.location.path.endswith("a.json")) for f in report.findings] == [("MC102", True)]
    assert "dent" in report.findings[0].message


def test_lint_keyword_arguments_are_one_layer_over_the_config(write_coco):
    from conftest import ann, coco_doc
    from maskcheck import lint

    doc = coco_doc(annotations=[ann(1, 1, 1), ann(2, 1, "defect_type_a")],
                   categories=[{"id": 1, "name": "defect_type_a"}, {"id": 5, "name": "unused"}])
    path = write_coco(doc)
    base = Config(ignore=["MC105"], severity={"MC107": "warning"})
    codes = lambda r: sorted({f.code for f in r.findings})  # noqa: E731
    both = lint([path], config=base, ignore=["MC217"])  # ignore adds to the config's
    assert "MC105" not in codes(both) and "MC217" not in codes(both) and "MC107" in codes(both)
    assert {str(f.severity) for f in both.findings if f.code == "MC107"} == {"warning"}
    only = lint([path], config=Config(select=["MC1"]), select=["MC101"])  # select replaces
    assert codes(only) == ["MC101"]
    with pytest.raises(UsageProblem, match="'MC9' matches no rule"):
        lint([path], select=["MC9"])
