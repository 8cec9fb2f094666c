"""Where an exchange's secret lives: never in the database, which keeps only a
reference — ``env:NAME`` (an environment variable) or ``file:/path`` (a file only its
owner may read) — and, without one, ``VEIL_EXCHANGE_KEY_<NAME>``.

The secret's shape by kind:

* ``stopncii``: ``fetch_key,subscription_key[,feedback_key]`` (what
  python-threatexchange's ``TX_STOPNCII_KEYS`` holds, less its URL);
* ``veil``: one Veil API key with the ``exchange`` scope;
* ``hma``: empty, or a bearer token.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from veil.errors import BadInput

#: Longest secret read from a file (a key is well under it; a wrong path is not).
_MAX_BYTES = 4096


def default_reference(name: str) -> str:
    return "env:VEIL_EXCHANGE_KEY_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def check_reference(ref: str) -> str:
    if re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]{0,200}", ref) or (
            ref.startswith("file:/") and len(ref) <= 300):
        return ref
    raise BadInput("credentials must be env:VARIABLE or file:/absolute/path (the secret "
                   "itself is never stored)", code="exchange.credentials")


@dataclass(frozen=True, slots=True)
class Credentials:
    headers: dict[str, str]
    #: The key for SubmitFeedback where it differs from the fetch key.
    feedback_headers: dict[str, str]


def read_secret(ref: str) -> str:
    if ref.startswith("env:"):
        value = os.environ.get(ref[4:], "")
        if not value:
            raise BadInput(f"the environment variable {ref[4:]} is not set",
                           code="exchange.credentials")
        return value.strip()
    path = Path(ref[5:])
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise BadInput(f"{path} may be read by others: chmod 600 it",
                           code="exchange.credentials")
        with path.open("rb") as f:
            return f.read(_MAX_BYTES).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read credentials from {path}: {exc}",
                       code="exchange.credentials") from None


def credentials_for(kind: str, ref: str | None, name: str) -> Credentials:
    if kind == "hma" and ref is None and default_reference(name)[4:] not in os.environ:
        return Credentials({}, {})  # a public list needs no key
    secret = read_secret(ref or default_reference(name))
    if kind == "stopncii":
        parts = [p.strip() for p in secret.split(",")]
        if len(parts) not in (2, 3) or not all(parts):
            raise BadInput("StopNCII credentials are fetch_key,subscription_key"
                           "[,feedback_key]", code="exchange.credentials")
        fetch = {"x-functions-key": parts[0], "Ocp-Apim-Subscription-Key": parts[1]}
        feedback = dict(fetch)
        if len(parts) == 3:
            feedback["x-functions-key"] = parts[2]
        return Credentials(fetch, feedback)
    if kind == "veil":
        headers = {"x-functions-key": secret}
        return Credentials(headers, headers)
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return Credentials(headers, headers)
