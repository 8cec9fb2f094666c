"""What stays on disk after a withdrawal: nothing of the hash. Every file under
VEIL_HOME (database, WAL, index snapshots) is searched for it, as text and as bytes;
on PostgreSQL the table's and indexes' pages are read back (pageinspect)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import ATTEST
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from veil.api import create_app
from veil.api.services import Services
from veil.config import Settings, load_settings
from veil.store import open_store

#: A victim's PDQ hash and MD5, and an unrelated entry kept beside them.
PDQ = "3c5e7a1b9d2f4068ace13579bdf02468fedcba9876543210a5b4c3d2e1f00f1e"
MD5 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _everything_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


@pytest.fixture
def snapshotting(api_env: None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("VEIL_INDEX_SNAPSHOT_MIN_ENTRIES", "1")  # snapshots even for 1 entry
    return load_settings()


def test_a_withdrawn_hash_is_nowhere_under_veil_home(snapshotting: Settings) -> None:
    settings = snapshotting
    services = Services(settings)
    services.start(background=False)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            r = client.post("/v1/cases", json={"signals": [
                {"signal": "pdq", "value": PDQ, "quality": 90},
                {"signal": "md5", "value": MD5}], "attestation": ATTEST})
            assert r.status_code == 201
            token = r.json()["case_token"]
            # the hash reaches the files: database, WAL, and (restart) a snapshot
            services.live.load()
            assert (settings.home / "index" / "pdq.snapshot").exists()
            if settings.database_url.startswith("sqlite"):
                assert any(PDQ.encode() in data for _, data in _everything_under(settings.home))
            r = client.delete("/v1/cases/me", headers={"X-Case-Token": token})
            assert r.status_code == 200 and r.json()["status"] == "withdrawn"
            # while the service still runs, its connections open (closing the last one
            # would checkpoint SQLite's WAL by itself)
            client.get("/v1/cases/me", headers={"X-Case-Token": token})
            needles = [v.encode() for v in (PDQ, MD5)] + [bytes.fromhex(v) for v in (PDQ, MD5)]
            found = [(p.name, n[:8]) for p, data in _everything_under(settings.home)
                     for n in needles if n in data]
            assert not found, f"the withdrawn hash is still on disk: {found}"
            if settings.database_url.startswith("postgresql"):
                deadline = time.monotonic() + 10  # the service vacuums in the background
                while True:
                    try:
                        _assert_gone_from_postgres(settings.database_url)
                        break
                    except AssertionError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
    finally:
        services.stop()


def _assert_gone_from_postgres(url: str) -> None:
    """No row version of the table, live or dead, and no index tuple holds the value.
    (PostgreSQL does not zero the space a removed version leaves in its page; those
    bytes are unreachable and overwritten as the page fills: docs/security.md.)"""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
            pages = conn.execute(text("SELECT pg_relation_size('entries') / "
                                      "current_setting('block_size')::int")).scalar_one()
            tuples = conn.execute(text(
                "SELECT t_data FROM generate_series(0, :n - 1) p, "
                "heap_page_items(get_raw_page('entries', p::int)) WHERE t_data IS NOT NULL"),
                {"n": pages}).scalars().all()
            assert tuples, "the check must see the table's row versions"
            indexes = conn.execute(text(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam "
                "WHERE i.indrelid = 'entries'::regclass AND a.amname = 'btree'")).scalars().all()
            keys: list[str] = []
            for rel in indexes:
                n = conn.execute(text("SELECT pg_relation_size(:r) / "
                                      "current_setting('block_size')::int"), {"r": rel}
                                 ).scalar_one()
                for page in range(1, n):  # page 0 is the metapage
                    keys += conn.execute(text(
                        "SELECT data FROM bt_page_items(:r, :p)"), {"r": rel, "p": page}
                    ).scalars().all()
        for value in (PDQ, MD5):
            assert not [t for t in tuples if value.encode() in bytes(t)], value
            spaced = " ".join(f"{b:02x}" for b in value.encode())
            assert not [k for k in keys if k and spaced[:47] in k], value
    finally:
        engine.dispose()


def test_the_data_folder_and_database_are_made_private(api_env: None, veil_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    veil_home.mkdir(parents=True, mode=0o755)
    os.chmod(veil_home, 0o755)
    settings = load_settings()
    open_store(settings).close()
    if settings.database_url.startswith("sqlite"):
        db = veil_home / "veil.db"
        os.chmod(db, 0o644)
    with open_store(settings) as store:
        store.create_bank("b", "imported", actor="t")
    assert stat.S_IMODE(veil_home.stat().st_mode) == 0o700
    for path in veil_home.glob("veil.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
