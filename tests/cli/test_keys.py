"""``veil keys create|list|revoke``: the key is printed once and stored only hashed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from veil.cli import app
from veil.config import load_settings
from veil.store import open_store
from veil.store.keys import key_hash


def test_create_list_revoke(database_url: str) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--scope", "platform", "--scope", "review",
                            "--name", "acme moderation"])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip()
    assert key.startswith("veil_") and len(key) >= 48
    assert "cannot be shown again" in " ".join(r.stderr.split())
    listed = [json.loads(x) for x in runner.invoke(app, ["keys", "list", "--json"])
              .stdout.splitlines()]
    assert [(k["id"], k["name"], k["scopes"], k["revoked_at"]) for k in listed] == [
        (1, "acme moderation", ["platform", "review"], None)]
    assert key not in json.dumps(listed) and key.startswith(listed[0]["prefix"])
    with open_store(load_settings()) as store:
        assert key_hash(key) in store.active_key_hashes()
        from sqlalchemy import text

        with store.engine.connect() as conn:
            dump = repr(conn.execute(text("SELECT * FROM api_keys")).all())
        assert key not in dump
    table = runner.invoke(app, ["keys", "list"]).stdout
    assert "acme" in table and "active" in table
    assert runner.invoke(app, ["keys", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout
    r = runner.invoke(app, ["keys", "revoke", "1"])
    assert r.exit_code == 2 and "already revoked" in r.stderr
    with open_store(load_settings()) as store:
        assert store.active_key_hashes() == {}
        assert [a.action for a in store.audit()] == ["key.revoke", "key.create"]


def test_bad_scope(database_url: str) -> None:
    r = CliRunner().invoke(app, ["keys", "create", "--scope", "root"])
    assert r.exit_code == 2 and "unknown scope" in r.stderr
    r = CliRunner().invoke(app, ["keys", "revoke", "42"])
    assert r.exit_code == 2 and "no API key 42" in r.stderr
