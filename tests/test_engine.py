"""The engine's contract: batch invariance, crash handling, rule selection."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.catalog import all_rules
from maskcheck.engine import make_plan, run_finalize
from maskcheck.errors import UsageProblem
from maskcheck.model import CRASH_CODE, Batch, Problem, Severity
from maskcheck.registry import DatasetRule, Rule


def messy_doc(seed: int = 3) -> dict:
    """60 images, 250 annotations and defects of every issue-2 kind spread across the file."""
    rng = random.Random(seed)
    images = [{"id": i, "file_name": f"img{i}.jpg", "width": 100, "height": 80} for i in range(1, 61)]
    images.append({"id": 7, "file_name": "again.jpg", "width": 100, "height": 80})  # dup image id
    images.append("not an image")
    images.append({"id": "2299", "file_name": "s.jpg", "width": 10, "height": 10})
    cats = [{"id": 0, "name": "defect_type_a"}, {"id": 1, "name": "defect_type_b"},
            {"id": 2, "name": "defect_type_c"}, {"id": 3, "name": "Defect_type_c "},
            {"id": 2, "name": "dup"}, {"id": 9, "name": "never_used"},
            {"id": 10, "name": "background"}]
    anns: list = []
    for aid in range(1, 251):
        img = rng.randint(1, 58)  # images 59 and 60 stay empty
        cid = rng.choice([0, 1, 1, 1, 2, 10])
        anns.append(ann(aid, img, cid))
    anns[10]["category_id"] = "defect_type_b"
    anns[20]["category_id"] = "3"
    anns[30]["category_id"] = 42
    anns[40]["image_id"] = 999
    anns[50]["id"] = 5  # duplicate annotation id
    anns[60] = [1, 2, 3]
    del anns[70]["image_id"]
    anns[80]["image_id"] = "2299"
    anns[90].pop("segmentation")
    anns[90].pop("bbox")
    anns[100]["id"] = 12.0
    anns[110]["category_id"] = anns[111]["category_id"] = 3  # a rare class
    anns.append(ann(5000, 2299, 1))
    return coco_doc(images=images, annotations=anns, categories=cats)


def dump(report) -> list[dict]:
    return [f.to_dict() for f in report.findings]


def test_findings_do_not_depend_on_batching(write_coco):
    path = write_coco(messy_doc())
    reference = dump(lint([path], batch_size=None))
    codes = {f["code"] for f in reference}
    # the data exercises every issue-2 rule, batch and dataset kind alike
    assert {"MC001", "MC002", "MC003", "MC004", "MC005", "MC006", "MC007", "MC008", "MC101",
            "MC102", "MC103", "MC104", "MC105", "MC107"} <= codes
    for size in (1, 7, 10**6):
        assert dump(lint([path], batch_size=size)) == reference, f"batch size {size}"
    for seed in (0, 1, 2):
        assert dump(lint([path], batch_size=7, shuffle_seed=seed)) == reference, f"shuffle {seed}"
        assert dump(lint([path], batch_size=1, shuffle_seed=seed)) == reference


def test_shuffled_records_give_the_same_findings_by_identity(write_coco):
    doc = messy_doc()
    shuffled = dict(doc)
    shuffled["annotations"] = doc["annotations"][:]
    random.Random(5).shuffle(shuffled["annotations"])
    a = lint([write_coco(doc, "a.json")], batch_size=7)
    b = lint([write_coco(shuffled, "b.json")], batch_size=7)

    def ident(report):
        # pointers move with the records; the annotation ids and messages do not,
        # except where a message names a pointer (duplicate ids name the first one)
        return sorted(repr((f.code, f.location.annotation_id, f.location.image_id)) for f in report.findings)

    assert ident(a) == ident(b)


class _Boom(Exception):
    pass


def test_a_crashing_rule_becomes_a_finding_and_the_others_still_run(write_coco, monkeypatch):
    from maskcheck.rules.labels import StringLabel

    def explode(self, batch: Batch) -> Iterator[Problem]:
        raise _Boom("kaput")
        yield  # pragma: no cover

    monkeypatch.setattr(StringLabel, "check", explode)
    doc = coco_doc()
    doc["annotations"].append(ann(9, 1, 77))  # unmapped: another rule must still fire
    report = lint([write_coco(doc)])
    crash = [f for f in report.findings if f.code == CRASH_CODE]
    assert len(crash) == 1
    assert "MC101 string-label crashed" in crash[0].message and "kaput" in crash[0].message
    assert crash[0].severity == Severity.ERROR
    assert report.crashed()
    assert [f.location.pointer for f in report.findings if f.code == "MC102"] == ["/annotations/4"]


def test_a_crashing_dataset_rule_is_reported_once(write_coco, monkeypatch):
    from maskcheck.rules.distribution import UnusedClass

    monkeypatch.setattr(UnusedClass, "finalize", lambda self, state, info: 1 / 0)
    report = lint([write_coco(coco_doc())], batch_size=1)
    crash = [f for f in report.findings if f.code == CRASH_CODE]
    assert len(crash) == 1 and "ZeroDivisionError" in crash[0].message


def test_merge_is_associative_for_every_dataset_rule(write_coco):
    from maskcheck.readers import coco

    ds = coco.read_file(write_coco(messy_doc()))
    batches = list(ds.batches(9))
    for cls in all_rules():
        rule = cls()
        if not isinstance(rule, DatasetRule):
            continue
        parts = [rule.accumulate(rule.initial(ds.info), b) for b in batches[:3]]
        left = rule.merge(rule.merge(parts[0], parts[1]), parts[2])
        right = rule.merge(parts[0], rule.merge(parts[1], parts[2]))
        fl = [p.message for p in run_finalize(rule, left, ds.info)]
        fr = [p.message for p in run_finalize(rule, right, ds.info)]
        assert fl == fr, cls.code


def test_plan_selection_by_code_prefix_and_name():
    codes = lambda plan: [r.code for r in plan.rules]  # noqa: E731
    assert codes(make_plan(select=["MC101"])) == ["MC101"]
    assert codes(make_plan(select=["string-label"])) == ["MC101"]
    assert set(codes(make_plan(select=["MC10"]))) >= {"MC101", "MC107"}
    assert "MC107" not in codes(make_plan(ignore=["unused-class"]))
    with pytest.raises(UsageProblem, match="matches no rule"):
        make_plan(select=["MC999"])
    with pytest.raises(UsageProblem, match="no option"):
        make_plan(options={"MC105": {"nope": 1}})
    with pytest.raises(UsageProblem, match="must be float"):
        make_plan(options={"class-imbalance": {"max_ratio": "high"}})
    plan = make_plan(severity={"MC107": "warning"})
    assert [plan.severity_of(r) for r in plan.rules if r.code == "MC107"] == [Severity.WARNING]


def test_rule_metadata_is_well_formed():
    import re

    seen_names = set()
    for cls in all_rules():
        assert re.fullmatch(r"MC\d{3}", cls.code), cls.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cls.name), cls.name
        assert cls.summary and "\n" not in cls.summary
        assert isinstance(cls.severity, Severity)
        assert cls.name not in seen_names
        seen_names.add(cls.name)
        assert issubclass(cls, Rule)


def test_image_ids_resolve_like_a_dict_lookup(write_coco):
    # pycocotools indexes images in a dict: 1.0 finds image 1, "2" finds only the string "2"
    images = [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10},
              {"id": "2", "file_name": "b.jpg", "width": 10, "height": 10}]
    anns = [ann(1, 1.0, 1), ann(2, "2", 1), ann(3, 2, 1), ann(4, "1", 1)]
    report = lint([write_coco(coco_doc(images=images, annotations=anns))], select=["MC007"])
    assert [f.location.pointer for f in report.findings] == ["/annotations/2", "/annotations/3"]
