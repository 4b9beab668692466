"""The blog's random_crop, written as the blog describes it and probed unchanged: the
README's command fails naming a seed that reproduces the label-mask mix-up, and the same
function with the pop fixed passes."""

from __future__ import annotations

import copy
import importlib
import json
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from maskcheck import probe_transform
from maskcheck.cli import main
from maskcheck.probe import make_sample

# The blog's transform: the global numpy RNG picks the window, labels are deep-copied, and
# an instance outside the crop has its label popped by its ORIGINAL index.
BLOG = '''
import copy

import numpy as np


def random_crop(image, boxes, masks, labels, crop_size):
    h, w = image.shape[:2]
    x_start = np.random.randint(0, w - crop_size)
    y_start = np.random.randint(0, h - crop_size)
    cropped_image = image[y_start:y_start + crop_size, x_start:x_start + crop_size]
    cropped_boxes = []
    cropped_masks = []
    cropped_labels = copy.deepcopy(labels)
    for index, box in enumerate(boxes):
        x1, y1, x2, y2 = box
        x1, x2 = max(x1 - x_start, 0), min(x2 - x_start, crop_size)
        y1, y2 = max(y1 - y_start, 0), min(y2 - y_start, crop_size)
        if x2 > x1 and y2 > y1:
            cropped_boxes.append([x1, y1, x2, y2])
            cropped_masks.append(masks[index][y_start:y_start + crop_size,
                                              x_start:x_start + crop_size])
        else:
            cropped_labels.pop(index)
    return cropped_image, cropped_boxes, cropped_masks, cropped_labels
'''
# The fix: keep the label of each instance kept, instead of popping the others' by index.
FIXED = BLOG.replace("    cropped_labels = copy.deepcopy(labels)\n", "    cropped_labels = []\n") \
    .replace("            cropped_masks.append(", "            cropped_labels.append(labels[index])\n"
             "            cropped_masks.append(") \
    .replace("        else:\n            cropped_labels.pop(index)\n", "")

README = Path(__file__).parents[1] / "README.md"
COMMAND = "maskcheck probe --transform mymodule:random_crop --call-args crop_size=512 --image-size 1024x1024"


@pytest.fixture
def mymodule(tmp_path, monkeypatch):
    """Writes `mymodule.py` (the blog's function, or its fix) where the CLI imports it from."""
    def write(source: str) -> None:
        (tmp_path / "mymodule.py").write_text(textwrap.dedent(source), encoding="utf-8")
        sys.modules.pop("mymodule", None)

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    sys.modules.pop("mymodule", None)


def test_the_fix_really_differs_from_the_blog():
    assert "pop" in BLOG and "pop" not in FIXED and "cropped_labels.append(labels[index])" in FIXED


def test_readme_shows_the_command():
    assert COMMAND in README.read_text(encoding="utf-8")


def test_readme_command_fails_on_the_blog_crop_naming_a_reproducing_seed(mymodule, capsys):
    mymodule(BLOG)
    args = COMMAND.split()[1:]
    assert main([*args, "-f", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"][0]["probe"]["image_size"] == [1024, 1024]
    assert doc["inputs"][0]["probe"]["containers"] == "list"  # labels.pop needs a list
    pairing = [f for f in doc["findings"] if f["code"] == "MC602"]
    assert pairing, doc["findings"]
    assert all("not reproducible" not in f["message"] for f in doc["findings"])
    first = pairing[0]
    seed = int(re.fullmatch(r"/seed/(\d+)", first["location"]["pointer"]).group(1))
    assert first["message"].startswith(f"seed {seed}: output mask ")
    assert "labels are out of step with masks" in first["message"]
    # --seed S --runs 1 repeats exactly that finding
    assert main([*args, "--seed", str(seed), "--runs", "1", "-f", "json"]) == 1
    again = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["code"], f["location"]["pointer"], f["message"]) for f in again
            if f["code"] == "MC602"] == [("MC602", f"/seed/{seed}",
                                          re.sub(r" \[also .*\]$", "", first["message"]))]


def test_the_seed_reproduces_outside_the_probe_too(mymodule):
    """What the finding tells the user to do: seed numpy, build the seed's sample, call."""
    mymodule(BLOG)
    report = probe_transform("mymodule:random_crop", call_kwargs={"crop_size": 512},
                             image_size=(1024, 1024))
    finding = next(f for f in report.findings if f.code == "MC602")
    seed = int(finding.location.pointer.rsplit("/", 1)[1])
    blog = importlib.import_module("mymodule")  # written by the fixture
    sample = make_sample(seed, (1024, 1024))
    np.random.seed(seed)
    _, _, out_masks, out_labels = blog.random_crop(
        sample.image, [list(b) for b in sample.boxes], list(sample.masks),
        [int(v) for v in sample.labels], 512)
    np.random.seed(seed)
    x0 = np.random.randint(0, 1024 - 512)
    y0 = np.random.randint(0, 1024 - 512)
    kept = [i for i in range(len(sample.labels))
            if sample.masks[i, y0:y0 + 512, x0:x0 + 512].any()]
    assert len(out_masks) == len(kept)
    assert out_labels != [int(sample.labels[i]) for i in kept]  # the mix-up, by hand


def test_the_fixed_crop_passes(mymodule, capsys):
    mymodule(FIXED)
    assert main([*COMMAND.split()[1:], "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"] == []
    assert doc["inputs"][0]["probe"]["runs"] == 50


def test_without_crop_size_the_call_fails_as_it_would_in_training(mymodule, capsys):
    mymodule(BLOG)
    assert main(["probe", "--transform", "mymodule:random_crop", "--runs", "2", "-f", "json"]) == 1
    messages = [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert any("missing 1 required positional argument: 'crop_size'" in m for m in messages)


def test_a_crop_larger_than_the_image_is_a_crash_of_the_pipeline_not_of_the_probe(mymodule, capsys):
    mymodule(BLOG)
    assert main(["probe", "--transform", "mymodule:random_crop", "--call-args", "crop_size=512",
                 "--runs", "2", "-f", "json"]) == 1  # 480 x 640: h - crop_size < 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["code"] for f in findings] == ["MC601"]
    assert "ValueError: high <= 0" in findings[0]["message"]


def test_deepcopy_of_labels_is_what_needs_lists():
    """Why containers=auto passes lists here: numpy arrays have no pop."""
    with pytest.raises(AttributeError, match="ndarray"):
        copy.deepcopy(np.arange(3)).pop(0)
