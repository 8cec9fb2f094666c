"""The Veil service (``veil serve``): a FastAPI app, one router per audience.

``intake`` (victims: hashes only, case tokens), ``platform`` (match and scan),
``review`` (disputed entries), ``admin`` (banks, hash lists, keys, audit), ``ops``
(status page, health, readiness, metrics). ``app.create_app`` assembles them with
the error shape (``errors``), API-key scopes (``auth``), body limits (``limits``),
idempotent retries (``idempotency``) and the live matcher (``live``).

May import anything below it in the flow (matching, verdict, store, signals,
media); nothing imports it. See docs/api.md.
"""

from veil.api.app import create_app

__all__ = ["create_app"]
