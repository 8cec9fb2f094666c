"""Writes the training set of the text detector: ``train/{en,ru,uk}.jsonl``.

Every fragment below was written by hand for Veil; the script only combines them
(seeded, so the files are reproducible) into whole posts. Positives describe what an
"undressing" service offers, never anything explicit. Negatives are the hard cases:
news about such bots, victims asking for help, advocates, ordinary photo editors,
clothing shops and everyday chat that share the ads' words. The held-out set
(``heldout2/``) was written separately, by another author, and is not made here.

Run: ``python tests/data/text/compose.py`` (then ``python -m veil.text.train``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent

EN = {
    "open": ["🔥 NEW", "Finally here:", "Tired of guessing?", "Hey 👋", "🆓 Free trial today",
             "Best AI of 2026 ✅", "", "", "Don't miss it!", "Private and anonymous 🔒",
             "Works with any photo!", "💎 PREMIUM AI", "Top bot in Telegram", "Hot offer ⚡"],
    "offer": ["our AI removes the clothes from any photo in seconds",
              "upload a picture of anyone and get it undressed",
              "see any girl without clothes, just send her photo",
              "AI undress: turn any picture into a nude version",
              "nudify anyone from a single selfie",
              "the bot takes off clothes from photos automatically",
              "x-ray any photo and see what is under the clothes",
              "make any classmate, coworker or ex appear undressed",
              "deepnude technology, send a photo and wait 10 seconds",
              "clothes remover AI that works on real photos",
              "undress her with one click",
              "send a pic from her profile and the AI strips the outfit away",
              "swap the outfit for nothing at all, realistic results",
              "the most realistic undressing neural network"],
    "extra": ["no signup", "results in 15 seconds", "3 free generations", "works on any pose",
              "100% anonymous, she will never know", "HD quality", "no watermark",
              "pay with stars or USDT", "50 credits for $5", "unlimited plan 9.99/month",
              "invite friends and get free undress credits", "", "", ""],
    "cta": ["Try it now", "Start the bot", "Send a photo to", "Join", "Click below 👇",
            "Open", "Get your free credits at", "Link:", "Write to", "👉"],
    "link": ["t.me/undress_magic_bot", "@nudifyx_bot", "t.me/XrayLensBot", "@strip_ai_bot",
             "nudify-now.ai", "t.me/clothesoff_robot", "@DeepUndressBot", "undressify.app",
             "t.me/PeekAIbot", "@noclothes2026bot", "", ""],
    "button": ["Undress now", "Buy 50 undress credits", "Remove clothes", "Nudify photo",
               "Get free undress", "X-ray mode", "Send photo to undress", "Undress PRO plan",
               "Try nudify free", "Clothes off 🔥"],
    "name": ["Undress AI Bot", "NudifyMaster", "ClothesOff Pro", "XRay Vision Bot",
             "Deep Undress", "AI Stripper Bot", "Nudify Hub", "Undress Her Bot", "NoDress AI"],
    "description": ["This bot undresses any photo with AI. Send a picture and get the result.",
                    "Channel of the best undress bot. Free credits every day.",
                    "Nudify any person with our neural network. Fast, private, realistic.",
                    "We remove clothes from your photos. Support: @undress_support",
                    "AI clothes remover. Upload a photo, the bot does the rest."],
    "news": ["Police in {place} arrested a man who ran an undress bot used on schoolgirls' photos",
             "Researchers found a Telegram bot that made fake nudes of over 100,000 women",
             "{place} lawmakers move to ban 'nudify' apps after a school scandal",
             "Telegram removed dozens of undress bots after a report by journalists",
             "The company behind a clothes remover app was sued by the city of {place}",
             "Report: deepfake nudify sites got millions of visits last month",
             "Apple and Google pulled apps that advertised AI undressing",
             "Court in {place} convicts student for sharing AI-generated fakes of classmates",
             "Investigation: how undress bots take payments and hide their owners",
             "Meta sues maker of nudify ads that ran on its platforms",
             "A new law makes creating sexual deepfakes of a real person a crime in {place}",
             "Journalists tested an undress bot advertised on Telegram; it asked for no consent"],
    "victim": ["Someone made a fake of me with one of those undress bots and sent it to my class. What do I do?",
               "My daughter's photo was put through a nudify app. How can we get it taken down?",
               "A guy from work used an AI to 'undress' my Instagram picture. Is this illegal?",
               "Please help, a fake picture of me is being shared in a group chat",
               "How do I report a channel that posts AI fakes of real women?",
               "I found an edited photo of me without clothes that I never took. I feel sick.",
               "Where can I hash my photos so platforms block the fakes?",
               "My ex threatens to post fake nudes made by a bot unless I pay"],
    "advocacy": ["Never upload a friend's photo to an undress bot. It is abuse, not a joke.",
                 "If someone made a fake of you, it is not your fault. Our helpline is open 24/7.",
                 "Nudify apps harm real people. Report their ads wherever you see them.",
                 "Parents: talk to your kids about AI fakes and undress bots.",
                 "We help victims of image-based abuse remove content from platforms.",
                 "Share this: creating fake nudes of classmates can get you expelled and charged.",
                 "StopNCII lets you protect your images without uploading them anywhere.",
                 "Tech companies must stop profiting from undress app advertising."],
    "editor": ["Remove the background from any photo in one tap, free at t.me/ClearBgBot",
               "AI outfit changer: try on 200 dresses before you buy 👗",
               "Virtual try-on: see how the jacket looks on you, upload a selfie",
               "Beauty filter bot: smooth skin, bright eyes, send a photo @GlowUpBot",
               "Upscale old photos to HD with AI, 3 free credits",
               "Colorize black and white family pictures in seconds",
               "Turn your selfie into an anime avatar 🤖 t.me/AnimeMeBot",
               "Remove people and objects from your vacation photos",
               "Change the hair colour on any photo, try 30 styles",
               "AI headshot generator for LinkedIn, upload 10 selfies",
               "Swap the sky in your landscape photos, no Photoshop needed",
               "Restore scratched old photos, send the picture to the bot"],
    "shop": ["New summer collection: dresses from $19, free delivery 👗",
             "Lingerie sale -30% this weekend only, sizes XS to XXL",
             "Swimwear 2026 is here 👙 order at sunnyshop.store",
             "Dry cleaning: we take your clothes and return them fresh tomorrow",
             "Tailoring and alterations, send a photo of the item for a quote",
             "Kids' clothes bundle, 5 items for 20 dollars",
             "Our fitting rooms are open again, come try the new coats",
             "Undress the salad with our light lemon dressing recipe",
             "Second-hand clothes market this Sunday, bring a bag"],
    "chat": ["Can someone send the photo from yesterday's party?",
             "lol this bot just made me look like a potato",
             "I need to take off my jacket, it's so hot in here",
             "Free pizza in the office kitchen 🍕",
             "The naked eye can't see the comet tonight, bring binoculars",
             "Who has a link to the study group chat?",
             "My AI homework bot is down again",
             "The baby refuses to get dressed every morning 😅",
             "Stripping the old paint off the door took all day",
             "Clothes swap party on Friday, bring what you don't wear",
             "Does anyone know a good photo printing shop?",
             "x-ray results came back fine, thanks for asking"],
    "place": ["Seoul", "Madrid", "Texas", "Sydney", "Almendralejo", "New Jersey", "Bavaria"],
}

RU = {
    "open": ["🔥 НОВИНКА", "Наконец-то!", "Привет 👋", "🆓 Бесплатно сегодня", "", "",
             "Лучший ИИ 2026 ✅", "Анонимно и быстро 🔒", "Работает с любым фото!",
             "💎 ПРЕМИУМ", "Топ бот в телеге", "Горячее предложение ⚡"],
    "offer": ["наш ИИ снимает одежду с любого фото за секунды",
              "загрузи фото любой девушки и получи её раздетой",
              "раздень кого угодно по одной фотке",
              "нейросеть раздевает людей на фото",
              "бот убирает одежду с фотографий автоматически",
              "рентген для фото: посмотри, что под одеждой",
              "раздень одноклассницу, коллегу или бывшую",
              "кидай фото из её профиля, бот сделает её без одежды",
              "самая реалистичная нейросеть для раздевания",
              "раздевалка на ИИ, отправь фото и жди 10 секунд",
              "снимем одежду с любой фотки, реалистично",
              "нюдифай любого человека по селфи"],
    "extra": ["без регистрации", "результат за 15 секунд", "3 бесплатные генерации",
              "полная анонимность, она не узнает", "HD качество", "без водяных знаков",
              "оплата звёздами или USDT", "50 кредитов за 299₽", "безлимит 990₽ в месяц",
              "приглашай друзей и получай кредиты", "", "", ""],
    "cta": ["Жми", "Пиши боту", "Запускай", "Переходи 👇", "Ссылка:", "Заходи", "👉",
            "Забирай бесплатные кредиты", "Отправь фото сюда"],
    "link": ["t.me/razdevator_bot", "@snimi_odezhdu_bot", "t.me/RentgenFotoBot",
             "@golaya_ai_bot", "razdet.ai", "t.me/nudify_ru_bot", "@BezOdezhdyBot", "", ""],
    "button": ["Раздеть фото", "Купить 50 кредитов", "Снять одежду", "Раздеть бесплатно",
               "Режим рентген", "Отправить фото для раздевания", "Тариф PRO раздевание"],
    "name": ["Раздевалка AI", "Раздеватор Бот", "Снять Одежду PRO", "Рентген Фото Бот",
             "ГолыеФото ИИ", "Нюдифай Бот"],
    "description": ["Бот раздевает любое фото с помощью нейросети. Отправь фото и получи результат.",
                    "Канал лучшего бота для раздевания. Бесплатные кредиты каждый день.",
                    "Снимаем одежду с ваших фото. Поддержка: @razdet_support",
                    "ИИ убирает одежду с фото. Быстро, анонимно, реалистично."],
    "news": ["В {place} задержали администратора бота, который раздевал фото школьниц",
             "Исследователи нашли телеграм-бот, создавший фейковые нюдсы тысяч женщин",
             "Депутаты предлагают запретить приложения для «раздевания» по фото",
             "Telegram заблокировал десятки ботов-раздевателей после расследования журналистов",
             "Суд в {place} вынес приговор студенту за фейки одногруппниц, сделанные ИИ",
             "Расследование: как боты для раздевания принимают оплату и прячут владельцев",
             "Журналисты проверили рекламу бота-раздевателя: согласия он не спрашивает",
             "Эксперты предупреждают о росте дипфейков с использованием нейросетей для раздевания"],
    "victim": ["Кто-то сделал мой фейк через бот-раздеватель и разослал в класс. Что делать?",
               "Фото моей дочери прогнали через нейросеть. Как добиться удаления?",
               "Коллега «раздел» мою фотку из инсты через ИИ. Это законно?",
               "Помогите, в чате распространяют поддельное фото меня",
               "Как пожаловаться на канал, где публикуют фейки реальных девушек?",
               "Бывший угрожает выложить фейковые фото, сделанные ботом, если я не заплачу"],
    "advocacy": ["Никогда не загружайте фото подруги в бот для раздевания. Это насилие, а не шутка.",
                 "Если про вас сделали фейк, вы не виноваты. Горячая линия работает круглосуточно.",
                 "Приложения для раздевания вредят реальным людям. Жалуйтесь на их рекламу.",
                 "Родители, поговорите с детьми о дипфейках и ботах-раздевателях.",
                 "Мы помогаем пострадавшим удалить интимные фейки с платформ.",
                 "Создание фейковых интимных фото одноклассников может закончиться уголовным делом."],
    "editor": ["Удали фон с любого фото в одно касание, бесплатно в t.me/FonProchBot",
               "ИИ-примерочная: примерь 200 платьев перед покупкой 👗",
               "Виртуальная примерка: загрузи селфи и посмотри, как сидит куртка",
               "Бот-бьюти фильтр: гладкая кожа и яркие глаза, отправь фото @KrasotaBot",
               "Улучши качество старых фото до HD с помощью ИИ, 3 бесплатных кредита",
               "Раскрась чёрно-белые семейные фотографии за секунды",
               "Сделай аниме-аватар из селфи 🤖 t.me/AnimeYaBot",
               "Убери лишних людей с фото из отпуска",
               "Поменяй цвет волос на фото, 30 вариантов",
               "Реставрация старых фото, отправь снимок боту"],
    "shop": ["Новая летняя коллекция: платья от 1990₽, доставка бесплатно 👗",
             "Распродажа нижнего белья -30% только в эти выходные",
             "Купальники 2026 уже в наличии 👙 заказ на sunnyshop.ru",
             "Химчистка: заберём одежду и вернём завтра",
             "Ателье: подшив и ушив, пришлите фото вещи для расчёта",
             "Детская одежда, 5 вещей за 2000₽",
             "Примерочные снова открыты, приходите мерить пальто",
             "Вещевой рынок в воскресенье, приносите сумку"],
    "chat": ["Скиньте фотку со вчерашней вечеринки",
             "ахах этот бот сделал меня похожим на картошку",
             "Надо снять куртку, тут жарко",
             "Бесплатная пицца на кухне 🍕",
             "Комету сегодня не видно невооружённым глазом",
             "У кого ссылка на чат группы?",
             "Ребёнок каждое утро отказывается одеваться 😅",
             "Снимали старую краску с двери весь день",
             "Рентген показал, что всё в порядке, спасибо"],
    "place": ["Москве", "Казани", "Минске", "Алматы", "Новосибирске"],
}

UK = {
    "open": ["🔥 НОВИНКА", "Нарешті!", "Привіт 👋", "🆓 Безкоштовно сьогодні", "", "",
             "Найкращий ШІ 2026 ✅", "Анонімно і швидко 🔒", "Працює з будь-яким фото!",
             "💎 ПРЕМІУМ", "Топ бот у телезі", "Гаряча пропозиція ⚡"],
    "offer": ["наш ШІ знімає одяг з будь-якого фото за секунди",
              "завантаж фото будь-якої дівчини й отримай її роздягненою",
              "роздягни будь-кого за однією фоткою",
              "нейромережа роздягає людей на фото",
              "бот прибирає одяг із фотографій автоматично",
              "рентген для фото: подивись, що під одягом",
              "роздягни однокласницю, колегу чи колишню",
              "кидай фото з її профілю, бот зробить її без одягу",
              "найреалістичніша нейромережа для роздягання",
              "зніми одяг з будь-якої світлини, реалістично"],
    "extra": ["без реєстрації", "результат за 15 секунд", "3 безкоштовні генерації",
              "повна анонімність, вона не дізнається", "HD якість", "без водяних знаків",
              "оплата зірками або USDT", "50 кредитів за 149₴", "безліміт 399₴ на місяць",
              "запрошуй друзів і отримуй кредити", "", "", ""],
    "cta": ["Тисни", "Пиши боту", "Запускай", "Переходь 👇", "Посилання:", "Заходь", "👉",
            "Забирай безкоштовні кредити", "Надішли фото сюди"],
    "link": ["t.me/rozdyagator_bot", "@znimy_odyag_bot", "t.me/RentgenFotoUaBot",
             "@bez_odyagu_ai_bot", "rozdyagny.ai", "t.me/nudify_ua_bot", "", ""],
    "button": ["Роздягнути фото", "Купити 50 кредитів", "Зняти одяг", "Роздягнути безкоштовно",
               "Режим рентген", "Надіслати фото для роздягання"],
    "name": ["Роздягалка ШІ", "Роздягатор Бот", "Зняти Одяг PRO", "Рентген Фото UA",
             "Без Одягу ШІ"],
    "description": ["Бот роздягає будь-яке фото за допомогою нейромережі. Надішли фото й отримай результат.",
                    "Канал найкращого бота для роздягання. Безкоштовні кредити щодня.",
                    "Знімаємо одяг з ваших фото. Підтримка: @rozdyag_support",
                    "ШІ прибирає одяг із фото. Швидко, анонімно, реалістично."],
    "news": ["У {place} затримали адміністратора бота, який роздягав фото школярок",
             "Дослідники знайшли телеграм-бот, що створив фейкові оголені фото тисяч жінок",
             "Депутати пропонують заборонити застосунки для «роздягання» за фото",
             "Telegram заблокував десятки ботів-роздягальників після розслідування журналістів",
             "Суд у {place} виніс вирок студентові за фейки одногрупниць, зроблені ШІ",
             "Розслідування: як боти для роздягання приймають оплату й ховають власників",
             "Журналісти перевірили рекламу бота-роздягальника: згоди він не питає"],
    "victim": ["Хтось зробив мій фейк через бот-роздягальник і розіслав у клас. Що робити?",
               "Фото моєї доньки прогнали через нейромережу. Як домогтися видалення?",
               "Колега «роздягнув» мою фотку з інсти через ШІ. Це законно?",
               "Допоможіть, у чаті поширюють підроблене фото мене",
               "Як поскаржитися на канал, де публікують фейки реальних дівчат?",
               "Колишній погрожує викласти фейкові фото, зроблені ботом, якщо я не заплачу"],
    "advocacy": ["Ніколи не завантажуйте фото подруги в бот для роздягання. Це насильство, а не жарт.",
                 "Якщо про вас зробили фейк, ви не винні. Гаряча лінія працює цілодобово.",
                 "Застосунки для роздягання шкодять реальним людям. Скаржтеся на їхню рекламу.",
                 "Батьки, поговоріть з дітьми про діпфейки та боти-роздягальники.",
                 "Ми допомагаємо постраждалим видалити інтимні фейки з платформ."],
    "editor": ["Видали фон з будь-якого фото в один дотик, безкоштовно в t.me/FonGeteBot",
               "ШІ-примірочна: приміряй 200 суконь перед покупкою 👗",
               "Віртуальна примірка: завантаж селфі й подивись, як сидить куртка",
               "Бот б'юті-фільтр: гладенька шкіра та яскраві очі, надішли фото @KrasaBot",
               "Покращ якість старих фото до HD за допомогою ШІ, 3 безкоштовні кредити",
               "Розфарбуй чорно-білі родинні світлини за секунди",
               "Зроби аніме-аватар із селфі 🤖 t.me/AnimeYaUaBot",
               "Прибери зайвих людей з фото з відпустки",
               "Зміни колір волосся на фото, 30 варіантів"],
    "shop": ["Нова літня колекція: сукні від 799₴, доставка безкоштовна 👗",
             "Розпродаж білизни -30% лише ці вихідні",
             "Купальники 2026 вже в наявності 👙 замовлення на sunnyshop.ua",
             "Хімчистка: заберемо одяг і повернемо завтра",
             "Ательє: підшити й ушити, надішліть фото речі для розрахунку",
             "Дитячий одяг, 5 речей за 900₴",
             "Примірочні знову відкриті, приходьте міряти пальта"],
    "chat": ["Скиньте фотку з учорашньої вечірки",
             "хаха цей бот зробив мене схожим на картоплю",
             "Треба зняти куртку, тут спекотно",
             "Безкоштовна піца на кухні 🍕",
             "Комету сьогодні не видно неозброєним оком",
             "У кого посилання на чат групи?",
             "Дитина щоранку відмовляється вдягатися 😅",
             "Знімали стару фарбу з дверей увесь день",
             "Рентген показав, що все гаразд, дякую"],
    "place": ["Києві", "Львові", "Одесі", "Харкові", "Дніпрі"],
}

POSITIVE = ("promo", "button", "name", "description", "link")
NEGATIVE = ("news", "victim", "advocacy", "editor", "shop", "chat")


def _promo(f: dict[str, list[str]], rng: random.Random) -> str:
    parts = [rng.choice(f["open"]), rng.choice(f["offer"])]
    parts[1] = parts[1][0].upper() + parts[1][1:] if not parts[0] else parts[1]
    extra = rng.sample(f["extra"], 2)
    link = rng.choice(f["link"])
    tail = f"{rng.choice(f['cta'])} {link}".strip() if link else ""
    return " ".join(p for p in [*parts, ". ".join(e for e in extra if e), tail] if p)


def _negative(f: dict[str, list[str]], kind: str, rng: random.Random) -> str:
    text = rng.choice(f[kind]).format(place=rng.choice(f["place"]))
    if kind in ("news", "advocacy") and rng.random() < 0.3:
        # news and warnings quote ads and links too
        text += f" ({rng.choice(f['link']) or rng.choice(f['button'])})"
    if kind in ("editor", "shop") and rng.random() < 0.4:
        text = f"{rng.choice(f['open'])} {text}".strip()
    return text


class Posts:
    """One language's labelled posts in the order they were made, each text once (a
    text made again keeps its first label)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._rows: dict[str, dict[str, object]] = {}

    def add(self, text: str, label: int, kind: str) -> None:
        self._rows.setdefault(text, {"text": text, "label": label, "lang": self.lang,
                                     "kind": kind})

    def rows(self) -> list[dict[str, object]]:
        return list(self._rows.values())


def compose(f: dict[str, list[str]], posts: Posts, seed: int) -> None:
    rng = random.Random(seed)
    add = posts.add
    for _ in range(500):
        add(_promo(f, rng), 1, "promo")
    for kind in ("button", "name", "description"):
        for text in f[kind]:
            add(text, 1, kind)
    links = [x for x in f["link"] if x]
    for _ in range(80):  # short posts: a link and a hint of what it does
        add(f"{rng.choice(f['cta'])} {rng.choice(links)} {rng.choice(f['button'])}", 1, "link")
    for name in f["name"]:
        add(f"{name} {rng.choice(f['link']) or '@' + name.replace(' ', '_') + '_bot'}", 1, "name")
    for kind in NEGATIVE:
        for _ in range(40 * len(f[kind])):
            add(_negative(f, kind, rng), 0, kind)


# -- third pass: the styles of real adverts that composed posts lacked (notices,
# challenges, mirrors) and editors' adverts in the same promotional voice -------------
NOTICES = {
    "en": ["New link, the old bot got banned: {link}", "We moved! The undress bot now lives at {link}",
           "Mirror of the undress site for blocked regions: {link}. Same credits.",
           "Backup channel in case we get banned again, the undressing bot is here {link}",
           "Don't believe AI can take clothes off a photo? Try it yourself, 2 free tries {link}",
           "Tired of fake nudify apps that don't work? Ours does. Examples in the channel {link}",
           "Looking for a working undress bot? You found it. {link}",
           "Add our bot to your group and undress photos right in the chat {link}",
           "Clothes disappear from any picture, first try free, then 20 stars {link}",
           "Our bot takes off clothes from any image, even swimsuits and jeans {link}",
           "Examples of what the nudify bot can do are pinned, link to the bot in bio",
           "Referral program: invite 3 friends, get 10 free undress generations {link}",
           "DM me for the link to the bot that removes clothes, free trial"],
    "ru": ["Новая ссылка, старого бота забанили: {link}", "Мы переехали! Бот-раздеватель теперь тут {link}",
           "Зеркало сайта для раздевания фото для заблокированных регионов: {link}",
           "Резервный канал на случай бана, бот для раздевания здесь {link}",
           "Не веришь, что ИИ может снять одежду с фото? Проверь сам, 2 бесплатные попытки {link}",
           "Надоели фейковые раздевалки, которые не работают? Наша работает, примеры в канале {link}",
           "Ищешь рабочий бот-раздеватель? Ты его нашёл. {link}",
           "Добавь бота в группу и раздевай фото прямо в чате {link}",
           "Одежда исчезает с любой фотки, первая попытка бесплатно, дальше 20 звёзд {link}",
           "Примеры работы раздевалки в закрепе, ссылка на бота в описании",
           "Реферальная программа: пригласи 3 друзей и получи 10 бесплатных раздеваний {link}",
           "Пишите в лс, скину ссылку на бота, который раздевает по фото"],
    "uk": ["Нове посилання, старого бота забанили: {link}", "Ми переїхали! Бот-роздягальник тепер тут {link}",
           "Дзеркало сайту для роздягання фото для заблокованих регіонів: {link}",
           "Резервний канал на випадок бану, бот для роздягання тут {link}",
           "Не віриш, що ШІ може зняти одяг з фото? Перевір сам, 2 безкоштовні спроби {link}",
           "Набридли фейкові роздягалки, які не працюють? Наша працює, приклади в каналі {link}",
           "Шукаєш робочий бот-роздягальник? Ти його знайшов. {link}",
           "Додай бота в групу й роздягай фото просто в чаті {link}",
           "Одяг зникає з будь-якої фотки, перша спроба безкоштовна, далі 20 зірок {link}",
           "Приклади роботи роздягалки в закріпі, посилання на бота в описі",
           "Реферальна програма: запроси 3 друзів і отримай 10 безкоштовних роздягань {link}",
           "Пишіть в особисті, скину посилання на бота, що роздягає за фото"],
}
EDITOR_ADS = {
    "en": ["Remove the background from any photo in one tap. Free, no watermark 👉 {link}",
           "Erase people, wires and logos from your pictures, 3 free edits {link}",
           "Remove the person, keep the product: photos for online sellers {link}",
           "Ghost mannequin for clothing photos: the mannequin disappears, the dress stays {link}",
           "Working AI photo enhancer, no queue, fast and cheap {link}",
           "New link, the old one got banned by mistake: the background remover bot {link}",
           "Add our bot to your group to remove backgrounds right in the chat {link}",
           "Sticker maker: cut yourself out of any photo, first 10 free {link}",
           "Outfit changer for your CV photo: hoodie to blazer in one click {link}",
           "Referral program: invite 3 friends, get 10 free retouches {link}"],
    "ru": ["Удаляем фон с любого фото в одно касание. Бесплатно, без водяных знаков 👉 {link}",
           "Стираем людей, провода и логотипы с фото, 3 бесплатные правки {link}",
           "Убираем человека, оставляем товар: фото для маркетплейсов {link}",
           "Эффект невидимого манекена: манекен исчезает, платье остаётся {link}",
           "Рабочий ИИ-улучшатель фото, без очереди, быстро и дёшево {link}",
           "Новая ссылка, старую забанили по ошибке: бот для удаления фона {link}",
           "Добавь бота в группу и удаляй фон прямо в чате {link}",
           "Стикеры из фото: вырежи себя с любой фотки, первые 10 бесплатно {link}",
           "Смени одежду на фото для резюме: из худи в пиджак одним нажатием {link}"],
    "uk": ["Видаляємо фон з будь-якого фото в один дотик. Безкоштовно, без водяних знаків 👉 {link}",
           "Стираємо людей, дроти й логотипи з фото, 3 безкоштовні правки {link}",
           "Прибираємо людину, лишаємо товар: фото для маркетплейсів {link}",
           "Ефект невидимого манекена: манекен зникає, сукня лишається {link}",
           "Робочий ШІ-покращувач фото, без черги, швидко й дешево {link}",
           "Нове посилання, старе забанили помилково: бот для видалення фону {link}",
           "Додай бота в групу й видаляй фон просто в чаті {link}",
           "Зміни одяг на фото для резюме: з худі в піджак одним натиском {link}"],
}
EDITOR_LINKS = ["t.me/CleanCutterBot", "@bg_away_bot", "t.me/ShopPhotoProBot", "@retouch_now_bot",
                "photofix.app", "@stickerme_bot", "t.me/CVPhotoBot"]


def third_pass(fragments: dict[str, list[str]], posts: Posts, seed: int) -> None:
    rng = random.Random(100 + seed)
    links = [x for x in fragments["link"] if x]
    for _ in range(3):
        for t in NOTICES[posts.lang]:
            posts.add(t.format(link=rng.choice(links)), 1, "promo")
        for t in EDITOR_ADS[posts.lang]:
            posts.add(t.format(link=rng.choice(EDITOR_LINKS)), 0, "editor")


# -- fourth pass: short everyday texts. A bare handle, "+1" or "Subscribe" scored as
# an advert: nearly every short post above was one (names, buttons). ---------------
SHORT = {
    "en": ["ok", "ok!", "lol", "+1", "👍", "🔥🔥", "❤️", "thanks!", "thank you", "hi all", "hello",
           "good morning everyone", "same", "agreed", "yes", "no", "haha", "nice pic", "wow",
           "Subscribe", "Join our channel", "Join the chat", "Read more", "Open", "Next ➡️",
           "Back", "Menu", "Settings", "Buy now", "Try for free", "Get started", "Top up",
           "Share", "Like", "Vote", "Download", "Contact us", "Learn more", "Sign up"],
    "ru": ["ок", "ага", "лол", "+1", "👍", "спасибо!", "привет всем", "доброе утро", "согласен",
           "да", "нет", "хаха", "класс", "норм", "Подписаться", "Вступить в чат", "Читать далее",
           "Открыть", "Далее ➡️", "Назад", "Меню", "Настройки", "Купить", "Попробовать",
           "Начать", "Пополнить", "Поделиться", "Скачать", "Связаться с нами", "Подробнее"],
    "uk": ["ок", "ага", "лол", "+1", "👍", "дякую!", "привіт усім", "доброго ранку", "згоден",
           "так", "ні", "хаха", "клас", "норм", "Підписатися", "Вступити в чат", "Читати далі",
           "Відкрити", "Далі ➡️", "Назад", "Меню", "Налаштування", "Купити", "Спробувати",
           "Почати", "Поповнити", "Поділитися", "Завантажити", "Зв'язатися з нами", "Детальніше"],
}
FIRST = {"en": ["John", "Anna", "Mike", "Sarah", "Olena", "David", "Emma", "Tom", "Lisa", "Alex"],
         "ru": ["Мария", "Иван", "Анна", "Сергей", "Ольга", "Дмитрий", "Елена", "Павел"],
         "uk": ["Олена", "Тарас", "Ірина", "Андрій", "Оксана", "Богдан", "Софія", "Микола"]}
LAST = {"en": ["Smith", "Brown", "Kovalenko", "Miller", "Garcia", "Lee", "Novak", "Wilson"],
        "ru": ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов"],
        "uk": ["Коваленко", "Шевченко", "Бондар", "Ткаченко", "Мельник", "Кравчук"]}
TRANSLIT = ["john", "anna", "mike", "olena", "masha", "ivan", "taras", "iryna", "sergey", "oksana"]
CHANNELS = ["news_daily", "kyiv_photo_club", "cats_of_odessa", "dev_chat", "football_ua",
            "recipes_ru", "travel_notes", "city_events", "book_club", "weather_now"]


def fourth_pass(posts: Posts, seed: int) -> None:
    rng = random.Random(200 + seed)
    lang = posts.lang

    def add(text: str) -> None:
        posts.add(text, 0, "chat")

    for t in SHORT[lang]:
        add(t)
    for first in FIRST[lang]:
        for last in rng.sample(LAST[lang], 3):
            add(f"{first} {last}")
        add(first)
    for name in TRANSLIT:
        add(f"@{name}_{rng.randrange(10, 99)}")
        add(f"@{name}{rng.choice(['', '_k', '.m', 'x'])}".replace(".", "_"))
    for ch in CHANNELS:
        add(f"@{ch}")
        add(f"t.me/{ch}")
        add(f"{rng.choice(SHORT[lang][19:] or SHORT[lang])} t.me/{ch}")


def main() -> None:
    out = HERE / "train"
    out.mkdir(exist_ok=True)
    for seed, (lang, fragments) in enumerate((("en", EN), ("ru", RU), ("uk", UK))):
        posts = Posts(lang)
        compose(fragments, posts, seed)
        third_pass(fragments, posts, seed)
        fourth_pass(posts, seed)
        with (out / f"{lang}.jsonl").open("w", encoding="utf-8") as fh:
            for row in posts.rows():
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")



# -- more of every kind, written in a second pass ------------------------------------
EN["offer"] += [
    "our neural network shows anyone in their birthday suit, just upload a photo",
    "put in a photo of your crush and our AI will remove her outfit",
    "realistic AI photo undressing, any person, any angle",
    "nudifier bot: one photo in, the same person without clothing out",
    "get the 'no clothes' version of any Instagram picture",
    "the AI erases clothing and fills in the rest, looks real",
    "undress photos of celebrities, friends or anyone you like",
]
EN["link"] += ["t.me/BareAI_bot", "@unclothe_me_bot", "strip-vision.xyz", "t.me/NakedLensRobot"]
EN["button"] += ["🔥 Undress her", "Upload photo → undress", "Buy unlimited undressing",
                 "Remove outfit", "See without clothes", "Get 10 free nudes credits"]
EN["name"] += ["Bare Lens AI", "UnclotheMe", "Nudes Generator Bot", "Clothless AI", "SeeThru Bot"]
EN["description"] += [
    "Send any photo of a person and the bot will show them without clothes.",
    "Official channel of UndressGPT. Prices, updates and free promo codes.",
    "Undress anyone with AI. 1 photo = 1 credit. Payments in stars.",
]
EN["news"] += [
    "Why are undress apps still advertised on social media? Our investigation",
    "Teachers warn of AI nudify bots spreading among pupils in {place}",
    "A 'clothes remover' website that charged per photo was taken offline in {place}",
    "Regulator fines a payment provider for processing payments of deepnude sites",
    "Study: 96% of deepfakes online are sexual images made without consent",
    "Opinion: banning nudify apps is not enough, platforms must act",
    "Telegram says it removed channels advertising undressing bots after user reports",
    "Victims of an undress bot in {place} testify in parliament",
]
EN["victim"] += [
    "someone in my school made fake pics of me with an AI app, I can't go to class",
    "There is a fake photo of me going around. It's not real but everyone believes it.",
    "My sister got a message with a fake picture of her and a demand for money",
    "How do I prove a picture of me was made by an AI undress bot?",
    "I'm 19 and a classmate used a bot on my vacation photos. Who do I call?",
    "Can the police do anything about a fake picture made by a Telegram bot?",
    "I reported the channel but the fake photos are still up, what else can I do",
    "Is there a way to stop my photos being used by these apps?",
]
EN["advocacy"] += [
    "Creating or sharing fake intimate images is image-based abuse. Report it, don't share it.",
    "Our guide: what to do if you find an AI fake of yourself online",
    "Schools need lessons on consent that include AI undress apps",
    "Saw an ad for a nudify bot? Report the post and the account.",
    "Helpline for victims of deepfake abuse: free, confidential, open every day",
    "Don't forward fake pictures of people, even as a joke. It hurts real people.",
    "We are campaigning to make app stores remove undress apps for good.",
    "Payment companies should refuse to work with nudify services.",
]
EN["editor"] += [
    "Cartoon yourself! Upload a photo and get a Pixar style portrait",
    "Try on glasses virtually before you order, upload a front photo",
    "Our AI changes the clothes colour in product photos for your shop",
    "Passport photo bot: correct size and white background in seconds",
    "Retouch skin and remove blemishes, 5 free edits a day",
    "Blur faces in your photos automatically before you post them",
    "AI fashion stylist: upload your photo and get outfit ideas",
    "Photo to sketch converter, free, no watermark @SketchItBot",
    "Remove watermarks and text from your own product images",
    "Make your photo look like an oil painting, try the bot",
]
EN["shop"] += [
    "Pyjamas and loungewear sale, 2 for 1 until Sunday",
    "Bridal dresses fitting by appointment, send us a photo of the style you like",
    "Winter coats restock 🧥 link in bio",
    "Men's underwear multipack, free shipping over $30",
    "Costume rental for parties and theatre, take off and return within 3 days",
    "Try before you buy: order 5 items, keep what fits",
    "Kids swimwear sale, UV protective, sizes 2-12",
]
EN["chat"] += [
    "Who took the photo of the sunset? It's beautiful",
    "Remind me to take the clothes out of the washing machine",
    "The bot in this group keeps deleting my links lol",
    "I'm undressing the Christmas tree this weekend, finally",
    "Send me the free AI course link please",
    "Does anyone have a good VPN bot for Telegram?",
    "My cat hates wearing the little sweater 😂",
    "Photos from the hike are in the shared album",
    "Anyone selling a used camera? Budget 300",
    "Strip lights for the kitchen arrived, installing tonight",
]

RU["offer"] += [
    "загрузи фото и нейросеть покажет человека без одежды",
    "уберём одежду с любой фотки из инстаграма",
    "бот-раздевалка: одно фото на входе, тот же человек без одежды на выходе",
    "раздевай знаменитостей, подруг или кого захочешь",
    "ИИ стирает одежду и дорисовывает остальное, выглядит как настоящее",
    "отправь фото краша и бот снимет с неё одежду",
]
RU["link"] += ["t.me/GolyshomBot", "@razdet_foto_robot", "snyat-odezhdu.xyz"]
RU["button"] += ["🔥 Раздеть её", "Загрузить фото → раздеть", "Безлимит на раздевание",
                 "Убрать одежду", "Посмотреть без одежды", "10 бесплатных раздеваний"]
RU["name"] += ["Голышом AI", "Без Одежды Бот", "Раздень Её", "Рентген ИИ"]
RU["description"] += [
    "Отправь любое фото человека, и бот покажет его без одежды.",
    "Официальный канал бота-раздевателя. Цены, обновления и промокоды.",
    "Раздень кого угодно с ИИ. 1 фото = 1 кредит. Оплата звёздами.",
]
RU["news"] += [
    "Почему приложения для раздевания до сих пор рекламируют в соцсетях? Наше расследование",
    "Учителя предупреждают о ботах-раздевателях среди школьников в {place}",
    "Сайт для «снятия одежды» с фото заблокирован по решению суда",
    "Telegram удалил каналы с рекламой ботов для раздевания после жалоб",
    "Пострадавшие от бота-раздевателя выступили в парламенте",
    "Эксперты: большинство дипфейков в сети созданы без согласия людей",
]
RU["victim"] += [
    "в школе сделали мои фейковые фотки через приложение, я не могу ходить на уроки",
    "По чату гуляет фейковое фото меня. Оно ненастоящее, но все верят",
    "Сестре прислали поддельное фото и требуют денег",
    "Как доказать, что фото сделано ботом-раздевателем?",
    "Одноклассник прогнал мои фото с отдыха через бота. Куда обращаться?",
    "Пожаловалась на канал, но фейки всё ещё висят, что ещё сделать",
    "Можно ли как-то защитить свои фото от таких приложений?",
]
RU["advocacy"] += [
    "Создавать и пересылать фейковые интимные фото — это насилие. Жалуйтесь, не пересылайте.",
    "Наша памятка: что делать, если вы нашли свой фейк в сети",
    "Видели рекламу бота для раздевания? Пожалуйтесь на пост и аккаунт.",
    "Не пересылайте фейковые фото людей даже в шутку. Это ранит реальных людей.",
    "Платёжные сервисы должны отказаться работать с ботами-раздевателями.",
]
RU["editor"] += [
    "Сделай мультяшный портрет из своего фото",
    "Примерь очки онлайн перед заказом, загрузи фото анфас",
    "Фото на паспорт: нужный размер и белый фон за секунды",
    "Ретушь кожи и удаление прыщей, 5 бесплатных правок в день",
    "ИИ-стилист: загрузи фото и получи идеи образов",
    "Превращаем фото в картину маслом, попробуй бота",
    "Поменяй цвет одежды на фото товара для своего магазина",
    "Размытие лиц на фото перед публикацией автоматически",
]
RU["shop"] += [
    "Пижамы и домашняя одежда, 2 по цене 1 до воскресенья",
    "Свадебные платья, примерка по записи, пришлите фото фасона",
    "Зимние пуховики снова в наличии 🧥 ссылка в профиле",
    "Мужское бельё, бесплатная доставка от 3000₽",
    "Прокат костюмов для праздников и театра",
    "Закажи 5 вещей, оставь то, что подошло",
]
RU["chat"] += [
    "Кто снимал закат? Очень красиво",
    "Напомните вытащить бельё из стиралки",
    "Бот в этой группе опять удаляет мои ссылки лол",
    "Скиньте ссылку на бесплатный курс по ИИ пожалуйста",
    "Есть нормальный VPN бот для телеги?",
    "Кот ненавидит свитер 😂",
    "Фото с похода в общем альбоме",
    "Кто продаёт б/у фотоаппарат? Бюджет 30к",
]

UK["offer"] += [
    "завантаж фото, і нейромережа покаже людину без одягу",
    "приберемо одяг з будь-якої фотки з інстаграму",
    "бот-роздягалка: одне фото на вході, та сама людина без одягу на виході",
    "роздягай знаменитостей, подруг або кого захочеш",
    "ШІ стирає одяг і домальовує решту, виглядає як справжнє",
    "надішли фото крашки, і бот зніме з неї одяг",
]
UK["link"] += ["t.me/GolyakomBot", "@rozdyag_foto_robot", "znyaty-odyag.xyz"]
UK["button"] += ["🔥 Роздягнути її", "Завантажити фото → роздягнути", "Безліміт на роздягання",
                 "Прибрати одяг", "Подивитися без одягу", "10 безкоштовних роздягань"]
UK["name"] += ["Голяком ШІ", "Без Одягу Бот", "Роздягни Її", "Рентген ШІ UA"]
UK["description"] += [
    "Надішли будь-яке фото людини, і бот покаже її без одягу.",
    "Офіційний канал бота-роздягальника. Ціни, оновлення та промокоди.",
    "Роздягни будь-кого з ШІ. 1 фото = 1 кредит. Оплата зірками.",
]
UK["news"] += [
    "Чому застосунки для роздягання досі рекламують у соцмережах? Наше розслідування",
    "Вчителі попереджають про ботів-роздягальників серед школярів у {place}",
    "Сайт для «зняття одягу» з фото заблоковано за рішенням суду",
    "Telegram видалив канали з рекламою ботів для роздягання після скарг",
    "Постраждалі від бота-роздягальника виступили у Верховній Раді",
    "Кіберполіція попереджає: створення фейкових інтимних фото карається законом",
]
UK["victim"] += [
    "у школі зробили мої фейкові фотки через застосунок, я не можу ходити на уроки",
    "По чату ходить фейкове фото мене. Воно несправжнє, але всі вірять",
    "Сестрі надіслали підроблене фото й вимагають грошей",
    "Як довести, що фото зроблене ботом-роздягальником?",
    "Однокласник прогнав мої фото з відпочинку через бота. Куди звертатися?",
    "Поскаржилася на канал, але фейки досі висять, що ще зробити",
    "Чи можна якось захистити свої фото від таких застосунків?",
]
UK["advocacy"] += [
    "Створювати й пересилати фейкові інтимні фото — це насильство. Скаржтеся, не пересилайте.",
    "Наша пам'ятка: що робити, якщо ви знайшли свій фейк у мережі",
    "Бачили рекламу бота для роздягання? Поскаржтеся на пост і акаунт.",
    "Не пересилайте фейкові фото людей навіть жартома. Це ранить реальних людей.",
    "Платіжні сервіси мають відмовитися працювати з ботами-роздягальниками.",
]
UK["editor"] += [
    "Зроби мультяшний портрет зі свого фото",
    "Приміряй окуляри онлайн перед замовленням, завантаж фото анфас",
    "Фото на паспорт: потрібний розмір і білий фон за секунди",
    "Ретуш шкіри та видалення прищів, 5 безкоштовних правок на день",
    "ШІ-стиліст: завантаж фото й отримай ідеї образів",
    "Перетворюємо фото на картину олією, спробуй бота",
    "Зміни колір одягу на фото товару для свого магазину",
]
UK["shop"] += [
    "Піжами та домашній одяг, 2 за ціною 1 до неділі",
    "Весільні сукні, примірка за записом, надішліть фото фасону",
    "Зимові пуховики знову в наявності 🧥 посилання в профілі",
    "Чоловіча білизна, безкоштовна доставка від 1000₴",
    "Замов 5 речей, залиш те, що підійшло",
]
UK["chat"] += [
    "Хто знімав захід сонця? Дуже гарно",
    "Нагадайте витягти білизну з пральки",
    "Бот у цій групі знову видаляє мої посилання лол",
    "Скиньте посилання на безкоштовний курс з ШІ будь ласка",
    "Є нормальний VPN бот для телеги?",
    "Кіт ненавидить светрик 😂",
    "Фото з походу в спільному альбомі",
]

if __name__ == "__main__":
    main()
