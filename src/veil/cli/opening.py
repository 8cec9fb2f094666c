"""What a command opens from this run's settings: the store, or the bank matcher.

Imported by the commands at the top, so it imports only the standard library there;
the store and the index are imported when something is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from veil.config import Settings
    from veil.matching import BankMatcher
    from veil.store import BankStore


def open_cli_store() -> BankStore:
    """The store of the settings in the environment (created and migrated if new)."""
    from veil.config import load_settings
    from veil.store import open_store

    return open_store(load_settings())


def load_matcher(settings: Settings, signals: list[str] | None = None) -> BankMatcher:
    """The banks' matcher: every signal's index, or only ``signals``'."""
    from veil.matching import BankMatcher
    from veil.store import open_store

    with open_store(settings) as store:
        return BankMatcher.load(settings, store, signals=signals)


@contextmanager
def open_matcher(settings: Settings) -> Iterator[BankMatcher]:
    """The banks' matcher with its store kept open while it is used: matching a video
    looks up where its frames are in the banked videos."""
    from veil.matching import BankMatcher
    from veil.store import open_store

    with open_store(settings) as store:
        yield BankMatcher.load(settings, store)
