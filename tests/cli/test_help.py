"""What a newcomer meets first: help pages without noise, a version, a fast start."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
import typer
from typer.testing import CliRunner

from veil import __version__
from veil.cli import app
from veil.store.vocabulary import Category

runner = CliRunner()


def commands() -> list[list[str]]:
    """Every command path, e.g. ["bank", "create"]."""
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(root, [])
    return found


@pytest.mark.parametrize("path", commands(), ids=lambda p: " ".join(p) or "veil")
def test_help_has_no_noise(path: list[str]) -> None:
    r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    text = r.output
    assert "<bool>" not in text and "<str>" not in text and "<list[" not in text
    assert "``" not in text and ":func:" not in text, "raw RST in the help"
    assert "Traceback" not in text


def test_choices_are_never_broken_inside_a_word() -> None:
    r = runner.invoke(app, ["bank", "create", "--help"], env={"COLUMNS": "80"})
    words = {w.strip("│|,() ") for w in r.output.split()}
    for c in Category:
        assert c.value in words, f"{c.value!r} is cut in:\n{r.output}"


def test_version() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"veil {__version__}"


HEAVY = ("numba", "sqlalchemy", "alembic", "PIL", "fastapi", "uvicorn", "numpy",
         "pydantic_settings",
         "pdqhash", "imagehash", "ray", "pyarrow", "pandas")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["bank", "--help"],
                                  ["scan", "--help"], ["backfill", "--help"]])
def test_help_and_version_load_nothing_heavy(args: list[str]) -> None:
    """What makes `veil --help` start in a fraction of a second (bench/cli_startup.py
    measures it): none of the heavy libraries is imported for it."""
    code = (f"import sys, json\nfrom veil.cli import app\ntry:\n    app({args!r})\n"
            "except SystemExit:\n    pass\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), "
            "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_version_loads_no_rich_table_or_progress_bar() -> None:
    """Rich's tables and progress bars are imported by the commands that draw them."""
    code = ("import sys\nfrom veil.cli import app\ntry:\n    app(['--version'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('rich.')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    loaded = done.stderr.strip().splitlines()[-1]
    for module in ("rich.table", "rich.progress", "rich.live"):
        assert f"'{module}'" not in loaded, loaded


def test_the_exit_hook_is_registered_once_however_many_commands_run(
        veil_home: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import atexit

    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    for _ in range(3):
        assert runner.invoke(app, ["config", "--json"]).exit_code == 0
    assert len(registered) <= 1
