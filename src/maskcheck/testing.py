"""Helpers for testing rules (ours and plugins'): run a page example through one rule.

A rule page's examples are fenced blocks. ```json is a COCO document written as
`annotations.json`. ```dataset is a YAML mapping of relative paths to file contents,
written into a folder that is linted as a whole (for formats made of several files, for
splits, and for examples that need a `maskcheck.yaml` in the folder).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from maskcheck.api import lint
from maskcheck.config import CONFIG_FILES, load_config
from maskcheck.model import Report


def write_example(kind: str, body: str, folder: Path) -> Path:
    """Materialize an example in `folder`; returns the path to lint."""
    if kind == "json":
        path = folder / "annotations.json"
        path.write_text(body, encoding="utf-8")
        return path
    if kind == "dataset":
        files: Any = yaml.safe_load(body)
        if not isinstance(files, dict):
            raise ValueError("a ```dataset example must be a mapping of path -> content")
        root = folder / "dataset"
        for rel, content in files.items():
            target = (root / rel).resolve()
            if root.resolve() not in target.parents:
                raise ValueError(f"example path {rel!r} escapes the example folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):  # `!!binary` base64: mask PNGs in VOC examples
                target.write_bytes(content)
                continue
            target.write_text(content if isinstance(content, str) else yaml.safe_dump(content),
                              encoding="utf-8")
        return root
    raise ValueError(f"unknown example kind {kind!r}; use json or dataset")


def run_example(kind: str, body: str, code: str, **lint_args: Any) -> Report:
    """Lint an example with only rule `code` selected."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_example(kind, body, Path(tmp))
        # A ```dataset example may hold a maskcheck.yaml (target, num_classes, classes):
        # rules that judge data against the user's setup need one to fire at all.
        setup = next((path / n for n in CONFIG_FILES if path.is_dir() and (path / n).is_file()), None)
        if setup is not None and "config" not in lint_args:
            lint_args["config"] = load_config(explicit=setup)
        report = lint([path], select=[code], **lint_args)
    return report
