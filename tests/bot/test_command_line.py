"""``veil bot`` as an operator runs it: a process, the banks in process, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from bot_support import Harness, scenario
from fake_telegram import TOKEN, FakeTelegram


def test_veil_bot_runs_moderates_and_stops_on_sigterm(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        banked = fake.photo("banked", harness.banked)
        env = {**os.environ, "VEIL_BOT_TOKEN": TOKEN, "VEIL_BOT_API_URL": fake.url,
               "VEIL_BOT_POLL_TIMEOUT_S": "1", "VEIL_BOT_DEFAULT_POLICY": "restrict"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "veil.cli", "bot", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while fake.confirmed <= banked["message_id"] and loop.time() < deadline:
                assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        assert fake.deleted() == [banked["message_id"]]
        assert len(fake.called("restrictChatMember")) == 1
        events = [json.loads(line)["event"] for line in err.decode().splitlines()
                  if line.startswith("{")]
        assert events[0] == "bot_started" and events[-1] == "bot_stopped"
        assert "picture_removed" in events
        assert TOKEN not in err.decode()

    scenario(run)
