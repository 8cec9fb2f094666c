"""``veil webhook add|list|remove|deadletter|replay``: the secret is printed once and
stored only sealed; dead letters are listed and replayed."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from veil.cli import app
from veil.config import load_settings
from veil.store import open_store


def test_add_list_deadletter_replay_remove(database_url: str) -> None:
    runner = CliRunner()
    with open_store(load_settings()) as store:
        key_id = store.create_api_key(["platform"], name="p", actor="t")[0].id
        store.create_bank("ncii", "confirmed_ncii", actor="t")
    r = runner.invoke(app, ["webhook", "add", "by-key", "https://example.org/hook",
                            "--key", str(key_id)])
    assert r.exit_code == 0, r.output
    secret = r.stdout.strip()
    assert secret.startswith("whsec_")
    assert "cannot be shown again" in " ".join(r.stderr.split())
    assert runner.invoke(app, ["webhook", "add", "by-bank", "http://127.0.0.1:9/h",
                               "--bank", "ncii"]).exit_code == 0
    listed = [json.loads(x) for x in runner.invoke(app, ["webhook", "list", "--json"])
              .stdout.splitlines()]
    assert [(w["name"], w["target"], w["key_id"], w["bank"]) for w in listed] == [
        ("by-key", "key", key_id, None), ("by-bank", "bank", None, "ncii")]
    assert secret not in json.dumps(listed)
    table = runner.invoke(app, ["webhook", "list"]).stdout
    assert "by-key" in table and "bank ncii" in table
    with open_store(load_settings()) as store:
        with store.engine.connect() as conn:
            dump = repr(conn.execute(text("SELECT * FROM webhook_subscriptions")).all())
        assert secret not in dump and secret[6:] not in dump
        store.emit("scan.verdict", "post-[red]1", {}, key_id=key_id)
        [d] = store.claim_deliveries(limit=5, lease_s=60)
        store.delivery_failed(d.id, "HTTP [bold]503", retry_at=None)

    dead = runner.invoke(app, ["webhook", "deadletter"])
    assert "post-[red]1" in dead.stdout and "HTTP [bold]503" in dead.stdout  # as it is
    [letter] = [json.loads(x) for x in runner.invoke(
        app, ["webhook", "deadletter", "--json"]).stdout.splitlines()]
    assert letter["delivery_id"] == d.delivery_id and letter["attempts"] == 1
    r = runner.invoke(app, ["webhook", "replay"])
    assert r.exit_code == 2 and "--all" in r.stderr
    r = runner.invoke(app, ["webhook", "replay", "no-such-id"])
    assert r.exit_code == 2 and "not_found" in r.stderr
    r = runner.invoke(app, ["webhook", "replay", d.delivery_id])
    assert r.exit_code == 0 and "1 dead letter queued again" in r.stdout
    assert runner.invoke(app, ["webhook", "replay", "--all"]).stdout.startswith("0 dead")
    assert "no dead letters" in runner.invoke(app, ["webhook", "deadletter"]).stderr

    r = runner.invoke(app, ["webhook", "remove", "by-key"])
    assert r.exit_code == 0 and "1 undelivered" in r.stdout
    r = runner.invoke(app, ["webhook", "remove", "by-key"])
    assert r.exit_code == 2 and "no webhook named" in r.stderr


def test_add_refuses_bad_input(database_url: str) -> None:
    runner = CliRunner()
    for args, words in [
        (["a", "https://example.org/"], "--key ID or --bank"),
        (["a", "https://example.org/", "--key", "1", "--bank", "b"], "--key ID or --bank"),
        (["a", "ftp://example.org/", "--bank", "b"], "http:// or https://"),
        (["a", "https://example.org/", "--bank", "nope"], "no bank named"),
        (["a", "https://example.org/", "--key", "77"], "no active API key"),
    ]:
        r = runner.invoke(app, ["webhook", "add", *args])
        assert r.exit_code == 2, (args, r.output)
        assert words in " ".join(r.stderr.split()), r.stderr
