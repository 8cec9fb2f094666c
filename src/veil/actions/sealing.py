"""Webhook secrets, sealed at rest with an AEAD (ChaCha20-Poly1305).

A receiver checks signatures with the secret, so Veil must sign with the secret
itself: it cannot keep only a hash, as it does for API keys. It keeps the secret
encrypted under a key that is not in the database: ``VEIL_WEBHOOK_SECRETS_KEY``, or
else ``webhook-secrets.key`` in ``VEIL_HOME`` (32 random bytes, made owner-only on
first use). A copy of the database alone (a backup, a dump) then holds no usable
secret. The subscription's name is the associated data, so a sealed secret moved
to another subscription's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from veil.config import Settings
from veil.errors import ConfigError, VeilError

#: The key file's name in ``VEIL_HOME`` when no key is configured.
KEY_FILE = "webhook-secrets.key"
#: Prefix of a sealed value: the scheme, so a later one can be told apart.
VERSION = "v1:"
NONCE_BYTES = 12


class SealError(VeilError):
    """A sealed secret that does not open with this key (the key changed, or the row
    was altered)."""

    code = "webhook.secret_unreadable"


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{where}: must be 32 bytes in URL-safe base64")
    return key


class Sealer:
    """Seals and opens webhook secrets; the key is read (or made) on first use, so a
    service that never has a webhook never writes a key file."""

    def __init__(self, settings: Settings) -> None:
        self._configured = settings.webhooks.secrets_key.get_secret_value()
        self._path = Path(settings.home) / KEY_FILE
        self._aead: ChaCha20Poly1305 | None = None
        self._lock = threading.Lock()

    def _cipher(self) -> ChaCha20Poly1305:
        with self._lock:
            if self._aead is None:
                if self._configured:
                    key = _decode_key(self._configured, "VEIL_WEBHOOK_SECRETS_KEY")
                else:
                    key = _decode_key(self._key_file(), str(self._path))
                self._aead = ChaCha20Poly1305(key)
            return self._aead

    def _key_file(self) -> str:
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made earlier, or by another process just now
            return self._path.read_text("ascii")
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        return self._path.read_text("ascii")

    def seal(self, secret: str, name: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, secret.encode(), name.encode())
        return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, name: str) -> str:
        if not sealed.startswith(VERSION):
            raise SealError("unknown sealing scheme")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(VERSION):])
            return self._cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                          name.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SealError("the webhook's secret does not open with this key (was "
                            "VEIL_WEBHOOK_SECRETS_KEY or the key file changed?)") from None
