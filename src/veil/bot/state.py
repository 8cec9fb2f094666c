"""What the bot keeps across restarts: the update offset and each chat's choices.

One JSON file under ``VEIL_HOME`` (``bot-state.json``), replaced atomically (write,
then rename) after every handled update. ``offset`` is the first update not yet
confirmed to Telegram; ``done`` the ids at or above it already handled, so an update
handed out again after a restart is not handled twice.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veil.errors import ConfigError

POLICIES = ("none", "restrict", "ban")


@dataclass
class ChatState:
    policy: str | None = None
    #: the language of the admin who last set the policy: the chat's notices use it
    lang: str = "en"


@dataclass
class BotState:
    path: Path
    offset: int = 0
    done: set[int] = field(default_factory=set)
    chats: dict[int, ChatState] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path) -> BotState:
        if not path.exists():
            return cls(path)
        try:
            raw: dict[str, Any] = json.loads(path.read_text("utf-8"))
            chats = {int(k): ChatState(v.get("policy"), v.get("lang", "en"))
                     for k, v in raw.get("chats", {}).items()}
            return cls(path, int(raw.get("offset", 0)), {int(i) for i in raw.get("done", [])},
                       chats)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not a bot state file ({exc}); move it away to "
                              "start afresh") from None

    def chat(self, chat_id: int) -> ChatState:
        return self.chats.setdefault(chat_id, ChatState())

    def handled(self, update_id: int) -> None:
        self.done.add(update_id)
        self.save()

    def confirm(self, offset: int) -> None:
        """Every update below ``offset`` is handled (Telegram forgets them)."""
        self.offset = max(self.offset, offset)
        self.done = {i for i in self.done if i >= self.offset}
        self.save()

    def save(self) -> None:
        with self._lock:
            data = {"offset": self.offset, "done": sorted(self.done),
                    "chats": {str(k): {"policy": v.policy, "lang": v.lang}
                              for k, v in self.chats.items()}}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            # owner-only: chat ids and who moderates what
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data))
            os.replace(tmp, self.path)
