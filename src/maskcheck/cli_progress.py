"""The CLI's progress display on stderr: a spinner while a file is read, then a bar with an ETA.

The engine counts images as batches are linted; the size of a dataset is known once its
reader has finished. From then on the display is a bar for that dataset: its name, how
many of its images are linted, the time so far and the time left.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from maskcheck.reporters.safe import visible


def progress_allowed(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Whether a live display may be drawn on `stream`: a real terminal, and not a CI job.

    Not rich's `Console.is_terminal`: FORCE_COLOR or TTY_COMPATIBLE (set by many CI setups
    for coloured logs) make it true on a pipe, and a live display in a log is pages of
    redrawn lines.
    """
    env = os.environ if environ is None else environ
    if env.get("CI") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced stream
        return False


class _WhenSized(ProgressColumn):
    """`column` once the task's total is known; nothing while the dataset is being read."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> Any:
        return Text("") if task.total is None else self.column.render(task)


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        done = int(task.completed)
        unit = task.fields.get("unit", "images")
        if task.total is None:
            return Text(f"{done:,} {unit}" if done else "")
        return Text(f"{done:,}/{int(task.total):,} {unit}")


class LintProgress:
    """Call it with the number of images just linted; `dataset_read` when a size is known."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            # markup=False: the description holds a file name, which may contain [brackets]
            SpinnerColumn(), TextColumn("{task.description}", markup=False), _WhenSized(BarColumn()),
            _Count(),
            TimeElapsedColumn(), _WhenSized(TextColumn("ETA")), _WhenSized(TimeRemainingColumn()),
            console=console, transient=True)
        self.task = self.progress.add_task("reading the annotations", total=None)

    def __enter__(self) -> LintProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, images: int) -> None:
        self.progress.advance(self.task, images)

    def dataset_read(self, path: str, images: int, unit: str = "images") -> None:
        """A dataset of `images` images was read (or listed, for a reader that reads as it
        goes): show a bar for it from here on. `unit`: "files" where each image is a file of
        its own (SA-1B, in folders or shards), so the count is the files read."""
        self.progress.reset(self.task, total=max(images, 1), completed=0, unit=unit,
                            description=f"linting {visible(Path(path).name)}")
