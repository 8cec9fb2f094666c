"""``veil bot``: run the Telegram moderation bot (``veil.bot``) until Ctrl-C or SIGTERM.

Settings come from ``VEIL_BOT_*`` (``veil config`` lists them): the token, the mode
(the banks in process, or a remote ``veil serve``), the default policy for senders.
"""

from __future__ import annotations

from veil.cli.output import handles_errors


@handles_errors
def bot_command() -> None:
    """Run the Telegram moderation bot (long polling; settings: VEIL_BOT_*, see veil
    config and docs/telegram-bot.md). Stops cleanly on Ctrl-C or SIGTERM."""
    import asyncio
    import logging
    import sys

    from veil.bot.app import run_bot
    from veil.config import load_settings

    # the bot's JSON lines (veil.bot.observe) to stderr as they are; other loggers keep
    # the CLI's warnings-only handler
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("veil.bot")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    asyncio.run(run_bot(load_settings()))
