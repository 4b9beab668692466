"""What a newcomer reads first: every command's --help, `maskcheck config`, the probe's summary
line and the progress display."""

from __future__ import annotations

import json
import re

import pytest
import typer.main

from maskcheck.cli import app, main
from maskcheck.readers.formats import FORMAT_ORDER

COMMANDS = sorted(typer.main.get_command(app).commands)  # a new command is checked too


def _help(capsys, monkeypatch, *command: str) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main([*command, "--help"]) == 0
    return capsys.readouterr().out


def _rows(text: str) -> str:
    """The help without rich's box drawing, one space between words: lines wrap anywhere."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("command", [(), *((c,) for c in COMMANDS)], ids=["maskcheck", *COMMANDS])
def test_help_shows_no_python_types(capsys, monkeypatch, command):
    text = _help(capsys, monkeypatch, *command)
    # typer's tags: <bool>, <str>, <list[str]>, <path>, <int range> [x>=1]; never `{paths}`
    assert not re.search(r"<[a-z][^>]*>", text), text
    assert "[x>=" not in text and "[x<=" not in text and "{" not in text


def test_usage_lines_name_arguments_as_ruff_does(capsys, monkeypatch):
    usage = {c: _rows(_help(capsys, monkeypatch, c)).split("Usage: ", 1)[1] for c in COMMANDS}
    assert usage["lint"].startswith("maskcheck lint [OPTIONS] PATHS... ")
    assert usage["config"].startswith("maskcheck config [OPTIONS] [PATHS]... ")
    assert usage["probe"].startswith("maskcheck probe [OPTIONS] [DATASET] ")
    assert usage["explain"].startswith("maskcheck explain [OPTIONS] RULE ")
    assert usage["rules"].startswith("maskcheck rules [OPTIONS] ")


def test_lint_help_says_what_is_read(capsys, monkeypatch):
    from maskcheck.cli import FORMAT_LABELS

    text = _rows(_help(capsys, monkeypatch, "lint"))
    assert {m.NAME for m in FORMAT_ORDER} <= set(FORMAT_LABELS)  # a new format gets its words
    for label in FORMAT_LABELS.values():
        assert label in text
    assert "(.json, .json.gz) or folders" not in text


def test_lint_help_states_one_default_for_progress(capsys, monkeypatch):
    text = _rows(_help(capsys, monkeypatch, "lint"))
    row = text.split("--progress --no-progress ")[1].split(" --")[0]
    assert row.count("default") == 1 and "[default: progress]" not in text


def test_lint_help_groups_options(capsys, monkeypatch):
    text = _rows(_help(capsys, monkeypatch, "lint"))
    panels = re.findall(r"(?:^| )([A-Z][a-z]+(?: [a-z]+)*) (?=--)", text)
    for title in ("Rule selection", "Training setup", "Inputs", "Exit status", "Configuration"):
        assert title in panels, panels
    # a value option shows what it takes; every flag and option has a one-line description
    assert "--select CODE" in text and "--output -o FILE" in text and "--images DIR" in text


def test_every_option_has_a_description():
    command = typer.main.get_command(app)
    for name, sub in command.commands.items():
        for param in sub.params:
            if not getattr(param, "hidden", False):
                assert getattr(param, "help", None), f"{name} {param.opts}: no help"


# --- maskcheck config ------------------------------------------------------------------------
def test_config_prints_effective_defaults(tmp_path, capsys):
    assert main(["config", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert '# target: "torchvision"  # default; YOLO datasets: yolo' in out
    assert not any(line.startswith("target: null") or ": null  # default" in line for line in out)
    assert "# extend-select: []  # default" in out and "# per-path-ignores: {}  # default" in out
    assert not any("extend_select" in line or "per_path_ignores" in line for line in out)


def test_config_spells_keys_as_the_file_does(tmp_path, capsys):
    (tmp_path / ".maskcheck.yaml").write_text("extend_select: [MC1]\nper-path-ignores: {'a/*': [MC101]}\n")
    assert main(["config", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f'extend-select: ["MC1"]  # {tmp_path / ".maskcheck.yaml"}' in out.splitlines()
    assert "per-path-ignores: " in out and "extend_select" not in out


CONFIGS = {
    "defaults": "",
    "everything": (
        "target: matterport\nnum_classes: 4\nclasses: {scratch: 1, dent: 2, crack: 3}\n"
        "background_index: 0\nselect: [MC1, MC2]\nextend-select: [MC501]\nignore: [unused-class]\n"
        "severity: {MC103: warning}\noptions: {class-imbalance: {max_ratio: 20}}\n"
        "per-path-ignores: {'legacy/*.json': [MC107]}\nfields: {label: cls}\nformat: coco\n"),
    "no background": "target: yolo\nbackground_index: null\nclasses: [a, b]\n",
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("cli", [[], ["--target", "detectron2"]], ids=["file", "file+cli"])
def test_config_output_is_a_config_file_with_the_same_effect(tmp_path, capsys, name, cli):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / ".maskcheck.yaml").write_text(CONFIGS[name])
    assert main(["config", str(first), *cli]) == 0
    printed = capsys.readouterr().out
    (second / ".maskcheck.yaml").write_text(printed)

    def settings(folder, *args: str) -> dict:
        assert main(["config", str(folder), *args, "--format", "json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        return {k: v["value"] for k, v in doc["settings"].items()}

    assert settings(second) == settings(first, *cli)


# --- the probe's summary ---------------------------------------------------------------------
def _last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_transform_probe_summary_counts_runs_seeds_and_samples(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["probe", "--transform", "probe_fixtures:identity", "--runs", "5", "--seed", "3"]) == 0
    line = _last_line(capsys)
    assert re.fullmatch(r"5 runs \(seeds 3-7\), one 480x640 sample each, \d+ instances: "
                        r"\d+ errors?, \d+ warnings?, \d+ info( — clean)?", line), line


def test_dataset_probe_summary_counts_runs_seeds_and_samples(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["probe", "probe_fixtures:GoodDataset", "--samples", "4", "--repeats", "2",
                 "--seed", "1"]) == 0
    line = _last_line(capsys)
    assert re.fullmatch(r"8 runs \(seeds 1-2\), 4 samples fetched under each seed, \d+ instances: "
                        r"\d+ errors?, \d+ warnings?, \d+ info( — clean)?", line), line


def test_probe_summary_is_in_the_json_inputs(capsys):
    assert main(["probe", "--transform", "probe_fixtures:identity", "--runs", "2", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"][0]["probe"] == {
        "runs": 2, "seeds": [0, 1], "samples": 2, "generated": True, "image_size": [480, 640],
        "instances": [4, 12], "image_layout": "hwc-uint8", "box_format": "xyxy",
        "containers": "numpy"}


# --- the README's first command --------------------------------------------------------------
def test_readme_says_which_rules_the_defects_example_fires():
    """The README names the codes `maskcheck lint examples/defects/` reports: no more, no fewer."""
    from pathlib import Path

    from maskcheck.api import lint

    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    claim = readme.split("lints the bundled defect-detection example", 1)[1].split("The second command")[0]
    assert "every" not in claim.split("The other rules")[0]
    said: set[str] = set()
    for first, last in re.findall(r"MC(\d{3})(?:-MC(\d{3}))?", claim.split("The other rules")[0]):
        said |= {f"MC{n:03d}" for n in range(int(first), int(last or first) + 1)}
    fired = {f.code for f in lint([root / "examples" / "defects"]).findings}
    assert said == fired, f"README: {sorted(said - fired)} do not fire; {sorted(fired - said)} not named"


# --- the progress display ----------------------------------------------------------------------
def _frame(display) -> str:
    """What the live display shows now, as a terminal would render it."""
    import io

    from rich.console import Console

    screen = Console(file=io.StringIO(), record=True, width=120, force_terminal=True, color_system=None)
    screen.print(display.progress.get_renderable())
    return screen.export_text()


def _display():
    import io

    from rich.console import Console

    from maskcheck.cli_progress import LintProgress

    return LintProgress(Console(file=io.StringIO(), force_terminal=True, width=120))


def test_progress_is_a_spinner_while_reading_then_a_bar_with_total_and_eta():
    display = _display()
    reading = _frame(display)
    assert "reading" in reading and "━" not in reading and "ETA" not in reading
    display.dataset_read("data/instances_train.json", 118_287)
    display(40_960)
    shown = _frame(display)
    assert "linting instances_train.json" in shown and "40,960/118,287 images" in shown
    assert "━" in shown and "ETA" in shown, shown


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "env", "allowed"), [
    (True, {}, True),
    (False, {}, False),  # a pipe or a file
    (False, {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}, False),  # coloured CI logs: still a pipe
    (True, {"CI": "true"}, False),  # a CI runner with a pseudo-terminal
    (True, {"TERM": "dumb"}, False),
])
def test_progress_only_on_a_real_terminal(tty, env, allowed):
    from maskcheck.cli_progress import progress_allowed

    assert progress_allowed(_Tty(tty), env) is allowed


def test_lint_tells_the_display_each_datasets_size(tmp_path, capsys, monkeypatch):
    """End to end: the bar's total is the dataset's image count, and stdout stays the report."""
    import maskcheck.cli as cli
    from maskcheck.cli_progress import LintProgress

    seen: list[tuple[str, int]] = []
    linted: list[int] = []

    class Recording(LintProgress):
        def dataset_read(self, path: str, images: int, unit: str = "images") -> None:
            seen.append((path, images))
            super().dataset_read(path, images, unit)

        def __call__(self, images: int) -> None:
            linted.append(images)
            super().__call__(images)

    monkeypatch.setattr(cli, "progress_allowed", lambda stream: True)
    monkeypatch.setattr(cli, "LintProgress", Recording)
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10} for i in range(1, 31)]
    anns = [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16,
             "iscrowd": 0, "segmentation": [[1, 1, 5, 1, 5, 5]]} for i in range(1, 31)]
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "a"}]}))
    main(["lint", str(path), "--format", "json", "--batch-size", "7"])
    assert seen == [(str(path), 30)] and sum(linted) == 30 and len(linted) == 5
    json.loads(capsys.readouterr().out)  # the display never wrote to stdout


def test_progress_counts_files_for_sa1b_shards(tmp_path, monkeypatch):
    """Sharded per-image files are listed, not read, before linting: the bar's total is the
    files the shards hold, and it counts files as they are read."""
    import io
    import tarfile

    import maskcheck.cli as cli
    from maskcheck.cli_progress import LintProgress

    frames: list[str] = []

    class Recording(LintProgress):
        def __call__(self, images: int) -> None:
            super().__call__(images)
            frames.append(_frame(self))

    def member(k: int) -> bytes:
        return json.dumps({"image": {"image_id": k, "width": 8, "height": 8, "file_name": f"{k}.jpg"},
                           "annotations": [{"id": k, "segmentation": {"size": [8, 8], "counts": "04000"},
                                            "bbox": [0, 0, 1, 4], "area": 4, "predicted_iou": 0.9,
                                            "stability_score": 0.9, "crop_box": [0, 0, 8, 8],
                                            "point_coords": [[0.5, 1.5]]}]}).encode()

    for shard in range(3):
        with tarfile.open(tmp_path / f"sa_{shard:06d}.tar", "w") as tf:
            for k in range(shard * 4, shard * 4 + 4):
                data = member(k)
                info = tarfile.TarInfo(f"sa_{k}.json")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(cli, "progress_allowed", lambda stream: True)
    monkeypatch.setattr(cli, "LintProgress", Recording)
    main(["lint", str(tmp_path), "--format", "json", "--batch-size", "5", "-j", "1"])
    import re

    assert [re.findall(r"(\d+/\d+) files", f) for f in frames] == [["5/12"], ["10/12"], ["12/12"]]


def test_progress_shows_a_file_name_as_written():
    display = _display()
    display.dataset_read("data/[red]x\x1b[2J.json", 10)
    assert "[red]x\\x1b[2J.json" in _frame(display)


def test_config_output_keeps_a_hostile_folder_name_in_its_comment(tmp_path, capsys):
    folder = tmp_path / "x\nselect: [MC101]"
    folder.mkdir()
    (folder / ".maskcheck.yaml").write_text("num_classes: 3\n")
    assert main(["config", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith("#")] == ["num_classes"]
