"""``BankMatcher``: the settings it is given decide (nothing is read from the
environment deep inside), one loader for every caller, hashes decoded only on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from veil.config import Settings
from veil.errors import BadInput
from veil.matching import BankMatcher, load_indexes
from veil.store import Store


def pdq(rng: np.random.Generator) -> str:
    return rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()


def flip(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


@pytest.fixture
def banked(store: Store) -> str:
    value = pdq(np.random.default_rng(1))
    store.create_bank("ncii", "confirmed_ncii", actor="t")
    store.add_entry("ncii", "pdq", value, actor="t")
    return value


def test_the_threshold_comes_from_the_settings_given(settings: Settings, store: Store,
                                                     banked: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEIL_THRESHOLDS__PDQ", "31")  # the environment must not win
    strict = BankMatcher.load(settings.with_(thresholds={"pdq": 10}), store, snapshots=False)
    assert strict.threshold("pdq") == 10
    assert strict.search("pdq", [flip(banked, 20)]) == [[]]
    assert [m.distance for m in strict.search("pdq", [flip(banked, 9)])[0]] == [9]
    default = BankMatcher.load(settings.with_(thresholds={}), store, snapshots=False)
    assert default.threshold("pdq") == 31
    assert [m.threshold for m in default.search("pdq", [flip(banked, 20)])[0]] == [31]


def test_a_quality_floor_from_the_settings_given(settings: Settings, store: Store,
                                                 banked: str) -> None:
    from veil.signals import Signal
    from veil.signals.batch import FileSignals

    file = FileSignals("f", (Signal("pdq", banked, 55),))
    assert BankMatcher.load(settings, store).verdict(file).matches
    picky = BankMatcher.load(settings.with_(min_quality={"pdq": 60}), store)
    v = picky.verdict(file)
    assert not v.matches and any("below 60" in r for r in v.reasons)


def test_thresholds_above_the_signals_maximum_are_refused(settings: Settings,
                                                          store: Store) -> None:
    m = BankMatcher.load(settings, store, snapshots=False)
    with pytest.raises(BadInput) as e:
        m.search("pdq", ["0" * 64], 257)
    assert e.value.code == "input.bad_threshold"
    with pytest.raises(BadInput):
        m.search("md5", ["0" * 32], 129)


def test_hashes_are_decoded_only_when_asked(settings: Settings, store: Store,
                                            banked: str) -> None:
    m = BankMatcher.load(settings, store)
    [plain] = m.search("pdq", [banked])
    assert plain[0].value is None and "value" not in plain[0].as_json()
    [shown] = m.search("pdq", [banked], with_values=True)
    assert shown[0].value == banked


def test_one_loader_honours_the_snapshot_size_setting(settings: Settings, store: Store,
                                                      banked: str) -> None:
    folder = Path(settings.home) / "index"
    load_indexes(settings.with_(index_snapshot_min_entries=100_000), store)
    assert not any(folder.glob("*.snapshot"))  # a 1-entry bank writes no files
    load_indexes(settings.with_(index_snapshot_min_entries=1), store)
    assert sorted(p.name for p in folder.glob("*.snapshot")) == ["pdq.snapshot"]


def test_a_matcher_of_banks_without_region_signals_loads_no_compiled_loops(
        veil_home: Path) -> None:
    """The region index (numba's loops, about a fifth of a second of ``veil scan``'s
    start) is made when the first region signal is loaded, not for every matcher."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from veil.config import load_settings\n"
        "from veil.matching import BankMatcher\n"
        "from veil.signals import Signal\n"
        "from veil.signals.batch import FileSignals\n"
        "from veil.store import open_store\n"
        "value = 'f' * 64\n"
        "settings = load_settings()\n"
        "with open_store(settings) as store:\n"
        "    store.create_bank('ncii', 'confirmed_ncii', actor='t')\n"
        "    store.add_entry('ncii', 'pdq', value, actor='t')\n"
        "    matcher = BankMatcher.load(settings, store)\n"
        "    verdict = matcher.verdict(FileSignals('f', (Signal('pdq', value, 90),)))\n"
        "print(json.dumps([matcher.regions is not None, verdict.decision,\n"
        "                  'numba' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))  # veil_home's
    assert done.returncode == 0, done.stderr
    has_regions, decision, numba = json.loads(done.stdout.strip().splitlines()[-1])
    assert has_regions and decision == "block"
    assert not numba, "a matcher without region signals imported numba"
