"""Banked videos: a video is its bank's ``vpdq`` entries (one per distinct kept frame
hash) plus the rows that say where in the video each frame was, and an ``md5``
entry for the file. Mixed into ``Store``.

Frames are entries so that everything entries have — the change feed, the live
index, snapshots, withdrawal and erasure — holds for video frames unchanged; a frame
hash two videos of a bank share is one entry linked to both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from veil.errors import BadInput, Conflict, NotFound
from veil.signals.vpdq import VideoFrame, prune, unique_frames
from veil.store.coltypes import utcnow
from veil.store.exchange_feed import write_tombstone
from veil.store.models import (
    HOLDER_ADD,
    SOURCE_MAX,
    Bank,
    Entry,
    EntryHolder,
    Video,
    VideoFrameRow,
    keeps_holders,
)
from veil.store.transactions import StoreBase, check_actor, database_errors
from veil.store.vocabulary import EntryStatus

#: Entry ids per ``IN (...)`` query: below every database's bound-parameter limit.
_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class VideoRecord:
    id: int
    bank: str
    #: Distinct frame hashes of matchable quality (the vPDQ rule's candidate count).
    frames: int
    duration: float | None
    label: str | None
    md5: str | None
    status: str
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"video_id": self.id, "bank": self.bank, "frames": self.frames,
                "duration": self.duration, "label": self.label, "md5": self.md5,
                "status": self.status, "created_at": self.created_at.isoformat()}


class FrameLink(NamedTuple):
    """Where a banked frame entry occurs: in which active video, at which time."""

    entry_id: int
    video_id: int
    timestamp: float


class Videos(StoreBase):
    @staticmethod
    def _video_bank(s: Session, name: str) -> Bank:
        bank = s.scalars(select(Bank).where(Bank.name == name)).one_or_none()
        if bank is None:
            raise NotFound(f"no bank named {name!r}")
        return bank

    @staticmethod
    def _entry_for(s: Session, bank: Bank, signal: str, value: str, quality: int | None,
                   *, actor: str, source: str | None, now: datetime) -> Entry:
        """The bank's live entry for ``value``, made if missing (a withdrawn one has no
        value left, so it never stands in)."""
        e = s.scalars(select(Entry).where(Entry.bank_id == bank.id, Entry.signal == signal,
                                          Entry.value == value)).one_or_none()
        if e is not None:
            return e
        e = Entry(bank_id=bank.id, signal=signal, value=value, quality=quality,
                  status=EntryStatus.ACTIVE.value, source=source, created_by=actor,
                  created_at=now, updated_at=now)
        s.add(e)
        s.flush()
        if keeps_holders(bank.category):
            s.add(EntryHolder(entry_id=e.id, holder=HOLDER_ADD, case_id=None, created_at=now))
        return e

    @database_errors
    def add_video(self, bank: str, frames: Sequence[VideoFrame], *, actor: str,
                  md5: str | None = None, duration: float | None = None,
                  label: str | None = None, prune_distance: int = 0,
                  min_quality: int = 50) -> VideoRecord:
        """Bank a video from its vPDQ frames (every sampled frame, in order): frames
        within ``prune_distance`` of the last kept one are dropped (vPDQ's pruning),
        and so are frames below ``min_quality``, which never match. Raises
        ``BadInput`` when no frame is left, ``NotFound`` for an unknown bank."""
        actor = check_actor(actor)
        if label is not None:
            label = label[:SOURCE_MAX]
        kept = [f for f in prune(frames, prune_distance) if f.quality >= min_quality]
        if not kept:
            raise BadInput(f"no frame of quality {min_quality} or more: the video is too "
                           "flat to match reliably, and nothing was banked")
        distinct = len(unique_frames(kept, min_quality))
        now = utcnow()
        with self._writing() as s:
            b = self._video_bank(s, bank)
            md5_entry = None if md5 is None else self._entry_for(
                s, b, "md5", md5, None, actor=actor, source=label, now=now)
            v = Video(bank_id=b.id, md5_entry_id=md5_entry.id if md5_entry else None,
                      frames=distinct,
                      duration_ms=None if duration is None else round(duration * 1000),
                      label=label, status="active", created_by=actor, created_at=now)
            s.add(v)
            s.flush()
            entries: dict[str, int] = {}
            for f in kept:
                if f.hash not in entries:
                    entries[f.hash] = self._entry_for(s, b, "vpdq", f.hash, f.quality,
                                                      actor=actor, source=label, now=now).id
            # a frame number appears once per video; a file that repeats one (hand-made
            # vPDQ text) keeps its first
            seen: set[int] = set()
            rows = []
            for f in kept:
                if f.number not in seen:
                    seen.add(f.number)
                    rows.append(VideoFrameRow(video_id=v.id, frame=f.number,
                                              entry_id=entries[f.hash],
                                              ts_ms=round(f.timestamp * 1000),
                                              quality=f.quality))
            s.add_all(rows)
            self._audit(s, actor, "video.add", bank=bank, video_id=v.id, frames=distinct,
                        label=label)
            s.flush()
            return self._video_record(v, bank, md5)

    @staticmethod
    def _video_record(v: Video, bank: str, md5: str | None) -> VideoRecord:
        return VideoRecord(v.id, bank, v.frames,
                           None if v.duration_ms is None else v.duration_ms / 1000,
                           v.label, md5, v.status, v.created_at)

    def _records(self, s: Session, where: object) -> list[VideoRecord]:
        q = (select(Video, Bank.name, Entry.value).join(Bank, Bank.id == Video.bank_id)
             .outerjoin(Entry, Entry.id == Video.md5_entry_id).where(where)  # type: ignore[arg-type]
             .order_by(Video.id))
        return [self._video_record(v, name, md5) for v, name, md5 in s.execute(q)]

    @database_errors
    def list_videos(self, bank: str | None = None) -> list[VideoRecord]:
        with self._reading() as s:
            if bank is None:
                return self._records(s, Video.status == "active")
            b = self._video_bank(s, bank)
            return self._records(s, (Video.bank_id == b.id) & (Video.status == "active"))

    @database_errors
    def get_videos(self, ids: Iterable[int]) -> dict[int, VideoRecord]:
        wanted = sorted(set(ids))
        out: dict[int, VideoRecord] = {}
        with self._reading() as s:
            for i in range(0, len(wanted), _IN_CHUNK):
                for r in self._records(s, Video.id.in_(wanted[i:i + _IN_CHUNK])):
                    out[r.id] = r
        return out

    @database_errors
    def bank_signals(self, bank: str) -> list[str]:
        """The signal types ``bank`` holds live entries of."""
        with self._reading() as s:
            b = self._video_bank(s, bank)
            q = (select(Entry.signal).where(Entry.bank_id == b.id,
                                            Entry.status != EntryStatus.WITHDRAWN.value)
                 .distinct().order_by(Entry.signal))
            return list(s.scalars(q))

    @database_errors
    def video_frame_counts(self, ids: Iterable[int]) -> dict[int, int]:
        """Each active video's count of distinct matchable frames (P_c's denominator)."""
        wanted = sorted(set(ids))
        out: dict[int, int] = {}
        with self._reading() as s:
            for i in range(0, len(wanted), _IN_CHUNK):
                q = select(Video.id, Video.frames).where(Video.id.in_(wanted[i:i + _IN_CHUNK]),
                                                         Video.status == "active")
                out.update({v: n for v, n in s.execute(q)})
        return out

    @database_errors
    def frame_links(self, entry_ids: Iterable[int]) -> list[FrameLink]:
        """Where each of ``entry_ids`` occurs in active videos (what a video match needs
        of the store: a handful of rows per matched frame)."""
        wanted = sorted(set(entry_ids))
        out: list[FrameLink] = []
        with self._reading() as s:
            for i in range(0, len(wanted), _IN_CHUNK):
                q = (select(VideoFrameRow.entry_id, VideoFrameRow.video_id, VideoFrameRow.ts_ms)
                     .join(Video, Video.id == VideoFrameRow.video_id)
                     .where(VideoFrameRow.entry_id.in_(wanted[i:i + _IN_CHUNK]),
                            Video.status == "active"))
                out += [FrameLink(e, v, t / 1000) for e, v, t in s.execute(q)]
        return out

    @database_errors
    def video_frames(self, video_id: int) -> list[VideoFrame]:
        """A banked video's kept frames in order, in the reference's terms (for export)."""
        with self._reading() as s:
            v = s.get(Video, video_id)
            if v is None or v.status != "active":
                raise NotFound(f"no active video {video_id}")
            q = (select(VideoFrameRow.frame, VideoFrameRow.quality, Entry.value,
                        VideoFrameRow.ts_ms)
                 .join(Entry, Entry.id == VideoFrameRow.entry_id)
                 .where(VideoFrameRow.video_id == video_id, Entry.value.is_not(None))
                 .order_by(VideoFrameRow.frame))
            return [VideoFrame(n, q_, h or "", t / 1000) for n, q_, h, t in s.execute(q)]

    @database_errors
    def withdraw_video(self, video_id: int, *, actor: str,
                       reason: str | None = None) -> VideoRecord:
        """Withdraw a banked video: its frame rows go, and each of its entries (frames,
        MD5) no other active video of the bank still uses is withdrawn, its hash
        erased like any withdrawn entry's."""
        actor = check_actor(actor)
        with self._writing() as s:
            v = s.get(Video, video_id)
            if v is None:
                raise NotFound(f"no video {video_id}")
            if v.status != "active":
                raise Conflict(f"video {video_id} is already withdrawn")
            bank = s.scalar(select(Bank.name).where(Bank.id == v.bank_id)) or ""
            mine = set(s.scalars(select(VideoFrameRow.entry_id)
                                 .where(VideoFrameRow.video_id == v.id)))
            if v.md5_entry_id is not None:
                mine.add(v.md5_entry_id)
            others = set(s.scalars(
                select(VideoFrameRow.entry_id).join(Video, Video.id == VideoFrameRow.video_id)
                .where(Video.status == "active", Video.id != v.id,
                       VideoFrameRow.entry_id.in_(mine))))
            others |= set(s.scalars(select(Video.md5_entry_id).where(
                Video.status == "active", Video.id != v.id, Video.md5_entry_id.in_(mine))))
            now = utcnow()
            for e in s.scalars(select(Entry).where(Entry.id.in_(mine - others))):
                if e.status != EntryStatus.WITHDRAWN:
                    write_tombstone(s, e)
                    e.status = EntryStatus.WITHDRAWN.value
                    e.value = None
                    e.quality = None
                    e.updated_at = now
            s.execute(delete(VideoFrameRow).where(VideoFrameRow.video_id == v.id))
            v.status = "withdrawn"
            self._audit(s, actor, "video.withdraw", bank=bank, video_id=v.id, reason=reason)
            s.flush()
            return self._video_record(v, bank, None)
