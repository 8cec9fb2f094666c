"""The hand-written record check agrees with the wire model it stands in for, and
reads what real hubs and clients send."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from veil.exchange.http import PeerError
from veil.exchange.peers import _read_page
from veil.exchange.records import check_fetch_page, check_line, check_stopncii
from veil.exchange.stopncii_format import TO_VEIL, HashRecord
from veil.store.exchanges import Incoming, Rejected
from veil.store.models import CASE_REF_MAX

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


def _page(records: list[Any], **envelope: Any) -> bytes:
    return json.dumps({"count": len(records), "nextPageToken": "t", "nextSetTimestamp": 5,
                       "hasMoreRecords": True, "hashRecords": records, **envelope}).encode()


#: Common records in every spelling the one-pass check takes.
COMMON: list[dict[str, Any]] = [
    GOOD, {**GOOD, "hashStatus": "Received"}, {**GOOD, "hashStatus": "Withdrawn"},
    {**GOOD, "hashStatus": "Deleted", "caseNumbers": None},
    {k: v for k, v in GOOD.items() if k != "caseNumbers"},
    {**GOOD, "caseNumbers": {"z": "Active", "a": "Active", "m": 1}},
    {**GOOD, "caseNumbers": {f"case-{i:04}": "Active" for i in range(100)}},
    {**GOOD, "signalType": "VideoMD5", "hashValue": "0f" * 16, "CSPFeedbacks": None},
    {**GOOD, "lastModtimestamp": 10**30, "extra": {"nested": [1, 2]}},
]


def test_a_common_page_is_read_in_one_pass_as_record_by_record() -> None:
    read = check_fetch_page(_page(COMMON))
    assert read is not None
    page, good = read
    assert good == [check_stopncii(r) for r in COMMON]
    assert (page.count, page.nextPageToken, page.nextSetTimestamp, page.hasMoreRecords) == (
        len(COMMON), "t", 5, True)
    assert [r.gone for r in good[:4]] == [False, False, True, True]
    assert good[5].case_ref == "a,m,z" and len(good[6].case_ref or "") == CASE_REF_MAX
    assert check_fetch_page(_page([])) is not None


@pytest.mark.parametrize("change", [
    {"caseNumbers": []}, {"signalType": "StopNCIISignalType.ImagePDQ"},
    {"signalType": "imagepdq"}, {"lastModtimestamp": "1"}, {"lastModtimestamp": True},
    {"lastModtimestamp": 1.0}, {"hashValue": PDQ.upper()}, {"hashValue": PDQ + "\n"},
    {"hashValue": PDQ[:-2]}, {"signalType": "VideoMD5"}, {"hashStatus": "Unknown"},
    {"hashStatus": None}, {"caseNumbers": "c1"}, {"signalType": "TMK"},
])
def test_one_uncommon_record_sends_the_page_record_by_record(change: dict[str, Any]) -> None:
    """The one-pass check takes only what ``check_stopncii`` reads the same way in
    its own fast path; anything else goes through the full check, which reads the
    tolerated spellings and refuses the rest with a reason."""
    records = [GOOD, {**GOOD, **change}]
    body = _page(records)
    assert check_fetch_page(body) is None
    _, good, bad = _read_page("http://peer/FetchHashes", body)
    expected = [check_stopncii(r) for r in records]
    assert good == [r for r in expected if isinstance(r, Incoming)]
    assert bad == [r for r in expected if isinstance(r, Rejected)]


def test_a_repeated_key_is_read_as_the_record_by_record_check_reads_it() -> None:
    # the last of a repeated key counts, for both readers
    good_last = b'"hashValue": "' + b"zz" * 32 + b'", "hashValue": "' + PDQ.encode() + b'"'
    bad_last = b'"hashValue": "' + PDQ.encode() + b'", "hashValue": "' + b"zz" * 32 + b'"'
    for pair, ok in ((good_last, True), (bad_last, False)):
        body = (b'{"count": 1, "nextSetTimestamp": 5, "hasMoreRecords": false, '
                b'"hashRecords": [{"lastModtimestamp": 1, "signalType": "ImagePDQ", '
                + pair + b', "hashStatus": "Active"}]}')
        _, good, bad = _read_page("http://peer/FetchHashes", body)
        assert (len(good), len(bad)) == ((1, 0) if ok else (0, 1))
        assert (check_fetch_page(body) is not None) == ok


def test_a_page_that_is_not_json_or_has_a_bad_envelope_is_refused_as_before() -> None:
    for body in (b"<html>", b'{"count": 1', "{\"a\": \"\xe9\"}".encode("latin-1")):
        assert check_fetch_page(body) is None
        with pytest.raises(PeerError, match="not JSON"):
            _read_page("http://peer/FetchHashes", body)
    for envelope in ({"hasMoreRecords": "perhaps"}, {"nextSetTimestamp": None},
                     {"hashRecords": {"a": GOOD}}):
        body = _page([GOOD], **envelope)
        assert check_fetch_page(body) is None
        with pytest.raises(PeerError, match="malformed FetchHashes page"):
            _read_page("http://peer/FetchHashes", body)
