"""The remote mode: the bot sends each picture to a real ``veil serve`` on loopback
(``POST /v1/scan`` with a platform key) instead of matching in process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from bot_support import Harness, scenario
from fake_telegram import ADMIN, FakeTelegram

from served import free_port, stop, wait_ready
from veil.bot.scanner import RemoteScanner
from veil.store import Store


def test_the_remote_mode_scans_through_veil_serve(harness: Harness, store: Store) -> None:
    _, key = store.create_api_key(["platform"], name="bot", actor="test")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "veil.cli", "serve", "--port", str(port),
                             "--log-level", "warning"], env=dict(os.environ))
    try:
        assert wait_ready(url, proc, 60), "veil serve did not start"

        async def run(fake: FakeTelegram) -> None:
            banked = fake.photo("banked", harness.banked)
            fake.photo("clean", harness.clean)
            fake.photo("junk", b"not a picture")
            harness.scanner = RemoteScanner(url, key)
            runner = harness.runner(fake, mode="remote")
            try:
                await harness.run_all(fake, runner)
                assert fake.deleted() == [banked["message_id"]]
                [notice] = [p["text"] for p in fake.called("sendMessage")]
                assert "bank 'ncii'" in notice
                media = runner.metrics.media
                assert media.labels("allow")._value.get() == 1
                assert media.labels("undecodable")._value.get() == 1
                # a wrong key is an error the bot counts, not a crash or a deletion
                await harness.scanner.close()
                harness.scanner = RemoteScanner(url, "veil_wrong")
                fake.photo("banked", harness.banked)
                again = harness.runner(fake, mode="remote")
                await harness.run_all(fake, again)
                assert again.metrics.media.labels("error")._value.get() == 1
                assert fake.deleted() == [banked["message_id"]]
                # a review verdict: the service keeps the picture as a review item
                # (VEIL_REVIEW_FROM_VERDICTS) and the admins are told its id
                await harness.scanner.close()
                harness.scanner = RemoteScanner(url, key)
                store.update_bank_policy("ncii", {"action": "review"}, actor="test")
                await asyncio.sleep(1.5)  # the service's index sync (1 s) picks it up
                fake.photo("banked", harness.banked)
                third = harness.runner(fake, mode="remote")
                await harness.run_all(fake, third)
                [item] = store.review_items()
                assert any(f"review item {item.id}" in p["text"]
                           for p in fake.called("sendMessage"))
                # /veil_report: POST /v1/reports keeps the reported picture
                suspect = fake.photo("clean", harness.clean)
                fake.post(text="/veil_report", reply_to_message=suspect, user=ADMIN)
                await harness.run_all(fake, harness.runner(fake, mode="remote"))
                reported = [i for i in store.review_items() if i.source == "report"]
                assert len(reported) == 1
                assert any(f"review item {reported[0].id}" in p["text"]
                           for p in fake.called("sendMessage"))
            finally:
                await harness.scanner.close()

        scenario(run)
    finally:
        stop(proc)
