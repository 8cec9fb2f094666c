"""The bot against the fake Bot API server (``fake_telegram``), on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from bot_support import Harness, jpeg

from veil.bot.scanner import LocalScanner
from veil.config import Settings
from veil.matching import BankMatcher
from veil.signals.batch import hash_bytes
from veil.store import Store


@pytest.fixture
def harness(tmp_path: Path, photos: list[Path], settings: Settings, store: Store) -> Harness:
    banked, clean = jpeg(photos[0]), jpeg(photos[1])
    pdq = next(s for s in hash_bytes(banked, settings.media, ("pdq",)).signals
               if s.type == "pdq")
    store.create_bank("ncii", "confirmed_ncii", actor="test")
    store.add_entry("ncii", "pdq", pdq.value, quality=pdq.quality, actor="test")
    matcher = BankMatcher.load(settings, store, snapshots=False)
    return Harness(tmp_path, LocalScanner(matcher), banked, clean)

