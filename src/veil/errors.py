"""Veil exceptions: every error that crosses a boundary carries a stable ``code``.

The API maps them to 4xx JSON ``{"error": {"code", "message"}}``; the CLI prints
one line and exits non-zero. Codes are part of the public contract: add new ones,
never rename.
"""

from __future__ import annotations


class VeilError(Exception):
    """Base error with a stable, dotted ``code`` (e.g. ``media.too_large``)."""

    code: str = "veil.error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class MediaError(VeilError):
    code = "media.invalid"


class MediaUnsupported(MediaError):
    code = "media.unsupported"
    http_status = 415


class MediaTruncated(MediaError):
    code = "media.truncated"


class MediaTooLarge(MediaError):
    code = "media.too_large"
    http_status = 413


class MediaEmpty(MediaError):
    code = "media.empty"


class MediaBusy(MediaError):
    """Decoding now would take the process past its memory ceiling: retry shortly."""

    code = "media.busy"
    http_status = 503


class SignalError(VeilError):
    code = "signal.invalid"


class BadHash(SignalError):
    code = "signal.bad_hash"


class UnknownSignal(SignalError):
    code = "signal.unknown"


class StoreError(VeilError):
    code = "store.error"


class NotFound(VeilError):
    code = "not_found"
    http_status = 404


class Conflict(VeilError):
    code = "conflict"
    http_status = 409


class BadInput(VeilError):
    code = "input.invalid"


class Forbidden(VeilError):
    """An authenticated caller asking for something its configuration does not allow
    (an exchange partner with no bank to submit into)."""

    code = "forbidden"
    http_status = 403


class BadSnapshot(VeilError):
    """An index snapshot that is truncated, corrupt, of another format version or
    another signal type. It is never used: the index is rebuilt from the store."""

    code = "index.bad_snapshot"


class StaleSnapshot(BadSnapshot):
    """A sound snapshot of an older state of the banks (its watermark differs)."""

    code = "index.stale_snapshot"


class BotUnreachable(VeilError):
    """``veil bot`` could not reach the Bot API at start (a wrong URL, no network)."""

    code = "bot.unreachable"
    http_status = 503


class ConfigError(VeilError):
    """A ``VEIL_*`` environment variable holds a value the settings refuse."""

    code = "config.invalid"


class ApiNotReady(VeilError):
    """The service is starting (its bank index is loading) or shutting down."""

    code = "service.not_ready"
    http_status = 503
