"""``veil bot``'s start: the scanner of the configured mode, the state, the metrics
listener, then long polling or the webhook until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

from veil.bot.runner import Runner, serve_metrics
from veil.bot.scanner import LocalScanner, RemoteScanner, Scanner, review_keeper
from veil.bot.state import BotState
from veil.bot.webhook import check_secret, run_webhook
from veil.config import Settings
from veil.errors import BotUnreachable, ConfigError


async def run_bot(settings: Settings) -> None:
    """``veil bot``: poll (or serve the webhook) until SIGINT/SIGTERM, then let the
    updates in flight finish."""
    conf = settings.bot
    if not conf.token.get_secret_value():
        raise ConfigError("VEIL_BOT_TOKEN is not set (the token @BotFather gave you)")
    if conf.webhook_url:
        check_secret(conf.webhook_secret.get_secret_value())  # before anything starts
    state = BotState.load(settings.home / "bot-state.json")
    live = store = None
    scanner: Scanner
    if conf.mode == "remote":
        if not conf.remote_url or not conf.remote_key.get_secret_value():
            raise ConfigError("the remote mode needs VEIL_BOT_REMOTE_URL and "
                              "VEIL_BOT_REMOTE_KEY (a platform-scope key)")
        scanner = RemoteScanner(conf.remote_url, conf.remote_key.get_secret_value())
    else:
        from veil.matching import LiveMatcher
        from veil.store import open_store

        store = open_store(settings)
        live = LiveMatcher(settings, store)
        await asyncio.to_thread(live.load)
        # bank changes made by the CLI or a service on the same store reach the bot
        live.start_polling(settings.api.index_sync_ms / 1000)
        # a review verdict keeps the picture, sealed, for the reviewers (as the
        # service's /v1/scan does; VEIL_REVIEW_FROM_VERDICTS=false: the admins only)
        keeper = review_keeper(store, settings) if settings.review.from_verdicts else None
        scanner = LocalScanner(live, keeper)
    runner = Runner(conf, scanner, state, text_threshold=settings.text_threshold)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    metrics_site = (await serve_metrics(runner.metrics, conf.metrics_port)
                    if conf.metrics_port else None)
    try:
        if conf.webhook_url:
            await run_webhook(runner)
        else:
            await runner.run()
    except TelegramUnauthorizedError:
        raise ConfigError("VEIL_BOT_TOKEN: Telegram refused the token (revoked, or not "
                          "the one @BotFather gave)") from None
    except TelegramNetworkError as exc:
        raise BotUnreachable(f"cannot reach the Bot API at {conf.api_url} "
                             f"({exc.message})") from None
    finally:
        if metrics_site is not None:
            await metrics_site.cleanup()
        await scanner.close()
        await runner.bot.session.close()
        if live is not None:
            live.stop_polling()
        if store is not None:
            store.close()
