"""What happens to a post in a group or channel where the bot is an admin.

Every picture of the message (``media.targets``) is fetched into memory, hashed and
matched (``scanner``), and dropped. Its text, caption and inline buttons, then the
names it shows (sender, inline bot, forwarded-from) and the descriptions of the
channels it comes from, go through the advert detector (``veil.text.detector``).
``block`` or a flagged advert: the message is deleted, the admins are told why
(reasons, never the picture or the text) and the chat's policy is applied to the
sender; ``review``: the admins are told and the message stays, and where the service
keeps review items the picture becomes one (sealed, for its reviewers).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatPermissions, Message
from prometheus_client import Counter

from veil.bot import media, texts
from veil.bot.observe import Metrics, event
from veil.bot.scanner import Outcome, ScanFailed, Scanner, Undecodable
from veil.bot.state import BotState
from veil.config import BotSettings
from veil.text.detector import TextVerdict
from veil.text.detector import check as check_text

#: how long the bot's own admin status in a chat is remembered
ADMIN_CACHE_S = 300
#: how long a channel's description is remembered, and for how many channels: a
#: flood of forwards from one channel costs one getChat an hour
DESCRIPTION_CACHE_S = 3600
DESCRIPTION_CACHE_SIZE = 4096
ADMIN_STATUSES = ("creator", "administrator")


@dataclass
class Context:
    """What every handler needs; passed to them by the dispatcher as ``veil``."""

    bot: Bot
    scanner: Scanner
    state: BotState
    settings: BotSettings
    metrics: Metrics
    #: VEIL_TEXT_THRESHOLD (None: the detector's own), as the service and the CLI use it
    text_threshold: float | None = None
    _admin_in: dict[int, tuple[float, bool]] = field(default_factory=dict)
    _descriptions: dict[int, tuple[float, str]] = field(default_factory=dict)

    def policy(self, chat_id: int) -> str:
        return self.state.chat(chat_id).policy or self.settings.default_policy

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        member = await self.bot.get_chat_member(chat_id, user_id)
        return member.status in ADMIN_STATUSES

    async def bot_is_admin(self, chat_id: int) -> bool:
        now = time.monotonic()
        cached = self._admin_in.get(chat_id)
        if cached and now - cached[0] < ADMIN_CACHE_S:
            return cached[1]
        try:
            admin = await self.is_admin(chat_id, self.bot.id)
        except TelegramAPIError:
            admin = False
        self._admin_in[chat_id] = (now, admin)
        return admin

    async def description(self, chat_id: int) -> str:
        """A chat's description (a channel's "about"), "" when it has none or the bot
        may not read it; remembered for ``DESCRIPTION_CACHE_S``."""
        now = time.monotonic()
        cached = self._descriptions.get(chat_id)
        if cached and now - cached[0] < DESCRIPTION_CACHE_S:
            return cached[1]
        try:
            text = (await self.bot.get_chat(chat_id)).description or ""
        except (TelegramAPIError, ValueError):  # refused, or an answer that does not parse
            text = ""
        if len(self._descriptions) >= DESCRIPTION_CACHE_SIZE:
            self._descriptions.pop(next(iter(self._descriptions)))
        self._descriptions[chat_id] = (now, text)
        return text

    async def notify(self, chat_id: int, text: str) -> None:
        target = self.settings.admin_chat or chat_id
        try:
            await self.bot.send_message(target, text)
            self.metrics.actions.labels("notice").inc()
        except TelegramAPIError as exc:
            self.metrics.actions.labels("failed").inc()
            event("notice_failed", chat=chat_id, error=type(exc).__name__)


def sender_name(message: Message) -> str:
    user = message.from_user
    if message.sender_chat is not None or user is None:
        chat = message.sender_chat or message.chat
        return f"chat {chat.id}"
    return f"{user.full_name} (id {user.id})"


async def _apply_policy(veil: Context, message: Message) -> str:
    """What was done to the sender: none, restrict, ban, failed or anonymous."""
    policy = veil.policy(message.chat.id)
    user = message.from_user
    if policy == "none":
        return "none"
    if message.sender_chat is not None or user is None or message.chat.type == "channel":
        return "anonymous"
    try:
        if policy == "ban":
            await veil.bot.ban_chat_member(message.chat.id, user.id)
        else:
            await veil.bot.restrict_chat_member(
                message.chat.id, user.id, ChatPermissions(can_send_messages=False))
    except TelegramAPIError as exc:
        event("policy_failed", chat=message.chat.id, user=user.id, policy=policy,
              error=type(exc).__name__)
        veil.metrics.actions.labels("failed").inc()
        return "failed"
    veil.metrics.actions.labels(policy).inc()
    return policy


async def _delete(veil: Context, message: Message) -> bool:
    try:
        await veil.bot.delete_message(message.chat.id, message.message_id)
    except TelegramAPIError as exc:
        event("delete_failed", chat=message.chat.id, message=message.message_id,
              error=type(exc).__name__)
        veil.metrics.actions.labels("failed").inc()
        return False
    veil.metrics.actions.labels("delete").inc()
    return True


async def fetch(veil: Context, target: media.Target, ids: dict[str, int]) -> bytes | None:
    """A picture's bytes, in memory; None (counted and logged, never raised) when it
    has no file, is over the Bot API's limit or cannot be fetched."""
    if target.file_id is None:
        veil.metrics.media.labels("unchecked").inc()
        event("media_unchecked", kind=target.kind, **ids)
        return None
    cap = veil.settings.max_file_bytes
    if target.size is not None and target.size > cap:
        veil.metrics.media.labels("too_large").inc()
        event("media_too_large", kind=target.kind, size=target.size, **ids)
        return None
    try:
        return await media.download(veil.bot, target.file_id, cap)
    except media.TooLarge as exc:
        veil.metrics.media.labels("too_large").inc()
        event("media_too_large", kind=target.kind, size=str(exc), **ids)
    except TelegramAPIError as exc:
        veil.metrics.media.labels("error").inc()
        event("media_fetch_failed", kind=target.kind, error=type(exc).__name__, **ids)
    return None


async def check_pictures(veil: Context, message: Message) -> tuple[media.Target, Outcome] | None:
    """The most severe outcome among the message's pictures (None: nothing matched)."""
    worst: tuple[media.Target, Outcome] | None = None
    ids = {"chat": message.chat.id, "message": message.message_id}
    for target in media.targets(message):
        data = await fetch(veil, target, ids)
        if data is None:
            continue
        try:
            outcome = await veil.scanner.scan(data)
        except Undecodable as exc:
            veil.metrics.media.labels("undecodable").inc()
            event("media_undecodable", kind=target.kind, code=str(exc), **ids)
            continue
        except ScanFailed as exc:
            veil.metrics.media.labels("error").inc()
            event("scan_failed", kind=target.kind, error=str(exc), **ids)
            continue
        finally:
            data = b""  # dropped: nothing of the picture outlives its check
        veil.metrics.media.labels(outcome.decision).inc()
        event("media_checked", kind=target.kind, part=target.part,
              decision=outcome.decision, reasons=list(outcome.reasons[:3]), **ids)
        rank = {"allow": 0, "review": 1, "block": 2}
        if worst is None or rank.get(outcome.decision, 0) > rank.get(worst[1].decision, 0):
            worst = (target, outcome)
    return worst if worst and worst[1].decision != "allow" else None


def message_text(message: Message) -> str:
    """Everything the detector reads: text or caption, and the inline buttons' labels
    and links."""
    parts = [message.text or message.caption or ""]
    markup = message.reply_markup
    if markup is not None:
        for row in markup.inline_keyboard:
            for button in row:
                parts += [button.text, button.url or ""]
    return "\n".join(p for p in parts if p)


def names_text(message: Message) -> str:
    """The names the post shows: its sender's (a person's name and username, or the
    chat it was posted as), the inline bot it came through, and where it was
    forwarded from. Spam accounts put the advert there."""
    names: list[str | None] = []
    for user in (message.from_user, message.via_bot):
        if user is not None:
            names += [user.full_name, user.username]
    if message.sender_chat is not None:
        names += [message.sender_chat.title, message.sender_chat.username]
    origin = message.forward_origin
    if origin is not None:
        chat = getattr(origin, "chat", None) or getattr(origin, "sender_chat", None)
        user = getattr(origin, "sender_user", None)
        names += [chat.title if chat else None, chat.username if chat else None,
                  user.full_name if user else None,
                  getattr(origin, "sender_user_name", None)]
    return "\n".join(dict.fromkeys(n for n in names if n))


def shown_channels(message: Message) -> list[int]:
    """The channels a post shows as its source (posted as, forwarded from): their
    descriptions are where a service's channel says what it sells."""
    chats = [message.sender_chat]
    origin = message.forward_origin
    if origin is not None:
        chats.append(getattr(origin, "chat", None) or getattr(origin, "sender_chat", None))
    return list(dict.fromkeys(c.id for c in chats
                              if c is not None and c.id != message.chat.id))


async def moderate(message: Message, veil: Context) -> None:
    chat = message.chat
    if chat.type == "private" or not await veil.bot_is_admin(chat.id):
        return
    lang = veil.state.chat(chat.id).lang
    ids = {"chat": chat.id, "message": message.message_id}
    found = await check_pictures(veil, message)
    if found is not None:
        target, outcome = found
        reasons = "; ".join(outcome.reasons[:3])
        if outcome.decision == "block":
            deleted = await _delete(veil, message)
            action = await _apply_policy(veil, message) if deleted else "failed"
            event("picture_removed", decision="block", deleted=deleted, sender=action, **ids)
            await veil.notify(chat.id, texts.say(
                "removed_picture", lang, kind=target.kind, message=message.message_id,
                user=sender_name(message), reasons=reasons,
                action=texts.action_words(action, lang)))
            return
        event("picture_review", review_item=outcome.review_item, **ids)
        await veil.notify(chat.id, texts.say(
            "review_kept" if outcome.review_item else "review", lang, kind=target.kind,
            message=message.message_id, user=sender_name(message), reasons=reasons,
            item=outcome.review_item))
    counted = ((message_text(message), "text", veil.metrics.texts),
               (names_text(message), "names", veil.metrics.names))
    for text, found_in, counter in counted:
        if text and await _removed_if_advert(veil, message, text, found_in, counter):
            return
    for channel in shown_channels(message):
        about = await veil.description(channel)
        if about and await _removed_if_advert(veil, message, about, "channel description"):
            return


async def _removed_if_advert(veil: Context, message: Message, text: str, found_in: str,
                             counter: Counter | None = None) -> bool:
    """Check ``text`` (on a thread: a long text holds the detector for tens of
    milliseconds, which other chats' updates must not wait for); remove the post if
    it is an advert."""
    verdict = await asyncio.to_thread(check_text, text, threshold=veil.text_threshold)
    if counter is not None:
        counter.labels("flagged" if verdict.nudify_service else "clean").inc()
    if verdict.nudify_service:
        await _remove_advert(veil, message, verdict, found_in)
    return verdict.nudify_service


async def _remove_advert(veil: Context, message: Message, verdict: TextVerdict,
                         found_in: str) -> None:
    chat = message.chat
    lang = veil.state.chat(chat.id).lang
    ids = {"chat": chat.id, "message": message.message_id}
    evidence = [f"{e.kind}: {e.text}" for e in verdict.evidence
                if e.kind in ("service word", "link", "trick")][:5]
    deleted = await _delete(veil, message)
    action = await _apply_policy(veil, message) if deleted else "failed"
    extra = {"evidence": evidence} if veil.settings.log_evidence else {}
    event("advert_removed", found_in=found_in, score=round(verdict.score, 3),
          deleted=deleted, sender=action, **ids, **extra)
    await veil.notify(chat.id, texts.say(
        "removed_advert", lang, message=message.message_id, user=sender_name(message),
        score=f"{verdict.score:.2f}", evidence="; ".join(evidence) or "-",
        action=texts.action_words(action, lang)))
