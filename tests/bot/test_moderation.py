"""Scenarios of docs/telegram-bot.md: pictures and adverts posted in a group."""

from __future__ import annotations

from pathlib import Path

from bot_support import Harness, scenario
from fake_telegram import ADMIN, GROUP, USER, FakeTelegram

from veil.bot.scanner import LocalScanner, review_keeper
from veil.config import Settings
from veil.store import Store

# Latin P, a and y in Russian words, no link: the look-alikes are undone
ADVERT = "Pаздевaем любую фоткy зa минуту 🔥 пишите боту"
NEWS = ("Police warn parents: Telegram bots that claim to undress photos of classmates "
        "are spreading in schools. If it happened to you, report it and ask for help.")


def _notices(fake: FakeTelegram) -> list[str]:
    return [p["text"] for p in fake.called("sendMessage")]


def test_a_banked_photo_is_deleted_and_the_admins_told(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        posted = fake.photo("banked", harness.banked)
        runner = harness.runner(fake, default_policy="ban")
        await harness.run_all(fake, runner)
        assert fake.deleted() == [posted["message_id"]]
        assert fake.called("banChatMember") == [
            {"chat_id": str(GROUP), "user_id": str(USER["id"])}]
        [notice] = _notices(fake)
        assert "bank 'ncii'" in notice and "bits apart" in notice and "banned" in notice
        assert fake.downloads == ["banked"]
        metrics = runner.metrics
        assert metrics.media.labels("block")._value.get() == 1

    scenario(run)


def test_a_clean_photo_is_left_alone(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.photo("clean", harness.clean, caption="our trip to the lake")
        runner = harness.runner(fake, default_policy="ban")
        await harness.run_all(fake, runner)
        assert fake.downloads == ["clean"]
        assert fake.deleted() == [] and _notices(fake) == []
        assert fake.called("banChatMember") == []
        assert runner.metrics.media.labels("allow")._value.get() == 1

    scenario(run)


def test_an_oversized_file_is_noted_not_fetched(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        big = 25 * 1024 * 1024
        fake.files["big"] = harness.banked
        fake.post(document={"file_id": "big", "file_unique_id": "big",
                            "mime_type": "image/jpeg", "file_size": big})
        # a size Telegram did not report in the message: found at getFile
        fake.files["quiet"] = harness.banked
        fake.reported_sizes["quiet"] = big
        fake.post(document={"file_id": "quiet", "file_unique_id": "quiet",
                            "mime_type": "image/png"})
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        assert [p["file_id"] for p in fake.called("getFile")] == ["quiet"]
        assert fake.downloads == [] and fake.deleted() == []
        assert runner.metrics.media.labels("too_large")._value.get() == 2

    scenario(run)


def test_a_corrupt_image_is_noted_and_the_bot_goes_on(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.photo("corrupt", harness.banked[: len(harness.banked) // 3] + b"\0" * 64)
        fake.photo("junk", b"not a picture at all")
        after = fake.photo("banked", harness.banked)
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        assert fake.deleted() == [after["message_id"]]
        assert runner.metrics.media.labels("undecodable")._value.get() >= 1

    scenario(run)


def test_an_advert_with_homoglyphs_is_deleted(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        posted = fake.post(text=ADVERT)
        runner = harness.runner(fake, default_policy="restrict")
        await harness.run_all(fake, runner)
        assert fake.deleted() == [posted["message_id"]]
        assert len(fake.called("restrictChatMember")) == 1
        [notice] = _notices(fake)
        assert "service word: раздеваем" in notice and "look-alike letters" in notice
        assert "restricted" in notice and "любую" not in notice

    scenario(run)


def test_an_advert_in_an_inline_button_is_deleted(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        posted = fake.post(text="🔥🔥🔥", reply_markup={"inline_keyboard": [[
            {"text": "Раздеть любую фотку", "url": "https://t.me/nudify_pro_bot"}]]})
        await harness.run_all(fake, harness.runner(fake))
        assert fake.deleted() == [posted["message_id"]]

    scenario(run)


def test_the_configured_text_threshold_decides(harness: Harness) -> None:
    """VEIL_TEXT_THRESHOLD reaches the bot as it reaches the service and the CLI: set
    low enough, the news report is taken for an advert."""
    async def run(fake: FakeTelegram) -> None:
        posted = fake.post(text=NEWS)
        runner = harness.runner(fake, text_threshold=0.0001)
        await harness.run_all(fake, runner)
        assert fake.deleted() == [posted["message_id"]]

    scenario(run)


def test_a_news_report_about_such_bots_is_left_alone(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.post(text=NEWS)
        runner = harness.runner(fake, default_policy="ban")
        await harness.run_all(fake, runner)
        assert fake.deleted() == [] and _notices(fake) == []
        assert runner.metrics.texts.labels("clean")._value.get() == 1

    scenario(run)


def test_an_admin_is_not_punished_and_the_notice_says_so(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        posted = fake.photo("banked", harness.banked, user=ADMIN)
        await harness.run_all(fake, harness.runner(fake, default_policy="ban"))
        assert fake.deleted() == [posted["message_id"]]
        [notice] = _notices(fake)
        assert "could not be applied" in notice

    scenario(run)


def test_nothing_is_done_where_the_bot_is_not_an_admin(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.admins.clear()
        fake.photo("banked", harness.banked)
        fake.post(text=ADVERT)
        await harness.run_all(fake, harness.runner(fake))
        assert fake.downloads == [] and fake.deleted() == []

    scenario(run)


def _clip(photo: Path, frames: int = 20) -> bytes:
    """A short H.264 MP4 panning across a benign photo."""
    import io

    import av
    import numpy as np
    from PIL import Image

    picture = np.asarray(Image.open(photo).convert("RGB").resize((480, 320)))
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            x = i * 4
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(picture[40:280, x:x + 320]), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def test_stickers_animations_and_videos(harness: Harness, photos: list[Path]) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.files["sticker"] = harness.banked
        sticker = fake.post(sticker={
            "file_id": "sticker", "file_unique_id": "s", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False})
        fake.files["thumb"] = harness.banked
        fake.files["anim"] = _clip(photos[5])
        thumb = {"file_id": "thumb", "file_unique_id": "t", "width": 320, "height": 240}
        animation = fake.post(animation={
            "file_id": "anim", "file_unique_id": "a", "width": 640, "height": 480,
            "duration": 3, "thumbnail": thumb}, document={
            "file_id": "anim", "file_unique_id": "a", "mime_type": "video/mp4"})
        fake.files["video"] = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100  # not a video
        fake.post(video={"file_id": "video", "file_unique_id": "v", "width": 640,
                         "height": 480, "duration": 9})
        fake.post(animation={"file_id": "huge", "file_unique_id": "h", "width": 640,
                             "height": 480, "duration": 3, "file_size": 10 ** 9})
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        # the sticker's file, the animation itself and its first-frame thumbnail were
        # hashed; the broken video was fetched and found undecodable; the huge one was
        # counted, never fetched
        assert fake.downloads == ["sticker", "anim", "thumb", "video"]
        assert fake.deleted() == [sticker["message_id"], animation["message_id"]]
        metrics = runner.metrics.media
        assert metrics.labels("undecodable")._value.get() == 1
        assert metrics.labels("too_large")._value.get() == 1

    scenario(run)


def test_a_video_whose_frames_are_banked_is_removed(harness: Harness, photos: list[Path],
                                                    settings: Settings, store: Store) -> None:
    """Matched under vPDQ: no thumbnail, a clip of a banked video; nothing is left in
    the spool folder afterwards."""
    from veil.signals.batch import hash_file

    banked_clip, other_clip = _clip(photos[7], frames=30), _clip(photos[9])
    path = harness.tmp / "banked.mp4"
    path.write_bytes(banked_clip)
    limits = settings.media.model_copy(update={"video": settings.media.video.model_copy(
        update={"seconds_per_hash": 0})})
    fs = hash_file(path, limits, ("md5",))
    assert fs.video is not None, fs.error_message
    store.add_video("ncii", fs.video.frames, actor="test")
    path.unlink()
    harness.reload(store)

    async def run(fake: FakeTelegram) -> None:
        fake.files["clip"] = banked_clip
        fake.files["other"] = other_clip
        banned = fake.post(video={"file_id": "clip", "file_unique_id": "c", "width": 320,
                                  "height": 240, "duration": 3})
        fake.post(video={"file_id": "other", "file_unique_id": "o", "width": 320,
                         "height": 240, "duration": 2})
        await harness.run_all(fake, harness.runner(fake))
        assert fake.deleted() == [banned["message_id"]]

    scenario(run)
    spool = settings.home / "tmp"
    assert not spool.exists() or list(spool.iterdir()) == []


def test_a_review_match_is_shown_to_the_admins_and_left(harness: Harness,
                                                        store: Store) -> None:
    async def run(fake: FakeTelegram) -> None:
        fake.photo("banked", harness.banked)
        await harness.run_all(fake, harness.runner(fake, default_policy="ban"))
        assert fake.deleted() == [] and fake.called("banChatMember") == []
        [notice] = _notices(fake)
        assert notice.startswith("Please look at message 1") and "bank 'ncii'" in notice

    store.update_bank_policy("ncii", {"action": "review"}, actor="test")
    harness.reload(store)
    scenario(run)


def test_a_review_match_becomes_a_sealed_review_item_where_the_store_keeps_them(
        harness: Harness, store: Store, settings: Settings) -> None:
    assert isinstance(harness.scanner, LocalScanner)
    harness.scanner = LocalScanner(harness.scanner.matcher, review_keeper(store, settings))

    async def run(fake: FakeTelegram) -> None:
        fake.photo("banked", harness.banked)
        fake.photo("clean", harness.clean)
        await harness.run_all(fake, harness.runner(fake))
        assert fake.deleted() == []
        [item] = store.review_items()
        assert item.platform == "telegram-bot" and item.verdict["decision"] == "review"
        [notice] = _notices(fake)
        assert f"review item {item.id}" in notice and "bank 'ncii'" in notice
        sealed = store.sealed_review_media(item.id, actor="test")
        assert sealed is not None and harness.banked[:64] not in sealed

    store.update_bank_policy("ncii", {"action": "review"}, actor="test")
    harness.reload(store)
    scenario(run)


def test_an_advert_in_a_name_is_deleted(harness: Harness) -> None:
    async def run(fake: FakeTelegram) -> None:
        spammer = {"id": 66, "is_bot": False, "first_name": "Раздеваем любую фотку 👉",
                   "username": "nudify_x_bot"}
        by_name = fake.post(text="hi all", user=spammer)
        forwarded = fake.post(text="look", forward_origin={
            "type": "channel", "date": 1_700_000_000, "message_id": 5,
            "chat": {"id": -100777, "type": "channel", "title": "Undress AI | free nudes bot"}})
        fake.post(text="hi all", user={**USER, "first_name": "Olena", "last_name": "Kovalenko"})
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        assert fake.deleted() == [by_name["message_id"], forwarded["message_id"]]
        assert runner.metrics.names.labels("flagged")._value.get() == 2
        assert runner.metrics.names.labels("clean")._value.get() == 1

    scenario(run)


def test_a_post_from_a_channel_whose_description_sells_undressing_is_deleted(
        harness: Harness) -> None:
    """The post and the channel's name say nothing; its description sells the
    service. Each channel's description is fetched once however many posts come."""
    seller, news, hidden = -100501, -100502, -100503
    def forwarded(fake: FakeTelegram, chat: int, title: str) -> dict[str, object]:
        return fake.post(text="look at this", forward_origin={
            "type": "channel", "date": 1_700_000_000, "message_id": 7,
            "chat": {"id": chat, "type": "channel", "title": title}})

    async def run(fake: FakeTelegram) -> None:
        fake.descriptions[seller] = ("Send any photo and our AI removes the clothes. "
                                     "3 free tries, then 20 stars. Bot in the pinned post.")
        fake.descriptions[news] = NEWS
        first = forwarded(fake, seller, "Daily memes")
        second = forwarded(fake, seller, "Daily memes")
        forwarded(fake, news, "City news")
        forwarded(fake, hidden, "Private stuff")  # getChat refused: nothing to read
        runner = harness.runner(fake)
        await harness.run_all(fake, runner)
        assert fake.deleted() == [first["message_id"], second["message_id"]]
        asked = [int(p["chat_id"]) for p in fake.called("getChat")]
        assert sorted(asked) == sorted([seller, news, hidden])
        notices = _notices(fake)
        assert len(notices) == 2  # one per removed post: evidence, never the text
        assert all(fake.descriptions[seller] not in n and "pinned post" not in n
                   for n in notices)

    scenario(run)
