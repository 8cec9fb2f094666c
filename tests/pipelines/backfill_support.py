"""What the backfill tests share: the folder they scan and what it holds."""

from __future__ import annotations

#: Photos in the folder (a dozen: the Ray test must stay short on a busy machine).
PHOTOS = 12
#: The malformed files, by name, and the error each must be reported with.
BAD = {"truncated.jpg": "media.truncated", "empty.jpg": "media.empty",
       "notes.jpg": "media.unsupported", "archive.png": "media.unsupported"}
