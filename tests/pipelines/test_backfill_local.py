"""``veil backfill --engine local``: one row per input, errors as rows, the report,
and restarts that neither repeat nor miss an input."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from backfill_support import BAD, PHOTOS
from typer.testing import CliRunner

from veil.cli import app
from veil.config import load_settings
from veil.errors import VeilError
from veil.pipelines.backfill import plan, run
from veil.pipelines.parts import Output
from veil.store import open_store

runner = CliRunner()


def rows(out: Path) -> list[dict]:
    parts = sorted(out.glob("part-*.parquet"))
    return [r for p in parts for r in pq.read_table(p).to_pylist()]


def backfill(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["backfill", *args])
    return res.exit_code, res.stdout


def test_every_input_gets_a_row_and_bad_files_are_errors(uploads: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout = backfill(str(uploads), "--out", str(out), "--engine", "local",
                            "--workers", "2", "--batch", "3", "--json")
    assert code == 2, stdout  # errors were found (and a match)
    got = {Path(r["path"]).name: r for r in rows(out)}
    assert len(got) == PHOTOS + len(BAD)
    for name, error in BAD.items():
        assert got[name]["error"] == error and got[name]["decision"] is None
        assert got[name]["error_message"]
    assert got["p00.jpg"]["decision"] == "block"
    m = got["p00.jpg"]["matches"][0]
    assert (m["bank"], m["signal"], m["category"]) == ("ncii", "pdq", "confirmed_ncii")
    assert m["distance"] <= m["threshold"] == 31
    clean = [r for n, r in got.items() if n.startswith("p") and n != "p00.jpg"]
    assert all(r["decision"] == "allow" and not r["matches"] and not r["error"] for r in clean)
    assert {s["signal"] for s in got["p05.jpg"]["signals"]} >= {"pdq", "md5"}
    report = json.loads(stdout)
    assert report == json.loads((out / "report.json").read_text())
    assert report["rows"] == report["inputs"] == PHOTOS + len(BAD)
    assert report["decisions"] == {"block": 1, "review": 0, "allow": PHOTOS - 1}
    assert report["errors"] == {"media.empty": 1, "media.truncated": 1,
                                "media.unsupported": 2}
    assert [Path(r["path"]).name for r in report["matched"]] == ["p00.jpg"]
    assert report["matched"][0]["matches"][0]["entry_id"] == m["entry_id"]
    assert report["last_run"]["engine"] == "local"


def test_a_rerun_scans_nothing_again(uploads: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    backfill(str(uploads), "--out", str(out), "--engine", "local", "--workers", "1")
    first = sorted(p.name for p in out.glob("part-*"))
    code, stdout = backfill(str(uploads), "--out", str(out), "--engine", "local", "--json")
    assert code == 2
    report = json.loads(stdout)
    assert report["last_run"]["scanned"] == 0
    assert report["last_run"]["skipped_as_done"] == PHOTOS + len(BAD)
    assert sorted(p.name for p in out.glob("part-*")) == first


def test_a_run_stopped_midway_resumes_without_repeats_or_gaps(uploads: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    settings = load_settings()
    seen = 0

    def stop_after_two_batches(table: pa.Table) -> None:
        nonlocal seen
        seen += 1
        if seen == 2:
            raise KeyboardInterrupt  # what Ctrl-C does in the middle of a run

    first = plan(str(uploads), str(out))
    with pytest.raises(KeyboardInterrupt):
        run(first, "local", settings, workers=1, batch=3, part_rows=100,
            on_rows=stop_after_two_batches)
    kept = rows(out)
    assert len(kept) == 6  # the two batches it had were written as it stopped
    # what a kill during a write leaves: a temporary file, never a part
    (out / ".tmp-0123.parquet").write_bytes(b"PAR1 half-written")
    # a part the disk lost: its inputs are scanned again
    (out / "part-00007.parquet").write_bytes(b"not parquet")

    again = plan(str(uploads), str(out))
    assert again.done == 6 and len(again.pending) == PHOTOS + len(BAD) - 6
    stats = run(again, "local", settings, workers=2, batch=4, part_rows=5)
    assert stats.scanned == len(again.pending)
    final = rows(out)
    paths = [r["path"] for r in final]
    assert len(paths) == len(set(paths)) == PHOTOS + len(BAD)
    assert set(paths) == set(again.inputs.paths)
    assert not list(out.glob(".tmp-*"))
    assert (out / "part-00007.parquet.unreadable").exists()
    # the rows written before the stop are kept as they were, not redone
    assert [r for r in final if r["path"] in {k["path"] for k in kept}] == kept


def test_a_killed_worker_stops_the_run_and_a_rerun_completes_it(uploads: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    settings = load_settings()

    def kill_the_workers(table: pa.Table) -> None:
        for child in multiprocessing.active_children():  # the pool's processes
            if child.pid is not None:
                os.kill(child.pid, signal.SIGKILL)  # what the OOM killer or a segfault does

    first = plan(str(uploads), str(out))
    with pytest.raises(VeilError) as stopped:
        run(first, "local", settings, workers=1, batch=2, part_rows=100,
            on_rows=kill_the_workers)
    assert stopped.value.code == "backfill.worker_failed"
    kept = rows(out)
    assert 2 <= len(kept) < PHOTOS + len(BAD)  # at least the batch before the kill

    again = plan(str(uploads), str(out))
    assert again.done == len(kept)
    run(again, "local", settings, workers=2, batch=4, part_rows=100)
    paths = [r["path"] for r in rows(out)]
    assert len(paths) == len(set(paths)) == PHOTOS + len(BAD)


def test_listings_and_tables_of_paths(uploads: Path, tmp_path: Path) -> None:
    names = ["p02.jpg", "sub/p03.jpg", "notes.jpg"]
    listing = uploads / "todo.txt"
    listing.write_text("# to check\n" + "\n".join([*names, "p02.jpg", "", "gone.jpg"]) + "\n")
    expected = [str(uploads / n) for n in [*names, "gone.jpg"]]
    assert plan(str(listing), str(tmp_path / "o1")).pending == expected
    pq.write_table(pa.table({"id": [1, 2, 3, 4], "path": expected}), tmp_path / "t.parquet")
    assert plan(str(tmp_path / "t.parquet"), str(tmp_path / "o2")).pending == expected
    (tmp_path / "t.csv").write_text("path\n" + "\n".join(expected) + "\n")
    assert plan(f"file://{tmp_path / 't.csv'}", str(tmp_path / "o3")).pending == expected
    one = uploads / "sub" / "p03.jpg"
    assert plan(str(one), str(tmp_path / "o5")).pending == [str(one)]

    out = tmp_path / "o4"
    code, _ = backfill(str(listing), "--out", str(out), "--engine", "local", "--workers", "1")
    assert code == 2
    got = {Path(r["path"]).name: r for r in rows(out)}
    assert got["gone.jpg"]["error"] == "input.unreadable"
    assert got["p02.jpg"]["decision"] == "allow" and got["notes.jpg"]["error"]


@pytest.mark.parametrize("source", ["missing-folder", "table.parquet"])
def test_a_bad_source_is_one_line(uploads: Path, tmp_path: Path, source: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pq.write_table(pa.table({"a": [1], "b": [2]}), tmp_path / "table.parquet")
    res = runner.invoke(app, ["backfill", source, "--out", "out", "--engine", "local"])
    assert res.exit_code == 2
    assert "backfill.bad_source" in res.output and "Traceback" not in res.output


def test_the_output_folder_lists_parts_in_order(tmp_path: Path) -> None:
    out = Output(str(tmp_path / "o"))
    assert out.recover() == set()
    from veil.pipelines.rows import schema

    for i in range(3):
        out.write(pa.Table.from_pylist([{"path": f"/x/{i}"}], schema=schema()))
    assert [Path(p).name for p in out.parts()] == [f"part-0000{i}.parquet" for i in range(3)]
    again = Output(str(tmp_path / "o"))
    assert again.recover() == {"/x/0", "/x/1", "/x/2"}
    assert Path(again.write(pa.Table.from_pylist([], schema=schema()))).name == \
        "part-00003.parquet"


def test_rows_say_what_veil_scan_says(uploads: Path, tmp_path: Path) -> None:
    """The backfill runs the scan path of ``veil scan`` and ``POST /v1/scan``: the
    same signals, decision, matches and errors for each file."""
    out = tmp_path / "out"
    backfill(str(uploads), "--out", str(out), "--engine", "local", "--workers", "1")
    res = runner.invoke(app, ["scan", str(uploads), "--json", "--workers", "1"])
    scanned = {Path(r["file"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    got = {Path(r["path"]).name: r for r in rows(out)}
    assert set(scanned) == set(got)
    for name, r in got.items():
        s = scanned[name]
        if r["error"]:
            assert s["error"]["code"] == r["error"], name
            continue
        assert s["decision"] == r["decision"], name
        assert s["signals"] == [{k: v for k, v in x.items() if v is not None}
                                for x in r["signals"]], name
        assert [m["entry_id"] for m in s["matches"]] == [m["entry_id"] for m in r["matches"]]
        assert s["reasons"] == r["reasons"], name


def test_scanners_map_one_copy_of_the_index(uploads: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from veil.pipelines.rows import Scanner

    monkeypatch.setenv("VEIL_INDEX_SNAPSHOT_MIN_ENTRIES", "1")
    first, second = Scanner(load_settings()), Scanner(load_settings())
    maps = [s.matcher.indexes["pdq"].mapped for s in (first, second)]
    assert maps[0] is not None and maps[1] is not None
    assert maps[0].file_id == maps[1].file_id  # one file: its pages shared
    with open_store(load_settings()) as store:
        banked = store.list_entries(bank="ncii")[0]
    assert [m.entry_id for m in second.matcher.search("pdq", [banked.value])[0]] == [banked.id]
