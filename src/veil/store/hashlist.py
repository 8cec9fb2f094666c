"""Hash-list files: CSV with a header row, or JSON lines, with the columns of ``FIELDS``.

    signal,value,quality,category,source,note
    pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,,,

Reading never raises for bad content: every problem becomes a ``RowError`` with
its line number, so an import can report all of them and take none.

JSON lines may also be the per-file records ``veil hash --json`` and ``veil scan
--json`` write (``{"file": …, "signals": [{"signal", "value", "quality"}, …]}``):
each signal becomes a row, so hashing a folder and banking it is two commands. A
record of a file that could not be hashed is a bad row; one that was skipped
(not a media file) adds nothing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from veil.errors import BadInput
from veil.store.lines import read_lines
from veil.store.rows import FIELDS, REQUIRED, HashRow, RowError, RowValidator
from veil.store.vocabulary import Format

_KNOWN = frozenset(FIELDS)
#: Keys of a ``veil hash`` / ``veil scan`` record that say nothing a bank keeps.
_MEDIA_RECORD = frozenset({"file", "format", "width", "height", "warnings", "decision",
                           "reasons", "matches", "signals", "skipped", "error"})


_SUFFIXES = {".csv": Format.CSV, ".jsonl": Format.JSONL, ".ndjson": Format.JSONL}


def detect_format(path: Path | None, explicit: str | None = None) -> Format:
    """``explicit`` if given, else from the file name's extension."""
    if explicit:
        try:
            return Format(explicit.lower())
        except ValueError:
            raise BadInput(f"unknown format {explicit!r}; use csv or jsonl") from None
    if path is not None and (fmt := _SUFFIXES.get(path.suffix.lower())):
        return fmt
    name = str(path) if path is not None else "standard input"
    raise BadInput(f"cannot tell the format of {name} from its name; pass --format csv|jsonl")


def _header(text: str, line: int) -> list[str] | RowError:
    names = [h.strip().lower() for h in next(csv.reader([text]))]
    problems = []
    if missing := [r for r in REQUIRED if r not in names]:
        problems.append(f"missing required column(s) {', '.join(missing)}")
    if unknown := [n for n in names if n not in _KNOWN]:
        shown = ", ".join(repr(n[:40]) for n in unknown[:5])
        problems.append(f"unknown column(s) {shown}")
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column(s) {', '.join(dupes)} given twice")
    if problems:
        return RowError(line, "the first line must be a header naming the columns "
                              f"({','.join(FIELDS)}): " + "; ".join(problems))
    return names


def parse_csv(lines: Iterable[tuple[int, str | RowError]]) -> Iterator[HashRow | RowError]:
    validate = RowValidator()
    header: list[str] | None = None
    for number, text in lines:
        if isinstance(text, RowError):
            if header is None:
                yield RowError(number, f"{text.message} (this should be the header)")
                return
            yield text
            continue
        if not text.strip():
            continue
        if header is None:
            parsed = _header(text, number)
            if isinstance(parsed, RowError):
                yield parsed
                return
            header = parsed
            continue
        if '"' in text:
            try:
                values = next(csv.reader([text], strict=True))
            except csv.Error as exc:
                yield RowError(number, f"malformed CSV: {exc}")
                continue
        else:  # the common case, and what csv would do for a line without quotes
            values = text.split(",")
        if len(values) != len(header):
            yield RowError(number, f"expected {len(header)} fields ({','.join(header)}), "
                                   f"got {len(values)}")
            continue
        yield validate(dict(zip(header, values)), number)  # noqa: B905 (lengths checked)
    if header is None:
        yield RowError(None, "file is empty (expected a header line, then one row per hash)")


def parse_jsonl(lines: Iterable[tuple[int, str | RowError]]) -> Iterator[HashRow | RowError]:
    validate = RowValidator()
    seen_any = False
    for number, text in lines:
        if isinstance(text, RowError):
            seen_any = True
            yield text
            continue
        if not text.strip():
            continue
        seen_any = True
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield RowError(number, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield RowError(number, "invalid JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield RowError(number, f"expected a JSON object, got {type(obj).__name__}")
            continue
        if "file" in obj and "value" not in obj:
            yield from _media_record(obj, number, validate)
            continue
        if unknown := [k for k in obj if k not in _KNOWN]:
            shown = ", ".join(repr(k[:40]) for k in unknown[:5])
            yield RowError(number, f"unknown field(s) {shown}; known: {', '.join(FIELDS)}")
            continue
        yield validate(obj, number)
    if not seen_any:
        yield RowError(None, "file is empty (expected one JSON object per line)")


def _media_record(obj: dict[str, object], number: int,
                  validate: RowValidator) -> Iterator[HashRow | RowError]:
    """The rows of one ``veil hash``/``veil scan`` JSON record."""
    if unknown := [k for k in obj if k not in _MEDIA_RECORD]:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        yield RowError(number, f"unknown field(s) {shown} in a media record")
        return
    if "skipped" in obj:
        return
    if "error" in obj:
        error = obj["error"]
        why = error.get("message") if isinstance(error, dict) else error
        yield RowError(number, f"{str(obj['file'])[:200]} could not be hashed: "
                               f"{str(why)[:200]}; fix or leave out this file")
        return
    signals = obj.get("signals")
    if not isinstance(signals, list) or not signals:
        yield RowError(number, "a media record needs a non-empty 'signals' list")
        return
    for s in signals:
        if not isinstance(s, dict):
            yield RowError(number, "each of 'signals' must be a JSON object")
            continue
        fields = {k: v for k, v in s.items() if k in ("signal", "value", "quality")}
        if len(fields) != len(s):
            yield RowError(number, "a signal takes 'signal', 'value' and 'quality' only")
            continue
        yield validate(fields, number)


_PARSERS = {Format.CSV: parse_csv, Format.JSONL: parse_jsonl}


class HashListFile:
    """A hash-list file, read (streaming) each time it is iterated.

    ``on_progress(bytes_read)`` is called every few thousand lines, for progress bars.
    """

    def __init__(
        self,
        path: Path,
        fmt: Format,
        max_line_bytes: int,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        if not path.is_file():
            raise BadInput(f"{path}: no such file")
        self.path = path
        self.format = fmt
        self.max_line_bytes = max_line_bytes
        self.on_progress = on_progress

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def __iter__(self) -> Iterator[HashRow | RowError]:
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise BadInput(f"{self.path}: {exc.strerror}") from None
        with stream:
            lines = read_lines(stream, self.max_line_bytes, self.on_progress)
            yield from _PARSERS[self.format](lines)


def _csv_cell(v: object) -> object:
    return "" if v is None else v


def write_hashlist(rows: Iterable[HashRow], out: TextIO, fmt: Format) -> int:
    """Write ``rows`` in ``fmt``; returns how many. Reading the output gives them back."""
    count = 0
    if fmt is Format.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for r in rows:
            writer.writerow([_csv_cell(getattr(r, f)) for f in FIELDS])
            count += 1
    else:
        for r in rows:
            obj = {f: v for f in FIELDS if (v := getattr(r, f)) is not None}
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            count += 1
    return count
