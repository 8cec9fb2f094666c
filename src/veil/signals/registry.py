"""The one registry of signal types. Adding a type: one new module + one line here.

``register``/``unregister`` exist for tests, which prove that a type defined
outside this package works everywhere with no other change.
"""

from __future__ import annotations

from veil.errors import UnknownSignal
from veil.signals.base import SignalType
from veil.signals.dhash import DHash
from veil.signals.digests import MD5, SHA256
from veil.signals.pdq import PDQ
from veil.signals.phash import PHash

_TYPES: dict[str, SignalType] = {t.name: t for t in (PDQ(), MD5(), SHA256(), PHash(), DHash())}


def get(name: str) -> SignalType:
    try:
        return _TYPES[name]
    except KeyError:
        raise UnknownSignal(
            f"unknown signal type {name!r}; known: {', '.join(sorted(_TYPES))}"
        ) from None


def names() -> list[str]:
    return list(_TYPES)


def all_types() -> list[SignalType]:
    return list(_TYPES.values())


def register(signal_type: SignalType) -> None:
    if signal_type.name in _TYPES:
        raise ValueError(f"a signal type named {signal_type.name!r} is already registered")
    _TYPES[signal_type.name] = signal_type


def unregister(name: str) -> None:
    _TYPES.pop(name, None)
