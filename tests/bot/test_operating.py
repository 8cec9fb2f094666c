"""Running the bot: floods, 429s, restarts, metrics, and its command line."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections import Counter

import pytest
from bot_support import Harness, scenario
from fake_telegram import BOT_ID, GROUP, FakeTelegram

from veil.bot.runner import serve_metrics
from veil.bot.scanner import Outcome
from veil.config import Settings
from veil.errors import BotUnreachable, ConfigError

ADVERT = "Раздеваем любую фотку за минуту, бот t.me/undress_ai_bot"


def _flood(fake: FakeTelegram, n: int, every: int = 100) -> set[int]:
    """``n`` messages in three chats, every ``every``-th an advert: the ids to delete."""
    fake.admins |= {(GROUP - 1, BOT_ID), (GROUP - 2, BOT_ID)}
    adverts = set()
    for i in range(n):
        advert = i % every == every - 1
        posted = fake.post(chat_id=GROUP - i % 3,
                           text=ADVERT if advert else f"message {i}: see you at {i % 24}h")
        if advert:
            adverts.add(posted["message_id"])
    return adverts


def test_a_flood_of_1000_messages_is_handled_once_each(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        adverts = _flood(fake, 1000)
        runner = harness.runner(fake)
        await harness.run_all(fake, runner, timeout=120)
        assert sorted(fake.deleted()) == sorted(adverts)
        assert runner.metrics.updates.labels("message")._value.get() == 1000
        assert runner.metrics.texts.labels("flagged")._value.get() == 10
        # batches of at most 100, each confirmed by the next call's offset
        offsets = [int(p.get("offset", 0)) for p in fake.called("getUpdates")]
        assert offsets == sorted(offsets) and offsets[-1] == 1001

    scenario(run)


def test_a_429_is_waited_out_with_its_retry_after(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        posted = fake.post(text=ADVERT)
        fake.throttle("deleteMessage", 1)
        fake.throttle("getUpdates", 1)
        runner = harness.runner(fake)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await harness.run_all(fake, runner)
        assert loop.time() - started >= 2  # both waits were kept
        assert fake.deleted() == [posted["message_id"]]
        assert [name for name, _ in fake.calls if name.endswith(":429")] == [
            "getUpdates:429", "deleteMessage:429"]
        assert runner.metrics.retries._value.get() == 2

    scenario(run)


def test_a_restart_mid_stream_loses_nothing_and_repeats_nothing(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        adverts = _flood(fake, 300, every=3)
        first = harness.runner(fake, concurrency=4)
        # stopped (as by SIGTERM) part way through the first batch of 100
        await harness.run(fake, first, lambda: len(fake.deleted()) >= 10)
        handled_first = len(first.state.done) + first.state.offset - 1
        assert 10 <= handled_first < 300
        second = harness.runner(fake, concurrency=4)
        assert second.state.done == first.state.done  # read back from the file
        await harness.run_all(fake, second)
        deletions = Counter(fake.deleted())
        assert set(deletions) == adverts
        assert max(deletions.values()) == 1  # no update handled twice
        handled = (first.metrics.updates.labels("message")._value.get()
                   + second.metrics.updates.labels("message")._value.get())
        assert handled == 300

    scenario(run)


def test_the_state_file_survives_and_a_bad_one_is_a_clear_error(harness: Harness) -> None:
    from veil.bot.state import BotState

    path = harness.tmp / "state.json"
    state = BotState.load(path)
    state.chat(GROUP).policy = "ban"
    state.handled(7)
    state.confirm(5)
    again = BotState.load(path)
    assert (again.offset, again.done, again.chat(GROUP).policy) == (5, {7}, "ban")
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a bot state file"):
        BotState.load(path)


def test_metrics_are_served_on_loopback(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.post(text=ADVERT)
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        from served import free_port

        port = free_port()
        site = await serve_metrics(runner.metrics, port)
        try:
            body = await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                               timeout=5).read().decode())
        finally:
            await site.cleanup()
        assert 'veil_bot_texts_total{outcome="flagged"} 1.0' in body
        assert 'veil_bot_actions_total{action="delete"} 1.0' in body

    scenario(run)


def test_logs_carry_no_message_text(harness: Harness, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("INFO", logger="veil.bot")

    async def run(fake: FakeTelegram) -> None:
        fake.post(text=ADVERT)
        fake.post(text="a secret family matter")
        fake.photo("clean", harness.clean, caption="a private caption")
        await harness.run_all(fake, harness.runner(fake))

    scenario(run)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "veil.bot"]
    events = {line["event"] for line in lines}
    assert {"bot_started", "advert_removed", "media_checked", "bot_stopped"} <= events
    logged = caplog.text
    for secret in ("undress_ai_bot", "Раздеваем", "secret family", "private caption",
                   "Mallory"):
        assert secret not in logged


def test_veil_bot_without_a_token_says_so(veil_home) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run([sys.executable, "-m", "veil.cli", "bot"], capture_output=True,
                         text=True, timeout=60, env=_env(veil_home))
    assert out.returncode == 2, out.stderr
    assert "VEIL_BOT_TOKEN is not set" in out.stderr
    assert "Traceback" not in out.stderr
    veil_home.mkdir(parents=True, exist_ok=True)
    (veil_home / "bot-state.json").write_text("[]")
    env = {**_env(veil_home), "VEIL_BOT_TOKEN": "1:x", "VEIL_BOT_API_URL": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-m", "veil.cli", "bot"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 2, out.stderr
    assert "not a bot state file" in out.stderr and "Traceback" not in out.stderr


def _env(home) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_BOT_")}
    return {**env, "VEIL_HOME": str(home)}


class _SlowScanner:
    """Counts how many pictures are being checked at once, per chat and in all."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    async def scan(self, data: bytes) -> Outcome:
        chat = data.decode()
        for key in (chat, "all"):
            self.now[key] += 1
            self.most[key] = max(self.most[key], self.now[key])
        await asyncio.sleep(0.05)
        for key in (chat, "all"):
            self.now[key] -= 1
        return Outcome("allow")

    def describe(self) -> str:
        return "slow"

    async def close(self) -> None:
        return None


def test_concurrency_is_bounded_per_chat_and_in_all(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        chats = [GROUP, GROUP - 1, GROUP - 2]
        fake.admins |= {(c, BOT_ID) for c in chats}
        for i in range(8):
            for chat in chats:
                fake.files[f"{chat}-{i}"] = str(chat).encode()
                fake.post(chat_id=chat, photo=[{"file_id": f"{chat}-{i}",
                                                "file_unique_id": "u", "width": 9,
                                                "height": 9}])
        slow = _SlowScanner()
        harness.scanner = slow
        await harness.run_all(fake, harness.runner(fake, chat_concurrency=2, concurrency=4))
        assert slow.most["all"] == 4
        assert all(slow.most[str(c)] == 2 for c in chats), slow.most

    scenario(run)


def test_a_wrong_token_or_an_unreachable_api_is_one_clear_error(
        harness: Harness, settings: Settings) -> None:
    from served import free_port
    from veil.bot.app import run_bot

    closed = settings.with_(bot={"token": "1:x", "api_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(BotUnreachable, match="cannot reach the Bot API"):
        asyncio.run(run_bot(closed))

    async def run(fake: FakeTelegram) -> None:
        wrong = settings.with_(bot={"token": "1:wrong", "api_url": fake.url})
        with pytest.raises(ConfigError, match="Telegram refused the token"):
            await run_bot(wrong)

    scenario(run)
