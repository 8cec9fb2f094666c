"""``veil keys partner`` and ``veil bank policy --share``: an admin sets a partner up
from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from veil.cli import app


def test_partner_setup(database_url: str) -> None:
    runner = CliRunner()

    def veil(*args: str) -> str:
        r = runner.invoke(app, list(args))
        assert r.exit_code == 0, r.output
        return r.stdout

    veil("bank", "create", "ncii", "--category", "confirmed_ncii")
    veil("bank", "create", "inbox", "--category", "imported")
    assert json.loads(veil("bank", "policy", "ncii", "--share", "--json"))["share"] is True
    assert "shared with exchange partners" in veil("bank", "list")
    veil("keys", "create", "--scope", "exchange", "--name", "acme[x]")
    out = veil("keys", "partner", "acme[x]", "--fetch-bank", "ncii", "--submit-bank", "inbox")
    assert "acme[x]" in out and "ncii" in out  # the name printed as it is, not as markup
    shown = json.loads(veil("keys", "partner", "acme[x]", "--show", "--json"))
    assert shown["fetch_banks"] == ["ncii"] and shown["submit_bank"] == "inbox"
    r = runner.invoke(app, ["keys", "partner", "acme[x]", "--fetch-bank", "nope"])
    assert r.exit_code != 0 and "nope" in r.output
    veil("keys", "create", "--scope", "platform", "--name", "plat")
    r = runner.invoke(app, ["keys", "partner", "plat", "--fetch-bank", "ncii"])
    assert r.exit_code != 0 and "exchange" in r.output
    assert json.loads(veil("bank", "policy", "ncii", "--no-share", "--json"))["share"] is False
