"""``veil bank policy``, ``veil bank disable``/``enable``, ``veil quarantine`` and
``veil audit`` end to end (Typer's CliRunner) on the test's database."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner, Result

from veil.cli import app
from veil.config import load_settings
from veil.store import open_store

H = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
Veil = Callable[..., Result]


@pytest.fixture
def veil(database_url: str) -> Veil:
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(app, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception)
        return result

    return run


def flat(text: str) -> str:
    return " ".join(text.split())


def test_bank_policy_shows_changes_and_refuses_bad_input(veil: Veil) -> None:
    assert veil("bank", "create", "imp", "-c", "imported").exit_code == 0
    r = veil("bank", "policy", "imp")
    assert r.exit_code == 0 and "review on match (the category's default); -" in flat(r.stdout)
    r = veil("bank", "policy", "imp", "--action", "block", "-t", "pdq=20", "--priority", "3")
    assert r.exit_code == 0, r.output
    assert "changed policy of bank imp (imported): block on match; pdq ≤ 20, priority 3" in flat(
        r.stdout)
    r = veil("bank", "policy", "imp", "-t", "md5=0", "--disable", "--json")
    out = json.loads(r.stdout)
    assert out["policy"] == {"action": "block", "thresholds": {"pdq": 20, "md5": 0},
                             "priority": 3, "enabled": False}
    assert out["enabled"] is False
    listed = flat(veil("bank", "list").stdout)
    assert "DISABLED, md5 ≤ 0, pdq ≤ 20, priority 3" in listed
    r = veil("bank", "policy", "imp", "--reset", "--enable")
    assert r.exit_code == 0 and "review on match" in flat(r.stdout)
    for args, words in [(("-t", "pdq=40"), "above 31"), (("-t", "pdq"), "SIGNAL=BITS"),
                        (("-t", "zz=3"), "unknown signal type"),
                        (("-t", "pdq=999"), "between 0 and 256"),
                        (("--priority", "5000"), "priority")]:
        r = veil("bank", "policy", "imp", *args)
        assert r.exit_code == 2 and words in flat(r.output), (args, r.output)
        assert "Traceback" not in r.output
    assert veil("bank", "policy", "nope").exit_code == 2


def test_disable_and_enable_by_hash_or_id(veil: Veil) -> None:
    veil("bank", "create", "imp", "-c", "imported")
    veil("bank", "add", "imp", H, "--source", "partner")
    veil("bank", "add", "imp", "0" * 64)  # something left to match against
    r = veil("bank", "disable", "imp", H, "--reason", "a stock photo")
    assert r.exit_code == 0 and "a note for its source list is pending" in flat(r.stdout)
    assert veil("match", H).exit_code == 0  # no match any more
    r = veil("bank", "disable", "imp", H)
    assert r.exit_code == 2 and "already disabled" in r.output
    with open_store(load_settings()) as store:
        entry = store.list_entries(bank="imp")[0]
    assert entry.status == "disabled"
    assert veil("bank", "enable", "other", "--id", str(entry.id)).exit_code == 2
    r = veil("bank", "enable", "imp", "--id", str(entry.id))
    assert r.exit_code == 0 and "matches again" in r.stdout
    assert veil("match", H).exit_code == 1
    assert "say which entry to disable" in veil("bank", "disable", "imp").output


def test_quarantine_list_release_confirm(veil: Veil) -> None:
    veil("bank", "create", "imp", "-c", "imported", "--action", "block")
    veil("bank", "add", "imp", H)
    with open_store(load_settings()) as store:
        entry = store.list_entries(bank="imp")[0]
        q, _ = store.quarantine("entry", "imp", entry.id, detail={
            "reason": "entry_uploads", "distinct_uploads": 50, "window_uploads": 10000},
            actor="veil:flood-protection")
    r = veil("quarantine", "list")
    assert r.exit_code == 0 and "matched 50 distinct pictures within 10000 uploads" in flat(
        r.stdout)
    from veil.matching import BankMatcher

    with open_store(load_settings()) as store:  # what veil scan and the service decide
        m = BankMatcher.load(store.settings, store, snapshots=False)
        assert m.decide(m.search("pdq", [H])[0]).decision == "review"
    r = veil("quarantine", "release", str(q.id), "--reason", "fine")
    assert r.exit_code == 0 and "released" in r.stdout
    assert "no active quarantines" in veil("quarantine", "list").stderr
    listed = [json.loads(x) for x in veil("quarantine", "list", "--status", "all",
                                          "--json").stdout.splitlines()]
    assert [(x["status"], x["decided_by"]) for x in listed] == [("released", listed[0]
                                                                 ["decided_by"])]
    assert listed[0]["decided_by"].startswith("cli:")
    r = veil("quarantine", "confirm", str(q.id))
    assert r.exit_code == 2 and "already released" in r.output
    assert veil("quarantine", "list", "--status", "lost").exit_code == 2


def test_audit_filters_prints_a_table_and_json(veil: Veil) -> None:
    veil("bank", "create", "imp", "-c", "imported")
    veil("bank", "add", "imp", H)
    veil("bank", "policy", "imp", "--priority", "2")
    veil("bank", "create", "other[/red]", "-c", "imported")  # refused name: nothing logged
    r = veil("audit")
    assert r.exit_code == 0
    assert "bank.policy" in r.stdout and "entry.add" in r.stdout and "bank.create" in r.stdout
    events = [json.loads(x) for x in veil("audit", "--json").stdout.splitlines()]
    assert [e["action"] for e in events] == ["bank.policy", "entry.add", "bank.create"]
    assert all(e["actor"].startswith("cli:") and e["bank"] == "imp" for e in events)
    assert H not in veil("audit", "--json").stdout  # never a hash
    only = [json.loads(x) for x in veil("audit", "--json", "--action", "bank.policy",
                                        "--bank", "imp").stdout.splitlines()]
    assert len(only) == 1 and only[0]["detail"]["policy"] == {"priority": 2}
    assert veil("audit", "--json", "--actor", "someone-else").stdout == ""
    assert len(veil("audit", "--json", "--since", "1h").stdout.splitlines()) == 3
    future = datetime(2999, 1, 1, tzinfo=UTC).isoformat()
    assert veil("audit", "--json", "--since", future).stdout == ""
    assert len(veil("audit", "--json", "--since", "2020-01-01").stdout.splitlines()) == 3
    assert len(veil("audit", "--json", "-n", "2").stdout.splitlines()) == 2
    r = veil("audit", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "--since takes" in r.output
    assert "no audit events match" in veil("audit", "--bank", "nope").stderr
