"""The media key, and AEAD sealing of review media (AES-256-GCM, ``cryptography``).

A sealed blob is ``version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext+tag``. The
associated data names the item (``veil-review-media:v1:<item id>``): a blob copied
onto another item's row fails to open rather than showing the wrong picture. Nonces
are random: 96 bits, at most a few million items per key, far below the 2³²
messages at which random GCM nonces become a concern.

The key: ``VEIL_REVIEW_MEDIA_KEY`` (base64 of 32 bytes) when set, else
``$VEIL_HOME/review-media.key``, created once with ``O_EXCL`` and mode 0600 (two
processes starting together agree on one key). The plaintext is only ever in memory:
sealing takes bytes and returns bytes, nothing is written in between.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.config import Settings
from veil.errors import ConfigError, VeilError

VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_FILE = "review-media.key"


class SealBroken(VeilError):
    """Sealed media that does not open with this key for this item (another key, a
    blob moved between items, or corruption)."""

    code = "review.media_unreadable"
    http_status = 500


def _associated(item_id: str) -> bytes:
    return f"veil-review-media:v{VERSION}:{item_id}".encode()


class MediaSealer:
    """Seals and opens review media with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError(f"the review media key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, item_id: str, data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return bytes([VERSION]) + nonce + self._aead.encrypt(nonce, data, _associated(item_id))

    def open(self, item_id: str, sealed: bytes) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != VERSION:
            raise SealBroken(f"the media of review item {item_id} is not a sealed blob "
                             "this version reads")
        nonce = sealed[1:1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES:], _associated(item_id))
        except InvalidTag:
            raise SealBroken(f"the media of review item {item_id} does not open with this "
                             "key (another key, or moved from another item)") from None


def _key_from_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return _decode(path.read_bytes().strip(), str(path))


def _decode(text: bytes, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: the review media key must be base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where}: the review media key must be {KEY_BYTES} bytes "
                          f"(base64 of 32 random bytes), not {len(key)}")
    return key


def load_sealer(settings: Settings) -> MediaSealer:
    """The sealer of ``settings``: its configured key, else the key file in home."""
    configured = settings.review.media_key.get_secret_value().strip()
    if configured:
        return MediaSealer(_decode(configured.encode(), "VEIL_REVIEW_MEDIA_KEY"))
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return MediaSealer(_key_from_file(settings.home / KEY_FILE))
