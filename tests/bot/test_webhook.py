"""The webhook mode: setWebhook with a secret_token, checked on every call."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from bot_support import Harness, scenario
from fake_telegram import FakeTelegram

from served import free_port
from veil.bot.webhook import HEADER, check_secret, run_webhook
from veil.errors import ConfigError

SECRET = "s3cret_Token-1"
ADVERT = "Pаздевaем любую фоткy зa минуту 🔥 пишите боту"


def test_every_webhook_call_must_carry_the_secret(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        port = free_port()
        hook = f"http://127.0.0.1:{port}/tg/hook"
        runner = harness.runner(fake, webhook_url=hook, webhook_secret=SECRET,
                                webhook_port=port)
        task = asyncio.create_task(run_webhook(runner))
        try:
            while not fake.called("setWebhook"):
                assert not task.done(), task
                await asyncio.sleep(0.01)
            [registered] = fake.called("setWebhook")
            assert registered["url"] == hook and registered["secret_token"] == SECRET
            message = fake.post(text=ADVERT)
            update = {"update_id": 1, "message": message}
            async with aiohttp.ClientSession() as http:
                async def send(body: object, secret: str | None = SECRET) -> int:
                    headers = {HEADER: secret} if secret is not None else {}
                    async with http.post(hook, json=body, headers=headers) as r:
                        return r.status

                assert await send(update, secret=None) == 401
                assert await send(update, secret=SECRET + "x") == 401
                assert fake.deleted() == []  # refused before anything was read
                assert await send({"not": "an update"}) == 400
                assert await send([1, 2]) == 400
                async with http.post(hook, data=b"{" * (2 * 1024 * 1024),
                                     headers={HEADER: SECRET}) as r:
                    assert r.status == 413
                assert await send(update) == 200
                assert await send(update) == 200  # Telegram delivering it again
            assert fake.deleted() == [message["message_id"]]
            runner.stop()
            await asyncio.wait_for(task, 10)
        finally:
            task.cancel()
            await runner.bot.session.close()
        # back to long polling: the webhook is deleted first, then updates flow again
        advert = fake.post(text=ADVERT)
        await harness.run_all(fake, harness.runner(fake))
        assert fake.webhook == "" and fake.deleted() == [message["message_id"],
                                                         advert["message_id"]]

    scenario(run)


@pytest.mark.parametrize("secret", ["", "has space", "x" * 257, "ключ"])
def test_a_bad_secret_is_refused_at_start(secret: str) -> None:
    with pytest.raises(ConfigError, match="VEIL_BOT_WEBHOOK_SECRET"):
        check_secret(secret)
