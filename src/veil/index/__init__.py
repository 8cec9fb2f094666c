"""In-memory matchers, one per signal type, exact within the threshold.

Imports ``veil.signals`` (and ``veil.store`` to rebuild from banks)."""
