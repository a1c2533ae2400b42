"""Another workspace never reaches a workspace's endpoints or events; a deliverer killed
mid-post loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import httpx
from sqlalchemy import select

from dialflow.app import create_app
from dialflow.db.engine import Database
from dialflow.db.tables import deliveries
from dialflow.settings import Settings
from dialflow.workspaces.service import create_workspace
from tests.conftest import Tenant, make_workflow
from tests.dialer.test_engine import Clock
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver, Reply


async def test_another_workspace_reaches_nothing(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    endpoint = await add_endpoint(tenant, receiver.url)
    workflow = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/pause")
    await deliver_all(make_deliverer())
    event_id = receiver.ids()[0]

    stranger = await create_workspace(db, "stranger")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db)),
        base_url="http://dialflow.test",
        headers={"Authorization": f"Bearer {stranger.api_key}"},
    ) as client:
        base = f"/v1/webhook-endpoints/{endpoint['id']}"
        attempts = [
            await client.get(base),
            await client.get(f"{base}/secret"),
            await client.patch(base, json={"description": "mine now"}),
            await client.post(f"{base}/rotate-secret", json={}),
            await client.post(f"{base}/replay", json={"since": "2020-01-01T00:00:00Z"}),
            await client.delete(base),
            await client.get(f"/v1/events/{event_id}"),
            await client.post(f"/v1/events/{event_id}/replay", json={}),
            await client.post(
                f"/v1/events/{event_id}/replay", json={"endpoint_id": endpoint["id"]}
            ),
        ]
        for response in attempts:
            assert response.status_code == 404, (response.request.url, response.text)
            assert response.json()["error"]["code"].endswith("_not_found")
        assert (await client.get("/v1/webhook-endpoints")).json()["items"] == []
        assert (await client.get("/v1/events")).json()["items"] == []
        # Events never go to another workspace's endpoints either.
        other_receiver = Receiver()
        await other_receiver.start()
        try:
            made = await client.post("/v1/webhook-endpoints", json={"url": other_receiver.url})
            assert made.status_code == 201
            await tenant.client.post(f"/v1/workflows/{workflow['key']}/resume")
            await deliver_all(make_deliverer())
            assert other_receiver.requests == []
        finally:
            await other_receiver.stop()
    assert (await tenant.client.get(base)).json()["description"] is None
    assert len(receiver.requests) == 2


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from dialflow.db.engine import Database
    from dialflow.webhooks.delivery import Deliverer, DelivererConfig

    async def main() -> None:
        db = Database(sys.argv[1])
        config = DelivererConfig(
            workspaces=frozenset({int(sys.argv[2])}), allow_private=True, timeout_seconds=120
        )
        await Deliverer(db, config).run_once()
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_a_deliverer_killed_mid_post_loses_nothing(
    db: Database, tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    hang_first = iter([Reply(delay=60)])
    receiver.responder = lambda _request: next(hang_first, Reply())
    await add_endpoint(tenant, receiver.url)
    workflow = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    await tenant.client.post(f"/v1/workflows/{workflow['key']}/pause")

    worker = subprocess.Popen(  # noqa: ASYNC220 (killed below, never awaited)
        [sys.executable, "-c", _WORKER, db.url, str(tenant.workspace_id)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        for _ in range(300):
            if receiver.requests:
                break
            await asyncio.sleep(0.1)
        assert len(receiver.requests) == 1, "the worker never posted"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    async with db.read() as conn:
        held = (
            await conn.execute(
                select(deliveries.c.status).where(deliveries.c.workspace_id == tenant.workspace_id)
            )
        ).scalar_one()
    assert held == "in_progress"  # leased by the dead worker

    clock = Clock()
    clock.advance(minutes=2)  # past the dead worker's lease
    survivor = make_deliverer(clock=clock)
    assert await survivor.reap_once() == 1
    await deliver_all(survivor)
    async with db.read() as conn:
        status = (
            await conn.execute(
                select(deliveries.c.status, deliveries.c.attempts).where(
                    deliveries.c.workspace_id == tenant.workspace_id
                )
            )
        ).one()
    assert tuple(status) == ("succeeded", 1)
    assert len(receiver.requests) == 2
    assert len(set(receiver.ids())) == 1  # the same event, deduplicable by webhook-id
    assert receiver.requests[0].body == receiver.requests[1].body
