"""The unsafe fix of unused-class (MC107): categories no split uses are deleted, from every split.

MC107 counts non-crowd annotations per dataset; before a category is deleted, every COCO
file of the run is read again and a category any annotation refers to (a crowd region
included, in any split) is kept. The ones left are deleted from every file's `categories`,
so the splits keep one class list; the deleted records go to FILE.removed.json as every
delete does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maskcheck.fix import jsonedit
from maskcheck.fix.plan import FileFix, Plan, coco_files, file_fix
from maskcheck.fix.writing import WriteRefused
from maskcheck.model import Report

NAME = "drop-unused-categories"


def _used(doc: Any) -> set[Any]:
    anns = doc.get("annotations") if isinstance(doc, dict) else None
    return {a.get("category_id") for a in anns or [] if isinstance(a, dict)}


def apply(plan: Plan, report: Report) -> list[int]:
    """Add the deletes to `plan`'s COCO files; the category ids deleted."""
    asking = plan.dataset_fixes.get(NAME)
    if not asking:
        return []
    candidates = {f.fix.value for f in asking if f.fix is not None}
    files: list[tuple[Path, FileFix, Any]] = []
    for path in coco_files(report)[0]:
        try:
            ff = file_fix(plan, path)
            files.append((path, ff, json.loads(ff.new)))
        except (WriteRefused, ValueError) as exc:
            plan.refused.append(exc if isinstance(exc, WriteRefused)
                                else WriteRefused(str(path), f"cannot be read as JSON: {exc}"))
            return []  # without every split, "no split uses it" cannot be told
    used = set().union(*(_used(doc) for _, _, doc in files)) if files else set()
    drop = sorted(c for c in candidates if c not in used)
    for path, ff, doc in files:
        cats = doc.get("categories") if isinstance(doc, dict) else None
        gone = [k for k, c in enumerate(cats or []) if isinstance(c, dict) and c.get("id") in drop
                and type(c.get("id")) is int]
        if not gone:
            continue
        pointers = [f"/categories/{k}" for k in gone]
        values = jsonedit.values_at(ff.new, pointers)
        ff.new = jsonedit.apply_bytes(ff.new, [jsonedit.Delete(p) for p in pointers])
        ff.removed += [{"pointer": p, "code": "MC107", "why": "no annotation of any split given "
                        "uses this category", "value": values[p]} for p in pointers]
        ff.fixed += [f for f in asking if Path(f.location.path) == path
                     and f.fix is not None and f.fix.value in drop]
    plan.not_applied += [(f, "an annotation (a crowd region, or in another split) uses it")
                         for f in asking if f.fix is not None and f.fix.value not in drop]
    return drop
