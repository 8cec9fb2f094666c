"""``veil bank …`` end to end (Typer's CliRunner, one real subprocess), on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from veil.cli import app

H = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def pdq(i: int) -> str:
    return f"{i:064x}"


Veil = Callable[..., Result]


@pytest.fixture
def veil(database_url: str) -> Veil:
    """Run ``veil ARGS…`` in-process on the test's database."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(app, list(args))
        # a clean exit, never a traceback, whatever the input
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception)
        return result

    return run


def flat(text: str) -> str:
    return " ".join(text.split())


def test_create_and_list(veil: Veil) -> None:
    assert "no banks yet" in veil("bank", "list").stderr
    r = veil("bank", "create", "victims", "--category", "victim_submitted")
    assert r.exit_code == 0 and "created bank victims (victim_submitted, block" in flat(r.stdout)
    assert veil("bank", "create", "allow", "-c", "allowlist").exit_code == 0
    assert veil("bank", "create", "imp", "-c", "imported", "--action", "block").exit_code == 0
    table = flat(veil("bank", "list").stdout)
    for row in ("allow │ allowlist │ allow (default) │ - │ 0 │ 0 │ 0 │ 0",
                "imp │ imported │ block │ - │ 0 │ 0 │ 0 │ 0",
                "victims │ victim_submitted │ block (default) │ - │ 0 │ 0 │ 0 │ 0"):
        assert row in table
    listed = [json.loads(line) for line in veil("bank", "list", "--json").stdout.splitlines()]
    assert [(b["name"], b["action"], b["policy"]) for b in listed] == [
        ("allow", "allow", {}), ("imp", "block", {"action": "block"}),
        ("victims", "block", {})]
    assert listed[0]["counts"] == {"active": 0, "withdrawn": 0, "disputed": 0, "disabled": 0}


@pytest.mark.parametrize("args, message", [
    (("bank", "create", "x", "--category", "nope"), "Invalid value"),
    (("bank", "create", "bad name", "-c", "imported"), "bank name must be"),
    (("bank", "add", "nobank", H), "error not_found no bank named 'nobank'"),
])
def test_bad_arguments_exit_2_with_one_line(veil: Veil, args: tuple[str, ...],
                                            message: str) -> None:
    r = veil(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_add_and_duplicates(veil: Veil) -> None:
    veil("bank", "create", "b", "-c", "confirmed_ncii")
    r = veil("bank", "add", "b", H, "--quality", "88", "--source", "s", "--note", "n")
    assert r.exit_code == 0 and "added entry 1 (pdq) to bank b" in r.stdout
    r = veil("bank", "add", "b", H.upper())
    assert r.exit_code == 2 and "error conflict bank 'b' already has this pdq hash" in r.stderr
    r = veil("bank", "add", "b", H[:-1])
    assert r.exit_code == 2
    assert "error signal.bad_hash pdq hash must be 64 hex characters, got 63" in r.stderr
    r = veil("bank", "add", "b", "--signal", "md5", "0" * 32)
    assert r.exit_code == 0
    r = veil("bank", "add", "b", "--signal", "sha1", "0" * 40)
    assert r.exit_code == 2 and "signal.unknown" in r.stderr


def test_add_names_a_path_that_does_not_exist(veil: Veil, tmp_path: Path) -> None:
    """A missing file is named as one, not read as a malformed hash; nothing is added."""
    veil("bank", "create", "b", "-c", "confirmed_ncii")
    (tmp_path / "here.jpg").write_bytes(b"not read: the other path is missing")
    for items in ([str(tmp_path / "gone")], ["photo.jpg"],
                  [str(tmp_path / "here.jpg"), str(tmp_path / "gone.jpg")]):
        r = veil("bank", "add", "b", *items)
        assert r.exit_code == 2, r.output
        assert r.stderr == f"error input.invalid {items[-1]}: no such file or directory\n"
    assert '"active": 0' in veil("bank", "list", "--json").stdout


def test_import_export_round_trip(veil: Veil, tmp_path: Path) -> None:
    veil("bank", "create", "src", "-c", "confirmed_ncii")
    veil("bank", "create", "dst", "-c", "imported")
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("signal,value,quality,note\n" + "".join(
        f"pdq,{pdq(i)},{i},row {i}\n" for i in range(100)) + f"pdq,{pdq(5)},5,again\n")
    r = veil("bank", "import", "src", str(csv_file))
    assert r.exit_code == 0, r.output
    assert "imported 100 entries into bank src (1 duplicates skipped)" in flat(r.stdout)

    exported = veil("bank", "export", "src")
    assert exported.exit_code == 0
    lines = exported.stdout.splitlines()
    assert lines[0] == "signal,value,quality,category,source,note"
    assert lines[1] == f"pdq,{pdq(0)},0,confirmed_ncii,,row 0" and len(lines) == 101

    out = tmp_path / "copy.jsonl"
    r = veil("bank", "export", "src", "-o", str(out))
    assert r.exit_code == 0 and "exported 100 entries" in flat(r.stderr)
    assert json.loads(out.read_text().splitlines()[7]) == {
        "signal": "pdq", "value": pdq(7), "quality": 7, "category": "confirmed_ncii",
        "note": "row 7"}
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert veil("bank", "import", "dst", str(out)).exit_code == 0
    assert veil("bank", "export", "dst").stdout.replace("imported", "X") == (
        exported.stdout.replace("confirmed_ncii", "X"))

    as_text = tmp_path / "copy.txt"
    as_text.write_text(csv_file.read_text())
    r = veil("bank", "import", "dst", str(as_text))
    assert r.exit_code == 2 and "--format" in r.stderr
    r = veil("bank", "import", "dst", str(as_text), "--format", "csv")
    assert r.exit_code == 0 and "(101 duplicates skipped)" in flat(r.stdout)


def test_bad_import_lists_lines_and_imports_nothing(veil: Veil, tmp_path: Path) -> None:
    veil("bank", "create", "b", "-c", "imported")
    veil("bank", "add", "b", H)
    before = veil("bank", "export", "b").stdout
    path = tmp_path / "bad.csv"
    rows = [f"pdq,{pdq(i)}" if i % 2 else f"pdq,{pdq(i)[:-1]}" for i in range(50)]
    path.write_text("signal,value\n" + "\n".join(rows) + "\n")
    r = veil("bank", "import", "b", str(path))
    assert r.exit_code == 2
    err = r.stderr.splitlines()
    assert err[0] == f"{path}: line 2: pdq hash must be 64 hex characters, got 63: " \
                     f"'{pdq(0)[:-1]}'"
    assert sum(1 for line in err if ": line " in line) == 20
    assert "… and 5 more bad rows" in r.stderr
    assert "25 bad row(s) in" in flat(r.stderr) and "nothing was imported" in flat(r.stderr)
    assert veil("bank", "export", "b").stdout == before


def test_import_problems_exit_2(veil: Veil, tmp_path: Path) -> None:
    veil("bank", "create", "b", "-c", "imported")
    r = veil("bank", "import", "b", str(tmp_path / "missing.csv"))
    assert r.exit_code == 2 and "no such file" in r.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = veil("bank", "import", "b", str(empty))
    assert r.exit_code == 2 and "file is empty" in r.stderr
    r = veil("bank", "import", "nobank", str(empty))
    assert r.exit_code == 2 and "no bank named" in r.stderr


def test_withdraw(veil: Veil) -> None:
    veil("bank", "create", "v", "-c", "victim_submitted")
    veil("bank", "create", "other", "-c", "imported")
    veil("bank", "add", "v", H)
    veil("bank", "add", "v", pdq(1))
    veil("bank", "add", "other", pdq(2))
    r = veil("bank", "withdraw", "v", H.upper(), "--reason", "victim request")
    assert r.exit_code == 0 and "withdrew entry 1 from bank v; its hash is erased" in flat(
        r.stdout)
    assert H not in veil("bank", "export", "v").stdout
    r = veil("bank", "withdraw", "v", "--id", "2")
    assert r.exit_code == 0
    r = veil("bank", "withdraw", "v", "--id", "3")
    assert r.exit_code == 2 and "entry 3 is not in bank 'v'" in r.stderr
    r = veil("bank", "withdraw", "v", "--id", "2")
    assert r.exit_code == 2 and "already withdrawn" in r.stderr
    r = veil("bank", "withdraw", "v", H)
    assert r.exit_code == 2 and "not_found" in r.stderr
    r = veil("bank", "withdraw", "v")
    assert r.exit_code == 2 and "say which entry to withdraw" in flat(r.stderr)
    assert "--id N" in flat(r.stderr) and "-s md5" in flat(r.stderr)
    r = veil("bank", "withdraw", "v", H, "--id", "1")
    assert r.exit_code == 2 and "not both" in r.stderr
    listed = {b["name"]: b for b in map(json.loads, veil("bank", "list", "--json").stdout
                                        .splitlines())}
    assert listed["v"]["counts"] == {"active": 0, "withdrawn": 2, "disputed": 0, "disabled": 0}
    assert listed["other"]["counts"]["active"] == 1


def test_withdraw_deletes_the_index_snapshot_that_held_the_hash(veil: Veil,
                                                                 veil_home: Path) -> None:
    from veil.config import snapshot_path
    from veil.index import build_index, save_snapshot

    veil("bank", "create", "v", "-c", "victim_submitted")
    veil("bank", "add", "v", H)
    path = save_snapshot(build_index("pdq", [(1, "v", "victim_submitted", H, None)]),
                         snapshot_path(veil_home, "pdq"))
    veil("bank", "add", "v", pdq(1))
    assert path.exists()  # an add leaves it (stale: rebuilt at the next start)
    r = veil("bank", "withdraw", "v", H)
    assert r.exit_code == 0
    assert not path.exists()


def test_entry_point_in_a_subprocess(database_url: str, veil_home: Path) -> None:
    env = {**os.environ, "VEIL_HOME": str(veil_home)}
    cmd = [sys.executable, "-c", "from veil.cli import app; app()", "bank"]
    made = subprocess.run([*cmd, "create", "p", "-c", "protected_photo"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    listed = subprocess.run([*cmd, "list", "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert json.loads(listed.stdout)["action"] == "review"
