"""The case code people write down: the case token in an alphabet without look-alikes.

The pages show the 32 random bytes of a case token (``secrets.token_urlsafe(32)``)
as 52 symbols of ``2-9`` and the capital letters without ``I`` and ``O``, 5 bits
each, in groups of four (``static/js/case-code.js``). A person may type that code
into ``/case`` or send it in ``X-Case-Token`` (small letters, spaces and dashes do
not matter); this turns it back into the token. Anything else is passed on as it is
(a raw token still works).
"""

from __future__ import annotations

import base64

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TOKEN_BYTES = 32
CODE_LENGTH = -(-TOKEN_BYTES * 8 // 5)  # 52
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def token_from_code(text: str) -> str:
    """The token a case code stands for, or ``text`` unchanged if it is not a code."""
    compact = "".join(text.split()).replace("-", "").upper()
    if len(compact) != CODE_LENGTH or any(c not in _VALUE for c in compact):
        return text
    number = 0
    for c in compact:
        number = (number << 5) | _VALUE[c]
    spare = CODE_LENGTH * 5 - TOKEN_BYTES * 8  # 4 bits of padding, which must be zero
    if number & ((1 << spare) - 1):
        return text
    raw = (number >> spare).to_bytes(TOKEN_BYTES, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def code_from_token(token: str) -> str:
    """The code of a token (what the pages show), for tests and tools."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    spare = CODE_LENGTH * 5 - TOKEN_BYTES * 8
    number = int.from_bytes(raw, "big") << spare
    symbols = [ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH))]
    return "-".join("".join(symbols[i:i + 4]) for i in range(0, CODE_LENGTH, 4))
