"""Help pages without noise: no ``<bool>`` on flags, no type where the name says it,
choices listed so that they wrap between words, never inside one.

Typer prints a type column for every parameter; this replaces how it is filled,
in one place, for every command (``tests/cli/test_help.py`` reads the result).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

#: Types whose name adds nothing to the option's own name and help.
_SILENT = {"<bool>", "<str>", "<path>", "<list[Path]>", "<list[str]>", "<file>",
           "<directory>", "<int>"}


def _display_type(self: Any, ctx: Any) -> str | None:
    desc = self.type_descriptor
    if isinstance(self, TyperOption) and self.is_flag:
        return None
    if desc.is_choice and desc.choices is not None:
        return " | ".join(str(getattr(c, "value", c)) for c in desc.choices)
    shown: str = TyperOption.display_type(self, ctx)
    if shown in _SILENT:
        return None
    return shown.removeprefix("<").removesuffix(">").replace(" range", "")


def install() -> None:
    # setattr: a deliberate replacement of Typer's method (see the module docstring)
    setattr(TyperOption, "display_type_rich", _display_type)  # noqa: B010
    setattr(TyperArgument, "display_type_rich", _display_type)  # noqa: B010
