"""A file that was skipped, or could not be read or hashed, reported the same way by
``veil hash``, ``veil scan`` and ``veil bank add``: one JSON shape, one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

if TYPE_CHECKING:
    from veil.media.discover import Skipped
    from veil.signals.batch import FileSignals


def problem_kind(item: Skipped | FileSignals) -> str:
    """``skipped`` (by choice: not media, too large, a link loop) or ``error``."""
    from veil.media.discover import Skipped

    return "skipped" if isinstance(item, Skipped) and not item.error else "error"


def problem_json(item: Skipped | FileSignals) -> dict[str, object]:
    """``{"file", "skipped": why}``, or ``{"file", "error": {"code", "message"}}``."""
    from veil.media.discover import Skipped

    if isinstance(item, Skipped):
        if not item.error:
            return {"file": item.path, "skipped": item.reason}
        code, message = "input.unreadable", item.reason
    else:
        code, message = item.error_code or "", item.error_message or ""
    return {"file": item.path, "error": {"code": code, "message": message}}


def problem_cells(item: Skipped | FileSignals) -> tuple[str, str]:
    """(its kind in colour, why) as Rich markup; the why is escaped, as a reason may
    quote a file's name."""
    from veil.media.discover import Skipped

    kind = problem_kind(item)
    word = f"[{'yellow' if kind == 'skipped' else 'red'}]{kind}[/]"
    if isinstance(item, Skipped):
        return word, escape(item.reason)
    return word, escape(f"{item.error_code}: {item.error_message}")


def problem_line(item: Skipped | FileSignals) -> str:
    """``error PATH: why`` or ``skipped PATH: why``, as Rich markup for stderr."""
    word, why = problem_cells(item)
    return f"{word} {escape(item.path)}: {why}"
