"""The unsafe fix of background-index-collision (MC103): every class id + 1, in every split.

torchvision's Mask R-CNN reads label 0 as the background, so a real class at id 0 is never
learned. Shifting every id by one frees 0 and keeps the classes' order and gaps. It must be
the same in every file that shares the class list, or train and val disagree: every COCO
file among the inputs of the run is renumbered, whichever split the finding came from, its
`categories[*].id` and every integer `annotations[*].category_id`. The edits are made on top
of the run's other fixes of that file (a class name just turned into its id is shifted too).
`maskcheck-remap.yaml` beside the data records old -> new; it is written and printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from maskcheck.fix import jsonedit
from maskcheck.fix.plan import Plan, coco_files, file_fix
from maskcheck.fix.writing import WriteRefused
from maskcheck.model import Report

SHIFT = 1
REMAP_NAME = "maskcheck-remap.yaml"


@dataclass
class Remap:
    mapping: dict[int, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def text(self) -> str:
        return yaml.safe_dump({
            "why": "background-index-collision (MC103): a real class sat at id 0, which "
                   "torchvision reads as the background; every id was shifted by 1",
            "mapping": dict(sorted(self.mapping.items())),
            "files": [str(p) for p in self.files]}, sort_keys=False, allow_unicode=True)


def _is_id(value: Any) -> bool:
    return type(value) is int


def _edits(doc: Any) -> tuple[list[jsonedit.Edit], dict[int, int]]:
    if not isinstance(doc, dict):
        return [], {}
    edits: list[jsonedit.Edit] = []
    mapping: dict[int, int] = {}
    for k, cat in enumerate(doc.get("categories") or []):
        if isinstance(cat, dict) and _is_id(cat.get("id")):
            mapping[cat["id"]] = cat["id"] + SHIFT
            edits.append(jsonedit.Replace(f"/categories/{k}/id", cat["id"] + SHIFT))
    for i, ann in enumerate(doc.get("annotations") or []):
        if isinstance(ann, dict) and _is_id(ann.get("category_id")):
            edits.append(jsonedit.Replace(f"/annotations/{i}/category_id", ann["category_id"] + SHIFT))
    return edits, mapping


def apply(plan: Plan, report: Report) -> Remap | None:
    """Add the renumbering to `plan`'s files (its COCO inputs), when a finding asks for it."""
    asking = plan.dataset_fixes.get("renumber")
    if not asking:
        return None
    remap = Remap()
    paths, others = coco_files(report)
    plan.not_applied += [(f, f"{g}: only .json COCO files are renumbered")
                         for g in others for f in asking]
    for path in paths:
        try:
            ff = file_fix(plan, path)
            edits, mapping = _edits(json.loads(ff.new))
            ff.new = jsonedit.apply_bytes(ff.new, edits)
        except WriteRefused as exc:
            plan.refused.append(exc)
            continue
        except (ValueError, jsonedit.EditError) as exc:
            plan.refused.append(WriteRefused(str(path), f"cannot be renumbered: {exc}"))
            continue
        ff.fixed += [f for f in asking if Path(f.location.path) == path]
        remap.mapping.update(mapping)
        remap.files.append(path)
    return remap if remap.files else None
