"""Region signals in the store: sealed (the store never holds the key), attached only
to active pdq entries, read back with their bank, erased with the entry's hash by
the database itself (a trigger, whichever statement erases it), and carried to a
loaded matcher by the change feed."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import text, update

from derived_pictures import derived, edited
from veil.config import Settings
from veil.matching import BankMatcher
from veil.media.source import Media
from veil.regions.features import QUERY, bank_features
from veil.regions.sealing import KEY_FILE, load_region_sealer
from veil.signals.batch import hash_bytes
from veil.store import Store
from veil.store.models import Entry

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def banked(store: Store, settings: Settings, photo: Path, bank: str = "mine") -> int:
    """``photo`` banked as ``veil protect`` banks it: its PDQ entry, then its region
    signal sealed for that entry."""
    data = photo.read_bytes()
    pdq = hash_bytes(data, settings.media, ("pdq",)).signals[0]
    if bank not in {b.name for b in store.list_banks(counts=False)}:
        store.create_bank(bank, "protected_photo", actor="test")
    e = store.add_entry(bank, "pdq", pdq.value, quality=pdq.quality, actor="test")
    features = bank_features(Media.from_bytes(data, settings.media))
    sealer = load_region_sealer(settings)
    assert store.attach_regions([(e.id, sealer.seal_features(e.id, features),
                                  len(features))], actor="test") == 1
    return e.id


def test_attached_to_active_pdq_entries_only_and_once(store: Store, settings: Settings,
                                                       photos: list[Path]) -> None:
    entry = banked(store, settings, photos[0])
    assert (settings.home / KEY_FILE).exists()
    sealer = load_region_sealer(settings)
    [row] = store.sealed_regions([entry, 999])
    assert (row.entry_id, row.bank, row.category) == (entry, "mine", "protected_photo")
    assert len(sealer.open_features(entry, row.sealed)) > 16
    # banked again: the first stays
    assert store.attach_regions([(entry, b"other", 1)], actor="test") == 0
    # not a pdq entry, or not an active one: nothing attached
    md5 = store.add_entry("mine", "md5", "0" * 32, actor="test")
    other = store.add_entry("mine", "pdq", PDQ, quality=90, actor="test")
    store.disable_entry(other.id, actor="test", reason="test")
    assert store.attach_regions([(md5.id, b"x", 1), (other.id, b"x", 1)], actor="test") == 0
    assert store.pdq_entry_id("mine", PDQ) is None
    assert store.region_count() == 1
    assert [p.entry_id for page in store.iter_sealed_regions() for p in page] == [entry]


def test_erasing_the_hash_deletes_the_region_signal_whatever_erases_it(
        store: Store, settings: Settings, photos: list[Path]) -> None:
    first = banked(store, settings, photos[0])
    second = banked(store, settings, photos[1])
    store.withdraw(first, actor="test")
    # a bulk UPDATE, as an exchange's withdrawals are written
    with store.engine.begin() as conn:
        conn.execute(update(Entry).where(Entry.id == second)
                     .values(value=None, status="withdrawn"))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM region_signals")).scalar_one() == 0


def test_a_loaded_matcher_follows_attachments_and_withdrawals(
        store: Store, settings: Settings, photos: list[Path]) -> None:
    matcher = BankMatcher.load(settings, store, snapshots=False)
    assert matcher.regions is not None and len(matcher.regions) == 0
    assert not (settings.home / KEY_FILE).exists()  # no region signal, no key file

    def found(data: bytes, *, dihedral: bool = False) -> list[str]:
        file = hash_bytes(data, settings.media, matcher.scan_names(), dihedral=dihedral)
        return [m.region.kind + (" mirrored" if m.variant else "")
                for m in matcher.verdict(file).matches if m.region]

    assert QUERY not in matcher.scan_names()
    entry = banked(store, settings, photos[0])
    matcher.catch_up(store)
    assert QUERY in matcher.scan_names() and len(matcher.regions) == 1
    assert found(edited(photos[0])) == ["copy"]
    assert found(derived(photos[0])) == ["derived"]
    assert found(photos[2].read_bytes()) == []
    # ORB turns with a picture but does not mirror: a mirrored copy needs a dihedral scan
    mirror = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(edited(photos[0])))).save(mirror, "JPEG")
    assert found(mirror.getvalue()) == []
    assert found(mirror.getvalue(), dihedral=True) == ["copy mirrored"]
    assert found(edited(photos[0]), dihedral=True) == ["copy"]
    store.withdraw(entry, actor="test")
    matcher.catch_up(store)
    assert len(matcher.regions) == 0 and found(edited(photos[0])) == []


def test_a_signal_sealed_under_another_key_is_skipped_not_fatal(
        store: Store, settings: Settings, photos: list[Path]) -> None:
    import os

    from veil.regions.sealing import RegionSealer

    good = banked(store, settings, photos[0])
    data = photos[1].read_bytes()
    pdq = hash_bytes(data, settings.media, ("pdq",)).signals[0]
    e = store.add_entry("mine", "pdq", pdq.value, quality=pdq.quality, actor="test")
    foreign = RegionSealer(os.urandom(32))  # another node's key
    features = bank_features(Media.from_bytes(data, settings.media))
    store.attach_regions([(e.id, foreign.seal_features(e.id, features), len(features))],
                         actor="test")
    matcher = BankMatcher.load(settings, store, snapshots=False)
    assert matcher.regions is not None
    assert set(matcher.regions.entries) == {good} and matcher.regions.unreadable == {e.id}
    store.withdraw(e.id, actor="test")
    matcher.catch_up(store)
    assert matcher.regions.unreadable == set()


def test_only_the_listed_categories_region_signals_are_matched(
        store: Store, settings: Settings, photos: list[Path]) -> None:
    kept = banked(store, settings, photos[0])
    store.create_bank("known", "confirmed_ncii", actor="test")
    other = banked(store, settings, photos[1], bank="known")
    matcher = BankMatcher.load(settings, store, snapshots=False)
    assert matcher.regions is not None and set(matcher.regions.entries) == {kept}
    later = banked(store, settings, photos[2], bank="known")
    matcher.catch_up(store)
    assert set(matcher.regions.entries) == {kept} and {other, later}.isdisjoint(
        matcher.regions.entries)
