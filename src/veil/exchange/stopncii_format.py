"""The StopNCII hash-exchange wire format, both ways.

Written exactly as StopNCII's API documents it (and as python-threatexchange's
client parses it); read tolerantly, because real clients stray from it: the
client posts ``signalType`` as ``"StopNCIISignalType.ImagePDQ"`` (``str()`` of its
enum) and sends feedback with no ``signalType`` at all, and some servers send an
empty ``caseNumbers`` as ``[]``.

Veil's signal names map to StopNCII's types here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HashStatus(StrEnum):
    """A record's aggregate state; ``Withdrawn`` and ``Deleted`` tell peers to delete."""

    RECEIVED = "Received"
    ACTIVE = "Active"
    WITHDRAWN = "Withdrawn"
    DELETED = "Deleted"
    UNKNOWN = "Unknown"


#: Statuses that mean "remove this hash" (python-threatexchange 1.2.17 compares the
#: hash value with these instead of the status, so it never removes anything).
GONE = frozenset({HashStatus.WITHDRAWN, HashStatus.DELETED})


class FeedbackValue(StrEnum):
    """A platform's opinion of a hash (StopNCII ``CSPFeedbacks[].feedbackValue``)."""

    NONE = "None"
    QUALITY_UNKNOWN = "QualityUnknown"
    PENDING_REVIEW = "PendingReview"
    BLOCKED = "Blocked"
    NOT_BLOCKED = "NotBlocked"
    WITHDRAWN = "Withdrawn"
    DELETED = "Deleted"
    UNKNOWN = "Unknown"


#: StopNCII's signal types and the Veil signal each is. ``VideoMD5`` is the MD5 of the
#: file's bytes, which is what Veil's ``md5`` is for any media.
TO_VEIL = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
FROM_VEIL = {v: k for k, v in TO_VEIL.items()}


def signal_type_name(raw: object) -> str:
    """``"ImagePDQ"`` from ``"ImagePDQ"``, ``"StopNCIISignalType.ImagePDQ"`` or any
    case of either; anything else comes back as written (and is refused later as an
    unknown type, by whoever reads it)."""
    text = str(raw).strip()
    if "." in text:
        text = text.rsplit(".", 1)[1]
    for known in TO_VEIL:
        if text.lower() == known.lower():
            return known
    return text


class Feedback(BaseModel):
    model_config = ConfigDict(extra="ignore")

    feedbackValue: str
    tags: list[str] = Field(default_factory=list)
    source: str = ""

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [] if value is None else value


class HashRecord(BaseModel):
    """One record of a page: the current state of one hash (a later record of the same
    ``(signalType, hashValue)`` replaces it)."""

    model_config = ConfigDict(extra="ignore")

    lastModtimestamp: int
    signalType: str
    hashValue: str
    hashStatus: str
    caseNumbers: dict[str, str] = Field(default_factory=dict)
    CSPFeedbacks: list[Feedback] = Field(default_factory=list)

    @field_validator("caseNumbers", mode="before")
    @classmethod
    def _cases(cls, value: Any) -> Any:
        return {} if value in (None, []) else value

    @field_validator("signalType", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return signal_type_name(value)


class FetchPage(BaseModel):
    """``GET FetchHashes``'s answer. Records stay raw dicts here: a peer reads each on
    its own, so one malformed record is set aside and never sinks the page."""

    model_config = ConfigDict(extra="ignore")

    count: int
    nextPageToken: str | None = None
    nextSetTimestamp: int
    hasMoreRecords: bool
    #: Checked as a list here, each record later on its own (``Any``: validating
    #: every record's keys here cost as much as the records' own checks)
    hashRecords: list[Any] = Field(default_factory=list)


class SubmittedRecord(BaseModel):
    """One hash of ``POST SubmitHashes``."""

    model_config = ConfigDict(extra="ignore")

    signalType: str = "ImagePDQ"
    hashValue: str
    lastModtimestamp: int | None = None
    CSPFeedbacks: list[Feedback] = Field(default_factory=list)

    @field_validator("signalType", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return signal_type_name(value)


class SubmitHashes(BaseModel):
    model_config = ConfigDict(extra="ignore")

    count: int | None = None
    hashRecords: list[SubmittedRecord]


class SubmittedFeedback(BaseModel):
    """One opinion of ``POST SubmitFeedback``; the real client sends no ``signalType``
    (the hub then finds the hash among the types it serves)."""

    model_config = ConfigDict(extra="ignore")

    hashValue: str
    feedbackValue: str
    signalType: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("signalType", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return None if value is None else signal_type_name(value)


class SubmitFeedback(BaseModel):
    model_config = ConfigDict(extra="ignore")

    count: int | None = None
    hashFeedbacks: list[SubmittedFeedback]
