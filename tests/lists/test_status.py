"""A list's progress (GET /v1/lists/{id}/status) and the workflow stats: counts that add up,
before, during and after dialing, and after cancelling."""

from __future__ import annotations

from typing import Any

import httpx

from dialflow.db.engine import Database
from tests.calls.scenario import add_records, dial
from tests.conftest import Tenant, make_workflow
from tests.dialer.test_engine import Clock, always, retrying_workflow
from tests.intake.test_bulk import phone

STATUSES = {"pending", "in_progress", "completed", "cancelled"}


async def list_status(client: httpx.AsyncClient, list_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/lists/{list_id}/status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body["by_status"]) == STATUSES
    assert sum(body["by_status"].values()) == body["total"]
    assert sum(body["by_outcome"].values()) == body["total"]
    live = body["by_status"]["pending"] + body["by_status"]["in_progress"]
    assert body["completed"] is (live == 0)
    assert body["by_outcome"].get("open", 0) == live
    return body


async def workflow_stats(client: httpx.AsyncClient, workflow: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/v1/workflows/{workflow['key']}/stats")
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    assert sum(stats["by_status"].values()) == stats["total"]
    assert sum(stats["by_outcome"].values()) == stats["total"]
    return stats


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


async def test_a_list_progresses_to_completed(tenant: Tenant, db: Database) -> None:
    client = tenant.client
    workflow = await retrying_workflow(client)
    list_id, _ = await add_records(client, workflow)

    status = await list_status(client, list_id)
    assert status["list_id"] == list_id
    assert status["workflow_id"] == workflow["id"]
    assert status["list_status"] == "open"
    assert status["total"] == 3
    assert status["by_status"] == {"pending": 3, "in_progress": 0, "completed": 0, "cancelled": 0}
    assert status["by_outcome"] == {"open": 3}
    assert status["completed"] is False

    clock = Clock()
    await dial(db, tenant.workspace_id, always("no_answer"), clock)
    status = await list_status(client, list_id)  # retrying: still open
    assert nonzero(status["by_status"]) == {"pending": 3}
    assert status["completed"] is False

    clock.advance(minutes=31)
    await dial(db, tenant.workspace_id, always("call_transferred"), clock)
    status = await list_status(client, list_id)
    assert nonzero(status["by_status"]) == {"completed": 3}
    assert status["by_outcome"] == {"call_transferred": 3}
    assert status["completed"] is True
    assert status["list_status"] == "open"  # the list itself was never cancelled

    # the workflow's stats agree with its only list, and with the calls made
    stats = await workflow_stats(client, workflow)
    assert stats["total"] == status["total"]
    assert nonzero(stats["by_status"]) == nonzero(status["by_status"])
    assert stats["by_outcome"] == status["by_outcome"]
    calls = (await client.get("/v1/calls", params={"workflow": workflow["key"]})).json()
    assert len(calls["items"]) == 6
    last_calls = [c for c in calls["items"] if c["end_reason"] == "call_transferred"]
    assert len(last_calls) == stats["by_outcome"]["call_transferred"]


async def test_mixed_outcomes_and_cancelling(tenant: Tenant) -> None:
    client = tenant.client
    workflow = await make_workflow(client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    first = await client.post(
        url, json={"records": [{"phone": phone(n)} for n in range(5)] + [{"phone": "x"}]}
    )
    assert first.status_code == 207, first.text
    list_id = first.json()["list_id"]
    record_ids = [r["record_id"] for r in first.json()["results"][:5]]
    second = await client.post(url, json={"records": [{"phone": phone(9)}]})
    single = await client.post(
        f"/v1/workflows/{workflow['key']}/records", json={"phone": phone(10)}
    )
    assert single.status_code == 201

    # the invalid record never became a record: it is in the intake counts, not in the status
    assert (await client.get(f"/v1/lists/{list_id}")).json()["counts"]["invalid"] == 1
    status = await list_status(client, list_id)
    assert status["total"] == 5

    await client.post(f"/v1/records/{record_ids[0]}/complete")
    status = await list_status(client, list_id)
    assert nonzero(status["by_status"]) == {"pending": 4, "completed": 1}
    assert status["by_outcome"] == {"open": 4, "marked_complete": 1}
    assert status["completed"] is False

    cancelled = await client.post(f"/v1/lists/{list_id}/cancel")
    assert cancelled.status_code == 200
    status = await list_status(client, list_id)
    assert status["list_status"] == "cancelled"
    assert nonzero(status["by_status"]) == {"completed": 1, "cancelled": 4}
    assert status["by_outcome"] == {"marked_complete": 1, "list_cancelled": 4}
    assert status["completed"] is True

    # the other list and the record added alone are untouched; the workflow counts them all
    other = await list_status(client, second.json()["list_id"])
    assert other["by_status"]["pending"] == 1
    assert other["completed"] is False
    stats = await workflow_stats(client, workflow)
    assert stats["total"] == status["total"] + other["total"] + 1 == 7
    assert stats["by_status"] == {"completed": 1, "cancelled": 4, "pending": 2}
    assert stats["by_outcome"] == {"marked_complete": 1, "list_cancelled": 4, "open": 2}


async def test_a_record_updated_by_a_later_list_moves_to_it(tenant: Tenant) -> None:
    client = tenant.client
    workflow = await make_workflow(client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    first = await client.post(url, json={"records": [{"phone": phone(1)}, {"phone": phone(2)}]})
    again = await client.post(url, json={"records": [{"phone": phone(2), "first_name": "Ada"}]})
    assert again.json()["results"][0]["status"] == "updated"
    assert (await list_status(client, first.json()["list_id"]))["total"] == 1
    assert (await list_status(client, again.json()["list_id"]))["total"] == 1
    assert (await workflow_stats(client, workflow))["total"] == 2


async def test_a_list_without_records_is_complete(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    bulk = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk", json={"records": [{"phone": "x"}]}
    )
    assert bulk.status_code == 422
    status = await list_status(tenant.client, bulk.json()["list_id"])
    assert status["total"] == 0
    assert status["by_outcome"] == {}
    assert status["completed"] is True


async def test_unknown_list_is_404(tenant: Tenant) -> None:
    for list_id in ("1", "382830616739958784", "abc", "9" * 30):
        response = await tenant.client.get(f"/v1/lists/{list_id}/status")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "list_not_found"
