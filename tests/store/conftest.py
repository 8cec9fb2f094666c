"""Store fixtures (the settings and an open ``Store`` are the root conftest's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from veil.store import Store


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
