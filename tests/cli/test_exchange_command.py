"""``veil exchange add|list|status|sync|rejects|disable|enable|remove`` against a
partner on loopback; the secret stays in the environment, never in the database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from exchange_partner import record, running_partner
from veil.cli import app
from veil.config import load_settings
from veil.store import open_store


def test_add_sync_status_rejects_remove(database_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("VEIL_EXCHANGE_KEY_HUB", "fetch-key,sub-key")
    with running_partner() as partner:
        good = [hashlib.sha256(f"cli-{i}".encode()).hexdigest() for i in range(4)]
        partner.records = [record(v) for v in good] + [record("not-hex")]
        r = runner.invoke(app, ["exchange", "add", "hub", "--kind", "stopncii",
                                "--url", partner.url, "--bank", "hub-list"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["exchange", "sync"])
        assert r.exit_code == 0, r.output
        said = " ".join(r.stderr.split())
        assert "hub: full walk" in said and "4 added" in said and "1 rejected" in said

        status = json.loads(runner.invoke(app, ["exchange", "status", "hub"]).stdout)
        assert status["entries"] == 4 and status["error"] is None
        assert status["checkpoint"] == partner.next_set_timestamp
        assert status["credentials"] is None  # the default: env:VEIL_EXCHANGE_KEY_HUB
        listed = [json.loads(x) for x in
                  runner.invoke(app, ["exchange", "list", "--json"]).stdout.splitlines()]
        assert [x["name"] for x in listed] == ["hub"]
        assert "hub-list" in runner.invoke(app, ["exchange", "list"]).stdout
        rejects = [json.loads(x) for x in
                   runner.invoke(app, ["exchange", "rejects", "hub"]).stdout.splitlines()]
        assert len(rejects) == 1 and "bad pdq hash" in rejects[0]["reason"]

        with open_store(load_settings()) as store, store.engine.connect() as conn:
            dump = repr(conn.execute(text("SELECT * FROM exchanges")).all())
        assert "fetch-key" not in dump and "sub-key" not in dump

        # a failing sync exits 1 and says why
        partner.faults = ["401"]
        r = runner.invoke(app, ["exchange", "sync", "hub"])
        assert r.exit_code == 1 and "401" in r.stderr

        # a refetch walks the whole list again
        assert runner.invoke(app, ["exchange", "refetch", "hub"]).exit_code == 0
        r = runner.invoke(app, ["exchange", "sync", "hub"])
        assert r.exit_code == 0 and "hub: full walk" in " ".join(r.stderr.split()), r.output

    assert runner.invoke(app, ["exchange", "disable", "hub"]).exit_code == 0
    r = runner.invoke(app, ["exchange", "sync"])
    assert r.exit_code == 0 and "no enabled exchanges" in r.stderr
    assert runner.invoke(app, ["exchange", "enable", "hub"]).exit_code == 0
    assert runner.invoke(app, ["exchange", "remove", "hub"]).exit_code == 0
    r = runner.invoke(app, ["exchange", "purge"])
    assert r.exit_code == 0 and "erased 0 tombstone(s)" in r.stderr
    assert runner.invoke(app, ["exchange", "list", "--json"]).stdout == ""


@pytest.mark.parametrize("args,said", [
    (["--kind", "ftp", "--url", "http://127.0.0.1:9/v1"], "unknown exchange kind"),
    (["--kind", "veil", "--url", "file:///etc/passwd"], "url must be an http"),
    (["--kind", "veil", "--url", "http://127.0.0.1:9/v1", "--credentials", "secret123"],
     "credentials must be env:VARIABLE or file:"),
])
def test_bad_exchanges_are_refused_with_a_reason(database_url: str, args: list[str],
                                                 said: str) -> None:
    r = CliRunner().invoke(app, ["exchange", "add", "x", "--bank", "b", *args])
    assert r.exit_code != 0 and said in " ".join(r.stderr.split()), r.output


def test_credentials_from_a_file_must_be_private(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    secret = tmp_path / "keys"
    secret.write_text("veil_key\n")
    secret.chmod(0o644)
    assert runner.invoke(app, ["exchange", "add", "peer", "--kind", "veil", "--url",
                               "http://127.0.0.1:9/stopncii/v1", "--bank", "peer-list",
                               "--credentials", f"file:{secret}"]).exit_code == 0
    r = runner.invoke(app, ["exchange", "sync", "peer"])
    assert r.exit_code == 1 and "chmod 600" in " ".join(r.stderr.split())
