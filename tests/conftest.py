"""Fixtures shared by the whole suite.

The shared corpus (benign photos, PDQ reference vectors) is found through one
fixture: ``VEIL_TEST_DATA``, default ``../shared/data`` beside the repository. A test
that needs it fails loudly when it is missing — never skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from empty_db import empty_database
from veil.config import Settings, load_settings
from veil.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    return Path(os.environ.get("VEIL_TEST_DATA", REPO.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data_dir()
    if not (path / "photos").is_dir() or not (path / "pdq-reference").is_dir():
        pytest.fail(
            f"shared test data not found at {path} (set VEIL_TEST_DATA to the folder "
            "holding photos/ and pdq-reference/)"
        )
    return path


@pytest.fixture(scope="session")
def photos(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "photos").glob("*.jpg"))
    assert len(files) >= 100, f"expected the photo corpus in {shared_data / 'photos'}"
    return files


@pytest.fixture
def veil_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private VEIL_HOME and an empty database for one test.

    By default the database is a fresh SQLite file in that home. With
    ``VEIL_TEST_DATABASE_URL`` set (e.g. a throw-away PostgreSQL database, see
    ``make test-postgres``) that database is emptied and used instead.
    """
    home = tmp_path / "veil-home"
    monkeypatch.setenv("VEIL_HOME", str(home))
    url = os.environ.get("VEIL_TEST_DATABASE_URL")
    if url:
        empty_database(url)
        monkeypatch.setenv("VEIL_DATABASE_URL", url)
    else:
        monkeypatch.delenv("VEIL_DATABASE_URL", raising=False)
    return home


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The settings of a store or CLI test, read from its environment (the service
    tests override this with their own limits)."""
    s = load_settings()
    assert s.database_url == database_url
    return s


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings) as s:
        yield s


@pytest.fixture
def database_url(veil_home: Path) -> str:
    """The one database URL of a store or CLI test (it is also ``VEIL_DATABASE_URL``)."""
    return os.environ.get("VEIL_TEST_DATABASE_URL") or f"sqlite:///{veil_home / 'veil.db'}"
