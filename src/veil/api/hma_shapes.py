"""The JSON shapes of Meta's Hasher-Matcher-Actioner (HMA 2.0, "Open Media Match")
that ``hma`` speaks, and the names it maps between HMA's vocabulary and Veil's.

Field names, their types and what is optional follow HMA's own request and response
models (docs/hma-compat.md says which version). Values Veil cannot honour (a bank
matching a fraction of lookups) are refused by the route, not silently changed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

from veil.api.schemas import Strict

#: HMA's bank names and Veil's (a superset of HMA's upper-case names but for a leading
#: underscore, which Veil's names cannot start with).
HmaBankName = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                    description="Bank name (HMA's are UPPER_WITH_UNDERSCORE; Veil takes "
                    "letters, digits, '_', '.', '-', starting with a letter or digit)")

#: HMA's signal type names → Veil's. HMA names a file's MD5 ``video_md5`` (its photo
#: banks hold PDQ only); Veil's ``md5`` is the MD5 of any file's bytes, the same value.
#: Veil's own names are accepted too.
HMA_TO_VEIL = {"pdq": "pdq", "video_md5": "md5", "video_sha256": "sha256"}
#: Veil's names → HMA's, for a video's signals (a picture's keep Veil's names, but PDQ
#: is ``pdq`` in both).
VIDEO_NAMES = {"md5": "video_md5", "sha256": "video_sha256"}


class HmaBank(BaseModel):
    """HMA's ``BankConfig``."""

    name: str
    matching_enabled_ratio: float = Field(description=(
        "1.0: the bank matches; 0.0: it does not (Veil's policy 'enabled'). HMA's "
        "fractions, matching a share of lookups, are not supported"))


class HmaBankCreate(Strict):
    """HMA's ``BankCreateRequest``; ``category`` is Veil's addition."""

    name: str = HmaBankName
    enabled_ratio: float | None = Field(1.0, ge=0.0, le=1.0, description="0.0 or 1.0")
    enabled: bool | None = Field(None, description="Overrides enabled_ratio when given")
    category: Literal["victim_submitted", "confirmed_ncii", "synthetic_ncii",
                      "protected_photo", "imported", "allowlist"] = Field(
        "imported", description="Veil's bank category (HMA has none): sets the default "
        "action of its matches")


class HmaBankUpdate(Strict):
    """HMA's ``BankUpdateRequest``. A bank cannot be renamed in Veil: ``name``, if
    sent, must be the bank's own."""

    name: str | None = Field(None, max_length=64)
    enabled_ratio: float | None = Field(None, ge=0.0, le=1.0, description="0.0 or 1.0")
    enabled: bool | None = None


class HmaContentAdded(BaseModel):
    """What HMA answers for banked content: its id and the signals banked, by the
    names they were sent with. Veil banks each signal as an entry of its own:
    ``id`` is the first one's, ``entry_ids`` (Veil's addition) lists each."""

    id: int
    signals: dict[str, str]
    entry_ids: dict[str, int]


class HmaMatch(BaseModel):
    """HMA's ``MatchWithDistance``: the bank content (Veil's entry id) and the distance
    as text ("-" for an exact digest, as HMA prints it)."""

    bank_content_id: int
    distance: str


class HmaBankMatches(RootModel[dict[str, list[HmaMatch]]]):
    """``/m/lookup`` of one hash: bank name → its matches."""


class HmaSignalMatches(RootModel[dict[str, dict[str, list[HmaMatch]]]]):
    """``/m/lookup`` of a file: signal type → bank name → its matches."""


class HmaRawLookup(BaseModel):
    """HMA's ``RawLookupResponse``: content ids, or with ``include_distance`` the
    matches with their distances."""

    matches: list[int] | list[HmaMatch]


class HmaHashes(RootModel[dict[str, str]]):
    """``/h/hash``: signal type → hash (PDQ: 64 hex characters)."""
