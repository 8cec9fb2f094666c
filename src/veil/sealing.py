"""Sealing at rest with a key outside the database (AES-256-GCM, ``cryptography``).

Review media and region signals are each sealed under a key of their own: a
configured one (a secret store's), else a key file in ``VEIL_HOME`` created once
with ``O_EXCL`` and mode 0600, so two processes starting together agree on one key.
A copy of the database alone (a backup, a dump) then holds nothing usable.

A sealed blob is ``version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext+tag``. The
associated data names the purpose and the row (``<purpose>:v1:<name>``): a blob
copied onto another row, or read for another purpose, fails to open rather than
giving the wrong content. Nonces are random: 96 bits, at most a few million blobs
per key, far below the 2³² messages at which random GCM nonces become a concern.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.errors import ConfigError, VeilError

VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32


class SealBroken(VeilError):
    """A sealed blob that does not open with this key for this row (another key, a
    blob moved between rows, or corruption)."""

    code = "seal.unreadable"
    http_status = 500


class Sealer:
    """Seals and opens one purpose's blobs with one key. ``what`` names them in
    errors (``the media of review item``); ``purpose`` binds them (associated data)."""

    broken: type[SealBroken] = SealBroken

    def __init__(self, key: bytes, *, purpose: str, what: str) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError(f"the {purpose} key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        self._purpose = purpose
        self._what = what

    def _associated(self, name: str) -> bytes:
        return f"{self._purpose}:v{VERSION}:{name}".encode()

    def seal(self, name: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, data, self._associated(name))

    def open(self, name: str, sealed: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != VERSION:
            raise self.broken(f"{self._what} {name} is not a sealed blob this version reads")
        nonce = sealed[1:1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES:], self._associated(name))
        except InvalidTag:
            raise self.broken(f"{self._what} {name} does not open with this key (another "
                              "key, or moved from another row)") from None


def load_key(configured: str, home: Path, key_file: str, *, variable: str,
             label: str) -> bytes:
    """The configured key (base64 of 32 bytes), else the key file in ``home``, made
    owner-only on first use. ``variable`` and ``label`` name it in errors."""
    configured = configured.strip()
    if configured:
        return _decode(configured.encode(), variable, label)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / key_file
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return _decode(path.read_bytes().strip(), str(path), label)


def _decode(text: bytes, where: str, label: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: the {label} key must be base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where}: the {label} key must be {KEY_BYTES} bytes "
                          f"(base64 of 32 random bytes), not {len(key)}")
    return key
