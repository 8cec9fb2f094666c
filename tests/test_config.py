"""Settings copies: what was derived follows the change, what was given stays."""

from __future__ import annotations

from pathlib import Path

from veil.config import load_settings


def test_a_copy_with_another_home_uses_that_homes_database(tmp_path: Path) -> None:
    derived = load_settings(home=tmp_path / "a")
    assert derived.with_(home=tmp_path / "b").database_url == \
        f"sqlite:///{tmp_path / 'b' / 'veil.db'}"
    given = load_settings(home=tmp_path / "a", database_url="sqlite:////elsewhere/x.db")
    assert given.with_(home=tmp_path / "b").database_url == "sqlite:////elsewhere/x.db"
