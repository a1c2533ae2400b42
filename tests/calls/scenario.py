"""A workflow whose records have been dialed twice by the simulator: a no-answer, then, after
the retry period, a transferred call with a recording. Shared by the query API tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from dialflow.db.engine import Database
from dialflow.dialer.engine import Dialer, DialerConfig
from dialflow.providers import default_registry
from dialflow.providers.simulator import Simulator
from tests.conftest import Tenant
from tests.dialer.test_engine import Clock, always, drain, retrying_workflow
from tests.intake.test_bulk import phone

# Three records; each gets a case id and an external id of its own.
NUMBERS = (1, 2, 3)
CASE_IDS = ("C-1", "C-2", "C-3")
EXTERNAL_IDS = ("E-1", "E-2", "E-3")


def e164(n: int) -> str:
    return "+1" + phone(n)


@dataclass(frozen=True)
class Dialed:
    workflow: dict[str, Any]
    list_id: str
    record_ids: list[str]
    first_round: datetime  # the clock's time during the no-answer round
    second_round: datetime  # ... and during the transferred round


async def dial(
    db: Database, workspace_id: int, sim: Simulator, clock: Callable[[], datetime]
) -> None:
    """Run a dialer for this workspace only until nothing more is due, then stop it."""
    dialer = Dialer(
        db,
        default_registry(sim),
        DialerConfig(workspaces=frozenset({workspace_id})),
        clock=clock,
    )
    try:
        await drain(dialer)
    finally:
        await dialer.stop(grace_seconds=5)


async def add_records(
    client: httpx.AsyncClient, workflow: dict[str, Any], numbers: tuple[int, ...] = NUMBERS
) -> tuple[str, list[str]]:
    response = await client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk",
        json={
            "list_name": "dialed",
            "records": [
                {
                    "phone": phone(n),
                    "first_name": "Ada",
                    "case_id": CASE_IDS[i],
                    "external_id": EXTERNAL_IDS[i],
                }
                for i, n in enumerate(numbers)
            ],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["list_id"], [r["record_id"] for r in body["results"]]


async def dialed_workflow(tenant: Tenant, db: Database) -> Dialed:
    """Three records, each called twice: no answer, then transferred 31 minutes later."""
    workflow = await retrying_workflow(tenant.client)
    list_id, record_ids = await add_records(tenant.client, workflow)
    clock = Clock()
    first = clock.now
    await dial(db, tenant.workspace_id, always("no_answer"), clock)
    clock.advance(minutes=31)
    await dial(db, tenant.workspace_id, always("call_transferred"), clock)
    return Dialed(workflow, list_id, record_ids, first, clock.now)
