"""Verdicts: the most severe bank action wins; reasons name the evidence."""

from veil.verdict import Match, action_for, decide


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
    v = decide([*near, _m("ncii", "confirmed_ncii", 25)], {}).noting(["dct: not matched"])
    full = v.as_json()
    assert len(full["matches"]) == 11 and "matches_total" not in full  # type: ignore[arg-type]
    cut = v.as_json(3)
    assert cut["decision"] == "block" and cut["matches_total"] == 11
    assert [m["distance"] for m in cut["matches"]] == [1, 2, 25]  # type: ignore[index,union-attr]
    assert cut["reasons"][-2].endswith("→ block")  # type: ignore[index]
    assert cut["reasons"][-1] == "dct: not matched"  # type: ignore[index]
    assert len(cut["reasons"]) == 4  # type: ignore[arg-type]
    closest = decide(near, {}).as_json(3)  # the decisive one is already listed
    assert [m["distance"] for m in closest["matches"]] == [1, 2, 3]  # type: ignore[index,union-attr]
