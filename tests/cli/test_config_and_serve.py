"""``veil config`` shows what is in effect; ``veil demo --serve`` and ``veil serve`` on a
busy port say so in one line before printing or creating anything."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veil.api.services import Services
from veil.cli import app
from veil.config import load_settings
from veil.errors import ConfigError

runner = CliRunner()


def test_config_shows_effective_values_their_variables_and_reasons(veil_home: Path) -> None:
    r = runner.invoke(app, ["config", "--json"], env={"VEIL_THRESHOLDS__PDQ": "24",
                                                      "VEIL_API_MAX_BATCH": "50"})
    assert r.exit_code == 0, r.output
    rows = {x["setting"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert rows["thresholds"]["value"]["pdq"] == 24 and rows["thresholds"]["from_environment"]
    assert rows["thresholds"]["value"]["phash"] == 10  # the type's own default
    assert rows["api.max_batch"] == {**rows["api.max_batch"], "value": 50,
                                     "env": "VEIL_API_MAX_BATCH", "from_environment": True}
    assert rows["media.max_bytes"]["env"] == "VEIL_MAX_BYTES"
    assert not rows["media.max_bytes"]["from_environment"]
    assert rows["min_quality"]["value"] == {"pdq": 50, "vpdq": 50}
    assert all(x["description"] for x in rows.values()), "every setting says why"
    table = runner.invoke(app, ["config"], env={"COLUMNS": "200"})
    assert "VEIL_API_INDEX_SYNC_MS" in table.stdout


def test_bad_settings_are_one_clear_line(veil_home: Path) -> None:
    r = runner.invoke(app, ["config"], env={"VEIL_MAX_BYTES": "lots"})
    assert r.exit_code == 2
    assert "config.invalid" in r.output and "VEIL_MAX_BYTES" in r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize(("env", "says"), [
    ({"VEIL_THRESHOLDS__PDQ": "300"}, "VEIL_THRESHOLDS__PDQ: 300 is above 256"),
    ({"VEIL_MAX_THRESHOLDS__PQD": "3"}, "VEIL_MAX_THRESHOLDS__PQD: no signal type 'pqd'"),
    ({"VEIL_MIN_QUALITY__MD5": "3"}, "VEIL_MIN_QUALITY__MD5: md5 hashes carry no quality"),
])
def test_per_signal_settings_name_a_known_type_within_its_range(
        veil_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str], says: str) -> None:
    (tmp_path / "a.txt").write_text("not media")
    for cmd in (["config"], ["scan", str(tmp_path)], ["match", "0" * 64]):
        r = runner.invoke(app, cmd, env={**env, "COLUMNS": "300"})
        assert r.exit_code == 2, (cmd, r.output)
        assert "config.invalid" in r.output and says in r.output, r.output
        assert "Traceback" not in r.output
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says):  # veil serve: before anything starts
        Services(load_settings())


def test_a_busy_port_is_one_line_before_any_key_is_made(veil_home: Path,
                                                        tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for cmd in (["demo", "--serve", "--port", str(port)], ["serve", "--port", str(port)]):
            done = subprocess.run([sys.executable, "-m", "veil.cli.__main__", *cmd],
                                  capture_output=True, text=True, timeout=120,
                                  env={"VEIL_HOME": str(veil_home), "PATH": "/usr/bin:/bin",
                                       "VEIL_TEST_DATA": str(tmp_path / "none")})
            assert done.returncode == 2, done.stdout + done.stderr
            assert f"port {port} on 127.0.0.1 is in use" in done.stderr
            assert "veil_" not in done.stdout + done.stderr  # no key printed (or made)
            assert len(done.stderr.strip().splitlines()) <= 2
    assert not (veil_home / "veil.db").exists()  # nothing was created


def test_an_address_not_on_this_machine_is_not_called_in_use(veil_home: Path) -> None:
    """Only EADDRINUSE means "in use"; 192.0.2.1 (TEST-NET-1, on no machine) cannot be
    listened on for another reason, and the line says that reason."""
    for cmd in (["demo", "--serve"], ["serve"]):
        r = runner.invoke(app, [*cmd, "--host", "192.0.2.1", "--port", "8000"])
        assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
        assert r.stderr.startswith("error serve.cannot_listen cannot listen on 192.0.2.1 port "
                                   "8000: "), r.stderr
        assert "in use" not in r.stderr
    assert not (veil_home / "veil.db").exists()  # nothing was created
