"""The safe fix of untidy polygons (MC223): in each COCO file its finding names, every
polygon that `maskcheck.tidy` changes is written tidied, on top of the run's other fixes.

The rule reports a dataset's untidy polygons once, so the fix walks the file (as the plan
has it so far: a polygon another fix deleted is gone) rather than taking pointers from
findings; `maskcheck.tidy` is the one definition both use.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from maskcheck import tidy
from maskcheck.fix import jsonedit
from maskcheck.fix.plan import Plan, file_fix
from maskcheck.fix.writing import WriteRefused

NAME = "tidy-polygons"


def _edits(doc: Any, tolerance: float) -> list[jsonedit.Edit]:
    if not isinstance(doc, dict):
        return []
    sizes: dict[Any, tuple[Any, Any]] = {}
    for img in doc.get("images") or []:
        if isinstance(img, dict) and type(img.get("id")) is int:
            sizes.setdefault(img["id"], (img.get("width"), img.get("height")))
    edits: list[jsonedit.Edit] = []
    for k, ann in enumerate(doc.get("annotations") or []):
        seg = ann.get("segmentation") if isinstance(ann, dict) else None
        if not isinstance(seg, list):
            continue
        w, h = sizes.get(ann.get("image_id"), (None, None))
        for j, poly in enumerate(seg):
            new = tidy.tidy(poly, w, h, tolerance)
            if new is not None:
                edits.append(jsonedit.Replace(f"/annotations/{k}/segmentation/{j}", new))
    return edits


def apply(plan: Plan) -> None:
    """Add the tidying to `plan`'s files, for each file a finding of it names."""
    asking = plan.dataset_fixes.get(NAME)
    if not asking:
        return
    by_file: dict[str, list] = {}
    for f in asking:
        by_file.setdefault(f.location.path, []).append(f)
    for path, found in by_file.items():
        fix = found[0].fix
        assert fix is not None
        try:
            ff = file_fix(plan, Path(path))
            ff.new = jsonedit.apply_bytes(ff.new, _edits(json.loads(ff.new), float(fix.value)))
        except WriteRefused as exc:
            plan.refused.append(exc)
            continue
        except (ValueError, jsonedit.EditError) as exc:
            plan.refused.append(WriteRefused(path, f"cannot be tidied: {exc}"))
            continue
        ff.fixed += found
