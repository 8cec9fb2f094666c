"""The long-polling loop: updates fetched, handled with bounded concurrency, and
confirmed so that a restart neither loses one nor handles one twice.

Each batch of ``getUpdates`` is handled concurrently: at most
``VEIL_BOT_CONCURRENCY`` updates at once and ``VEIL_BOT_CHAT_CONCURRENCY`` per
chat. Every handled update is recorded in the state file at once; the next
``getUpdates`` confirms the batch to Telegram (its ``offset``). After a stop (SIGTERM,
``stop()``) the updates in flight finish and the ones not started are left for the
next run; after a crash, only the updates in flight at that moment can be handled
again. Every Bot API call that gets 429 waits ``retry_after`` and is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Update

from veil.bot import commands
from veil.bot.moderation import Context, moderate
from veil.bot.observe import Metrics, event
from veil.bot.scanner import Scanner
from veil.bot.state import BotState
from veil.config import BotSettings

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post"]
#: the longest a 429 may make one call wait, and how often one call is retried
MAX_RETRY_AFTER_S = 300
MAX_RETRIES = 5


class RetryAfter(BaseRequestMiddleware):
    """429 Too Many Requests: wait what Telegram says (``retry_after``), then retry."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType],
                       bot: Bot, method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        for attempt in range(MAX_RETRIES + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == MAX_RETRIES or exc.retry_after > MAX_RETRY_AFTER_S:
                    raise
                self.metrics.retries.inc()
                event("telegram_429", method=type(method).__name__,
                      retry_after=exc.retry_after)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


def make_bot(settings: BotSettings, metrics: Metrics) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_url))
    session.middleware(RetryAfter(metrics))
    return Bot(settings.token.get_secret_value(), session=session)


def make_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    posts = Router(name="veil-posts")
    posts.message.register(moderate)
    posts.edited_message.register(moderate)
    posts.channel_post.register(moderate)
    posts.edited_channel_post.register(moderate)
    # commands first: a command is answered, not moderated
    dp.include_router(commands.make_router())
    dp.include_router(posts)
    return dp


def _chat_of(update: Update) -> int:
    for post in (update.message, update.edited_message, update.channel_post,
                 update.edited_channel_post):
        if post is not None:
            return post.chat.id
    return 0


class Runner:
    def __init__(self, settings: BotSettings, scanner: Scanner, state: BotState,
                 *, bot: Bot | None = None, metrics: Metrics | None = None,
                 text_threshold: float | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.bot = bot or make_bot(settings, self.metrics)
        self.state = state
        self.dp = make_dispatcher()
        self.context = Context(self.bot, scanner, state, settings, self.metrics,
                               text_threshold)
        self._stop = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._chat_slots: dict[int, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.chat_concurrency))
        self._inflight: set[int] = set()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def handle(self, update: Update) -> bool:
        """Handle ``update`` once: False if the bot is stopping and left it for the next
        run. An update already handled, or being handled, is not handled again."""
        if update.update_id in self.state.done or update.update_id in self._inflight:
            return True
        self._inflight.add(update.update_id)
        try:
            return await self._handle(update)
        finally:
            self._inflight.discard(update.update_id)

    async def _handle(self, update: Update) -> bool:
        async with self._chat_slots[_chat_of(update)], self._slots:
            if self._stop.is_set():
                return False  # not started: left for the next run
            kind = next((k for k in ALLOWED_UPDATES if getattr(update, k) is not None),
                        "other")
            self.metrics.updates.labels(kind).inc()
            try:
                await self.dp.feed_update(self.bot, update, veil=self.context)
            except Exception as exc:  # one bad update must not stop the bot
                event("update_failed", update=update.update_id, error=type(exc).__name__)
            self.state.handled(update.update_id)
            return True

    async def _fetch(self) -> list[Update]:
        delay = 1.0
        while not self._stop.is_set():
            fetch = asyncio.ensure_future(self.bot(GetUpdates(
                offset=self.state.offset or None, limit=100,
                timeout=self.settings.poll_timeout_s, allowed_updates=ALLOWED_UPDATES),
                request_timeout=self.settings.poll_timeout_s + 10))
            stopping = asyncio.ensure_future(self._stop.wait())
            # a stop does not wait out the long poll: what it would bring stays unconfirmed
            try:
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                if not fetch.done():
                    fetch.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramNetworkError):
                        await fetch
            if fetch.cancelled():
                return []
            try:
                return fetch.result()
            except (TelegramNetworkError, TelegramServerError, TelegramConflictError,
                    TelegramRetryAfter) as exc:
                # a conflict: another instance polls with this token, or a webhook was
                # set meanwhile; waited out like a network error
                wait = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else delay
                self.metrics.retries.inc()
                event("poll_failed", error=type(exc).__name__, retry_in_s=wait)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                delay = min(delay * 2, 60.0)
        return []

    async def run(self) -> None:
        me = await self.bot.get_me()
        # a webhook left from a webhook run would make getUpdates fail (409); its
        # pending updates stay queued for polling
        await self.bot.delete_webhook(drop_pending_updates=False)
        event("bot_started", bot=me.username, source=self.context.scanner.describe(),
              offset=self.state.offset)
        try:
            while not self._stop.is_set():
                updates = await self._fetch()
                await asyncio.gather(*(self.handle(u) for u in updates))
                if updates and not self._stop.is_set():
                    self.state.confirm(max(u.update_id for u in updates) + 1)
        finally:
            event("bot_stopped", offset=self.state.offset)


async def serve_metrics(metrics: Metrics, port: int) -> Any:
    """``/metrics`` on loopback (put a reverse proxy in front to expose it)."""
    from aiohttp import web
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner
