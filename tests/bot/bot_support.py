"""What the bot's scenarios share: the harness and a runner of async scenarios.

The ``harness`` fixture (conftest) gives a scenario a bank with one picture in it (a
benign photo from the shared corpus stands in for a banked picture) and a way to
run the real bot until a condition holds; ``scenario`` starts the fake server.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fake_telegram import TOKEN, FakeTelegram
from PIL import Image

from veil.bot.observe import Metrics
from veil.bot.runner import Runner
from veil.bot.scanner import LocalScanner, Scanner
from veil.bot.state import BotState
from veil.config import BotSettings
from veil.store import Store


def jpeg(path: Path, side: int = 320) -> bytes:
    """A photo re-encoded small: what Telegram would hand the bot."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((side, side))
        out = io.BytesIO()
        im.save(out, "JPEG", quality=85)
        return out.getvalue()


@dataclass
class Harness:
    tmp: Path
    scanner: Scanner
    banked: bytes
    clean: bytes

    def reload(self, store: Store) -> None:
        """Read the banks again (after a test changed them)."""
        assert isinstance(self.scanner, LocalScanner)
        self.scanner.matcher.catch_up(store)

    def runner(self, fake: FakeTelegram, text_threshold: float | None = None,
               **settings: object) -> Runner:
        conf = BotSettings(token=TOKEN, api_url=fake.url, poll_timeout_s=1,
                           **settings)  # type: ignore[arg-type]
        return Runner(conf, self.scanner, BotState.load(self.tmp / "bot-state.json"),
                      metrics=Metrics(), text_threshold=text_threshold)

    async def run(self, fake: FakeTelegram, runner: Runner, until: Callable[[], bool],
                  timeout: float = 30) -> None:
        """Run ``runner`` until ``until()`` holds, then stop it as SIGTERM would."""
        task = asyncio.create_task(runner.run())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while not until():
                if task.done():
                    task.result()
                    raise AssertionError("the bot stopped on its own")
                assert loop.time() < deadline, "condition not reached in time"
                await asyncio.sleep(0.01)
            runner.stop()
            await asyncio.wait_for(task, 10)
        finally:
            task.cancel()
            await runner.bot.session.close()

    async def run_all(self, fake: FakeTelegram, runner: Runner, timeout: float = 30) -> None:
        """Until every update posted so far is handled and confirmed."""
        last = fake.last_update
        await self.run(fake, runner, lambda: fake.confirmed > last, timeout)



def scenario(fn: Callable[[FakeTelegram], object]) -> None:
    """Run an async scenario with a started fake server."""

    async def main() -> None:
        fake = FakeTelegram()
        await fake.start()
        try:
            await fn(fake)  # type: ignore[misc]
        finally:
            await fake.stop()

    asyncio.run(main())
