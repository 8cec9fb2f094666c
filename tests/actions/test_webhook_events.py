"""Signing and verifying deliveries, the retry schedule, sealed secrets, URL checks."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from veil.actions.delivery import retry_delay
from veil.actions.sealing import KEY_FILE, Sealer, SealError
from veil.actions.subscriptions import check_url
from veil.actions.webhook_events import banks_of, signature, signature_header, verify
from veil.config import Settings, load_settings
from veil.errors import BadInput, ConfigError

SECRET = "whsec_test"
BODY = b'{"id":"e1","type":"scan.verdict","data":{}}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    want = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_700_000_000, BODY) == want
    assert signature_header(SECRET, BODY, 1_700_000_000) == f"t=1700000000,v1={want}"


def test_verify_accepts_its_own_signature_and_refuses_changes() -> None:
    header = signature_header(SECRET, BODY, 1_700_000_000)
    assert verify(SECRET, header, BODY, now=1_700_000_010)
    assert not verify("whsec_other", header, BODY, now=1_700_000_010)
    assert not verify(SECRET, header, BODY + b" ", now=1_700_000_010)
    # the timestamp is signed: moving it forward breaks the signature
    moved = header.replace("t=1700000000", "t=1700000300")
    assert not verify(SECRET, moved, BODY, now=1_700_000_300)
    # an old delivery, replayed later, is refused
    assert not verify(SECRET, header, BODY, now=1_700_000_000 + 301)
    for broken in ("", "t=x,v1=00", "v1=00", f"t=1700000000,v1={'0' * 64}"):
        assert not verify(SECRET, broken, BODY, now=1_700_000_000)


def test_retry_delay_doubles_up_to_the_cap_with_jitter() -> None:
    lows = [retry_delay(n, 2.0, 60.0, rand=lambda: 0.0) for n in range(1, 9)]
    highs = [retry_delay(n, 2.0, 60.0, rand=lambda: 1.0) for n in range(1, 9)]
    assert highs == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert lows == [h / 2 for h in highs]
    # huge attempt counts neither overflow nor pass the cap
    assert retry_delay(10_000, 2.0, 60.0) <= 60.0
    import random

    rng = random.Random(1)
    spread = {round(retry_delay(3, 2.0, 60.0, rand=rng.random), 6) for _ in range(50)}
    assert len(spread) > 40 and all(4.0 <= d <= 8.0 for d in spread)


def test_banks_of_reads_the_listed_matches() -> None:
    verdicts = [{"decision": "block", "matches": [{"bank": "a"}, {"bank": "b"}]},
                {"decision": "review", "matches": [{"bank": "a"}]}, {"decision": "allow"}]
    assert banks_of(verdicts) == {"a", "b"}


@pytest.fixture
def home_settings(veil_home: Path) -> Settings:
    veil_home.mkdir(parents=True, exist_ok=True)
    return load_settings()


def test_sealed_secret_opens_only_with_its_key_and_name(home_settings: Settings) -> None:
    sealer = Sealer(home_settings)
    sealed = sealer.seal(SECRET, "hook")
    assert SECRET not in sealed and sealed.startswith("v1:")
    assert sealer.seal(SECRET, "hook") != sealed  # a fresh nonce each time
    assert Sealer(home_settings).open(sealed, "hook") == SECRET  # the key file is kept
    with pytest.raises(SealError):
        sealer.open(sealed, "other-hook")  # moved to another subscription's row
    key_file = Path(home_settings.home) / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = home_settings.with_(webhooks={"secrets_key": base64.urlsafe_b64encode(
        os.urandom(32)).decode()})
    with pytest.raises(SealError):
        Sealer(other).open(sealed, "hook")


def test_a_configured_key_is_used_and_no_key_file_is_made(home_settings: Settings) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    s = home_settings.with_(webhooks={"secrets_key": key})
    assert Sealer(s).open(Sealer(s).seal(SECRET, "h"), "h") == SECRET
    assert not (Path(s.home) / KEY_FILE).exists()
    with pytest.raises(ConfigError, match="VEIL_WEBHOOK_SECRETS_KEY"):
        Sealer(home_settings.with_(webhooks={"secrets_key": "short"})).seal(SECRET, "h")


@pytest.mark.parametrize("url", ["https://example.org/hook", "http://127.0.0.1:9000/x?a=1"])
def test_http_urls_are_taken(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize("url", [
    "ftp://example.org/x", "file:///etc/passwd", "gopher://x", "javascript:alert(1)",
    "example.org/hook", "https://", "https://user:pw@example.org/", "http://x:99999/",
    "https://exa mple.org/", "https://example.org/\n", "https://example.org/" + "a" * 2000])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(BadInput) as exc:
        check_url(url)
    assert exc.value.code == "webhook.bad_url"
