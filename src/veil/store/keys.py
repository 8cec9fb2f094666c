"""API keys of the service: created (the key is shown once), listed, revoked.

A key is ``veil_`` + ``secrets.token_urlsafe(32)`` (256 random bits). Only its
SHA-256 is stored: with that much entropy a fast hash cannot be reversed by
guessing, and it lets a presented key be found by one indexed look-up, then
compared in constant time. Mixed into ``Store``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from veil.errors import BadInput, Conflict, NotFound
from veil.store.coltypes import utcnow
from veil.store.models import KEY_NAME_MAX, ApiKey, ReviewSessionRow
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import SCOPES

KEY_PREFIX = "veil_"
#: Characters of a key kept in clear to tell keys apart (``veil_`` + 7).
SHOWN_CHARS = 12


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))
    if not wanted:
        raise BadInput(f"a key needs at least one scope: {', '.join(SCOPES)}",
                       code="auth.bad_scope")
    if unknown := [s for s in wanted if s not in SCOPES]:
        raise BadInput(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}",
                       code="auth.bad_scope")
    return tuple(s for s in SCOPES if s in wanted)


def _record(k: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(id=k.id, name=k.name, prefix=k.prefix, scopes=tuple(k.scopes),
                        created_by=k.created_by, created_at=k.created_at,
                        revoked_at=k.revoked_at)


class ApiKeys(StoreBase):
    """The ``Store`` methods for API keys."""

    @database_errors
    def create_api_key(self, scopes: Iterable[str], *, name: str = "",
                       actor: str) -> tuple[ApiKeyRecord, str]:
        """A new key with ``scopes``; returns its record and the key, which is never
        stored and cannot be shown again."""
        wanted = check_scopes(scopes)
        if len(name) > KEY_NAME_MAX or any(c in name for c in "\r\n\x00"):
            raise BadInput(f"key name must be one line of at most {KEY_NAME_MAX} characters")
        actor = check_actor(actor)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._writing(topic="keys") as s:
            row = ApiKey(name=name, key_hash=key_hash(key), prefix=key[:SHOWN_CHARS],
                         scopes=list(wanted), created_by=actor, created_at=utcnow())
            s.add(row)
            s.flush()
            self._audit(s, actor, "key.create", key_id=row.id, name=name, scopes=list(wanted))
            record = _record(row)
        return record, key

    @database_errors
    def list_api_keys(self, *, include_revoked: bool = True) -> list[ApiKeyRecord]:
        with self._reading() as s:
            q = select(ApiKey).order_by(ApiKey.id)
            if not include_revoked:
                q = q.where(ApiKey.revoked_at.is_(None))
            return [_record(k) for k in s.scalars(q)]

    @database_errors
    def revoke_api_key(self, key_id: int, *, actor: str) -> ApiKeyRecord:
        actor = check_actor(actor)
        with self._writing(topic="keys") as s:
            row = s.get(ApiKey, key_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no API key {key_id}")
            if row.revoked_at is not None:
                raise Conflict(f"API key {key_id} is already revoked")
            row.revoked_at = utcnow()
            # a reviewer logged in with it is logged out on every node at once
            s.execute(delete(ReviewSessionRow).where(ReviewSessionRow.key_hash == row.key_hash))
            self._audit(s, actor, "key.revoke", key_id=key_id, name=row.name)
            s.flush()
            return _record(row)

    @database_errors
    def active_key_hashes(self) -> dict[str, ApiKeyRecord]:
        """Every unrevoked key by its hash: what the service caches to authenticate."""
        with self._reading() as s:
            rows = s.execute(select(ApiKey).where(ApiKey.revoked_at.is_(None))).scalars()
            return {k.key_hash: _record(k) for k in rows}
