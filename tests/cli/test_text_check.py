"""``veil text check``: one JSON line per input line, in order; exit 1 when something
is flagged; unreadable input is one error line and exit 2; a hostile file (invalid
UTF-8, a line of megabytes) is read in bounded pieces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veil.cli import app

runner = CliRunner()
ADVERT = "Undrеss any photo in seconds, 3 free tries: t.me/Quick_Undress_Bot"
NEWS = "Police arrested the owner of a bot that undressed photos of schoolgirls"


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in output.splitlines()]


def test_each_line_gets_one_answer_in_order_and_a_flag_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "posts.txt"
    f.write_text(f"{NEWS}\n\n{ADVERT}\r\n", encoding="utf-8")
    r = runner.invoke(app, ["text", "check", str(f)])
    assert r.exit_code == 1, r.output
    out = _lines(r.stdout)
    assert [o["line"] for o in out] == [1, 2, 3]
    assert [o["nudify_service"] for o in out] == [False, False, True]
    assert {"kind": "link", "text": "t.me/Quick_Undress_Bot"} in out[2]["evidence"]  # type: ignore[operator]
    assert all(0 <= float(o["score"]) <= 1 for o in out)  # type: ignore[arg-type]


def test_standard_input_and_nothing_flagged_exits_0() -> None:
    r = runner.invoke(app, ["text", "check", "-"], input=NEWS + "\n")
    assert r.exit_code == 0, r.output
    assert _lines(r.stdout)[0]["nudify_service"] is False


def test_missing_file_or_a_folder_is_one_clear_error(tmp_path: Path) -> None:
    for target in (tmp_path / "absent.txt", tmp_path):
        r = runner.invoke(app, ["text", "check", str(target)])
        assert r.exit_code == 2
        assert "input.unreadable" in r.stderr and "Traceback" not in r.output


def test_invalid_utf8_and_a_huge_line_are_read_in_bounded_pieces(tmp_path: Path) -> None:
    f = tmp_path / "hostile.txt"
    with f.open("wb") as fh:
        fh.write(b"\xff\xfe broken \xc3 bytes\n")
        fh.write(b"x" * (20 * 1024 * 1024) + b"\n")  # one 20 MB line
        fh.write(ADVERT.encode() + b"\n")
    # a real process, so its peak memory can be read: VmHWM is its own (ru_maxrss
    # would carry over the forking pytest's across exec)
    code = ("import re, sys; from veil.cli import app\n"
            "try:\n    app(['text', 'check', sys.argv[1]])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
            "print(hwm.group(1), file=sys.stderr)\n"
            "sys.exit(code)")
    p = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    out = _lines(p.stdout)
    assert len(out) == 3 and out[1].get("truncated") is True
    assert out[2]["nudify_service"] is True
    peak_kib = int(p.stderr.strip().splitlines()[-1])
    assert peak_kib < 100 * 1024, peak_kib  # the 20 MB line was never held whole (~55 MB)


def test_a_markup_like_file_name_in_the_error_prints_as_it_is(tmp_path: Path) -> None:
    r = runner.invoke(app, ["text", "check", str(tmp_path / "[bold]x[/b].txt")])
    assert r.exit_code == 2
    assert "[bold]x[/b].txt" in "".join(r.stderr.split())


def test_the_threshold_comes_from_the_option_else_the_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "posts.txt"
    f.write_text(NEWS + "\n", encoding="utf-8")
    score = float(_lines(runner.invoke(app, ["text", "check", str(f)]).stdout)[0]["score"])  # type: ignore[arg-type]
    below = max(score / 2, 1e-4)
    r = runner.invoke(app, ["text", "check", str(f), "--threshold", str(below)])
    assert r.exit_code == 1 and _lines(r.stdout)[0]["nudify_service"] is True
    monkeypatch.setenv("VEIL_TEXT_THRESHOLD", str(below))
    assert runner.invoke(app, ["text", "check", str(f)]).exit_code == 1
    r = runner.invoke(app, ["text", "check", str(f), "--threshold", "0.999"])
    assert r.exit_code == 0
