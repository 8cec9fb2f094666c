"""Reading and writing hash-list files (CSV, JSON lines), and the bounded line reader."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from veil.errors import BadInput
from veil.store.hashlist import (
    Format,
    HashListFile,
    detect_format,
    parse_csv,
    parse_jsonl,
    write_hashlist,
)
from veil.store.lines import read_lines
from veil.store.rows import HashRow, RowError

H1, H2 = "a" * 64, "b" * 64
Write = Callable[[str, str | bytes], Path]


def read(path: Path, fmt: Format | None = None, max_line: int = 64 * 1024
         ) -> list[HashRow | RowError]:
    return list(HashListFile(path, fmt or detect_format(path), max_line))


def test_detect_format() -> None:
    assert detect_format(Path("x.CSV")) is Format.CSV
    assert detect_format(Path("x.jsonl")) is Format.JSONL
    assert detect_format(Path("x.ndjson")) is Format.JSONL
    assert detect_format(Path("x.txt"), "jsonl") is Format.JSONL
    with pytest.raises(BadInput, match="--format"):
        detect_format(Path("x.txt"))
    with pytest.raises(BadInput, match="unknown format"):
        detect_format(Path("x.csv"), "xml")


def test_csv_all_columns_in_any_order(write: Write) -> None:
    path = write("l.csv", "\ufeffNote, Value ,signal,quality,category,source\r\n"
                          f'"hi, there",{H1.upper()},pdq,90,confirmed_ncii,list-1\r\n'
                          "\r\n"
                          f",{H2},pdq,,,\r\n")
    assert read(path) == [
        HashRow("pdq", H1, 90, "confirmed_ncii", "list-1", "hi, there", 2),
        HashRow("pdq", H2, None, None, None, None, 4),
    ]


def test_csv_minimal_and_other_signals(write: Write) -> None:
    path = write("l.csv", f"signal,value\npdq,{H1}\nmd5,{'0' * 32}\nsha256,{'f' * 64}")
    assert [(r.signal, r.value, r.line) for r in read(path)] == [
        ("pdq", H1, 2), ("md5", "0" * 32, 3), ("sha256", "f" * 64, 4)]


@pytest.mark.parametrize("content, message", [
    ("", "file is empty"),
    ("\n\n  \n", "file is empty"),
    (f"pdq,{H1}\n", "line 1: the first line must be a header naming the columns"),
    ("signal,hash\n", "missing required column(s) value"),
    ("signal,value,extra\n", "unknown column(s) 'extra'"),
    ("signal,value,value\n", "column(s) value given twice"),
])
def test_csv_header_problems(write: Write, content: str, message: str) -> None:
    rows = read(write("l.csv", content))
    assert len(rows) == 1 and isinstance(rows[0], RowError)
    assert message in str(rows[0])


@pytest.mark.parametrize("line, message", [
    (f"pdq,{H1[:-1]}", "line 2: pdq hash must be 64 hex characters, got 63"),
    (f"pdq,{H1[:-1]}g", "line 2: pdq hash contains a non-hex character 'g'"),
    (f"blake,{H1}", "line 2: unknown signal type 'blake'"),
    (f"pdq,{H1},extra", "line 2: expected 2 fields (signal,value), got 3"),
    (f'pdq,"{H1}', "line 2: malformed CSV"),
    ("pdq,", "line 2: value is missing"),
    (f",{H1}", "line 2: signal is missing"),
])
def test_csv_row_problems(write: Write, line: str, message: str) -> None:
    rows = read(write("l.csv", f"signal,value\n{line}\npdq,{H2}\n"))
    assert isinstance(rows[0], RowError) and str(rows[0]).startswith(message)
    assert rows[1] == HashRow("pdq", H2, line=3)


@pytest.mark.parametrize("fields, message", [
    ("quality=abc", "quality must be an integer 0-100, got 'abc'"),
    ("quality=101", "quality must be an integer 0-100, got 101"),
    ("category=nsfw", "unknown category 'nsfw'"),
    ("source=" + "s" * 201, "source is longer than 200 characters"),
    ("note=" + "n" * 2001, "note is longer than 2000 characters"),
])
def test_optional_field_problems(write: Write, fields: str, message: str) -> None:
    key, value = fields.split("=")
    rows = read(write("l.csv", f"signal,value,{key}\npdq,{H1},{value}\n"))
    assert str(rows[0]).startswith(f"line 2: {message}")


def test_jsonl(write: Write) -> None:
    path = write("l.jsonl", "\n".join([
        json.dumps({"signal": "pdq", "value": H1, "quality": 55, "note": "ünï"}),
        "",
        json.dumps({"value": H2, "signal": "pdq", "source": None}),
        "{not json",
        "[1, 2]",
        json.dumps({"signal": "pdq", "value": H1, "colour": "red"}),
        json.dumps({"signal": "pdq", "value": 12}),
        json.dumps({"signal": "pdq", "value": H1, "quality": True}),
        json.dumps({"signal": ["pdq"], "value": H1}),
        "[" * 50_000 + "]" * 50_000,
    ]))
    rows = read(path, max_line=200_000)
    assert rows[:2] == [HashRow("pdq", H1, 55, note="ünï", line=1), HashRow("pdq", H2, line=3)]
    assert [str(r) for r in rows[2:]] == [
        "line 4: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        "line 5: expected a JSON object, got list",
        "line 6: unknown field(s) 'colour'; known: signal, value, quality, category, source, "
        "note",
        "line 7: pdq hash must be a hex string, got int",
        "line 8: quality must be an integer 0-100, got 'True'",
        "line 9: signal must be a signal type name, got list",
        "line 10: invalid JSON: nested too deeply",
    ]


def test_empty_jsonl(write: Write) -> None:
    assert [str(r) for r in read(write("l.jsonl", "\n \n"))] == [
        "file is empty (expected one JSON object per line)"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        HashListFile(tmp_path / "nope.csv", Format.CSV, 100)
    with pytest.raises(BadInput, match="no such file"):
        HashListFile(tmp_path, Format.CSV, 100)


def test_non_utf8_costs_one_row(write: Write) -> None:
    path = write("l.csv", b"signal,value,note\npdq," + H1.encode() + b",caf\xe9\n"
                          b"pdq," + H2.encode() + b",ok\n")
    rows = read(path)
    assert str(rows[0]) == "line 2: not valid UTF-8 (byte 0xe9 at column 73)"
    assert rows[1] == HashRow("pdq", H2, note="ok", line=3)


def test_binary_header(write: Write) -> None:
    rows = read(write("l.csv", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"))
    assert len(rows) == 1 and "not valid UTF-8" in str(rows[0])
    assert "header" in str(rows[0])


def test_round_trip_both_formats(tmp_path: Path) -> None:
    rows = [HashRow("pdq", H1, 90, "imported", "src, with comma", 'say "hi"'),
            HashRow("md5", "0" * 32, None, "imported", None, "ünïcode")]
    for fmt in Format:
        path = tmp_path / f"out.{fmt.value}"
        with path.open("w", encoding="utf-8", newline="") as out:
            assert write_hashlist(rows, out, fmt) == 2
        back = [r._replace(line=None) for r in read(path)]
        assert back == rows, fmt


# -- the line reader --------------------------------------------------------------------------
def test_lines_are_numbered_like_an_editor() -> None:
    data = b"a\r\nb\n\nc"
    assert list(read_lines(io.BytesIO(data), 10)) == [(1, "a"), (2, "b"), (3, ""), (4, "c")]


def test_line_limit_is_exact() -> None:
    got = list(read_lines(io.BytesIO(b"x" * 10 + b"\n" + b"y" * 11 + b"\r\nz"), 10))
    assert got[0] == (1, "x" * 10)
    assert got[1] == (2, RowError(2, "line is longer than 10 bytes"))
    assert got[2] == (3, "z")


def test_huge_line_is_skipped_in_bounded_memory(write: Write) -> None:
    path = write("huge.csv", b"signal,value\n" + b"pdq," + b"a" * (10 * 1024 * 1024)
                 + b"\n" + f"pdq,{H2}\n".encode())
    tracemalloc.start()
    try:
        rows = read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [str(r) for r in rows[:1]] == ["line 2: line is longer than 65536 bytes"]
    assert rows[1] == HashRow("pdq", H2, line=3)
    assert peak < 1024 * 1024, f"reading a 10 MB line peaked at {peak} bytes"


def test_progress_reports_bytes(write: Write) -> None:
    path = write("l.csv", "signal,value\n" + f"pdq,{H1}\n" * 20_000)
    seen: list[int] = []
    list(HashListFile(path, Format.CSV, 1000, on_progress=seen.append))
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size and len(seen) > 1


def test_parsers_accept_plain_line_iterables() -> None:
    assert list(parse_csv([(1, "signal,value"), (2, f"pdq,{H1}")])) == [
        HashRow("pdq", H1, line=2)]
    assert list(parse_jsonl([(1, json.dumps({"signal": "pdq", "value": H1}))])) == [
        HashRow("pdq", H1, line=1)]
