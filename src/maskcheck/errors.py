"""Exceptions that carry one clear line for the user."""

from __future__ import annotations


class InputProblem(Exception):
    """An input that cannot be read at all. `str()` is the whole message, path first."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class NotThisFormat(InputProblem):
    """Readable, but not the format that was tried (a detector moves on to the next)."""


class UsageProblem(Exception):
    """A command line or configuration that cannot be honoured (exit 2)."""


class BadOption(UsageProblem, ValueError):
    """An option value refused the same way by the Python API (a ValueError) and the CLI
    (a usage error, exit 2)."""
