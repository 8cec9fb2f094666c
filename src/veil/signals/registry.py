"""The one registry of signal types. Adding a type: one new module + one line here.

``register``/``unregister`` exist for tests, which prove that a type defined
outside this package works everywhere with no other change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from veil.errors import ConfigError, UnknownSignal
from veil.signals.base import SignalType
from veil.signals.dhash import DHash
from veil.signals.digests import MD5, SHA256
from veil.signals.pdq import PDQ
from veil.signals.phash import PHash
from veil.signals.vpdq import VPDQ

if TYPE_CHECKING:
    from veil.config import Settings

_TYPES: dict[str, SignalType] = {t.name: t for t in (PDQ(), MD5(), SHA256(), PHash(), DHash(),
                                                      VPDQ())}


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


def check_settings(settings: Settings) -> None:
    """Refuse per-signal settings that name no registered type, or that ask for more
    than a type allows: a typo must not be ignored, and a threshold above a type's
    maximum must fail at start, not on every match.

    Raises ``ConfigError`` naming each variable."""
    problems = []
    for field, variable in (("thresholds", "VEIL_THRESHOLDS"),
                            ("max_thresholds", "VEIL_MAX_THRESHOLDS"),
                            ("min_quality", "VEIL_MIN_QUALITY")):
        for name, value in getattr(settings, field).items():
            where = f"{variable}__{name.upper()}"
            st = _TYPES.get(name)
            if st is None:
                problems.append(f"{where}: no signal type {name!r} "
                                f"(known: {', '.join(sorted(_TYPES))})")
            elif field == "min_quality" and st.min_quality is None:
                problems.append(f"{where}: {name} hashes carry no quality")
            elif field != "min_quality" and value > st.max_threshold:
                problems.append(f"{where}: {value} is above {st.max_threshold}, the most "
                                f"{name} allows")
    if problems:
        raise ConfigError(f"invalid settings: {'; '.join(problems)}")
