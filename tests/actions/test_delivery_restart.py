"""At-least-once delivery across a restart, against a real receiver on loopback.

A real ``veil serve`` sends /v1/match verdicts' events to a receiver that first
refuses everything; the service is stopped (SIGTERM) with the events pending in the
database, and a new one started, while the receiver fails a few more tries and loses
two of its answers after processing. Every event must arrive, signed, in order per
subject, and be processed exactly once by its delivery id."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from served import free_port, stop, wait_ready
from veil.actions.sealing import Sealer
from veil.actions.subscriptions import add_webhook
from veil.config import load_settings
from veil.store import open_store
from webhook_receiver import Receiver

VEIL = Path(sys.executable).parent / "veil"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
SUBJECTS = ("post-a", "post-b", "post-c")


class Serve:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(VEIL), "serve", "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1]],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_ready(self.url, self.proc, 30):
            self.stop()
            raise AssertionError(f"veil serve did not start: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop(self.proc)
        self.log.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_events_survive_a_restart_in_order_and_once(
        veil_home: Path, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        receiver: Receiver) -> None:
    for name, value in {"BASE_DELAY_S": "0.02", "MAX_DELAY_S": "0.1", "POLL_S": "0.05",
                        "TIMEOUT_S": "5", "MAX_ATTEMPTS": "100"}.items():
        monkeypatch.setenv(f"VEIL_WEBHOOK_{name}", value)
    settings = load_settings()
    with open_store(settings) as store:
        record, key = store.create_api_key(["platform"], name="platform-1", actor="test")
        store.create_bank("ncii", "confirmed_ncii", actor="test")
        store.add_entry("ncii", "pdq", PDQ, actor="test", quality=100)
        _, receiver.secret = add_webhook(store, Sealer(settings), "platform-1-hook",
                                         receiver.url, actor="test", key_id=record.id)
    env = {**os.environ, "VEIL_HOME": str(veil_home), "VEIL_DATABASE_URL": database_url}
    sent: dict[str, list[str]] = {s: [] for s in SUBJECTS}  # request ids, in order

    def match_all(server: Serve) -> None:
        for subject in SUBJECTS:
            r = httpx.post(server.url + "/v1/match", timeout=10,
                           headers={"Authorization": f"Bearer {key}"},
                           json={"signals": [{"signal": "pdq", "value": PDQ}],
                                 "subject": subject})
            assert r.json()["results"][0]["decision"] == "block", r.text
            sent[subject].append(r.headers["Veil-Request-Id"])

    log = tmp_path / "serve.log"
    receiver.fail_next = 10**9  # the receiver is down
    first = Serve(env, log)
    try:
        match_all(first)
        match_all(first)
        deadline = time.monotonic() + 20
        while len(receiver.requests) < 9:  # a few failed tries of each subject's first
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.02)
    finally:
        first.stop()
    assert receiver.processed == []
    tried_before = {r["delivery_id"] for r in receiver.requests}
    assert len(tried_before) == len(SUBJECTS)  # only each subject's first was tried
    with open_store(settings) as store:
        assert store.outbox_counts() == {"pending": 6, "delivered": 0, "dead": 0}

    receiver.fail_next = 4  # still failing for a moment after the restart
    receiver.lose_answers = 2  # processed, but the answer is lost: Veil tries again
    second = Serve(env, log)
    try:
        match_all(second)
        match_all(second)
        processed = receiver.wait_processed(12)
    finally:
        second.stop()

    assert all(r["signed"] for r in receiver.requests) and receiver.bad_signatures == 0
    ids = [e["delivery_id"] for e in processed]
    assert len(ids) == len(set(ids)) == 12  # each processed once…
    assert receiver.duplicates == 2  # …though the two lost answers were delivered again
    for subject in SUBJECTS:  # in order per subject, across the restart
        got = [e["data"]["request_id"] for e in processed if e["subject"] == subject]
        assert got == sent[subject]
    # the deliveries tried before the restart went on counting tries after it
    after = [r for r in receiver.requests if r["delivery_id"] in tried_before
             and r.get("answer") == 200]
    assert after and all(int(r["attempt"]) > 1 for r in after)
    assert {e["type"] for e in processed} == {"match.verdict"}
    with open_store(settings) as store:
        assert store.outbox_counts() == {"pending": 0, "delivered": 12, "dead": 0}
