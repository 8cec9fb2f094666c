"""A fake Telegram Bot API server on loopback, for the bot's tests.

It speaks the real wire format (``POST /bot<token>/<method>`` with form fields,
``{"ok": …, "result": …}`` answers, ``GET /file/bot<token>/<path>`` downloads) for
the methods the bot uses, keeps updates the way Telegram does (``getUpdates`` with
``offset`` forgets the ones before it) and records every call, so a test can say
what the bot did. ``throttle`` makes the next calls of a method answer 429 with a
``retry_after``.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token"
BOT_ID = 123456
GROUP = -1001
ADMIN = {"id": 10, "is_bot": False, "first_name": "Ada", "language_code": "en"}
USER = {"id": 20, "is_bot": False, "first_name": "Mallory", "language_code": "en"}


@dataclass
class FakeTelegram:
    #: (chat id, user id) pairs that are admins; the bot is one in GROUP by default
    admins: set[tuple[int, int]] = field(
        default_factory=lambda: {(GROUP, BOT_ID), (GROUP, ADMIN["id"])})
    files: dict[str, bytes] = field(default_factory=dict)
    #: chat id → description, for getChat (a chat not here is "chat not found")
    descriptions: dict[int, str] = field(default_factory=dict)
    #: what getFile reports as a file's size, where it differs from its bytes
    reported_sizes: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    #: method → retry_after of each 429 still to answer
    throttled: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    #: the highest offset the bot confirmed with getUpdates
    confirmed: int = 0
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _next_update: int = 1
    _next_message: int = 1
    _deleted: set[tuple[int, int]] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    #: the URL setWebhook registered ("" when none)
    webhook: str = ""
    _runner: web.AppRunner | None = None

    # -- what a test does --------------------------------------------------------------
    def post(self, *, user: dict[str, Any] | None = None, chat_id: int = GROUP,
             **content: Any) -> dict[str, Any]:
        """A message arriving in ``chat_id`` (a supergroup) from ``user``."""
        message = {"message_id": self._next_message, "date": 1_700_000_000,
                   "chat": {"id": chat_id, "type": "supergroup", "title": "Test group"},
                   "from": user or USER, **content}
        self._next_message += 1
        self._updates.append({"update_id": self._next_update, "message": message})
        self._next_update += 1
        self._arrived.set()
        return message

    def photo(self, file_id: str, data: bytes, **extra: Any) -> dict[str, Any]:
        self.files[file_id] = data
        return self.post(photo=[{"file_id": file_id, "file_unique_id": file_id, "width": 640,
                                 "height": 480, "file_size": len(data)}], **extra)

    def throttle(self, method: str, *retry_after: int) -> None:
        self.throttled[method].extend(retry_after)

    @property
    def last_update(self) -> int:
        return self._next_update - 1

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def deleted(self) -> list[int]:
        return [int(p["message_id"]) for p in self.called("deleteMessage")]

    # -- the server --------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        name = request.match_info["method"]
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        if self.throttled[name]:
            self.calls.append((name + ":429", params))
            return self._error(429, "Too Many Requests", retry_after=self.throttled[name].pop(0))
        self.calls.append((name, params))
        handler = getattr(self, "_" + name, None)
        if handler is None:
            return self._error(404, f"Not Found: method {name} is not faked")
        result: web.Response = await handler(params)
        return result

    async def _getMe(self, _: dict[str, Any]) -> web.Response:
        return self._ok({"id": BOT_ID, "is_bot": True, "first_name": "Veil",
                         "username": "veil_test_bot"})

    async def _getUpdates(self, p: dict[str, Any]) -> web.Response:
        if (refused := await self._polling_refused()) is not None:
            return refused
        offset = int(p.get("offset", 0))
        self.confirmed = max(self.confirmed, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._arrived.clear()
            timeout = float(p.get("timeout", 0))
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return self._ok([])
        return self._ok(self._updates[:int(p.get("limit", 100))])

    async def _setWebhook(self, p: dict[str, Any]) -> web.Response:
        self.webhook = p["url"]
        return self._ok(True)

    async def _deleteWebhook(self, p: dict[str, Any]) -> web.Response:
        assert p.get("drop_pending_updates") in (None, "false", "False")
        self.webhook = ""
        return self._ok(True)

    async def _polling_refused(self) -> web.Response | None:
        if self.webhook:  # as Telegram: no polling while a webhook is set
            return self._error(409, "Conflict: can't use getUpdates method while "
                               "webhook is active; use deleteWebhook to delete the webhook "
                               "first")
        return None

    async def _getFile(self, p: dict[str, Any]) -> web.Response:
        fid = p["file_id"]
        if fid not in self.files:
            return self._error(400, "Bad Request: invalid file_id")
        size = self.reported_sizes.get(fid, len(self.files[fid]))
        info: dict[str, Any] = {"file_id": fid, "file_unique_id": fid, "file_size": size}
        if size <= 20 * 1024 * 1024:  # Telegram serves no path for bigger files
            info["file_path"] = f"photos/{fid}.jpg"
        return self._ok(info)

    async def _file(self, request: web.Request) -> web.Response:
        fid = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        self.downloads.append(fid)
        if request.match_info["token"] != TOKEN or fid not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    async def _deleteMessage(self, p: dict[str, Any]) -> web.Response:
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key in self._deleted:
            return self._error(400, "Bad Request: message to delete not found")
        self._deleted.add(key)
        return self._ok(True)

    async def _sendMessage(self, p: dict[str, Any]) -> web.Response:
        message = {"message_id": self._next_message, "date": 1_700_000_000,
                   "chat": {"id": int(p["chat_id"]), "type": "supergroup"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "Veil"},
                   "text": p["text"]}
        self._next_message += 1
        return self._ok(message)

    async def _banChatMember(self, p: dict[str, Any]) -> web.Response:
        return self._member_change(p)

    async def _restrictChatMember(self, p: dict[str, Any]) -> web.Response:
        json.loads(p["permissions"])  # sent as JSON, as Telegram expects
        return self._member_change(p)

    def _member_change(self, p: dict[str, Any]) -> web.Response:
        if (int(p["chat_id"]), int(p["user_id"])) in self.admins:
            return self._error(400, "Bad Request: user is an administrator of the chat")
        return self._ok(True)

    async def _getChat(self, p: dict[str, Any]) -> web.Response:
        chat = int(p["chat_id"])
        if chat not in self.descriptions:
            return self._error(400, "Bad Request: chat not found")
        return self._ok({"id": chat, "type": "channel", "title": "a channel",
                         "description": self.descriptions[chat], "accent_color_id": 0,
                         "max_reaction_count": 11, "accepted_gift_types": {
                             "unlimited_gifts": False, "limited_gifts": False,
                             "unique_gifts": False, "premium_subscription": False,
                             "gifts_from_channels": False}})

    async def _getChatMember(self, p: dict[str, Any]) -> web.Response:
        chat, user = int(p["chat_id"]), int(p["user_id"])
        who = {"id": user, "is_bot": user == BOT_ID, "first_name": "someone"}
        if (chat, user) in self.admins:
            return self._ok({"status": "creator", "user": who, "is_anonymous": False})
        return self._ok({"status": "member", "user": who})
