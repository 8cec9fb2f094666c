"""The vPDQ rule through the exact index (``veil.matching.video``) gives the
reference's brute-force figures (``match_pair``) for every pair of sample videos,
banked from the reference's own hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from veil.config import Settings
from veil.matching import BankMatcher
from veil.matching.video import VideoRule, match_video
from veil.signals.vpdq import VideoFrame, match_pair, parse_vpdq
from veil.store import Store


@pytest.fixture
def reference(shared_data: Path) -> dict[str, list[VideoFrame]]:
    folder = shared_data / "video-reference" / "vpdq-hashes"
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 11, f"expected the reference vPDQ hashes in {folder}"
    return {p.stem: parse_vpdq(p.read_text().splitlines(), max_frames=100_000) for p in files}


def test_index_gives_the_brute_force_figures_for_every_pair(
        store: Store, settings: Settings, reference: dict[str, list[VideoFrame]]) -> None:
    store.create_bank("ref", "confirmed_ncii", actor="test")
    ids = {name: store.add_video("ref", frames, actor="test", label=name).id
           for name, frames in reference.items()}
    matcher = BankMatcher.load(settings, store, snapshots=False)
    # P_q = P_c = 0: every banked video with any frame in reach is reported
    rule = VideoRule(threshold=31, query_percent=0, candidate_percent=0, range_gap=1.0)
    checked = 0
    for q, frames in reference.items():
        found = match_video(matcher.indexes["vpdq"], store, frames, rule, 50, {})
        got = {m.video.video_id: m.video for m in found if m.video is not None}
        assert len(got) == len(found)
        for c, vid in ids.items():
            want = match_pair(frames, reference[c])
            if want.query_percent == 0:
                assert vid not in got, (q, c)
                continue
            v = got[vid]
            assert v.query_percent == pytest.approx(want.query_percent, abs=0.01), (q, c)
            assert v.candidate_percent == pytest.approx(want.candidate_percent, abs=0.01), (q, c)
            checked += 1
    assert checked > len(reference)  # some pairs other than each video with itself


def test_partial_clip_reports_where_it_is(store: Store, settings: Settings,
                                          reference: dict[str, list[VideoFrame]]) -> None:
    """Seconds 5-10 of a banked video, alone: a match (P_c 0) whose ranges name the
    same five seconds on both sides."""
    full = reference["chair-19-sd-bar"]  # 18.8 s
    store.create_bank("ref", "confirmed_ncii", actor="test")
    vid = store.add_video("ref", full, actor="test").id
    matcher = BankMatcher.load(settings, store, snapshots=False)
    clip = [VideoFrame(f.number - 150, f.quality, f.hash, round(f.timestamp - 5, 3))
            for f in full if 5 <= f.timestamp <= 10][::30]
    rule = VideoRule(threshold=31, query_percent=80, candidate_percent=0, range_gap=2.0)
    (m,) = match_video(matcher.indexes["vpdq"], store, clip, rule, 50, {})
    assert m.video is not None and m.video.video_id == vid
    assert m.video.query_percent == 100 and m.video.candidate_percent < 50
    assert m.video.query_ranges == [(0.0, 5.0)]
    ((a, b),) = m.video.banked_ranges
    assert a == pytest.approx(5.0, abs=0.5) and b == pytest.approx(10.0, abs=0.5)
    # and a P_c the clip cannot reach turns it away
    strict = VideoRule(threshold=31, query_percent=80, candidate_percent=80, range_gap=2.0)
    assert match_video(matcher.indexes["vpdq"], store, clip, strict, 50, {}) == []
