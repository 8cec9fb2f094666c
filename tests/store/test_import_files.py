"""Importing real files into a bank: good files go in whole, bad files change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from veil.config import Settings
from veil.store import ImportReport, Store
from veil.store.hashlist import HashListFile, detect_format

Write = Callable[[str, str | bytes], Path]
Snapshot = Callable[[str], list[tuple[object, ...]]]
BANK = "ncii"


def pdq(i: int) -> str:
    return f"{i:064x}"


@pytest.fixture
def filled(store: Store) -> Store:
    """A bank that already holds entries (some withdrawn), which no failed import may touch."""
    store.create_bank(BANK, "confirmed_ncii", actor="t")
    for i in range(5):
        store.add_entry(BANK, "pdq", pdq(i), actor="t", quality=50 + i, note=f"n{i}")
    store.withdraw(1, actor="t")
    return store


def run_import(store: Store, settings: Settings, path: Path,
               fmt: str | None = None) -> ImportReport:
    rows = HashListFile(path, detect_format(path, fmt), settings.import_max_line_bytes)
    return store.import_entries(BANK, rows, actor="importer", source_name=path.name)


def csv_lines(start: int, stop: int) -> list[str]:
    return [f"pdq,{pdq(i)}" for i in range(start, stop)]


def test_csv_import(filled: Store, settings: Settings, write: Write) -> None:
    path = write("list.csv", "signal,value,quality,source\n" + "\n".join(
        f"pdq,{pdq(i)},{i % 100},feed" for i in range(3, 103)) + "\n")
    report = run_import(filled, settings, path)
    assert report.ok
    # 3 and 4 were already in the bank; 1 was withdrawn (its value is gone) and stays so
    assert (report.rows, report.imported, report.duplicates) == (100, 98, 2)
    bank = filled.get_bank(BANK)
    assert bank.counts == {"active": 102, "withdrawn": 1, "disputed": 0, "disabled": 0}
    got = filled.get_entry(max(e.entry_id for e in filled.iter_active("pdq")))
    assert (got.source, got.created_by, got.status) == ("feed", "importer", "active")


def test_jsonl_import(filled: Store, settings: Settings, write: Write) -> None:
    lines = [json.dumps({"signal": "pdq", "value": pdq(i).upper(), "quality": 70,
                         "note": f"row {i}"}) for i in range(10, 20)]
    path = write("list.ndjson", "\n".join(lines))
    report = run_import(filled, settings, path)
    assert (report.ok, report.imported, report.duplicates) == (True, 10, 0)
    values = {e.value: e for e in filled.iter_active("pdq")}
    assert pdq(15) in values and values[pdq(15)].quality == 70


def test_duplicates_are_skipped_not_errors(filled: Store, settings: Settings,
                                           write: Write) -> None:
    path = write("dupes.csv", "signal,value\n" + "\n".join(
        [f"pdq,{pdq(50)}", f"pdq,{pdq(50).upper()}", f"pdq,0x{pdq(50)}", f"pdq,{pdq(2)}",
         f"pdq,{pdq(51)}"]))
    report = run_import(filled, settings, path)
    assert (report.ok, report.rows, report.imported, report.duplicates) == (True, 5, 2, 3)


def test_export_then_import_round_trips(filled: Store, settings: Settings,
                                        tmp_path: Path) -> None:
    from veil.store.hashlist import Format, write_hashlist

    filled.create_bank("copy", "imported", actor="t")
    for fmt in Format:
        path = tmp_path / f"export.{fmt.value}"
        with path.open("w", encoding="utf-8", newline="") as out:
            write_hashlist(filled.export_entries(BANK), out, fmt)
        rows = HashListFile(path, fmt, settings.import_max_line_bytes)
        report = filled.import_entries("copy", rows, actor="t")
        assert report.ok and report.rows == 4
    original = [(r.signal, r.value, r.quality, r.source, r.note)
                for r in filled.export_entries(BANK)]
    copied = [(r.signal, r.value, r.quality, r.source, r.note)
              for r in filled.export_entries("copy")]
    assert copied == original and len(original) == 4  # the withdrawn one is not exported


GOOD = "signal,value\n" + "\n".join(csv_lines(100, 116)) + "\n"
TEN_MB = 10 * 1024 * 1024

BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    # name: (file name, content, expected first error)
    "wrong hex length": (
        "short.csv", (GOOD + f"pdq,{pdq(7)[:-1]}\n").encode(),
        "line 18: pdq hash must be 64 hex characters, got 63"),
    "non-hex": (
        "nonhex.csv", (GOOD + f"pdq,{pdq(7)[:-1]}x\n").encode(),
        "line 18: pdq hash contains a non-hex character 'x'"),
    "unknown signal": (
        "signal.csv", (GOOD + f"pdqq,{pdq(7)}\n").encode(),
        "line 18: unknown signal type 'pdqq'"),
    "missing column": (
        "nocol.csv", b"signal,quality\npdq,50\n",
        "line 1: the first line must be a header naming the columns "
        "(signal,value,quality,category,source,note): missing required column(s) value"),
    "no header": (
        "noheader.csv", "\n".join(csv_lines(100, 110)).encode(),
        "line 1: the first line must be a header"),
    "empty file": ("empty.csv", b"", "file is empty"),
    "10 MB line": (
        "huge.csv", GOOD.encode() + b"pdq," + b"f" * TEN_MB + b"\n" + b"pdq," + b"0" * 64,
        "line 18: line is longer than 65536 bytes"),
    "10 MB line without any newline": (
        "huge.jsonl", b'{"signal": "pdq", "value": "' + b"f" * TEN_MB,
        "line 1: line is longer than 65536 bytes"),
    "non-UTF-8": (
        "latin1.csv", GOOD.encode() + f"pdq,{pdq(7)},".encode()[:-1] + b"\xff\n",
        "line 18: not valid UTF-8 (byte 0xff at column 69)"),
    "invalid JSON": (
        "bad.jsonl", "\n".join([json.dumps({"signal": "pdq", "value": pdq(i)})
                               for i in range(100, 110)] + ['{"signal": "pdq",']).encode(),
        "line 11: invalid JSON: Expecting property name enclosed in double quotes"),
    "bad quality": (
        "quality.csv", ("signal,value,quality\n" + f"pdq,{pdq(100)},50\n"
                        + f"pdq,{pdq(101)},-3\n").encode(),
        "line 3: quality must be an integer 0-100"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_imports_nothing_and_says_why(filled: Store, settings: Settings,
                                               write: Write, snapshot: Snapshot,
                                               case: str) -> None:
    name, content, expected = BAD_FILES[case]
    before, mark = snapshot(BANK), filled.watermark()
    report = run_import(filled, settings, write(name, content))
    assert not report.ok
    assert report.imported == 0
    assert str(report.errors[0]).startswith(expected), str(report.errors[0])
    assert snapshot(BANK) == before
    assert filled.watermark() == mark
    assert filled.audit(action="bank.import") == []


def test_every_bad_row_is_reported_once_with_its_line(filled: Store, settings: Settings,
                                                      write: Write, snapshot: Snapshot) -> None:
    lines = ["signal,value"]
    for i in range(200, 260):
        lines.append(f"pdq,{pdq(i)}" if i % 3 else f"pdq,{pdq(i)[:-2]}")
    before = snapshot(BANK)
    report = run_import(filled, settings, write("some-bad.csv", "\n".join(lines)))
    bad_lines = [n + 2 for n, i in enumerate(range(200, 260)) if not i % 3]
    assert report.error_count == len(bad_lines) == 20
    assert [e.line for e in report.errors] == bad_lines
    assert report.rows == 40
    assert snapshot(BANK) == before


def test_large_import_in_batches(store: Store, settings: Settings, write: Write) -> None:
    store.create_bank(BANK, "imported", actor="t")
    store.settings = settings.with_(import_batch_rows=6_000)
    path = write("big.csv", "signal,value,quality\n" + "".join(
        f"pdq,{pdq(i * 7919)},{i % 101}\n" for i in range(50_000)))
    report = run_import(store, settings, path)
    assert (report.ok, report.imported, report.duplicates) == (True, 50_000, 0)
    assert store.get_bank(BANK).counts["active"] == 50_000
    again = run_import(store, settings, path)
    assert (again.imported, again.duplicates) == (0, 50_000)


def test_store_survives_after_a_failed_import(filled: Store, settings: Settings,
                                              write: Write) -> None:
    bad = write("bad.csv", GOOD + "pdq,zz\n")
    assert not run_import(filled, settings, bad).ok
    good = write("good.csv", GOOD)
    assert run_import(filled, settings, good).imported == 16
