"""Who the audit log names for a change made from this command line."""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no $USER, e.g. in some containers
        return "cli"
