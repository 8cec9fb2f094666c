"""Admin: banked videos — list, import from vPDQ text, export as vPDQ text, withdraw
(docs/video.md). Banking a video from its file is ``veil protect`` (the file never
reaches the service); these routes move the reference's text format in and out."""

from __future__ import annotations

from fastapi import Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from veil.api.auth import ActorDep
from veil.api.errors import ApiError
from veil.api.routing import declare, router
from veil.api.schemas import Reason, VideoList, VideoOut
from veil.api.services import ServicesDep
from veil.errors import BadInput
from veil.signals import get as get_signal
from veil.signals.vpdq import format_vpdq, parse_vpdq
from veil.store.videos import VideoRecord

videos = router("admin", tag="admin", extra_statuses=(404, 409))

BankName = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VideoId = Path(ge=1, le=2**62)

_VPDQ_BODY = {"required": True, "content": {"text/plain": {"schema": {
    "type": "string", "description": "frame,quality,pdq_hex,timestamp lines"}}}}


def video_out(v: VideoRecord) -> VideoOut:
    return VideoOut(video_id=v.id, bank=v.bank, frames=v.frames, duration=v.duration,
                    label=v.label, md5=v.md5, status=v.status, created_at=v.created_at)


@videos.get("/v1/admin/banks/{name}/videos", response_model=VideoList,
            summary="List a bank's active videos")
def list_videos(services: ServicesDep, name: str = BankName) -> VideoList:
    return VideoList(videos=[video_out(v) for v in services.store.list_videos(name)])


@videos.post("/v1/admin/banks/{name}/videos", response_model=VideoOut, status_code=201,
             openapi_extra=declare(body="import", idempotent=False, requestBody=_VPDQ_BODY),
             summary="Bank a video from vPDQ text (the reference's format)")
async def import_video(request: Request, services: ServicesDep, actor: ActorDep,
                       name: str = BankName,
                       label: str | None = Query(None, max_length=200, description=(
                           "What the video is called (a file name, a case reference)"))
                       ) -> VideoOut:
    limits = services.settings.media.video
    body = bytearray()
    cap = services.settings.api.max_import_bytes
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise ApiError(413, "request.too_large", f"larger than {cap:,} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "input.invalid", "the body is not UTF-8 text") from None
    del body

    def run() -> VideoRecord:
        frames = parse_vpdq(text.splitlines(), max_frames=limits.max_frames)
        if not frames:
            raise BadInput("no frames: send frame,quality,pdq_hex,timestamp lines")
        return services.store.add_video(
            name, frames, actor=actor, duration=max(f.timestamp for f in frames),
            label=label, prune_distance=limits.prune_distance,
            min_quality=services.settings.quality_floor(get_signal("vpdq")) or 0)

    return video_out(await services.in_worker(run))


@videos.get("/v1/admin/videos/{video_id}/vpdq", response_class=Response,
            responses={200: {"content": {"text/plain": {}},
                             "description": "frame,quality,pdq_hex,timestamp lines"}},
            summary="A banked video's kept frames as vPDQ text")
def export_video(services: ServicesDep, actor: ActorDep,
                 video_id: int = VideoId) -> PlainTextResponse:
    frames = services.store.video_frames(video_id)
    services.store.audit_read(actor, "video.export", video_id=video_id)
    return PlainTextResponse(format_vpdq(frames))


@videos.post("/v1/admin/videos/{video_id}/withdraw", response_model=VideoOut,
             summary="Withdraw a banked video: its frame hashes and MD5 are erased")
def withdraw_video(body: Reason, services: ServicesDep, actor: ActorDep,
                   video_id: int = VideoId) -> VideoOut:
    return video_out(services.store.withdraw_video(video_id, actor=actor,
                                                   reason=body.reason))
