"""Signal types: compact fingerprints of media (pdq, md5, sha256, phash, dhash).

One module per signal type, each a class following ``SignalType`` in ``base``;
``registry`` lists them. Imports only ``veil.media`` (and errors/config).
"""

from veil.signals.base import Signal, SignalType
from veil.signals.registry import all_types, check_settings, get, names

__all__ = ["Signal", "SignalType", "all_types", "check_settings", "get", "names"]
