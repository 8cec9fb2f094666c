"""The hand-written record check agrees with the wire model it stands in for, and
reads what real hubs and clients send."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from veil.exchange.records import check_line, check_stopncii
from veil.exchange.stopncii_format import TO_VEIL, HashRecord
from veil.store.exchanges import Incoming, Rejected

PDQ = "ab" * 32
GOOD: dict[str, Any] = {"lastModtimestamp": 1, "signalType": "ImagePDQ", "hashValue": PDQ,
                        "hashStatus": "Active", "caseNumbers": {"c": "Active"},
                        "CSPFeedbacks": []}


@pytest.mark.parametrize("change", [
    {}, {"caseNumbers": []}, {"caseNumbers": None}, {"signalType": "StopNCIISignalType.ImagePDQ"},
    {"signalType": "imagepdq"}, {"lastModtimestamp": "1"}, {"lastModtimestamp": None},
    {"hashValue": 5}, {"hashStatus": None}, {"signalType": None}, {"caseNumbers": "c1"},
    {"lastModtimestamp": True}, {"hashValue": PDQ.upper()}, {"extra": 1},
])
def test_the_fast_check_takes_what_the_model_takes(change: dict[str, Any]) -> None:
    raw = {**GOOD, **change}
    try:
        # the model reads any signal type; the check also knows which Veil matches
        model_ok = HashRecord.model_validate(raw, strict=True).signalType in TO_VEIL
    except ValidationError:
        model_ok = False
    assert isinstance(check_stopncii(raw), Incoming) == model_ok


def test_missing_fields_and_non_objects_are_rejected_with_why() -> None:
    for missing in ("lastModtimestamp", "signalType", "hashValue", "hashStatus"):
        r = check_stopncii({k: v for k, v in GOOD.items() if k != missing})
        assert isinstance(r, Rejected) and missing in r.reason
    assert isinstance(check_stopncii([GOOD]), Rejected)


def test_withdrawals_are_read_from_the_status_not_the_value() -> None:
    # python-threatexchange 1.2.17 compares hashValue with the statuses: never true
    for status in ("Withdrawn", "Deleted"):
        r = check_stopncii({**GOOD, "hashStatus": status})
        assert isinstance(r, Incoming) and r.gone and r.value == PDQ
    r = check_stopncii({**GOOD, "hashStatus": "Received"})
    assert isinstance(r, Incoming) and not r.gone


def test_a_plain_list_line() -> None:
    assert check_line(f"pdq {PDQ}") == Incoming("pdq", PDQ, gone=False)
    assert check_line("# a comment") is None and check_line("   ") is None
    assert isinstance(check_line("tmk 00"), Rejected)
    assert isinstance(check_line("pdq xyz"), Rejected)
