"""Which file of a message is checked, and its download into memory, capped.

A photo: its largest size. An image document, a static sticker: the file itself.
An animation, a video, a video note, an animated or video sticker: its thumbnail
(Telegram's still of the first frame), since Veil hashes still pictures; a video
without one is noted as unchecked. A file above the cap is noted, never fetched.
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


def targets(message: Message) -> list[Target]:
    found: list[Target] = []
    if message.photo:
        best = max(message.photo, key=lambda p: p.width * p.height)
        found.append(Target("photo", best.file_id, best.file_size))
    doc = message.document
    if doc and message.animation is None:
        if (doc.mime_type or "").startswith("image/"):
            found.append(Target("document", doc.file_id, doc.file_size))
        elif doc.thumbnail is not None:
            found.append(_thumb("document", doc.thumbnail))
    if message.sticker:
        s = message.sticker
        if s.is_animated or s.is_video:
            found.append(_thumb("sticker", s.thumbnail))
        else:
            found.append(Target("sticker", s.file_id, s.file_size))
    if message.animation:
        found.append(_thumb("animation", message.animation.thumbnail))
    if message.video:
        found.append(_thumb("video", message.video.thumbnail))
    if message.video_note:
        found.append(_thumb("video_note", message.video_note.thumbnail))
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
