"""``veil backfill --engine ray`` on a local Ray of two CPUs: the same rows as the local
engine, bad files included, and no Ray process left behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from backfill_support import BAD, PHOTOS
from typer.testing import CliRunner

from veil.cli import app

ray = pytest.importorskip("ray")  # the `backfill` extra: installed by `dev`, so always here

runner = CliRunner()
pytestmark = pytest.mark.slow


def _processes_under(folder: str) -> list[str]:
    """Live processes whose command line names ``folder`` (Ray's own: raylet, GCS,
    workers, all started with the session's temporary folder)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if folder in cmd:
            found.append(f"{pid} {cmd[:120]}")
    return found


@pytest.fixture
def local_ray() -> Iterator[str]:
    # a short folder: Ray's Unix sockets live under it, and their paths are capped
    temp = tempfile.mkdtemp(prefix="vray", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    try:
        yield temp
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _rows(out: Path) -> list[dict]:
    found = [r for p in sorted(out.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return sorted(found, key=lambda r: r["path"])


def test_ray_and_local_give_the_same_rows(uploads: Path, tmp_path: Path,
                                          local_ray: str) -> None:
    # two actors of one CPU each fill the two CPUs: the reads must still run
    res = runner.invoke(app, ["backfill", str(uploads), "--out", str(tmp_path / "ray"),
                              "--engine", "ray", "--workers", "2", "--batch", "3", "--json"])
    assert res.exit_code == 2, res.output  # errors (the bad files) and a match
    report = json.loads(res.stdout)
    timings = dict.fromkeys(("seconds", "images_per_second", "first_rows_seconds",
                             "steady_images_per_second"), 0)
    assert report["last_run"] | timings == {
        "engine": "ray", "workers": 2, "skipped_as_done": 0, "scanned": PHOTOS + len(BAD),
        **timings}
    res = runner.invoke(app, ["backfill", str(uploads), "--out", str(tmp_path / "local"),
                              "--engine", "local", "--workers", "2", "--batch", "5"])
    assert res.exit_code == 2, res.output
    on_ray, local = _rows(tmp_path / "ray"), _rows(tmp_path / "local")
    assert len(on_ray) == PHOTOS + len(BAD)
    assert on_ray == local
    errors = {Path(r["path"]).name: r["error"] for r in on_ray if r["error"]}
    assert errors == BAD
    assert [Path(r["path"]).name for r in on_ray if r["decision"] == "block"] == ["p00.jpg"]


def test_a_pool_larger_than_the_local_ray_is_refused(uploads: Path, tmp_path: Path,
                                                     local_ray: str) -> None:
    res = runner.invoke(app, ["backfill", str(uploads / "p01.jpg"), "--out",
                              str(tmp_path / "o"), "--engine", "ray", "--workers", "3"])
    assert res.exit_code == 2
    assert "backfill.too_many_workers" in res.output and "2 CPUs" in res.output
    assert not list((tmp_path / "o").glob("part-*"))


def test_ray_leaves_no_process_behind(uploads: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Started by the command itself (no Ray running), Ray is shut down at the end."""
    temp = tempfile.mkdtemp(prefix="vray", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", temp)
    try:
        res = runner.invoke(app, ["backfill", str(uploads), "--out", str(tmp_path / "o"),
                                  "--engine", "ray", "--workers", "1"])
        assert res.exit_code == 2, res.output
        assert not ray.is_initialized()
        assert len(_rows(tmp_path / "o")) == PHOTOS + len(BAD)
        assert any(Path(temp).iterdir()), "Ray did not use RAY_TMPDIR: the check sees nothing"
        assert _processes_under(temp) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)
