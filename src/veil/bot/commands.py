"""The commands: ``/veil_status``, ``/veil_policy``, ``/veil_report`` (as a reply: the
reported picture becomes a review item where the service keeps them, and the admins
are told) and ``/veil_help``, answered in the user's language. Only the chat's admins (asked with
``getChatMember`` every time: rights change) may change the policy.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from veil.bot import media, texts
from veil.bot.moderation import Context, fetch, sender_name
from veil.bot.observe import event
from veil.bot.scanner import ScanFailed, Undecodable
from veil.bot.state import POLICIES


def _lang(message: Message) -> str:
    return texts.lang_of(message.from_user.language_code if message.from_user else None)


async def help_command(message: Message, veil: Context) -> None:
    await message.answer(texts.say("help", _lang(message)))


async def status_command(message: Message, veil: Context) -> None:
    lang = _lang(message)
    admin = message.chat.type == "private" or await veil.bot_is_admin(message.chat.id)
    await message.answer(texts.say(
        "status", lang, source=veil.scanner.describe(), policy=veil.policy(message.chat.id),
        admin=texts.say("yes" if admin else "no", lang)))


async def policy_command(message: Message, command: CommandObject, veil: Context) -> None:
    lang = _lang(message)
    chat_id = message.chat.id
    wanted = (command.args or "").strip().lower()
    if not wanted:
        await message.answer(texts.say("policy_is", lang, policy=veil.policy(chat_id)))
        return
    if wanted not in POLICIES:
        await message.answer(texts.say("policy_usage", lang))
        return
    user = message.from_user
    try:
        allowed = user is not None and await veil.is_admin(chat_id, user.id)
    except TelegramAPIError:
        allowed = False
    if not allowed:
        await message.answer(texts.say("admins_only", lang))
        return
    chat = veil.state.chat(chat_id)
    chat.policy, chat.lang = wanted, lang
    veil.state.save()
    event("policy_set", chat=chat_id, policy=wanted, by=user.id if user else None)
    await message.answer(texts.say("policy_set", lang, policy=wanted))


async def report_command(message: Message, veil: Context) -> None:
    lang = _lang(message)
    reported = message.reply_to_message
    if reported is None:
        await message.answer(texts.say("report_usage", lang))
        return
    reporter = message.from_user.id if message.from_user else "?"
    item = await _keep_reported(reported, veil)
    event("reported", chat=message.chat.id, message=reported.message_id, by=reporter,
          review_item=item)
    await veil.notify(message.chat.id, texts.say(
        "reported_kept" if item else "reported", veil.state.chat(message.chat.id).lang,
        reporter=reporter, message=reported.message_id, user=sender_name(reported),
        item=item))
    await message.answer(texts.say("report_done", lang))


async def _keep_reported(reported: Message, veil: Context) -> str | None:
    """The reported message's first picture as a review item, where the service keeps
    them (its id); None otherwise: the admins are told either way."""
    ids = {"chat": reported.chat.id, "message": reported.message_id}
    for target in media.targets(reported):
        data = await fetch(veil, target, ids)
        if data is None:
            continue
        try:
            return await veil.scanner.report(data, "reported in a Telegram chat")
        except (Undecodable, ScanFailed) as exc:
            event("report_not_kept", error=str(exc), **ids)
            return None
        finally:
            data = b""  # dropped here: the service keeps its own sealed copy
    return None


def make_router() -> Router:
    """The commands' router (a new one per dispatcher: aiogram attaches a router once)."""
    router = Router(name="veil-commands")
    router.message.register(help_command, Command("veil_help", "start"))
    router.message.register(status_command, Command("veil_status"))
    router.message.register(policy_command, Command("veil_policy"))
    router.message.register(report_command, Command("veil_report"))
    return router
