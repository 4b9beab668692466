"""Help pages in the shape of `ruff check --help`: what each option takes, never a Python type.

typer (0.29) tags every parameter with its annotation (`<list[str]>`, `<bool>`, `<int range>
[x>=1]`) and writes a required argument as `{paths}...`. A newcomer reads neither, so the
commands here use typer's classes with three things changed: a flag shows no tag, an option
shows its metavar (FILE, CODE, N), and an argument is `PATHS...` (required) or `[DATASET]`
(optional) in the usage line. Bounds belong in the option's help text ("at least 1").
"""

from __future__ import annotations

from typing import Any

import typer.core
from typer._click import Context, Parameter


def _default_text(param: Any, ctx: Context, show_default_is_str: bool, default_value: Any) -> str:
    """`show_default="the current folder"` reads `[default: the current folder]`, not typer's
    `[default: (the current folder)]`."""
    if show_default_is_str:
        return str(param.show_default)
    return typer.core._get_default_string(param, ctx=ctx, show_default_is_str=False,
                                          default_value=default_value)


class _Argument(typer.core.TyperArgument):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None

    @property
    def display_name_raw(self) -> str:  # also names it in "Missing argument 'PATHS'"
        return self.metavar if self.metavar is not None else (self.name or "").upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def _get_number_range_help_str(self) -> str | None:
        return None

    def _get_default_string(self, *, ctx: Context, show_default_is_str: bool, default_value: Any) -> str:
        return _default_text(self, ctx, show_default_is_str, default_value)


class _Option(typer.core.TyperOption):
    def display_type_rich(self, ctx: Context) -> str | None:
        if self.is_flag or getattr(self, "count", False):
            return None
        return self.metavar or (self.name or "").upper() or None

    def _get_number_range_help_str(self) -> str | None:
        return None

    def _get_default_string(self, *, ctx: Context, show_default_is_str: bool, default_value: Any) -> str:
        return _default_text(self, ctx, show_default_is_str, default_value)


def _plain(params: list[Parameter]) -> list[Parameter]:
    """The same parameter objects, shown without type tags (their parsing is untouched)."""
    for p in params:
        if isinstance(p, typer.core.TyperArgument) and not isinstance(p, _Argument):
            p.__class__ = _Argument
        elif isinstance(p, typer.core.TyperOption) and not isinstance(p, _Option):
            p.__class__ = _Option
    return params


class Command(typer.core.TyperCommand):
    """A typer command whose help and usage line read like ruff's."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain(super().get_params(ctx))


class Group(typer.core.TyperGroup):
    """The root group: `--version` and `--help` without a `<bool>` tag."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _plain(super().get_params(ctx))
