"""Adding a webhook: the URL checked, a secret made, sealed and stored, shown once.

Only admins add webhooks (the admin API, the CLI), so the URL is trusted as far as
its owner is; still, only ``http``/``https`` URLs with a host are taken (no
``file:``, ``gopher:`` or the like for the client to follow), no credentials in the
URL (they would be stored and logged in clear), and deliveries never follow
redirects (``delivery``). docs/security.md says what remains: an admin can point a
webhook at an address inside the network.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from veil.actions.sealing import Sealer
from veil.errors import BadInput
from veil.store.interface import BankStore
from veil.store.models import WEBHOOK_URL_MAX
from veil.store.webhooks import WebhookRecord

#: Secrets look like ``whsec_…`` (256 random bits), so they are easy to tell from keys.
SECRET_PREFIX = "whsec_"


def check_url(url: str) -> str:
    if len(url) > WEBHOOK_URL_MAX:
        raise BadInput(f"webhook URL must be at most {WEBHOOK_URL_MAX} characters",
                       code="webhook.bad_url")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise BadInput("webhook URL must not contain spaces or control characters",
                       code="webhook.bad_url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise BadInput(f"webhook URL is not a URL: {exc}", code="webhook.bad_url") from None
    if parts.scheme not in ("http", "https"):
        raise BadInput("webhook URL must start with http:// or https://",
                       code="webhook.bad_url")
    if not parts.hostname:
        raise BadInput("webhook URL has no host", code="webhook.bad_url")
    if parts.username is not None or parts.password is not None:
        raise BadInput("webhook URL must not hold a user name or password (the signature "
                       "authenticates Veil)", code="webhook.bad_url")
    del port
    return url


def add_webhook(store: BankStore, sealer: Sealer, name: str, url: str, *, actor: str,
                key_id: int | None = None, bank: str | None = None
                ) -> tuple[WebhookRecord, str]:
    """A new subscription; returns its record and its secret, which is stored only
    sealed and shown this once."""
    url = check_url(url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    record = store.create_webhook(name, url, sealer.seal(secret, name), actor=actor,
                                  key_id=key_id, bank=bank)
    return record, secret
