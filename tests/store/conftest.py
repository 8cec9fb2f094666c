"""Store fixtures: settings and an open ``Store`` on the test's database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from veil.config import Settings, load_settings
from veil.store import Store, open_store


@pytest.fixture
def settings(database_url: str) -> Settings:
    s = load_settings()
    assert s.database_url == database_url
    return s


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings) as s:
        yield s


@pytest.fixture
def snapshot(store: Store) -> Callable[[str], list[tuple[object, ...]]]:
    """Everything about a bank's entries that an import must not change."""

    def take(bank: str) -> list[tuple[object, ...]]:
        from sqlalchemy import select

        from veil.store.models import Bank, Entry

        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(Entry.id, Entry.signal, Entry.value, Entry.quality, Entry.status,
                       Entry.source, Entry.note, Entry.updated_at)
                .join(Bank).where(Bank.name == bank).order_by(Entry.id))]

    return take


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a real file (text as UTF-8, or raw bytes) under tmp_path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return _write
