"""What the bot says, in English, Russian and Ukrainian (by ``language_code``).

Messages are sent as plain text (no parse mode): a user's name or a bank's name
cannot turn into markup.
"""

from __future__ import annotations

LANGS = ("en", "ru", "uk")

_TEXTS: dict[str, dict[str, str]] = {
    "help": {
        "en": "Veil removes known non-consensual intimate pictures and adverts for "
              "\"undressing\" services from this chat. Pictures are checked in memory "
              "and never stored or forwarded.\n"
              "/veil_status: what Veil does here\n"
              "/veil_policy none|restrict|ban: what happens to the sender (admins)\n"
              "/veil_report (as a reply): ask the admins to look at a message\n"
              "/veil_help: this text",
        "ru": "Veil удаляет из этого чата известные интимные снимки, опубликованные без "
              "согласия, и рекламу сервисов «раздевания». Снимки проверяются в памяти и "
              "никогда не сохраняются и не пересылаются.\n"
              "/veil_status: что Veil делает здесь\n"
              "/veil_policy none|restrict|ban: что происходит с отправителем (админы)\n"
              "/veil_report (ответом): попросить админов посмотреть сообщение\n"
              "/veil_help: этот текст",
        "uk": "Veil видаляє з цього чату відомі інтимні знімки, оприлюднені без згоди, і "
              "рекламу сервісів «роздягання». Знімки перевіряються в пам'яті й ніколи не "
              "зберігаються і не пересилаються.\n"
              "/veil_status: що Veil робить тут\n"
              "/veil_policy none|restrict|ban: що стається з відправником (адміни)\n"
              "/veil_report (відповіддю): попросити адмінів переглянути повідомлення\n"
              "/veil_help: цей текст",
    },
    "status": {
        "en": "Veil is on. Checking against: {source}. Policy for senders: {policy}. "
              "Admin rights here: {admin}.",
        "ru": "Veil включён. Проверка по: {source}. Мера для отправителя: {policy}. "
              "Права админа здесь: {admin}.",
        "uk": "Veil увімкнено. Перевірка за: {source}. Захід щодо відправника: {policy}. "
              "Права адміна тут: {admin}.",
    },
    "yes": {"en": "yes", "ru": "да", "uk": "так"},
    "no": {"en": "no (Veil cannot delete anything)", "ru": "нет (Veil не может удалять)",
           "uk": "ні (Veil не може видаляти)"},
    "policy_is": {"en": "Policy for senders: {policy}.", "ru": "Мера для отправителя: {policy}.",
                  "uk": "Захід щодо відправника: {policy}."},
    "policy_set": {"en": "Policy for senders is now: {policy}.",
                   "ru": "Мера для отправителя теперь: {policy}.",
                   "uk": "Захід щодо відправника тепер: {policy}."},
    "policy_usage": {"en": "Usage: /veil_policy none|restrict|ban",
                     "ru": "Использование: /veil_policy none|restrict|ban",
                     "uk": "Використання: /veil_policy none|restrict|ban"},
    "admins_only": {"en": "Only this chat's admins can change the policy.",
                    "ru": "Менять меру могут только админы этого чата.",
                    "uk": "Змінювати захід можуть лише адміни цього чату."},
    "report_usage": {"en": "Reply to a message with /veil_report.",
                     "ru": "Ответьте на сообщение командой /veil_report.",
                     "uk": "Дайте відповідь на повідомлення командою /veil_report."},
    "report_done": {"en": "Thank you. The admins have been told.",
                    "ru": "Спасибо. Админам сообщено.",
                    "uk": "Дякуємо. Адмінам повідомлено."},
    # notices to the admins: ids and reasons, never the picture or the text
    "removed_picture": {
        "en": "Veil removed a {kind} (message {message}) from user {user}: {reasons}. "
              "Sender: {action}.",
        "ru": "Veil удалил {kind} (сообщение {message}) от пользователя {user}: {reasons}. "
              "Отправитель: {action}.",
        "uk": "Veil видалив {kind} (повідомлення {message}) від користувача {user}: "
              "{reasons}. Відправник: {action}.",
    },
    "removed_advert": {
        "en": "Veil removed an advert for an \"undressing\" service (message {message}) "
              "from user {user}: score {score}, {evidence}. Sender: {action}.",
        "ru": "Veil удалил рекламу сервиса «раздевания» (сообщение {message}) от "
              "пользователя {user}: оценка {score}, {evidence}. Отправитель: {action}.",
        "uk": "Veil видалив рекламу сервісу «роздягання» (повідомлення {message}) від "
              "користувача {user}: оцінка {score}, {evidence}. Відправник: {action}.",
    },
    "review": {
        "en": "Please look at message {message} from user {user}: a {kind} that may be a "
              "banked picture: {reasons}. Veil left it in place.",
        "ru": "Посмотрите сообщение {message} от пользователя {user}: {kind}, возможно, из "
              "банка: {reasons}. Veil его не удалял.",
        "uk": "Перегляньте повідомлення {message} від користувача {user}: {kind}, можливо, "
              "з банку: {reasons}. Veil його не видаляв.",
    },
    "review_kept": {
        "en": "Please look at message {message} from user {user}: a {kind} that may be a "
              "banked picture: {reasons}. Veil left it in place and kept it, sealed, for "
              "the service's reviewers (review item {item}).",
        "ru": "Посмотрите сообщение {message} от пользователя {user}: {kind}, возможно, из "
              "банка: {reasons}. Veil его не удалял и сохранил, в зашифрованном виде, для "
              "модераторов сервиса (элемент проверки {item}).",
        "uk": "Перегляньте повідомлення {message} від користувача {user}: {kind}, можливо, "
              "з банку: {reasons}. Veil його не видаляв і зберіг, у зашифрованому вигляді, "
              "для модераторів сервісу (елемент перевірки {item}).",
    },
    "reported_kept": {
        "en": "User {reporter} reported message {message} from user {user}; its picture "
              "is kept, sealed, for the service's reviewers (review item {item}).",
        "ru": "Пользователь {reporter} пожаловался на сообщение {message} от пользователя "
              "{user}; изображение сохранено, в зашифрованном виде, для модераторов "
              "сервиса (элемент проверки {item}).",
        "uk": "Користувач {reporter} поскаржився на повідомлення {message} від користувача "
              "{user}; зображення збережено, у зашифрованому вигляді, для модераторів "
              "сервісу (елемент перевірки {item}).",
    },
    "reported": {
        "en": "User {reporter} reported message {message} from user {user} for review.",
        "ru": "Пользователь {reporter} пожаловался на сообщение {message} от пользователя "
              "{user}.",
        "uk": "Користувач {reporter} поскаржився на повідомлення {message} від користувача "
              "{user}.",
    },
}

#: what happened to the sender, in each language
_ACTIONS: dict[str, dict[str, str]] = {
    "none": {"en": "no action (policy none)", "ru": "без мер (мера none)",
             "uk": "без заходів (захід none)"},
    "restrict": {"en": "restricted", "ru": "ограничен", "uk": "обмежено"},
    "ban": {"en": "banned", "ru": "заблокирован", "uk": "заблоковано"},
    "failed": {"en": "the policy could not be applied (is the sender an admin?)",
               "ru": "меру применить не удалось (отправитель админ?)",
               "uk": "захід застосувати не вдалося (відправник адмін?)"},
    "anonymous": {"en": "posted as a chat, no action", "ru": "писал от имени чата, без мер",
                  "uk": "писав від імені чату, без заходів"},
}


def lang_of(code: str | None) -> str:
    """``ru``, ``uk`` or ``en`` from a Telegram ``language_code`` (``uk-UA`` → ``uk``)."""
    short = (code or "").split("-")[0].lower()
    return short if short in LANGS else "en"


def say(key: str, lang: str, **values: object) -> str:
    return _TEXTS[key][lang].format(**values)


def action_words(action: str, lang: str) -> str:
    return _ACTIONS[action][lang]
