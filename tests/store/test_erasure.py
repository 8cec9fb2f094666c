"""Erasing what is kept of a withdrawn hash outside its row: the index snapshots of its
type, and the database's old row versions (work a busy reader left pending is
finished by the running process, not at its next withdrawal or restart)."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from veil.config import Settings, snapshot_path
from veil.store import Store, open_store
from veil.store.cases import CaseSignalIn
from veil.store.models import Entry

VALUE = "5e" * 32


def _wait_for(done: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_erasure_a_reader_kept_pending_is_retried_without_a_restart(
        settings: Settings, tmp_path: Path) -> None:
    # always a SQLite file, whatever database the rest of the suite runs on: its WAL
    # is where a withdrawn hash lingers until checkpointed
    db = tmp_path / "erase.db"
    wal = Path(f"{db}-wal")

    def on_disk() -> bool:
        return any(VALUE.encode() in p.read_bytes() for p in tmp_path.glob("erase.db*"))

    s = settings.with_(database_url=f"sqlite:///{db}", db_busy_timeout_s=0)
    with open_store(s) as store:
        store.create_bank("b", "imported", actor="t")
        entry = store.add_entry("b", "pdq", VALUE, actor="t")
        store.start_eraser(offload=False, retry_s=0.05)
        assert _wait_for(lambda: wal.stat().st_size == 0)  # the start's own pass
        with store.engine.connect() as reader, reader.begin():
            # an open read transaction: the checkpoint after the withdrawal cannot
            # truncate the WAL, which still holds the row with the hash
            reader.execute(select(Entry.id)).all()
            store.withdraw(entry.id, actor="t")
            assert wal.stat().st_size > 0
            assert on_disk()  # the old page, not yet overwritten by the checkpoint
        # no other withdrawal, no restart: the eraser's retry checkpoints and truncates
        assert _wait_for(lambda: wal.stat().st_size == 0)
        assert not on_disk()


def test_an_erasure_deletes_the_snapshots_of_the_types_it_erased(store: Store) -> None:
    """The store's own step, whoever withdraws (CLI, API, a case): a snapshot that may
    hold the hash is gone once the withdrawal returns; other types' stay."""
    store.create_bank("b", "imported", actor="t")
    pdq = store.add_entry("b", "pdq", VALUE, actor="t")
    store.add_entry("b", "md5", "ab" * 16, actor="t")
    paths = {s: snapshot_path(store.settings.home, s) for s in ("pdq", "md5")}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(bytes.fromhex(VALUE))
    store.set_status(pdq.id, "disputed", actor="t")  # no hash erased: nothing deleted
    assert all(p.exists() for p in paths.values())
    store.withdraw(pdq.id, actor="t")
    assert not paths["pdq"].exists() and paths["md5"].exists()


def test_a_case_withdrawal_that_erases_deletes_the_snapshot(store: Store) -> None:
    case = store.create_case([CaseSignalIn("pdq", VALUE)], {}, bank="victims", actor="v")
    path = snapshot_path(store.settings.home, "pdq")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes.fromhex(VALUE))
    assert store.withdraw_case(case.case_id, actor="v") != []
    assert not path.exists()
