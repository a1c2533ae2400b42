"""With several server processes, heavy requests end their connection so the next one is
accepted by whichever process is free; light requests keep theirs. Over real HTTP (uvicorn on
loopback)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from dialflow.app import HEAVY_REQUEST_BYTES, create_app
from dialflow.db.engine import Database
from dialflow.settings import Settings
from dialflow.workspaces.service import create_workspace
from tests.intake.test_bulk import phone


async def _serve(db: Database, settings: Settings) -> AsyncIterator[str]:
    """The app under uvicorn on a loopback socket that listens before the server starts, so
    the first request simply waits in the backlog."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    app = create_app(settings, db)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listening.close()


@pytest.fixture(params=[1, 2], ids=["one-process", "two-processes"])
async def served(
    request: pytest.FixtureRequest, db: Database, settings: Settings
) -> AsyncIterator[tuple[int, str, str]]:
    workers: int = request.param
    created = await create_workspace(db, f"reconnect-{workers}")
    async for base in _serve(db, settings.model_copy(update={"workers": workers})):
        yield workers, base, created.api_key


async def test_heavy_requests_close_their_connection_only_with_several_processes(
    served: tuple[int, str, str],
) -> None:
    workers, base, api_key = served
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        created = await client.post("/v1/workflows", json={"name": "w", "status": "active"})
        assert created.status_code == 201, created.text
        bulk = f"/v1/workflows/{created.json()['key']}/records/bulk"
        heavy = {"records": [{"phone": phone(n), "first_name": "Ada"} for n in range(2_000)]}
        assert len(httpx.Request("POST", base, json=heavy).content) >= HEAVY_REQUEST_BYTES
        light = {"records": [{"phone": phone(5_000 + n)} for n in range(10)]}
        answers = [await client.post(bulk, json=body) for body in (light, heavy, light, heavy)]
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    closed = [a.headers.get("connection") == "close" for a in answers]
    # The light one after a heavy one went over a new connection, transparently.
    assert closed == ([False, True, False, True] if workers > 1 else [False] * 4)
