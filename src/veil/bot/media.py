"""Which files of a message are checked, and their download into memory, capped.

A photo: its largest size. An image document, a static sticker: the file itself.
An animation, a video, a video note, a video sticker, a video document: the video
itself (hashed under vPDQ) and its thumbnail (Telegram's still of the first frame,
matched against photo banks), so a video over the download cap is still checked by
its still. An animated (vector) sticker: its thumbnail. A file above the cap is
noted, never fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message, PhotoSize


@dataclass(frozen=True)
class Target:
    #: photo, document, sticker, animation, video, video_note
    kind: str
    file_id: str | None
    #: as Telegram reports it (None: unknown, the download is capped anyway)
    size: int | None
    #: "file" or "thumbnail": which picture of it is hashed
    part: str = "file"


def _thumb(kind: str, thumb: PhotoSize | None) -> Target:
    if thumb is None:
        return Target(kind, None, None, "none")
    return Target(kind, thumb.file_id, thumb.file_size, "thumbnail")


def _video(kind: str, file_id: str, size: int | None,
           thumb: PhotoSize | None) -> list[Target]:
    found = [Target(kind, file_id, size)]
    if thumb is not None:
        found.append(_thumb(kind, thumb))
    return found


def targets(message: Message) -> list[Target]:
    found: list[Target] = []
    if message.photo:
        best = max(message.photo, key=lambda p: p.width * p.height)
        found.append(Target("photo", best.file_id, best.file_size))
    doc = message.document
    if doc and message.animation is None:
        mime = doc.mime_type or ""
        if mime.startswith("image/"):
            found.append(Target("document", doc.file_id, doc.file_size))
        elif mime.startswith("video/"):
            found += _video("document", doc.file_id, doc.file_size, doc.thumbnail)
        elif doc.thumbnail is not None:
            found.append(_thumb("document", doc.thumbnail))
    if message.sticker:
        s = message.sticker
        if s.is_video:
            found += _video("sticker", s.file_id, s.file_size, s.thumbnail)
        elif s.is_animated:
            found.append(_thumb("sticker", s.thumbnail))
        else:
            found.append(Target("sticker", s.file_id, s.file_size))
    if message.animation:
        a = message.animation
        found += _video("animation", a.file_id, a.file_size, a.thumbnail)
    if message.video:
        v = message.video
        found += _video("video", v.file_id, v.file_size, v.thumbnail)
    if message.video_note:
        n = message.video_note
        found += _video("video_note", n.file_id, n.file_size, n.thumbnail)
    return found


class TooLarge(Exception):
    pass


async def download(bot: Bot, file_id: str, cap: int) -> bytes:
    """The file's bytes, in memory; ``TooLarge`` as soon as it passes ``cap``."""
    info = await bot.get_file(file_id)
    if info.file_size is not None and info.file_size > cap:
        raise TooLarge(str(info.file_size))
    if not info.file_path:
        raise TooLarge("no file_path (Telegram serves files up to 20 MB)")
    url = bot.session.api.file_url(bot.token, info.file_path)
    chunks: list[bytes] = []
    got = 0
    async for chunk in bot.session.stream_content(url, timeout=60, chunk_size=65536):
        got += len(chunk)
        if got > cap:
            raise TooLarge(f"over {cap}")
        chunks.append(chunk)
    return b"".join(chunks)
