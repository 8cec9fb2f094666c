"""C2PA reading on the reference fixtures (valid, tampered, bad signatures, remote,
none) and on benign photos the tests sign with the fixtures' TEST certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from provenance_kit import inspect, jpeg, png, reencode, screenshot, sign_c2pa, strip

pytestmark = pytest.mark.corpus


def _kinds(found: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for o in found.observations:  # type: ignore[attr-defined]
        out.setdefault(f"{o.source}.{o.kind}", []).append(o.value)
    return out


def test_no_manifest(reference: Path) -> None:
    found = inspect((reference / "A.jpg").read_bytes())
    assert found.c2pa == "none"
    assert not any(o.source == "c2pa" for o in found.observations)
    assert not found.declares_ai


def test_valid_manifest_with_its_generator_actions_and_source_type(reference: Path) -> None:
    found = inspect((reference / "C.jpg").read_bytes())
    kinds = _kinds(found)
    assert found.c2pa == "embedded"
    assert kinds["c2pa.validation"][0].startswith("Valid")  # the library's word
    assert "make_test_images" in kinds["c2pa.claim_generator"][0]
    assert kinds["c2pa.action"] == ["c2pa.created"]
    assert kinds["c2pa.digital_source_type"] == ["algorithmicMedia"]
    assert found.declares_ai


def test_tampered_manifest_is_reported_invalid(reference: Path) -> None:
    kinds = _kinds(inspect((reference / "XCA.jpg").read_bytes()))
    assert kinds["c2pa.validation"][0].startswith("Invalid")
    assert "mismatch" in kinds["c2pa.validation"][0]  # the pixels' hash no longer fits


@pytest.mark.parametrize("name", ["CIE-sig-CA.jpg", "E-sig-CA.jpg"])
def test_signature_problems_are_reported_invalid(reference: Path, name: str) -> None:
    kinds = _kinds(inspect((reference / name).read_bytes()))
    assert kinds["c2pa.validation"][0].startswith("Invalid")
    assert "claimSignature" in kinds["c2pa.validation"][0]


def test_remote_manifest_is_reported_not_fetched(reference: Path) -> None:
    found = inspect((reference / "cloud.jpg").read_bytes())
    assert found.c2pa == "remote"
    (remote,) = _kinds(found)["c2pa.remote_manifest"]
    assert remote.startswith("manifest at https://") and remote.endswith("(not fetched)")


@pytest.mark.parametrize("name", ["CA.jpg", "C_with_CAWG_data.jpg", "CACAE-uri-CA.jpg",
                                  "legacy_ingredient_hash.jpg", "boxhash.jpg"])
def test_further_valid_variants_read(reference: Path, name: str) -> None:
    found = inspect((reference / name).read_bytes())
    assert found.c2pa == "embedded"
    assert _kinds(found)["c2pa.validation"][0].startswith("Valid")


def test_a_photo_signed_as_ai_generated_and_what_survives(reference: Path,
                                                          textured: Image.Image) -> None:
    signed = sign_c2pa(jpeg(textured), reference)
    found = inspect(signed)
    kinds = _kinds(found)
    assert found.c2pa == "embedded" and found.declares_ai
    assert kinds["c2pa.digital_source_type"] == ["trainedAlgorithmicMedia"]
    assert kinds["c2pa.claim_generator"] == ["veil-tests"]
    assert kinds["c2pa.validation"][0].startswith("Valid")
    # a manifest lives in metadata: any re-save or strip removes it, leaving no trace
    for lost in (reencode(signed), strip(signed), screenshot(signed)):
        after = inspect(lost)
        assert after.c2pa == "none" and not after.declares_ai


def test_signed_png_declares_too(reference: Path, textured: Image.Image) -> None:
    signed = sign_c2pa(png(textured), reference, "compositeWithTrainedAlgorithmicMedia",
                       mime="image/png")
    found = inspect(signed)
    assert _kinds(found)["c2pa.digital_source_type"] == ["compositeWithTrainedAlgorithmicMedia"]
    assert found.declares_ai


def test_the_library_is_told_not_to_fetch(reference: Path) -> None:
    """With fetching on, the library tries the URL ("could not fetch …"); Veil's
    context makes it stop before any request ("must fetch …")."""
    import io

    import c2pa

    from veil.inspect.manifest import _context

    with pytest.raises(c2pa.C2paError) as exc, _context() as context:
        c2pa.Reader(io.BytesIO((reference / "cloud.jpg").read_bytes()), context=context)
    assert "must fetch remote manifest" in str(exc.value)
