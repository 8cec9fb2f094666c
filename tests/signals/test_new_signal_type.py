"""A signal type defined outside the package works everywhere once registered: banks,
imports, matching, verdicts, the API, the CLI — nothing else needs to know its name.

(What adding a real type takes: its module and one line in ``registry``.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from veil.config import Settings, load_settings
from veil.media.source import Media
from veil.signals import registry
from veil.signals.base import Signal, SignalType, Variant


class MeanGrey(SignalType):
    """A toy 16-bit perceptual signal: the image's mean grey level, twice over."""

    name: ClassVar[str] = "toy_grey"
    bits: ClassVar[int] = 16
    default_threshold: ClassVar[int] = 2
    min_quality: ClassVar[int | None] = 10
    variants = (Variant("original", "as banked"), Variant("negative", "as a negative"))
    always_scanned = True

    def compute(self, media: Media) -> Signal:
        level = round(float(np.asarray(media.image.convert("L")).mean()))
        return Signal(self.name, f"{level:02x}{level:02x}", quality=50)

    def compute_variants(self, media: Media) -> list[Signal]:
        plain = self.compute(media)
        inv = 255 - int(plain.value[:2], 16)
        return [plain, Signal(self.name, f"{inv:02x}{inv:02x}", quality=50)]


@pytest.fixture
def toy(veil_home: object) -> Iterator[MeanGrey]:
    t = MeanGrey()
    registry.register(t)
    try:
        yield t
    finally:
        registry.unregister(t.name)


def test_registered_type_is_banked_matched_and_explained(toy: MeanGrey, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from veil.cli import app
    from veil.matching import BankMatcher, scan_bytes
    from veil.store import open_store

    settings: Settings = load_settings()
    grey = Image.new("RGB", (64, 64), (100, 100, 100))
    path = tmp_path / "grey.png"
    grey.save(path)
    listed = tmp_path / "list.csv"
    listed.write_text("signal,value\ntoy_grey,6464\n")  # 0x64 == 100
    runner = CliRunner()
    runner.invoke(app, ["bank", "create", "toys", "-c", "confirmed_ncii"])
    r = runner.invoke(app, ["bank", "import", "toys", str(listed)])
    assert r.exit_code == 0, r.output

    with open_store(settings) as store:
        m = BankMatcher.load(settings, store)
    assert "toy_grey" in m.scan_names()  # always_scanned
    found = scan_bytes(path.read_bytes(), m)
    assert found.verdict is not None and found.verdict.decision == "block"
    [match] = found.verdict.matches
    assert (match.signal, match.distance, match.threshold) == ("toy_grey", 0, 2)
    assert found.verdict.reasons[0].startswith("toy_grey 0 bits apart (threshold 2)")

    # variants: the negative of the banked level, found through its variant
    negative = Image.new("RGB", (64, 64), (155, 155, 155))
    neg_path = tmp_path / "negative.png"
    negative.save(neg_path)
    turned = scan_bytes(neg_path.read_bytes(), m, dihedral=True)
    assert turned.verdict is not None and turned.verdict.matches[0].variant == "negative"
    assert "as a negative" in turned.verdict.reasons[0]

    # the CLI's scan and match, and the service, with no change anywhere
    r = runner.invoke(app, ["scan", "--json", "--workers", "1", str(path)])
    assert r.exit_code == 1 and json.loads(r.stdout.splitlines()[0])["decision"] == "block"
    r = runner.invoke(app, ["match", "-s", "toy_grey", "--json", "6465"])
    assert r.exit_code == 1 and json.loads(r.stdout)["matches"][0]["distance"] == 1

    from veil.api import create_app
    from veil.api.services import Services

    services = Services(settings)
    services.start(background=False)
    try:
        key = services.store.create_api_key(["platform"], actor="t")[1]
        with TestClient(create_app(settings, services=services)) as client:
            got = client.post("/v1/match", headers={"Authorization": f"Bearer {key}"},
                              json={"signals": [{"signal": "toy_grey", "value": "6464"}]})
            assert got.status_code == 200 and got.json()["results"][0]["decision"] == "block"
            # not victim_submittable: intake refuses it, naming what it accepts
            r2 = client.post("/v1/cases", json={
                "signals": [{"signal": "toy_grey", "value": "6464"}],
                "attestation": {"self_or_guardian": True, "intimate": True}})
            assert r2.status_code == 422 and "pdq" in r2.json()["error"]["message"]
    finally:
        services.stop()
