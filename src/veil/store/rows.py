"""One row of a hash list: its fields, and the checks every row passes before a bank
takes it (signal known, value well-formed, quality in range, text within limits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from veil.errors import SignalError
from veil.signals import SignalType, get
from veil.store.models import NOTE_MAX, SOURCE_MAX
from veil.store.vocabulary import Category, choices

#: Columns of a hash list, in the order ``veil bank export`` writes them.
FIELDS = ("signal", "value", "quality", "category", "source", "note")
REQUIRED = ("signal", "value")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (or the whole input, when ``line`` is None) cannot be imported."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class HashRow(NamedTuple):
    """A validated row: ``value`` is normalised lowercase hex.

    A named tuple rather than a frozen dataclass: imports make millions of these,
    and tuple construction costs a fraction of a frozen dataclass's ``__init__``.
    """

    signal: str
    value: str
    quality: int | None = None
    #: Informational on import (the bank's own category applies), except that rows
    #: marked ``allowlist`` and other rows never cross into the other kind of bank.
    category: str | None = None
    source: str | None = None
    note: str | None = None
    line: int | None = None


_CATEGORIES = frozenset(Category)
_ONE_LINE = frozenset("\r\n\x00")


class _Invalid(Exception):
    pass


def _text(fields: Mapping[str, object], key: str, limit: int) -> str | None:
    raw = fields.get(key)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise _Invalid(f"{key} must be text, got {type(raw).__name__}")
    if len(raw) > limit:
        raise _Invalid(f"{key} is longer than {limit} characters")
    # one line, so every row of an export reads back as one line; no NUL, which
    # PostgreSQL text cannot hold
    if not _ONE_LINE.isdisjoint(raw):
        raise _Invalid(f"{key} must be one line of text (no line breaks or NUL)")
    return raw


def _quality(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        q = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        q = raw
    else:
        raise _Invalid(f"quality must be an integer 0-100, got {str(raw)[:20]!r}")
    if not 0 <= q <= 100:
        raise _Invalid(f"quality must be an integer 0-100, got {q}")
    return q


def _signal_type(raw: object, cache: dict[str, SignalType]) -> SignalType:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise _Invalid("signal is missing")
    if not isinstance(raw, str):
        raise _Invalid(f"signal must be a signal type name, got {type(raw).__name__}")
    st = cache.get(raw)
    if st is None:
        st = cache[raw] = get(raw.strip().lower())
    return st


class RowValidator:
    """Turns raw fields into a ``HashRow`` or a ``RowError``; reuse one per input."""

    def __init__(self) -> None:
        self._types: dict[str, SignalType] = {}

    def __call__(self, fields: Mapping[str, object], line: int | None) -> HashRow | RowError:
        get = fields.get
        try:
            signal = get("signal")
            st = self._types.get(signal) if isinstance(signal, str) else None
            if st is None:
                st = _signal_type(signal, self._types)
            raw = get("value")
            if raw is None or raw == "":
                raise _Invalid("value is missing")
            value = st.parse(raw)  # parse reports a non-str itself
            # optional fields are usually absent: test before calling out
            quality = _quality(q) if (q := get("quality")) is not None and q != "" else None
            category = _text(fields, "category", 32) if get("category") else None
            if category is not None and category not in _CATEGORIES:
                raise _Invalid(f"unknown category {category!r}; known: {choices(Category)}")
            source = _text(fields, "source", SOURCE_MAX) if get("source") else None
            note = _text(fields, "note", NOTE_MAX) if get("note") else None
            return HashRow(st.name, value, quality, category, source, note, line)
        except (_Invalid, SignalError) as exc:
            return RowError(line, exc.message if isinstance(exc, SignalError) else str(exc))
