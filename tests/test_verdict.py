"""Verdicts: the most severe bank action wins; reasons name the evidence."""

import pytest

from veil.verdict import MAX_REASON_CHARS, Match, Note, Quarantines, action_for, decide


def _m(bank: str, category: str, distance: int, signal: str = "pdq") -> Match:
    return Match(signal=signal, entry_id=7, bank=bank, category=category, distance=distance,
                 threshold=31)


def test_no_match_allows() -> None:
    v = decide([], {})
    assert v.decision == "allow" and v.reasons


def test_most_severe_action_wins_and_closest_first() -> None:
    v = decide([_m("protected", "protected_photo", 12), _m("ncii", "confirmed_ncii", 20)], {})
    assert v.decision == "block"
    assert v.matches[0].distance == 12
    assert "12 bits apart" in v.reasons[0] and "'protected'" in v.reasons[0]


def test_bank_policy_overrides_category_default() -> None:
    assert action_for("protected_photo", None) == "review"
    assert action_for("protected_photo", {"action": "block"}) == "block"
    assert action_for("confirmed_ncii", {"action": "bogus"}) == "block"
    v = decide([_m("p", "protected_photo", 3)], {"p": {"action": "block"}})
    assert v.decision == "block"


def test_exact_digest_reason_reads_naturally() -> None:
    v = decide([Match(signal="md5", entry_id=1, bank="b", category="imported", distance=0,
                      threshold=0)], {})
    assert v.decision == "review" and "identical bytes" in v.reasons[0]
    assert v.as_json()["matches"][0]["signal"] == "md5"


def test_a_cut_listing_keeps_the_match_that_decided() -> None:
    near = [_m("protected", "protected_photo", d) for d in range(1, 11)]
    v = decide([*near, _m("ncii", "confirmed_ncii", 25)], {}).noting(
        [Note(signal="dct", quality=10, floor=50)])
    full = v.as_json()
    assert len(full["matches"]) == 11 and "matches_total" not in full  # type: ignore[arg-type]
    cut = v.as_json(3)
    assert cut["decision"] == "block" and cut["matches_total"] == 11
    assert [m["distance"] for m in cut["matches"]] == [1, 2, 25]  # type: ignore[index,union-attr]
    assert cut["reasons"][-2].endswith("→ block")  # type: ignore[index]
    assert cut["reasons"][-1] == ("dct not matched: quality 10 is below 50 (the image "  # type: ignore[index]
                                  "is too flat for a reliable hash)")
    assert len(cut["reasons"]) == 4  # type: ignore[arg-type]
    closest = decide(near, {}).as_json(3)  # the decisive one is already listed
    assert [m["distance"] for m in closest["matches"]] == [1, 2, 3]  # type: ignore[index,union-attr]


def test_reasons_are_worded_only_for_the_matches_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    worded: list[int] = []
    evidence = Match.evidence

    def counted(self: Match) -> str:
        worded.append(self.distance)
        return evidence(self)

    monkeypatch.setattr(Match, "evidence", counted)
    v = decide([_m("protected", "protected_photo", d % 30) for d in range(5000)], {})
    assert worded == []  # deciding words nothing
    reply = v.as_json(3)
    assert worded == [0, 0, 0] and len(reply["reasons"]) == 3  # type: ignore[arg-type]
    worded.clear()
    assert "reasons" not in v.as_json(3, with_reasons=False) and worded == []


def test_no_match_and_notes_read_as_before() -> None:
    v = decide([], {}).noting([Note(signal="pdq", quality=12, floor=50)])
    assert v.reasons == ("no bank entry within its threshold",
                         "pdq not matched: quality 12 is below 50 (the image is too flat "
                         "for a reliable hash)")
    assert v.as_json()["reasons"] == list(v.reasons)


def test_a_reason_is_bounded_in_length() -> None:
    v = decide([_m("b" * 5000, "confirmed_ncii", 3)], {})
    [reason] = v.reasons
    assert len(reason) == MAX_REASON_CHARS and reason.endswith("…")
    assert reason.startswith("pdq 3 bits apart (threshold 31): entry 7 in bank 'bbb")


def _declared(ai: bool = True) -> list:
    from veil.inspect.observation import make

    return [make("xmp", "digital_source_type",
                 "trainedAlgorithmicMedia" if ai else "digitalCapture", declares_ai=ai)]


def test_declared_ai_is_a_reason_and_routes_to_review_only_when_configured() -> None:
    clean = decide([], {})
    assert clean.observing(_declared()).decision == "allow"
    seen = clean.observing(_declared(), "review")
    assert seen.decision == "review"
    assert "xmp digital source type: trainedAlgorithmicMedia (declares AI generation)" in (
        seen.reasons)
    out = seen.as_json()
    assert out["observations"] == [{"source": "xmp", "kind": "digital_source_type",
                                    "value": "trainedAlgorithmicMedia", "declares_ai": True}]
    assert clean.observing(_declared(ai=False), "review").decision == "allow"


def test_a_declaration_never_blocks_nor_lowers_a_bank_decision() -> None:
    blocked = decide([_m("ncii", "confirmed_ncii", 3)], {})
    assert blocked.observing(_declared(), "review").decision == "block"
    allowed = decide([_m("ok", "allowlist", 3)], {})
    assert allowed.observing(_declared(), "review").decision == "review"
    # nothing inspected (hash matching): no observations key at all
    assert "observations" not in decide([], {}).as_json()
    assert decide([], {}).observing([]).as_json()["observations"] == []


# -- policies: allowlists, priorities, disabled banks, quarantines --------------------------
def _e(bank: str, category: str, distance: int, entry: int, signal: str = "pdq") -> Match:
    return Match(signal=signal, entry_id=entry, bank=bank, category=category,
                 distance=distance, threshold=31)


def test_an_allowlist_match_suppresses_the_same_signal_at_its_priority_or_below() -> None:
    v = decide([_e("imp", "imported", 10, 1), _e("fp", "allowlist", 12, 2)], {})
    assert v.decision == "allow"
    reason = v.reasons[0]
    assert "entry 1 in bank 'imp'" in reason and "not counted" in reason
    assert "allowlist entry 2 in bank 'fp'" in reason and "review otherwise" in reason
    assert v.reasons[1].endswith("→ allow")
    assert list(v.counted()) == [(v.matches[1], "allow")]
    # a bank of higher priority than the allowlist is not suppressed
    v = decide([_e("ncii", "confirmed_ncii", 10, 1), _e("fp", "allowlist", 12, 2)],
               {"ncii": {"priority": 5}})
    assert v.decision == "block" and v.reasons[0].endswith("→ block")
    # an allowlist of higher priority suppresses it again
    v = decide([_e("ncii", "confirmed_ncii", 10, 1), _e("fp", "allowlist", 12, 2)],
               {"ncii": {"priority": 5}, "fp": {"priority": 6}})
    assert v.decision == "allow"


def test_an_allowlist_covers_its_own_signal_type_only() -> None:
    # identical bytes (md5) are other evidence than a near PDQ an allowlist knows
    v = decide([_e("ncii", "confirmed_ncii", 0, 1, "md5"), _e("ncii", "confirmed_ncii", 3, 3),
                _e("fp", "allowlist", 4, 2)], {})
    assert v.decision == "block"
    outcomes = dict(zip([m.entry_id for m in v.matches], v.outcomes, strict=True))
    assert outcomes == {1: "counted", 3: "suppressed", 2: "counted"}


def test_a_disabled_bank_matches_nothing_and_says_so() -> None:
    v = decide([_e("imp", "imported", 3, 1), _e("imp", "imported", 4, 2),
                _e("ok", "protected_photo", 9, 3)], {"imp": {"enabled": False}})
    assert v.decision == "review" and [m.bank for m in v.matches] == ["ok"]
    assert v.reasons[-1] == "2 matches in bank 'imp' not counted: the bank is disabled"
    only = decide([_e("imp", "imported", 3, 1)], {"imp": {"enabled": False}})
    assert only.decision == "allow"
    assert only.reasons == ("no bank entry within its threshold",
                            "1 match in bank 'imp' not counted: the bank is disabled")


def test_quarantined_matches_are_review_whatever_the_policy() -> None:
    q = Quarantines(entries=frozenset({1}))
    v = decide([_e("ncii", "confirmed_ncii", 3, 1)], {}, q)
    assert v.decision == "review"
    assert "→ review: quarantined by flood protection" in v.reasons[0]
    assert "(block otherwise)" in v.reasons[0]
    # another entry of the bank is not quarantined; a bank quarantine covers them all
    assert decide([_e("ncii", "confirmed_ncii", 3, 9)], {}, q).decision == "block"
    banks = Quarantines(banks=frozenset({"ncii"}))
    assert decide([_e("ncii", "confirmed_ncii", 3, 9)], {}, banks).decision == "review"
    # an allow becomes review too: the bank is under suspicion either way
    assert decide([_e("fp", "allowlist", 3, 1)], {}, q).decision == "review"


def test_a_quarantined_allowlist_entry_suppresses_nothing() -> None:
    matches = [_e("ncii", "confirmed_ncii", 10, 1), _e("fp", "allowlist", 2, 2)]
    assert decide(matches, {}).decision == "allow"
    v = decide(matches, {}, Quarantines(entries=frozenset({2})))
    assert v.decision == "block" and v.outcomes == ("quarantined", "counted")


def test_the_decisive_match_listed_is_a_counted_one() -> None:
    near = [_e("imp", "imported", d, d) for d in range(1, 6)]
    v = decide([*near, _e("fp", "allowlist", 6, 99), _e("prot", "protected_photo", 20, 50)],
               {"prot": {"priority": 1}})
    assert v.decision == "review"
    cut = v.as_json(2)
    assert [m["entry_id"] for m in cut["matches"]] == [1, 50]  # type: ignore[index,union-attr]


def test_bank_policy_is_validated() -> None:
    from veil.config import load_settings
    from veil.errors import BadInput
    from veil.store.policy import BankPolicy

    p = BankPolicy.parse({"action": "block", "thresholds": {"PDQ": 20}, "priority": 3,
                          "enabled": False})
    assert p.as_stored() == {"action": "block", "thresholds": {"pdq": 20}, "priority": 3,
                             "enabled": False}
    for bad, words in [({"action": "delete"}, "action"),
                       ({"thresholds": {"pdq": 300}}, "between 0 and 256"),
                       ({"thresholds": {"nope": 3}}, "unknown signal type"),
                       ({"priority": 5000}, "priority"), ({"priority": "1"}, "priority"),
                       ({"enabled": "no"}, "enabled"), ({"colour": "red"}, "colour")]:
        with pytest.raises(BadInput, match=words):
            BankPolicy.parse(bad)
    settings = load_settings()
    with pytest.raises(BadInput, match="above 31"):
        BankPolicy.parse({"thresholds": {"pdq": 40}}).checked(settings)
    assert BankPolicy.parse({"thresholds": {"pdq": 40}}).checked(
        settings.with_(max_thresholds={"pdq": 48})).thresholds == {"pdq": 40}
    # what an older Veil stored still loads, the unknown dropped
    assert BankPolicy.stored({"action": "bogus", "priority": 2, "x": 1}).priority == 2
    assert BankPolicy().merged({"action": "review"}).merged(
        {"action": None, "enabled": False}).as_stored() == {"enabled": False}
