"""Reading what a person typed: a signal type's name, and a hash, with a hint when it is
plainly of another type."""

from __future__ import annotations

from collections.abc import Iterable

from veil.signals import SignalType, all_types, get


def signal_type(name: str) -> SignalType:
    """The type a person named, in any case, spaces around (``UnknownSignal`` lists
    the known ones)."""
    return get(name.strip().lower())


def signal_names(options: Iterable[str]) -> tuple[str, ...]:
    """The types named by a repeated or comma-separated option (``-s pdq -s md5`` or
    ``-s pdq,md5``)."""
    return tuple(signal_type(n).name for option in options for n in option.split(",")
                 if n.strip())


def parse_typed(signal: SignalType, value: str) -> str:
    """``signal.parse(value)``, or ``BadHash`` that names the type the value's length
    suggests ("a 32-character value looks like md5: add -s md5")."""
    from veil.errors import BadHash

    try:
        return signal.parse(value)
    except BadHash as exc:
        raw = value.strip().lower().removeprefix("0x")
        lengths = {t.bits // 4: t.name for t in all_types() if t.name != signal.name}
        other = lengths.get(len(raw))
        if other is None or any(c not in "0123456789abcdef" for c in raw):
            raise
        raise BadHash(f"{exc.message}; a {len(raw)}-character value looks like {other}: "
                      f"add -s {other}") from None
