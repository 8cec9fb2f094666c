"""Names that read like Rich markup (a file ``x[/y].jpg``, a bank ``[/zz]``, a key
named ``[bold]…``) are printed as they are: never a MarkupError traceback, never
restyled. The files are synthetic pictures drawn here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner, Result

from veil.cli import app
from veil.cli.demo import DemoCorpus, next_steps

runner = CliRunner()
WIDE = {"COLUMNS": "400"}


def _picture(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """``x[/y].jpg`` (the folder ``x[`` holds ``y].jpg``), ``[bold]x.jpg``, a broken
    ``[/b]broken.jpg`` and a skipped ``a.[/s]``."""
    root = tmp_path / "in"
    _picture(root / "x[" / "y].jpg", 1)
    _picture(root / "[bold]x.jpg", 2)
    (root / "[").mkdir()
    (root / "[" / "b]broken.jpg").write_bytes(b"not a picture")
    (root / "a.[").mkdir()
    (root / "a.[" / "s]").write_text("not media")
    return root


def _flat(text: str) -> str:
    return "".join(text.split())


def _clean(r: Result) -> Result:
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def test_hash_shows_markup_like_file_names_as_they_are(veil_home: Path, folder: Path) -> None:
    r = _clean(runner.invoke(app, ["hash", str(folder), "--workers", "1"], env=WIDE))
    assert r.exit_code == 2, r.output  # the broken file
    out, err = _flat(r.stdout), _flat(r.stderr)
    assert "x[/y].jpg" in out and "[bold]x.jpg" in out
    assert "[/b]broken.jpg" in err and "a.[/s]" in err
    r = _clean(runner.invoke(app, ["hash", str(folder), "--json", "--workers", "1"]))
    names = {Path(json.loads(x)["file"]).name for x in r.stdout.splitlines()}
    assert names == {"y].jpg", "[bold]x.jpg", "b]broken.jpg", "s]"}


def test_scan_shows_markup_like_file_names_as_they_are(veil_home: Path, folder: Path) -> None:
    r = _clean(runner.invoke(app, ["scan", "--all", str(folder), "--workers", "1"], env=WIDE))
    assert r.exit_code == 2, r.output
    out = _flat(r.stdout)
    for name in ("x[/y].jpg", "[bold]x.jpg", "[/b]broken.jpg", "a.[/s]"):
        assert name in out, name


def test_bank_add_reports_markup_like_file_names(database_url: str, folder: Path) -> None:
    _clean(runner.invoke(app, ["bank", "create", "b", "-c", "confirmed_ncii"]))
    r = _clean(runner.invoke(app, ["bank", "add", "b", str(folder / "[" / "b]broken.jpg"),
                                   str(folder / "x[")]))
    assert r.exit_code == 2
    assert "[/b]broken.jpg" in _flat(r.stderr) and "nothingwasadded" in _flat(r.stderr)


def test_a_markup_like_bank_name_in_an_error(database_url: str) -> None:
    _clean(runner.invoke(app, ["bank", "create", "b", "-c", "confirmed_ncii"]))
    _clean(runner.invoke(app, ["bank", "add", "b", "1" * 64]))
    r = _clean(runner.invoke(app, ["bank", "withdraw", "[/zz]", "--id", "1"]))
    assert r.exit_code == 2
    assert "entry 1 is not in bank '[/zz]'" in r.stderr
    r = _clean(runner.invoke(app, ["bank", "withdraw", "[bold]x", "--id", "1"]))
    assert "'[bold]x'" in r.stderr


def test_export_to_a_markup_like_path(database_url: str, tmp_path: Path) -> None:
    _clean(runner.invoke(app, ["bank", "create", "b", "-c", "confirmed_ncii"]))
    _clean(runner.invoke(app, ["bank", "add", "b", "1" * 64]))
    (tmp_path / "x[").mkdir()
    r = _clean(runner.invoke(app, ["bank", "export", "b", "-o", str(tmp_path / "x[/e].csv")],
                             env=WIDE))
    assert r.exit_code == 0 and "x[/e].csv" in r.stderr


def test_markup_like_key_names(database_url: str) -> None:
    r = _clean(runner.invoke(app, ["keys", "create", "-s", "platform", "--name", "[/k]"]))
    assert r.exit_code == 0 and "for [/k]" in r.stderr
    r = _clean(runner.invoke(app, ["keys", "list"], env=WIDE))
    assert "[/k]" in r.stdout
    r = _clean(runner.invoke(app, ["keys", "revoke", "1"]))
    assert "revoked key 1 ([/k])" in r.stdout


def test_match_names_a_markup_like_file(veil_home: Path, tmp_path: Path) -> None:
    _clean(runner.invoke(app, ["bank", "create", "b", "-c", "confirmed_ncii"]))
    _clean(runner.invoke(app, ["bank", "add", "b", "1" * 64]))
    (tmp_path / "q[").mkdir()
    queries = tmp_path / "q[" / "m].txt"
    queries.write_text("not a hash\n" + "1" * 64 + "\n")
    r = _clean(runner.invoke(app, ["match", "--file", str(queries)], env=WIDE))
    assert r.exit_code == 2
    assert "q[/m].txt:1" in r.stderr and "q[/m].txt:2" in _flat(r.stdout)


def test_config_shows_a_markup_like_home(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_HOME", str(tmp_path / "h[" / "x]"))
    r = _clean(runner.invoke(app, ["config"], env=WIDE))
    assert r.exit_code == 0 and "h[/x]" in _flat(r.stdout)


def test_demo_next_steps_show_a_markup_like_path(tmp_path: Path) -> None:
    photo = tmp_path / "p[" / "q].jpg"
    text = next_steps("http://127.0.0.1:8000", {"demo-platform": "veil_p", "demo-admin": "a"},
                      DemoCorpus(photo.parent, [photo], synthetic=True))
    console = Console(width=400, record=True)
    console.print(text)
    assert f"file=@{photo}" in console.export_text()
