"""``veil protect`` banks a region signal beside PDQ in the categories that keep one,
and ``veil scan --json`` reports region matches under ``"matches"`` with their kind
and boxes: an edited copy gets the bank's action, a derived one is reviewed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from derived_pictures import derived, edited
from veil.cli import app

runner = CliRunner()


def lines(output: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in output.splitlines() if x.startswith("{")]


def test_protect_then_scan_finds_edited_and_derived_copies(veil_home: Path, tmp_path: Path,
                                                          photos: list[Path]) -> None:
    r = runner.invoke(app, ["protect", "--bank", "mine", "--json", str(photos[0])])
    assert r.exit_code == 0, r.output
    [banked] = lines(r.output)
    assert [a["signal"] for a in banked["added"]] == ["pdq", "md5", "region"]
    assert banked["added"][2]["points"] > 16
    again = lines(runner.invoke(app, ["protect", "--bank", "mine", "--json",
                                      str(photos[0])]).output)[0]
    assert again["added"] == [] and "region: already in the bank" in again["notes"]

    (tmp_path / "edited.jpg").write_bytes(edited(photos[0]))
    (tmp_path / "derived.jpg").write_bytes(derived(photos[0]))
    (tmp_path / "other.jpg").write_bytes(photos[1].read_bytes())
    r = runner.invoke(app, ["scan", "--json", "--workers", "1", str(tmp_path / "derived.jpg"),
                            str(tmp_path / "edited.jpg"), str(tmp_path / "other.jpg")])
    found = {Path(x["file"]).name: x for x in lines(r.output)}
    m = found["edited.jpg"]["matches"][0]
    assert (m["signal"], m["region"]["kind"]) == ("region", "copy")
    # protected_photo's own action for a copy is review; the derived one says why
    assert found["edited.jpg"]["decision"] == "review"
    d = found["derived.jpg"]
    assert d["decision"] == "review" and d["matches"][0]["region"]["kind"] == "derived"
    box = d["matches"][0]["region"]["differing"]
    assert box["y"] > 30 and box["y"] + box["h"] >= 300  # centre-bottom, in upload pixels
    assert any("derived_from_protected" in x for x in d["reasons"])
    assert found["other.jpg"]["matches"] == []


def test_banks_of_other_categories_keep_hashes_only(veil_home: Path,
                                                    photos: list[Path]) -> None:
    r = runner.invoke(app, ["protect", "--bank", "known", "--category", "confirmed_ncii",
                            "--json", str(photos[0])])
    assert r.exit_code == 0, r.output
    assert [a["signal"] for a in lines(r.output)[0]["added"]] == ["pdq", "md5"]
