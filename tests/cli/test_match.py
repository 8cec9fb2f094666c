"""``veil match`` end to end on a real store: output, exit codes, input sources, bad
input, dihedral groups, snapshots, batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from veil.cli import app
from veil.config import load_settings
from veil.index.packing import unpack_hex
from veil.store import open_store

runner = CliRunner()


def _rows(seed: int, n: int) -> list[str]:
    return unpack_hex(np.random.default_rng(seed).integers(0, 2**63, size=(n, 4),
                                                           dtype=np.uint64))


def _near(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


@pytest.fixture
def banked(veil_home: Path) -> list[str]:
    values = _rows(1, 50)
    with open_store(load_settings()) as store:
        store.create_bank("victims", "victim_submitted", actor="test")
        store.create_bank("listed", "imported", actor="test")
        for i, v in enumerate(values):
            store.add_entry("victims" if i % 2 else "listed", "pdq", v, actor="test")
    return values


def _json(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_matches_print_bank_entry_hash_and_distance(banked: list[str]) -> None:
    r = runner.invoke(app, ["match", _near(banked[1], 20)])
    assert r.exit_code == 1, r.output
    assert "victims" in r.output and banked[1] in r.output and "20" in r.output
    r = runner.invoke(app, ["match", "--json", _near(banked[1], 20), _near(banked[2], 40)])
    first, second = _json(r.output)
    assert [(m["bank"], m["value"], m["distance"]) for m in first["matches"]] == [
        ("victims", banked[1], 20)]
    assert second["matches"] == []
    assert first["source"] == "argument 1" and first["threshold"] == 31


def test_no_match_exits_zero(banked: list[str]) -> None:
    r = runner.invoke(app, ["match", _rows(9, 1)[0]])
    assert r.exit_code == 0, r.output
    assert "1 query, 0 with matches" in r.output


def test_threshold_is_applied(banked: list[str]) -> None:
    assert runner.invoke(app, ["match", "-t", "19", _near(banked[1], 20)]).exit_code == 0
    assert runner.invoke(app, ["match", "-t", "20", _near(banked[1], 20)]).exit_code == 1


def test_hashes_from_stdin_and_file_in_input_order(banked: list[str], tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text(f"# analyst's list\n\n{banked[4].upper()}\nnot-a-hash\n{_rows(9, 1)[0]}\n")
    r = runner.invoke(app, ["match", "--json", "-", "--file", str(f)],
                      input=f"{banked[3]}\n")
    assert r.exit_code == 2, r.output  # one bad line
    out = _json(r.output)
    assert [o["source"] for o in out] == ["stdin:1", f"{f}:3", f"{f}:4", f"{f}:5"]
    assert out[0]["matches"][0]["value"] == banked[3]
    assert out[1]["matches"][0]["value"] == banked[4]
    assert out[2]["error"]["code"] == "signal.bad_hash"
    assert out[3]["matches"] == []


def test_small_batches_give_the_same_answers(banked: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    queries = [_near(v, 3) for v in banked[:10]]
    whole = _json(runner.invoke(app, ["match", "--json", *queries]).output)
    monkeypatch.setenv("VEIL_MATCH_BATCH", "3")
    batched = _json(runner.invoke(app, ["match", "--json", *queries]).output)
    assert batched == whole and len(whole) == 10


@pytest.mark.parametrize(("args", "code"), [
    (["-t", "-1"], "input.bad_threshold"),
    (["-t", "257"], "input.bad_threshold"),
    (["--signal", "nope"], "signal.unknown"),
    (["--signal", "md5", "--dihedral"], "input.invalid"),
    (["--file", "/nonexistent/list.txt"], "input.invalid"),
])
def test_bad_options_fail_cleanly(banked: list[str], args: list[str], code: str) -> None:
    r = runner.invoke(app, ["match", *args, *([] if "--file" in args else [banked[0]])])
    assert r.exit_code == 2, r.output
    assert code in r.output and "Traceback" not in r.output


def test_no_hashes_and_empty_banks_are_errors(veil_home: Path) -> None:
    r = runner.invoke(app, ["match"])
    assert r.exit_code == 2 and "no hashes given" in r.output
    r = runner.invoke(app, ["match", "0" * 64])
    assert r.exit_code == 2 and "index.empty" in r.output


def test_dihedral_groups(banked: list[str]) -> None:
    others = _rows(5, 8)
    group = ",".join([others[0], _near(banked[6], 5), *others[2:]])
    r = runner.invoke(app, ["match", "--dihedral", "--json", group])
    assert r.exit_code == 1, r.output
    [out] = _json(r.output)
    assert out["query"] == others[0]
    assert [(m["value"], m["variant"]) for m in out["matches"]] == [(banked[6], "rotated_90_cw")]
    r = runner.invoke(app, ["match", "--dihedral", banked[0]])
    assert r.exit_code == 2 and "8 comma-separated" in r.output


def test_snapshot_is_written_reused_and_rebuilt_when_bad(banked: list[str], veil_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_INDEX_SNAPSHOT_MIN_ENTRIES", "1")
    snapshot = veil_home / "index" / "pdq.snapshot"
    assert runner.invoke(app, ["match", banked[0]]).exit_code == 1
    assert snapshot.exists()
    snapshot.write_bytes(snapshot.read_bytes()[:100])  # truncated
    r = runner.invoke(app, ["match", "--json", banked[0]])
    assert r.exit_code == 1 and _json(r.output)[0]["matches"][0]["value"] == banked[0]
    # a withdrawal makes the snapshot stale: the withdrawn hash must not match
    with open_store(load_settings()) as store:
        entry = next(e for e in store.iter_active("pdq") if e.value == banked[0])
        store.withdraw(entry.entry_id, actor="test")
    r = runner.invoke(app, ["match", "--json", "-t", "0", banked[0]])
    assert r.exit_code == 0 and _json(r.output)[0]["matches"] == []


def test_internal_notices_do_not_reach_the_terminal(banked: list[str], veil_home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuilt snapshot is routine: no raw log text on the terminal (a real process,
    where Python's last-resort handler would print it)."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("VEIL_INDEX_SNAPSHOT_MIN_ENTRIES", "1")
    assert runner.invoke(app, ["match", banked[0]]).exit_code == 1
    snapshot = veil_home / "index" / "pdq.snapshot"
    snapshot.write_bytes(snapshot.read_bytes()[:100])  # truncated: rebuilt on load
    done = subprocess.run([sys.executable, "-m", "veil.cli.__main__", "match", banked[0]],
                          env={**os.environ}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "snapshot" not in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("1 query, 1 with matches")
