"""Matching fixtures: settings and an open ``Store`` on the test's database."""

from __future__ import annotations

from collections.abc import Iterator

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
