"""Routes declare their body cap, idempotency and hashes-only intake; the middleware
act on those declarations (the spec shows them), never on path strings."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi.testclient import TestClient

from veil.api.logs import JsonFormatter
from veil.api.routing import BODY_EXT, HASHES_ONLY_EXT, IDEMPOTENT_EXT


def test_declarations_are_in_the_spec(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/scan"]["post"][BODY_EXT] == "media"
    imports = paths["/v1/admin/banks/{name}/entries"]["post"]
    assert imports[BODY_EXT] == "import" and imports[IDEMPOTENT_EXT] is False
    assert paths["/v1/cases"]["post"][HASHES_ONLY_EXT] is True
    assert BODY_EXT not in paths["/v1/match"]["post"]  # the JSON default


def test_caps_follow_the_route(client: TestClient, auth: Callable[[str], dict[str, str]],
                               services) -> None:  # type: ignore[no-untyped-def]
    big = b"x" * (services.settings.api.max_json_bytes + 10)
    # over the JSON cap: refused on /v1/match, within the media cap on /v1/scan
    r = client.post("/v1/match", content=big, headers={**auth("platform"),
                                                       "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request.too_large"
    r = client.post("/v1/scan", content=big, headers={
        **auth("platform"), "content-type": "application/octet-stream"})
    assert r.status_code != 413


def test_json_logs_carry_no_colour_codes() -> None:
    rec = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", (), None)
    rec.color_message = "\x1b[32mStarted\x1b[0m"  # what uvicorn attaches
    line = JsonFormatter().format(rec)
    assert "\x1b" not in line and "color_message" not in line
