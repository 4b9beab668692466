"""A rule with an enormous number of findings keeps the first N and counts the rest: memory
stays bounded, the counts stay true, and the report says so."""

from __future__ import annotations

import json

from conftest import ann, coco_doc
from maskcheck import lint
from maskcheck.cli import main


def many_unannotated(tmp_path, n=60):
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 80} for i in range(1, n + 1)]
    annotations = [ann(1, 1, 1)]  # one annotated image; the others each give MC008
    path = tmp_path / "many.json"
    path.write_text(json.dumps(coco_doc(images=images, annotations=annotations)))
    return path


def mc008(report):
    return [f for f in report.findings if f.code == "MC008"]


def test_the_first_n_are_kept_and_the_rest_counted(tmp_path):
    path = many_unannotated(tmp_path)
    full = lint([path], max_findings=None)
    assert len(mc008(full)) == 59
    capped = lint([path], max_findings=10)
    assert mc008(capped) == mc008(full)[:10]  # the first ten, in file order
    assert capped.dropped["MC008"][1] == 49
    assert capped.counts() == full.counts()  # the summary still counts every finding
    assert any(n.startswith("MC008: the first 10 of 59 findings are listed, the other 49 only "
                            "counted") for n in capped.notes)


def test_the_pool_keeps_the_same_first_n(tmp_path):
    path = many_unannotated(tmp_path, n=300)
    serial = lint([path], max_findings=25, batch_size=16)
    pooled = lint([path], max_findings=25, batch_size=16, jobs=2)
    assert mc008(pooled) == mc008(serial) and pooled.dropped == serial.dropped
    assert serial.dropped["MC008"][1] == 299 - 25


def test_cli_max_findings_and_json(tmp_path, capsys):
    path = many_unannotated(tmp_path)
    assert main(["lint", str(path), "--max-findings", "5", "-f", "json", "--no-progress"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len([f for f in doc["findings"] if f["code"] == "MC008"]) == 5
    assert doc["summary"]["not_listed"] == {"MC008": 54}
    assert doc["summary"]["info"] >= 59
    assert main(["lint", str(path), "--max-findings", "0"]) == 2
