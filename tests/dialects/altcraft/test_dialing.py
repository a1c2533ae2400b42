"""Profiles imported through the Altcraft seed example are dialed by the engine."""

from __future__ import annotations

import json

from dialflow.db.engine import Database
from dialflow.db.tables import attempts
from tests.conftest import Tenant, make_workflow
from tests.dialects.altcraft.conftest import Altcraft
from tests.dialects.altcraft.seed import CUSTOM_JSON, printed
from tests.dialer.test_engine import (
    ALWAYS_OPEN,
    DialerFactory,
    always,
    drain,
    statuses,
    workflow_attempts,
)
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver


async def test_profiles_of_the_seed_example_are_dialed(
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    # Altcraft documents no call webhook: calls are reported by dialflow's own events.
    await add_endpoint(tenant, receiver.url, event_types=["call.completed"])
    workflow = await make_workflow(
        tenant.client,
        calling_hours=ALWAYS_OPEN,
        steps=[{"id": "call-1", "type": "call", "script": "Hi {{ first_name }}!"}],
    )
    altcraft = Altcraft(tenant, workflow)
    body = printed(CUSTOM_JSON, tenant.api_key, workflow["id"])
    body = body.replace(
        '"matching": "custom",', '"matching": "custom", "content": {"offer": "hi"},'
    )
    answer = (await altcraft.send("workflows/import_and_start_batch", body)).json()
    assert answer["error"] == 0, answer

    await drain(make_dialer(always("call_transferred")))

    assert await statuses(db, workflow["id"]) == {"completed": 2}
    dialed = await workflow_attempts(
        db, workflow["id"], attempts.c.to_address, attempts.c.end_reason
    )
    assert sorted(dialed) == [
        ("+79000005422", "call_transferred"),
        ("+79006574081", "call_transferred"),
    ]
    records = await altcraft.records()
    assert {r["profile_id"] for r in records} == {r["profile_id"] for r in answer["result"]}
    assert {r["final_outcome"] for r in records} == {"call_transferred"}
    await deliver_all(make_deliverer())
    reported = [json.loads(request.body)["data"] for request in receiver.requests]
    assert {data["record"]["profile_id"] for data in reported} == {
        r["profile_id"] for r in answer["result"]
    }
