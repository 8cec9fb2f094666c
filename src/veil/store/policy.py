"""``BankPolicy``: what a bank's matches do, typed and checked where it is written.

A bank's ``policy`` column is JSON; this model is the only shape it may take. The
store checks a policy before writing it (``BankPolicy.checked``: thresholds within
the signal type's maximum and the service's cap), and readers parse what is stored
with ``BankPolicy.stored`` (lenient: a policy written by an older Veil still loads).

Fields (docs/policies.md says how they combine):

* ``action``: ``block``/``review``/``allow`` for a match; unset, the category's default.
* ``thresholds``: per signal type, the largest distance that counts as a match in
  this bank. Never above the service's cap (``Settings.threshold_cap``): a bank
  threshold wider than what platforms may ask for would let their answers carry
  distances the cap exists to withhold (docs/security.md).
* ``priority``: an allowlist bank suppresses matches of banks whose priority is not
  above its own (equal included, so the default of 0 everywhere suppresses).
* ``enabled``: a disabled bank's entries match nothing (kept, not deleted).
* ``vpdq_query_percent`` / ``vpdq_candidate_percent``: the vPDQ rule's P_q and P_c
  for this bank's videos (docs/video.md); unset, the settings'.
* ``share``: exchange partners whose key lists this bank may fetch it from the hub
  (docs/exchange.md); a victim's hash is served only if its case also consented.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from veil.errors import BadInput, SignalError
from veil.signals import get as get_signal

if TYPE_CHECKING:
    from veil.config import Settings

#: Bounds of ``priority``: wide enough for any ordering, small enough to read.
PRIORITY_MIN, PRIORITY_MAX = -1000, 1000


class BankPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    action: Literal["block", "review", "allow"] | None = Field(None, description=(
        "What a match does: block, review or allow (default: the category's)"))
    thresholds: dict[str, int] = Field(default_factory=dict, description=(
        "Per signal type, the largest distance in bits that counts as a match in this "
        "bank (default: the service's); never above the service's threshold cap"))
    priority: int = Field(0, ge=PRIORITY_MIN, le=PRIORITY_MAX, description=(
        "An allowlist bank suppresses matches of banks whose priority is not above its own"))
    enabled: bool = Field(True, description="A disabled bank's entries match nothing")
    vpdq_query_percent: float | None = Field(None, ge=0, le=100, description=(
        "vPDQ rule: share of an upload's frames that must match one of this bank's "
        "videos (default: VEIL_VIDEO_QUERY_MATCH_PERCENT, 80)"))
    vpdq_candidate_percent: float | None = Field(None, ge=0, le=100, description=(
        "vPDQ rule: share of the banked video's frames that must match (default: "
        "VEIL_VIDEO_CANDIDATE_MATCH_PERCENT, 0)"))
    share: bool = Field(False, description=(
        "Exchange partners whose key lists this bank may fetch its hashes from the hub "
        "(/stopncii/v1/FetchHashes); victims' hashes only where the case consented"))

    @field_validator("thresholds")
    @classmethod
    def _known_signals(cls, value: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, t in value.items():
            try:
                st = get_signal(name.strip().lower())
            except SignalError as exc:
                raise ValueError(exc.message) from None
            if isinstance(t, bool) or not 0 <= t <= st.max_threshold:
                raise ValueError(f"{st.name} threshold must be between 0 and "
                                 f"{st.max_threshold}, got {t}")
            out[st.name] = t
        return out

    @classmethod
    def parse(cls, raw: object) -> BankPolicy:
        """A policy from input (API body, CLI, a caller's dict); ``BadInput`` with every
        problem on one line."""
        if raw is None:
            return cls()
        if isinstance(raw, BankPolicy):
            return raw
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}"
                for e in exc.errors())
            raise BadInput(f"bad bank policy: {problems}", code="input.bad_policy") from None

    @classmethod
    def stored(cls, raw: dict[str, Any] | None) -> BankPolicy:
        """What the store holds, leniently: a key this version does not know, or a value
        an older version accepted, is dropped rather than failing every match."""
        raw = raw or {}
        try:
            return cls.model_validate(raw)
        except ValidationError:
            kept: dict[str, Any] = {}
            for key in cls.model_fields:
                if key in raw:
                    try:
                        cls.model_validate({key: raw[key]})
                    except ValidationError:
                        continue
                    kept[key] = raw[key]
            return cls.model_validate(kept)

    def checked(self, settings: Settings) -> BankPolicy:
        """This policy if every threshold is within the service's cap, else ``BadInput``."""
        for name, t in self.thresholds.items():
            cap = settings.threshold_cap(get_signal(name))
            if t > cap:
                raise BadInput(
                    f"{name} threshold {t} is above {cap}, the most this service lets any "
                    "caller search (VEIL_MAX_THRESHOLDS): a wider bank threshold would let "
                    "platforms' answers reveal banked hashes", code="input.bad_threshold")
        return self

    def as_stored(self) -> dict[str, Any]:
        """What goes into the ``policy`` column: only what differs from the defaults."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def merged(self, changes: dict[str, Any]) -> BankPolicy:
        """This policy with ``changes`` applied; a ``None`` value resets a field."""
        current = self.model_dump(mode="json", exclude_defaults=True)
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        return BankPolicy.parse(current)
