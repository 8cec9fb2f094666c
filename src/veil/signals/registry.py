"""The one registry of signal types. Adding a type: one new module + one line here."""

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


def perceptual_types() -> list[SignalType]:
    return [t for t in _TYPES.values() if t.perceptual]
