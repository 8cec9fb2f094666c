"""Sealing review media: AES-256-GCM bound to the item's id, the key from settings or
a key file made owner-only."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from veil.config import Settings
from veil.errors import ConfigError
from veil.review.sealing import KEY_FILE, MediaSealer, SealBroken, load_sealer

PICTURE = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same" * 50


def test_sealed_media_opens_only_for_its_own_item_and_key() -> None:
    sealer = MediaSealer(os.urandom(32))
    sealed = sealer.seal("item-a", PICTURE)
    assert PICTURE not in sealed and PICTURE[:32] not in sealed
    assert sealer.open("item-a", sealed) == PICTURE
    with pytest.raises(SealBroken):  # moved onto another item's row
        sealer.open("item-b", sealed)
    with pytest.raises(SealBroken):  # another key
        MediaSealer(os.urandom(32)).open("item-a", sealed)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealBroken):
        sealer.open("item-a", bytes(tampered))
    # a fresh nonce each time: the same picture never seals to the same bytes
    assert sealer.seal("item-a", PICTURE) != sealed


def test_without_a_configured_key_a_private_key_file_is_made_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = load_sealer(settings)
    path = settings.home / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal("x", PICTURE)
    assert load_sealer(settings).open("x", sealed) == PICTURE  # the same key again
    os.chmod(path, 0o644)
    load_sealer(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_configured_key_is_used_and_a_bad_one_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    key = os.urandom(32)
    monkeypatch.setenv("VEIL_REVIEW_MEDIA_KEY", base64.b64encode(key).decode())
    settings = Settings(home=tmp_path / "home")
    sealed = load_sealer(settings).seal("x", PICTURE)
    assert MediaSealer(key).open("x", sealed) == PICTURE
    assert not (settings.home / KEY_FILE).exists()
    monkeypatch.setenv("VEIL_REVIEW_MEDIA_KEY", base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(ConfigError, match="32 bytes"):
        load_sealer(Settings(home=tmp_path / "home"))
    monkeypatch.setenv("VEIL_REVIEW_MEDIA_KEY", "not base64 !")
    with pytest.raises(ConfigError, match="base64"):
        load_sealer(Settings(home=tmp_path / "home"))
    # the key never shows in the settings' text
    assert "not base64" not in repr(Settings(home=tmp_path / "home"))
