"""The admin commands, answered in the user's language; only admins change policy."""

from __future__ import annotations

from bot_support import Harness, scenario
from fake_telegram import ADMIN, GROUP, USER, FakeTelegram

from veil.bot.scanner import LocalScanner, review_keeper
from veil.bot.state import BotState
from veil.config import Settings
from veil.store import Store


def _answers(fake: FakeTelegram) -> list[str]:
    return [p["text"] for p in fake.called("sendMessage")]


def test_only_an_admin_sets_the_policy_and_it_is_kept(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.post(text="/veil_policy ban")  # an ordinary member
        fake.post(text="/veil_policy@veil_test_bot ban", user={**ADMIN, "language_code": "ru"})
        fake.post(text="/veil_policy")
        fake.post(text="/veil_policy banish", user=ADMIN)
        posted = fake.photo("banked", harness.banked)
        await harness.run_all(fake, harness.runner(fake))
        refused, done, shown, usage, notice = _answers(fake)
        assert refused == "Only this chat's admins can change the policy."
        assert done == "Мера для отправителя теперь: ban."
        assert shown == "Policy for senders: ban."
        assert usage.startswith("Usage: /veil_policy")
        # the notice goes out in the language of the admin who chose the policy
        assert notice.startswith("Veil удалил photo") and "заблокирован" in notice
        assert fake.deleted() == [posted["message_id"]]
        assert len(fake.called("banChatMember")) == 1
        who = [p["user_id"] for p in fake.called("getChatMember")]
        assert str(USER["id"]) in who and str(ADMIN["id"]) in who
        assert BotState.load(harness.tmp / "bot-state.json").chat(GROUP).policy == "ban"

    scenario(run)


def test_status_and_help_in_three_languages(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.post(text="/veil_status")
        fake.post(text="/veil_help", user={**USER, "language_code": "uk"})
        fake.post(text="/veil_help", user={**USER, "language_code": "ru-RU"})
        fake.post(text="/veil_help", user={**USER, "language_code": "de"})
        await harness.run_all(fake, harness.runner(fake))
        status, uk, ru, fallback = _answers(fake)
        assert status == ("Veil is on. Checking against: 1 banks in process. Policy for "
                          "senders: none. Admin rights here: yes.")
        assert uk.startswith("Veil видаляє") and ru.startswith("Veil удаляет")
        assert fallback.startswith("Veil removes")
        assert fake.deleted() == []  # commands are answered, not moderated

    scenario(run)


def test_a_report_as_a_reply_tells_the_admins(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        suspect = fake.post(text="look at this")
        fake.post(text="/veil_report", reply_to_message=suspect, user=ADMIN)
        fake.post(text="/veil_report")
        await harness.run_all(fake, harness.runner(fake, admin_chat=-999))
        notice, thanks, usage = fake.called("sendMessage")
        assert notice["chat_id"] == "-999"  # the moderators' chat
        assert notice["text"] == (f"User {ADMIN['id']} reported message "
                                  f"{suspect['message_id']} from user Mallory (id 20) for "
                                  "review.")
        assert thanks["text"] == "Thank you. The admins have been told."
        assert usage["text"] == "Reply to a message with /veil_report."
        assert "look at this" not in notice["text"]

    scenario(run)


def test_a_reported_picture_becomes_a_review_item_where_the_store_keeps_them(
        harness: Harness, store: Store, settings: Settings) -> None:
    assert isinstance(harness.scanner, LocalScanner)
    harness.scanner = LocalScanner(harness.scanner.matcher, review_keeper(store, settings))

    async def run(fake: FakeTelegram) -> None:
        suspect = fake.photo("clean", harness.clean)  # matches nothing: a person's report
        fake.post(text="/veil_report", reply_to_message=suspect, user=ADMIN)
        await harness.run_all(fake, harness.runner(fake, admin_chat=-999))
        [item] = store.review_items()
        assert item.source == "report" and item.report_reason == "reported in a Telegram chat"
        notice = next(p for p in fake.called("sendMessage") if p["chat_id"] == "-999")
        assert f"review item {item.id}" in notice["text"]
        sealed = store.sealed_review_media(item.id, actor="test")
        assert sealed is not None and harness.clean[:64] not in sealed

    scenario(run)
