"""``veil demo`` (what ``make run`` runs): works without the shared corpus, and twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from served import free_port, wait_ready
from veil.cli import app
from veil.cli.demo import BANKED, DEMO_BANK, SYNTHETIC_COUNT
from veil.config import load_settings
from veil.store import open_store

runner = CliRunner()


def _summary(output: str) -> str:
    return " ".join(output.split())


def test_demo_on_synthetic_pictures_runs_twice(veil_home: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_TEST_DATA", str(tmp_path / "no-corpus-here"))
    env = {"COLUMNS": "300"}
    first = runner.invoke(app, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "synthetic pictures" in first.output
    banked = SYNTHETIC_COUNT // 7 + (SYNTHETIC_COUNT % 7 > 0)
    expected = (f"{SYNTHETIC_COUNT} files: 0 block, {banked} review, "
                f"{SYNTHETIC_COUNT - banked} clean, 0 errors")
    assert expected in _summary(first.output)
    second = runner.invoke(app, ["demo"], env=env)
    assert second.exit_code == 0, second.output
    assert "(0 new entries)" in _summary(second.output)
    assert expected in _summary(second.output)
    with open_store(load_settings()) as store:
        assert store.get_bank(DEMO_BANK).counts["active"] == 2 * banked  # pdq + md5


def test_demo_on_shared_corpus_finds_exactly_the_banked_photos(
        veil_home: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_TEST_DATA", str(shared_data))
    res = runner.invoke(app, ["demo"], env={"COLUMNS": "300"})
    assert res.exit_code == 0, res.output
    n = len(list((shared_data / "photos").glob("*.jpg")))
    assert f"{n} files: 0 block, {BANKED} review, {n - BANKED} clean, 0 errors" in _summary(
        res.output)


@pytest.mark.parametrize(("corpus", "env", "says"), [
    ("none", {"VEIL_HOME": "{blocker}"}, "demo.unwritable"),  # where it would draw
    ("one photo", {"VEIL_HOME": "{blocker}/home"}, "store.home_unusable"),
    ("one photo", {"VEIL_HOME": "{tmp}/home", "VEIL_MAX_BYTES": "lots"}, "config.invalid"),
])
def test_demo_failing_early_is_one_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: str, env: dict[str, str],
        says: str) -> None:
    """A home that is a file (or under one), a bad setting: a line, never a traceback."""
    from PIL import Image

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    if corpus == "one photo":
        (tmp_path / "data" / "photos").mkdir(parents=True)
        Image.new("RGB", (64, 48), "teal").save(tmp_path / "data" / "photos" / "a.jpg")
    monkeypatch.setenv("VEIL_TEST_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("VEIL_DATABASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(blocker=blocker, tmp=tmp_path))
    r = runner.invoke(app, ["demo"])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.timeout(180)
def test_demo_serve_prints_a_working_admin_key_once(tmp_path: Path) -> None:
    """What `make run` runs: the demo, then the service with a fresh admin key."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {**os.environ, "VEIL_HOME": str(tmp_path / "home"),
           "VEIL_TEST_DATA": str(tmp_path / "none"), "COLUMNS": "200"}
    env.pop("VEIL_DATABASE_URL", None)
    veil = [sys.executable, "-m", "veil.cli.__main__"]
    proc = subprocess.Popen([*veil, "demo", "--serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        keys: dict[str, str] = {}
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while len(keys) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the demo exited before printing its keys"
            label, _, value = line.strip().partition(":")
            if value.strip().startswith("veil_"):
                keys[label.strip()] = value.strip()
        assert set(keys) == {"platform", "admin, review"}, keys
        key = keys["admin, review"]
        assert wait_ready(f"http://127.0.0.1:{port}", proc, deadline - time.monotonic()), (
            "service never became ready")
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/admin/banks",
                                     headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            banks = json.load(r)
        assert DEMO_BANK in json.dumps(banks)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
