"""Platform: does a text advertise an "undressing" service (``/v1/text/check``)?

Texts are scored and forgotten: never stored, never logged (the answer's evidence is
the caller's to keep). A request is bounded: at most ``MAX_TEXTS`` texts of at most
``TEXT_MAX_CHARS`` characters, ``MAX_TEXT_REQUEST_CHARS`` in all: under a second of
one worker thread at worst, never the event loop. What a key learns is the score of
the texts it sends, from a model whose weights are public in the repository anyway:
nothing about banks or other callers.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from veil.api.routing import router
from veil.api.schemas import TextCheckRequest, TextCheckResponse
from veil.api.services import ServicesDep

text = router("platform", tag="text")


def _check(texts: list[str], threshold: float | None) -> list[dict[str, object]]:
    from veil.text.detector import check

    return [{"index": i, **check(t, threshold=threshold).as_json()}
            for i, t in enumerate(texts)]


@text.post("/v1/text/check", response_model=TextCheckResponse,
           summary="Find texts that advertise or link to \"undressing\" services")
async def text_check(body: TextCheckRequest, services: ServicesDep) -> JSONResponse:
    results = await services.in_worker(_check, body.texts, services.settings.text_threshold)
    for r in results:
        services.metrics.texts.labels("flagged" if r["nudify_service"] else "clean").inc()
    return JSONResponse({"results": results})
