"""Structured log lines and Prometheus counters of the bot.

A log line is one JSON object: an event name, ids, decisions and reasons. Message
text, captions, names and pictures never go in; the evidence of a flagged advert
(its service words and links) only with ``VEIL_BOT_LOG_EVIDENCE``.
"""

from __future__ import annotations

import json
import logging

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger("veil.bot")


def event(name: str, **fields: object) -> None:
    log.info(json.dumps({"event": name, **fields}, ensure_ascii=False, default=str))


class Metrics:
    """The bot's counters, on a registry of their own (one per bot: tests run many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("veil_bot_updates", "Updates handled, by kind",
                               ["kind"], registry=self.registry)
        self.media = Counter("veil_bot_media", "Files looked at, by outcome (block, review, "
                             "allow, too_large, undecodable, unchecked, error)",
                             ["outcome"], registry=self.registry)
        self.texts = Counter("veil_bot_texts", "Texts checked by the advert detector, by "
                             "outcome (flagged, clean)", ["outcome"], registry=self.registry)
        self.names = Counter("veil_bot_names", "Names shown by posts (sender, inline bot, "
                             "forwarded from) checked by the advert detector, by outcome",
                             ["outcome"], registry=self.registry)
        self.actions = Counter("veil_bot_actions", "Actions taken (delete, restrict, ban, "
                               "notice, failed)", ["action"], registry=self.registry)
        self.retries = Counter("veil_bot_telegram_retries", "Bot API calls retried after "
                               "429 (retry_after) or a network error", registry=self.registry)
