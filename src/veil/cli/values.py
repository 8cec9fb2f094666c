"""Reading a hash a person typed, with a hint when it is plainly of another type."""

from __future__ import annotations

from veil.signals import SignalType, all_types


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
