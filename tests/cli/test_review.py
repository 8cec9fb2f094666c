"""``veil review list|purge``: the items waiting, and the purge of media past its
retention deadline."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from veil.cli import app
from veil.config import load_settings
from veil.review.items import create_item
from veil.review.sealing import load_sealer
from veil.store import open_store
from veil.store.coltypes import utcnow


def test_list_and_purge(database_url: str) -> None:
    settings = load_settings()
    with open_store(settings) as store:
        item = create_item(store, load_sealer(settings), settings, source="report",
                           platform="key:1:acme [b]", data=b"\xff\xd8 some bytes",
                           fmt="JPEG", verdict={"decision": "allow", "reasons": []},
                           signals=[])
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [item.id]
    table = runner.invoke(app, ["review", "list"])
    assert "acme [b]" in table.stdout and "47 h" in table.stdout
    # not due yet
    r = runner.invoke(app, ["review", "purge"])
    assert r.exit_code == 0 and r.stdout.strip() == ""
    later = (utcnow() + timedelta(days=7, minutes=1)).isoformat()
    r = runner.invoke(app, ["review", "purge", "--at", later])
    assert r.exit_code == 0 and r.stdout.split() == [item.id]
    with open_store(settings) as store:
        assert store.review_item(item.id).status == "purged"
        assert store.sealed_review_media(item.id, actor="test") is None
    r = runner.invoke(app, ["review", "purge", "--at", "yesterday"])
    assert r.exit_code == 2
