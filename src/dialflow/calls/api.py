"""Recordings of simulated calls, served by dialflow itself."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dialflow.calls import repository
from dialflow.errors import NotFound
from dialflow.http import DbDep, WorkspaceDep
from dialflow.providers.simulator import simulated_recording

router = APIRouter(tags=["calls"])


@router.get(
    "/v1/recordings/{provider_call_id}.wav",
    summary="A call's recording (WAV)",
    description="The recording URL a call.completed event carries. Simulated calls get a short "
    "generated WAV; real providers link to their own storage.",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}}},
)
async def recording(provider_call_id: str, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    async with db.read() as conn:
        attempt = await repository.by_provider_call_id(conn, workspace_id, provider_call_id)
    if attempt is None or not attempt["recording_url"]:
        raise NotFound(f"no recording for call {provider_call_id}", code="recording_not_found")
    audio = simulated_recording(provider_call_id, attempt["duration_seconds"] or 1)
    return Response(audio, media_type="audio/wav")
