"""Updates by webhook: Telegram posts each update to the bot's listener.

``setWebhook`` is called with a ``secret_token``; every call must carry it in
``X-Telegram-Bot-Api-Secret-Token`` (compared in constant time) or it is refused
with 401 before its body is read. An update is answered 200 once handled, so
Telegram redelivers one that was in flight when the bot stopped or crashed; one
delivered twice is handled once (``Runner.handle``). Bodies are capped (an update
is a few kilobytes).
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import urlsplit

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from veil.bot.observe import event
from veil.bot.runner import ALLOWED_UPDATES, Runner
from veil.errors import ConfigError

HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: handled update ids remembered in webhook mode (ids only grow: older are forgotten)
REMEMBERED = 10_000


def check_secret(secret: str) -> str:
    if not _SECRET.fullmatch(secret):
        raise ConfigError("VEIL_BOT_WEBHOOK_SECRET must be 1-256 of A-Z a-z 0-9 _ - "
                          "(Telegram's secret_token); it is required with a webhook URL")
    return secret


def make_app(runner: Runner, secret: str, path: str) -> web.Application:
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            event("webhook_refused", reason="secret_token")
            return web.json_response({"error": "wrong secret token"}, status=401)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"error": "body too large"}, status=413)
        try:
            body: Any = await request.json()
            update = Update.model_validate(body, context={"bot": runner.bot})
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "body too large"}, status=413)
        except (ValueError, ValidationError):
            return web.json_response({"error": "not a Telegram update"}, status=400)
        if not await runner.handle(update):
            return web.json_response({"error": "stopping"}, status=503)  # redelivered
        if len(runner.state.done) > REMEMBERED:
            runner.state.confirm(update.update_id - REMEMBERED // 2)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    return app


async def run_webhook(runner: Runner) -> None:
    """Listen, register the webhook with Telegram, and serve until ``runner.stop()``."""
    conf = runner.settings
    secret = check_secret(conf.webhook_secret.get_secret_value())
    path = urlsplit(conf.webhook_url).path or "/"
    site_runner = web.AppRunner(make_app(runner, secret, path), access_log=None)
    await site_runner.setup()
    try:
        await web.TCPSite(site_runner, conf.webhook_host, conf.webhook_port).start()
        await runner.bot.set_webhook(conf.webhook_url, secret_token=secret,
                                     allowed_updates=ALLOWED_UPDATES)
        event("webhook_set", path=path, port=conf.webhook_port)
        await runner.wait_stopped()
    finally:
        await site_runner.cleanup()
        event("bot_stopped", mode="webhook")
