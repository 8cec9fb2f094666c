"""The Telegram moderation bot (``veil bot``), built on aiogram 3.

* ``app``: ``veil bot``'s start (the mode's scanner, the state, metrics, polling or
  webhook).
* ``webhook``: updates by webhook, every call checked for the ``secret_token``.
* ``runner``: the long-polling loop (update offset kept across restarts, bounded
  concurrency per chat and overall), the 429 back-off, the metrics endpoint.
* ``moderation``: what happens to a group's or channel's post: pictures fetched into
  memory, hashed, matched and dropped; adverts for "undressing" services found by
  ``veil.text``; deletion, the admins' notice, the group's policy for the sender.
* ``commands``: ``/veil_status``, ``/veil_policy``, ``/veil_report``, ``/veil_help``.
* ``media``: which file of a message is checked, and the capped download.
* ``scanner``: bytes → decision, in process (the banks) or through a ``veil serve``.
* ``state``: the persisted update offset and each chat's policy.
* ``texts``: what the bot says, in English, Russian and Ukrainian.
* ``observe``: structured log lines (never message text) and counters.

Layer 8, beside ``veil.api`` and ``veil.cli``: may import ``veil.matching``,
``veil.store``, ``veil.text`` and everything below them; only ``veil.cli`` imports it
(``veil bot`` starts it).
"""
