"""Verdicts: the most severe bank action wins; reasons name the evidence."""

import pytest

from veil.verdict import MAX_REASON_CHARS, Match, Note, action_for, decide


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
