"""The reduce contract of dataset rules, folded the way a process pool or Dask would fold it.

The contract tested here (what `lint_dataset` is allowed to do with a dataset rule):

* The images may be cut into batches of any size, and the batches may come in any order
  (the engine shuffles them under `shuffle_seed`; a pool hands them to whichever worker is
  free).
* A worker folds a run of consecutive batches (in the order it got them) into ONE state:
  `state = accumulate(state, batch)` several times, starting from `initial(info)`. So
  `accumulate` must ADD the batch to the state it is given, never overwrite it.
* Every state may be pickled and unpickled between any two steps (sent to another process),
  so it must be picklable (no lambdas, generators, open files) and must not hold the batch:
  no Batch/Table/DatasetInfo, no numpy view of a batch column, no object array cut from one
  (it holds the batch's own Python objects) and no mutable cell of one.
* States are merged pairwise, only neighbours in batch order, in any binary-tree shape
  (`merge` must be associative); an empty state (a worker that got no batch) may be merged
  in anywhere. Merges of non-neighbours are not required (no rule claims commutativity),
  but since the batch order itself is arbitrary the findings may not depend on it.
* `finalize` (and for split rules `summarize`, then `cross_check` over every split's
  summary) must give the same problems (message, location, order, compared as sorted
  multisets) as the simplest fold: one batch holding everything (`dataset.batches(None)`,
  plus the batch of annotations whose image is unknown), accumulated in turn on `initial`,
  then `finalize`. That reference is itself checked against what `lint_dataset` reports.
  A split rule's summary may be sent from the process that linted the split to the one
  that cross-checks: it is pickled too, and must not hold the batch or the DatasetInfo
  (a multi-file reader's locator holds the whole split).

State size: a state must not grow with the dataset unless the rule needs per-record data;
PER_RECORD below says, per rule, what it keeps. Every other rule's pickled state is
measured on one and four copies of the same dirty dataset and must not grow with it.
"""

from __future__ import annotations

import json
import pickle
import random
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import maskcheck.engine as engine
import maskcheck.model as model
from conftest import ann, coco_doc
from maskcheck.catalog import all_rules
from maskcheck.engine import Plan, lint_dataset, make_plan, run_finalize, run_summarize
from maskcheck.model import Batch, Dataset, DatasetInfo, Problem, Severity, Table
from maskcheck.readers.reading import read_all
from maskcheck.registry import DatasetRule, SplitRule
from test_cvat import cvat_xml
from test_labelme import TRI, shape, write_lm
from test_yolo import POLY
from test_yolo import make as make_yolo

SEEDS = (0, 1, 2, 3)

# Rules whose state must grow with the data, and what each keeps per record (never batch
# columns or views of them: plain ints, strings and packed numpy copies).
PER_RECORD = {
    "MC003": "(image id, image index) of each image with an integer id, int64 arrays; "
             "past spill.MEMORY_PAIRS on disk, the state keeping only paths and offsets",
    "MC004": "(annotation id, annotation index) of each annotation with an integer id, "
             "spilled to disk the same way",
    "MC201": "the finding of each `segmentation: []` annotation (kept until finalize knows "
             "whether the file has masks)",
    "MC305": "(normalized file name, image index) of each named image",
    "MC308": "(index, id, file size, label signature, path) of each image file found",
    "MC309": "(index, id, file size, label signature, path) of each image file found",
    "MC512": "(image index, file name, file found) of each named image",
}


def dataset_rules() -> list[str]:
    """The built-in dataset rules (a plugin another test loaded is not ours to judge)."""
    return [r.code for r in all_rules()
            if issubclass(r, DatasetRule) and r.__module__.startswith("maskcheck.rules.")]


def pgm(value: int) -> bytes:
    return f"P2\n4 3\n255\n0 0 0 0\n0 {value} 9 0\n0 0 0 0\n".encode()


def dirty_coco(root: Path, copies: int = 1, name: str = "dirty.json", orphan: bool = True) -> Path:
    """A COCO file (beside its images) where most dataset rules fire, `copies` times over.

    `orphan`: an annotation of an unknown image, which travels in a batch of its own, so
    even the one-batch fold calls `accumulate` twice on one state.
    """
    root.mkdir(parents=True, exist_ok=True)
    cats = [{"id": 0, "name": "defect_type_a"}, {"id": 1, "name": "defect_type_b"},
            {"id": 2, "name": "defect_type_c"}, {"id": 3, "name": "Defect_type_c "},
            {"id": 2, "name": "dup"}, {"id": 9, "name": "never_used"},
            {"id": 10, "name": "background"}, {"id": 11, "name": "defect_type_d"}]
    images: list[Any] = []
    anns: list[Any] = []
    for c in range(copies):
        rng = random.Random(5)  # every copy alike: the findings scale, the rules' logic does not
        base = 1000 * c
        for i in range(1, 25):
            name_ = f"img{base + i}.pgm"
            images.append({"id": base + i, "file_name": name_, "width": 100, "height": 80})
            # pictures repeat: images 17..22 are byte copies of 1..6 (their labels differ,
            # MC309); 23 and 24 are one unannotated picture twice (MC308)
            (root / name_).write_bytes(pgm(((i - 1) % 16 if i < 23 else 99) + 100 * c))
        images.append({"id": base + 3, "file_name": f"again{c}.pgm", "width": 100, "height": 80})
        images.append({"id": base + 90, "file_name": f"img{base + 4}.pgm", "width": 100,
                       "height": 80})  # a file listed twice (MC305)
        images.append({"id": base + 91, "file_name": f"big{c}.pgm", "width": 4000, "height": 3000})
        rows = []
        for k in range(1, 61):
            rows.append(ann(base + k, base + rng.randint(1, 20), rng.choice([0, 1, 1, 1, 2, 10])))
        rows[5]["category_id"] = "defect_type_b"  # a string label
        rows[6]["category_id"] = 42  # unmapped
        if orphan:
            rows[7]["image_id"] = 99999
        rows[8]["id"] = base + 1  # a duplicate annotation id
        rows[9]["segmentation"] = []  # box-only while others carry masks (MC201)
        rows[10]["segmentation"] = []
        rows[11]["segmentation"] = [1, 2, 3, 4, 5, 6]  # flat
        rows[12]["segmentation"] = {"counts": [100, 50], "size": [10, 10]}  # RLE size mismatch
        rows[13]["segmentation"] = {"counts": "!!", "size": [80, 100]}  # broken RLE
        rows[14]["segmentation"] = [[10, 10, 20, 20, 20, 10, 10, 20]]  # a bow tie
        rows[15]["iscrowd"] = 1
        rows[16]["category_id"] = rows[17]["category_id"] = 3  # a rare class
        rows[18]["category_id"] = 11
        rows.append(ann(base + 500, base + 91, 11, segmentation=[[1, 1, 2, 1, 2, 2, 1, 2]],
                        bbox=[1, 1, 1, 1], area=1.0))  # a speck in a big image (MC216)
        anns += rows
    path = root / name
    path.write_text(json.dumps(coco_doc(images=images, annotations=anns, categories=cats)))
    return path


def split_pair(root: Path) -> list[Path]:
    cats = [{"id": 1, "name": "defect_type_a"}, {"id": 2, "name": "defect_type_b"},
            {"id": 3, "name": "defect_type_c"}]

    def imgs(*names: str) -> list[dict]:
        return [{"id": k + 1, "file_name": n, "width": 100, "height": 80} for k, n in enumerate(names)]

    root.mkdir(parents=True, exist_ok=True)
    train = root / "train.json"
    train.write_text(json.dumps(coco_doc(
        images=imgs(*[f"{i}.jpg" for i in range(12)]), categories=cats,
        annotations=[ann(i, i % 12 + 1, 1 + (i % 5 == 0)) for i in range(1, 30)])))
    val = root / "val.json"
    val.write_text(json.dumps(coco_doc(
        images=imgs("3.jpg", "x.jpg", "7.jpg", "y.jpg", "11.jpg"), categories=cats[::-1],
        annotations=[ann(1, 2, 2), ann(2, 3, 1), ann(3, 4, 3), ann(4, 5, 3)])))
    return [train, val]


def labelme_folder(root: Path) -> Path:
    """No class map (MC101 once), near-duplicate names seen only in annotations (MC108)."""
    labels = ["scratch", "scratch", "Scratch", "dent", "scrach", "dent", "dent_", "scratch"]
    for k, label in enumerate(labels):
        write_lm(root, f"f{k}.json", [shape(label, TRI), shape("dent", TRI)] if k % 3 else
                 [shape(label, TRI)])
    return root


def yolo_folder(root: Path) -> Path:
    box = "1 0.5 0.5 0.2 0.2"
    return make_yolo(root, {"a": POLY + "\n", "b": f"{POLY}\n{box}\n", "c": box + "\n",
                            "d": f"{box}\n{POLY}\n", "e": POLY + "\n" + POLY + "\n"},
                     yaml="path: .\ntrain: images\nval: nowhere\nnc: 3\nnames: [crack, dent]\n")


def yolo_splits(root: Path) -> Path:
    """Train and val with one picture in both under another name (MC512), and one name in
    both for two different pictures (no finding)."""
    from PIL import Image

    for split, stems in (("train", ("a", "b", "c", "d")), ("val", ("x", "b", "y"))):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir()
        for k, stem in enumerate(stems):
            cls = 1 if split == "val" and stem == "y" else 0  # dent: never in train (MC511)
            (root / split / "labels" / f"{stem}.txt").write_text(f"{cls} 0.1 0.1 0.4 0.1 0.4 0.4\n")
            color = 0 if stem == "x" else 50 * k + 10 * (split == "val")  # x: a copy of a
            Image.new("L", (20, 10), color=color).save(root / split / "images" / f"{stem}.png")
    (root / "data.yaml").write_text("train: train/images\nval: val/images\nnames: [crack, dent]\n")
    return root


def records_file(root: Path) -> Path:
    mask = [[0, 1, 1], [0, 1, 1]]
    recs = [{"image": f"img{k}.jpg", "labels": ["defect_type_a", "defect_type_b"][: 1 + k % 2],
             "masks": [mask, mask], "boxes": [[0, 0, 2, 2]]} for k in range(6)]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "seed.json"
    path.write_text(json.dumps(recs))
    return path


def cvat_file(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "annotations.xml"
    path.write_text(cvat_xml('<box label="" xtl="0" ytl="0" xbr="2" ybr="2"/>',
                             '<polyline points="1,2;3,4"/>',
                             '<polygon label="car" points="1,1;4,1;4,4"/>',
                             '<polygon label="cra" points="1,1;4,1;4,4"/>'))
    return path


def sa1b_folder(root: Path) -> Path:
    """SA-1B files in two shard folders, image and mask ids repeated across them."""
    for k in range(7):
        folder = root / f"sa_00000{k % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        anns = [{"id": 100 * (k % 3) + j, "segmentation": {"size": [8, 8], "counts": [9 + j, 2, 53 - j]},
                 "area": 2, "bbox": [1, 1 + j, 1, 2], "predicted_iou": 0.9, "stability_score": 0.95,
                 "crop_box": [0, 0, 8, 8], "point_coords": [[1.5, 1.5 + j]]} for j in range(k % 3)]
        doc = {"image": {"image_id": k % 5, "width": 8, "height": 8, "file_name": f"sa_{k}.jpg"},
               "annotations": anns}
        (folder / f"sa_{k}.json").write_text(json.dumps(doc))
    return root


def read(paths: list[Path]) -> list[Dataset]:
    out = [d for d in read_all(paths) if isinstance(d, Dataset)]
    return out  # linted with the default setup (RunContext()), as api.lint gives it


# --- the fold ---------------------------------------------------------------------------------
def _walk(obj: Any, seen: set[int]) -> Any:
    """Every object reachable from a state (containers, dataclasses, slots, object arrays)."""
    if id(obj) in seen or isinstance(obj, str | bytes | int | float | bool | type(None)):
        return
    seen.add(id(obj))
    yield obj
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for v in obj.ravel().tolist():
                yield from _walk(v, seen)
        return
    if isinstance(obj, dict):
        items: Any = [*obj.keys(), *obj.values()]
    elif isinstance(obj, list | tuple | set | frozenset):
        items = obj
    elif is_dataclass(obj):
        items = [getattr(obj, f.name) for f in fields(obj)]
    else:
        items = list(getattr(obj, "__dict__", {}).values())
    for v in items:
        yield from _walk(v, seen)


def holds_batch_data(state: Any, batches: list[Batch]) -> str | None:
    """Why `state` holds (part of) a batch, or None.

    Besides views, an object array is refused: cut from a column it is a new array of the
    batch's own Python objects (a JSON value may be a list or dict the batch still holds).
    Plain lists of str/int, or packed numeric arrays, say what the state keeps.
    """
    columns = [t[name] for b in batches for t in (b.images, b.anns) for name in t.names]
    cells = {id(v) for c in columns if c.dtype == object for v in c.tolist()
             if isinstance(v, list | dict | set | np.ndarray)}
    for obj in _walk(state, set()):
        if isinstance(obj, Batch | Table | DatasetInfo):
            return f"holds a {type(obj).__name__}"
        if isinstance(obj, np.ndarray) and obj.size and \
                any(np.may_share_memory(obj, c) for c in columns):
            return f"holds a view of a batch column ({obj.dtype}, {obj.shape})"
        if isinstance(obj, np.ndarray) and obj.dtype == object:
            return f"holds an object array cut from the batch ({obj.shape})"
        if id(obj) in cells:
            return f"holds a {type(obj).__name__} that is a cell of a batch column"
    return None


def roundtrip(obj: Any) -> tuple[Any, int]:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(data), len(data)


def key(problems: Any, info: DatasetInfo | None = None, batch: Batch | None = None) -> list[str]:
    """Problems (or findings) as sorted reprs, logical places resolved as the engine does."""
    out = []
    for p in problems:
        loc, order = p.location, p.order
        if isinstance(loc, getattr(model, "At", ())):
            loc, order = model.resolve(loc, info, batch)
        out.append(repr((p.message, loc, order)))
    return sorted(out)


class Fold:
    """One random fold of one rule over one dataset; records the largest pickled state."""

    def __init__(self, rule: Any, info: DatasetInfo, runs: list[list[Batch]], rng: random.Random):
        self.largest, self.problem = 0, None
        states = []
        for run in runs:
            state = rule.initial(info)
            for batch in run:
                state = rule.accumulate(state, batch)
            self.check(state, run)
            states.append(self.send(state))
        for _ in range(rng.randint(0, 2)):  # workers that got no batch
            states.insert(rng.randint(0, len(states)), self.send(rule.initial(info)))
        while len(states) > 1:  # neighbours only, in a random tree shape
            i = rng.randrange(len(states) - 1)
            states[i:i + 2] = [self.send(rule.merge(states[i], states[i + 1]))]
        self.state = states[0] if states else rule.initial(info)

    def send(self, state: Any) -> Any:
        state, size = roundtrip(state)
        self.largest = max(self.largest, size)
        return state

    def check(self, state: Any, run: list[Batch]) -> None:
        why = holds_batch_data(state, run)
        if why and self.problem is None:
            self.problem = why


def random_runs(dataset: Dataset, rng: random.Random) -> list[list[Batch]]:
    n = max(dataset.info.num_images, 1)
    batches = list(dataset.batches(rng.choice([1, 2, 3, max(n // 3, 1), n])))
    rng.shuffle(batches)
    runs: list[list[Batch]] = []
    while batches:
        take = rng.randint(1, max(len(batches), 1))
        runs.append(batches[:take])
        batches = batches[take:]
    return runs


def reference(rule: Any, dataset: Dataset) -> Any:
    state = rule.initial(dataset.info)
    for batch in dataset.batches(None):  # one batch (plus the orphan annotations' own)
        state = rule.accumulate(state, batch)
    return state


def applies(rule: Any, dataset: Dataset) -> bool:
    """The engine runs a format's rules (MC41x LabelMe, ...) on that format's datasets only,
    and the class rules where there are classes (not on SA-1B)."""
    return engine.applies(rule, dataset.info)


def engine_agrees(plan: Plan, dataset: Dataset, want: dict[str, list[str]]) -> list[str]:
    """Rules whose reference findings (plus their `check` findings) differ from the engine's."""
    found = lint_dataset(dataset, plan, batch_size=None)
    out = []
    for rule in plan.rules:
        if rule.code not in want:
            assert not [f for f in found if f.code == rule.code], rule.code
            continue
        checked = [k for b in dataset.batches(None) for k in key(rule.check(b), dataset.info, b)]
        mine = [f for f in found if f.code == rule.code]
        if key(mine) != sorted(want[rule.code] + checked):
            out.append(f"{rule.code} on {Path(dataset.info.path).name}: the one-batch fold "
                       "differs from lint_dataset's (does accumulate overwrite the state?)")
    return out


def check_group(datasets: list[Dataset], plan: Plan | None = None) -> tuple[list[str], dict[str, int]]:
    """Failures (one line each) and the largest pickled state per rule over the seeds.

    `plan` holds the rules (default: every built-in dataset rule, as the engine makes them).
    """
    failures: list[str] = []
    largest: dict[str, int] = {}
    plan = plan or make_plan(select=dataset_rules())
    rules = {rule.code: rule for rule in plan.rules}
    codes = list(rules)
    ds_of = {code: [d for d in datasets if applies(rules[code], d)] for code in codes}
    refs = {code: [reference(rules[code], d) for d in ds_of[code]] for code in codes}
    want = {code: [key(run_finalize(rules[code], s, d.info), d.info)
                   for s, d in zip(refs[code], ds_of[code], strict=True)] for code in codes}
    for d in datasets:
        failures += engine_agrees(plan, d, {code: want[code][ds_of[code].index(d)]
                                            for code in codes if d in ds_of[code]})
    want_cross = {code: key(rules[code].cross_check(
        [run_summarize(rules[code], s, d.info) for s, d in zip(refs[code], ds_of[code], strict=True)]))
        for code in codes if isinstance(rules[code], SplitRule)}
    for seed in SEEDS:
        rng = random.Random(seed)
        runs = {id(d): random_runs(d, rng) for d in datasets}
        for code, rule in rules.items():
            summaries = []
            for d, ref in zip(ds_of[code], want[code], strict=True):
                r = runs[id(d)]
                where = f"{code} on {Path(d.info.path).name} seed {seed}"
                try:
                    fold = Fold(rule, d.info, r, random.Random(rng.random()))
                except Exception as exc:  # unpicklable state, a merge that crashes
                    failures.append(f"{where}: {type(exc).__name__}: {exc}")
                    continue
                largest[code] = max(largest.get(code, 0), fold.largest)
                if fold.problem:
                    failures.append(f"{where}: the state {fold.problem}")
                got = key(run_finalize(rule, fold.state, d.info), d.info)
                if got != ref:
                    failures.append(f"{where}: findings differ from the one-batch fold "
                                    f"({len(got)} against {len(ref)})")
                if code in want_cross:  # a split linted in another process sends its summary
                    summary = run_summarize(rule, fold.state, d.info)
                    why = holds_batch_data(summary, [b for run in r for b in run])
                    if why:
                        failures.append(f"{where}: the summary {why}")
                    try:
                        summaries.append(roundtrip(summary)[0])
                    except Exception as exc:
                        failures.append(f"{where}: summary: {type(exc).__name__}: {exc}")
            if code in want_cross and len(summaries) == len(ds_of[code]) and \
                    key(rule.cross_check(summaries)) != want_cross[code]:
                failures.append(f"{code} cross_check seed {seed}: findings differ")
    return failures, largest


# --- the tests --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, list[Dataset]]:
    root = tmp_path_factory.mktemp("corpus")
    valid = root / "valid.json"  # every image annotated: no-negative-images (MC217)
    valid.write_text(json.dumps(coco_doc()))
    return {
        "coco": read([dirty_coco(root / "coco")]),
        "coco-whole": read([dirty_coco(root / "whole", orphan=False)]),
        "coco-valid": read([valid]),
        "splits": read(split_pair(root / "splits")),
        "labelme": read([labelme_folder(root / "labelme")]),
        "yolo": read([yolo_folder(root / "yolo")]),
        "yolo-splits": read([yolo_splits(root / "yolo-splits")]),
        "records": read([records_file(root / "records")]),
        "cvat": read([cvat_file(root / "cvat")]),
        "sa1b": read([sa1b_folder(root / "sa1b")]),
    }


def test_the_fixtures_make_the_dataset_rules_fire(corpus):
    """The property below is only worth something where the rules have findings to keep."""
    fired: set[str] = set()
    for datasets in corpus.values():
        for code in dataset_rules():
            rule = make_plan(select=[code]).rules[0]
            for d in (d for d in datasets if applies(rule, d)):
                if list(run_finalize(rule, reference(rule, d), d.info)):
                    fired.add(code)
    assert {"MC003", "MC004", "MC005", "MC006", "MC101", "MC103", "MC105", "MC107", "MC108",
            "MC201", "MC216", "MC217", "MC305", "MC308", "MC309", "MC423", "MC426", "MC427",
            "MC450"} <= fired
    for name, codes in (("splits", {"MC510", "MC511", "MC512"}), ("yolo-splits", {"MC511", "MC512"})):
        crossed = set()
        for code in codes:
            rule = make_plan(select=[code]).rules[0]
            splits = corpus[name]
            if list(rule.cross_check([run_summarize(rule, reference(rule, d), d.info) for d in splits])):
                crossed.add(code)
        assert crossed == codes, name


@pytest.mark.parametrize("name", ["coco", "coco-whole", "coco-valid", "splits", "labelme", "yolo",
                                  "yolo-splits", "records", "cvat", "sa1b"])
def test_any_fold_gives_the_one_batch_findings(corpus, name):
    failures, _ = check_group(corpus[name])
    assert not failures, "\n".join(failures)


# Every format, splits among them (roboflow, lightly); the two slowest folders are left out.
REALDATA = ["cocodataset__cocoapi", "wkentaro__labelme", "openvinotoolkit__datumaro",
            "cvat-ai__datumaro", "lightly-ai__labelformat", "roboflow__roboflow-python",
            "HumanSignal__label-studio-converter", "superannotateai__superannotate-python-sdk"]


@pytest.mark.parametrize("sub", REALDATA)
def test_any_fold_gives_the_one_batch_findings_on_real_data(realdata, sub):
    datasets = read([realdata / sub])
    assert datasets
    failures, _ = check_group(datasets)  # together, as lint reads them: splits cross-checked
    assert not failures, "\n".join(failures)


def test_states_do_not_grow_with_the_dataset(tmp_path):
    sizes: dict[int, dict[str, int]] = {}
    for copies in (1, 4):
        datasets = read([dirty_coco(tmp_path / f"x{copies}", copies)])
        failures, sizes[copies] = check_group(datasets)
        assert not failures, "\n".join(failures)
    measured = sorted(sizes[1])  # the rules that run on COCO (format rules run elsewhere)
    assert measured == sorted(sizes[4]) and "MC004" in measured and "MC423" not in measured
    for code in measured:
        one, four = sizes[1][code], sizes[4][code]
        if code in PER_RECORD:  # linear in the records, not worse
            assert four <= 5 * one + 512, f"{code}: {one} -> {four} bytes"
        else:
            assert four <= 1.5 * one + 256, f"{code}: {one} -> {four} bytes for 4x the data"
    print({code: (sizes[1][code], sizes[4][code]) for code in measured})


# --- the harness catches what it is for ------------------------------------------------------
class _Planted(DatasetRule):
    """Counts images; subclasses plant one breach of the contract each."""

    code, name, summary, severity = "XP001", "planted", "planted", Severity.INFO

    def initial(self, info: DatasetInfo) -> Any:
        return [0]

    def accumulate(self, state: Any, batch: Batch) -> Any:
        state[0] += len(batch.images)
        return state

    def merge(self, a: Any, b: Any) -> Any:
        return [a[0] + b[0]]

    def finalize(self, state: Any, info: DatasetInfo) -> Any:
        yield Problem(f"{state[0]} images", info.locate_pointer(""), (0, -1))


class _Overwrites(_Planted):
    def accumulate(self, state: Any, batch: Batch) -> Any:
        return [len(batch.images)]


class _NotAssociative(_Planted):
    def merge(self, a: Any, b: Any) -> Any:
        return [a[0] + 2 * b[0]]


class _OrderDependent(_Planted):
    def accumulate(self, state: Any, batch: Batch) -> Any:
        return state if len(state) > 1 or not len(batch.images) else [0, int(batch.images.index[0])]

    def merge(self, a: Any, b: Any) -> Any:
        return a if len(a) > 1 else b

    def finalize(self, state: Any, info: DatasetInfo) -> Any:
        yield Problem(f"first {state[-1]}", info.locate_pointer(""), (0, -1))


class _KeepsView(_Planted):
    def accumulate(self, state: Any, batch: Batch) -> Any:
        return [state[0] + len(batch.images), *state[1:], batch.images.index[:1]]

    def merge(self, a: Any, b: Any) -> Any:
        return [a[0] + b[0], *a[1:], *b[1:]]


class _Unpicklable(_Planted):
    def initial(self, info: DatasetInfo) -> Any:
        return [0, lambda: None]

    def merge(self, a: Any, b: Any) -> Any:
        return [a[0] + b[0], a[1]]


@pytest.mark.parametrize(("planted", "says"), [
    (_Overwrites, "findings differ"), (_NotAssociative, "findings differ"),
    (_OrderDependent, "findings differ"), (_KeepsView, "view of a batch column"),
    (_Unpicklable, "pickle"),
])
def test_the_harness_catches_a_broken_rule(corpus, planted, says):
    failures, _ = check_group(corpus["coco"], Plan(rules=[planted()]))
    assert failures and all(f.startswith("XP001 on dirty.json") for f in failures)
    assert any(says in f for f in failures), failures
