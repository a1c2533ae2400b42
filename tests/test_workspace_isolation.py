"""A key reaches only its own workspace: every other workspace's object answers 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dialflow.db.engine import Database
from dialflow.domain.workflows import WorkflowAction
from dialflow.settings import Settings
from tests.conftest import Tenant, make_workflow, open_tenant

PHONE = "2125551234"
E164 = "+12125551234"
OTHER_PHONE = "2125557890"


@dataclass(frozen=True)
class Objects:
    """Workspace B's client and the things it made."""

    client: httpx.AsyncClient
    workflow_id: int
    workflow_key: str
    list_id: str
    record_id: str


@pytest.fixture
async def other(db: Database, settings: Settings) -> AsyncIterator[Objects]:
    """Workspace B: a workflow with records added in bulk (one list)."""
    async with open_tenant(db, settings, "other", key_as="x-api-key") as opened:
        client = opened.client
        workflow = await make_workflow(client)
        bulk = await client.post(
            f"/v1/workflows/{workflow['key']}/records/bulk",
            json={"records": [{"phone": PHONE}, {"phone": OTHER_PHONE}], "list_name": "B's"},
        )
        assert bulk.status_code == 201, bulk.text
        body = bulk.json()
        yield Objects(
            client=client,
            workflow_id=int(str(workflow["id"])),
            workflow_key=str(workflow["key"]),
            list_id=body["list_id"],
            record_id=body["results"][0]["record_id"],
        )


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, (
        response.request.method,
        response.request.url,
        response.text,
    )
    error = response.json()["error"]
    assert error["code"].endswith("not_found"), error
    assert error["message"]


async def _record(client: httpx.AsyncClient, record_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/records/{record_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_b_sees_its_own_objects(other: Objects) -> None:
    """The baseline: everything A is refused below is reachable with B's key."""
    client = other.client
    assert (await client.get(f"/v1/workflows/{other.workflow_id}")).status_code == 200
    assert (await client.get(f"/v1/workflows/{other.workflow_key}")).status_code == 200
    assert (await client.get(f"/v1/lists/{other.list_id}")).status_code == 200
    record = await _record(client, other.record_id)
    assert record["status"] == "pending"
    assert record["workflow_id"] == other.workflow_id
    assert record["list_id"] == other.list_id


@pytest.mark.parametrize("ref_kind", ["id", "key", "lower-case key"])
async def test_a_cannot_reach_b_workflow(tenant: Tenant, other: Objects, ref_kind: str) -> None:
    ref = {
        "id": str(other.workflow_id),
        "key": other.workflow_key,
        "lower-case key": other.workflow_key.lower(),
    }[ref_kind]
    a = tenant.client
    assert_not_found(await a.get(f"/v1/workflows/{ref}"))
    assert_not_found(await a.patch(f"/v1/workflows/{ref}", json={"name": "hijacked"}))
    for action in WorkflowAction:
        assert_not_found(await a.post(f"/v1/workflows/{ref}/{action.value}"))
    assert_not_found(await a.post(f"/v1/workflows/{ref}/records", json={"phone": "2125550000"}))
    assert_not_found(
        await a.post(
            f"/v1/workflows/{ref}/records/bulk", json={"records": [{"phone": "2125550000"}]}
        )
    )
    assert_not_found(await a.get(f"/v1/workflows/{ref}/records"))
    assert_not_found(await a.get(f"/v1/workflows/{ref}/records?phone={PHONE}"))
    assert_not_found(await a.get(f"/v1/workflows/{ref}/lists"))
    assert_not_found(await a.post("/v1/records/complete", json={"phone": PHONE, "workflow": ref}))
    assert_not_found(await a.post("/v1/records/resume", json={"phone": PHONE, "workflow": ref}))

    # B's workflow is untouched: same name, still active, still only B's two records
    b = other.client
    workflow = (await b.get(f"/v1/workflows/{other.workflow_id}")).json()
    assert workflow["name"] == "Test workflow"
    assert workflow["status"] == "active"
    records = (await b.get(f"/v1/workflows/{other.workflow_id}/records")).json()["items"]
    assert sorted(r["phone"] for r in records) == [E164, "+12125557890"]
    assert all(r["status"] == "pending" for r in records)
    lists = (await b.get(f"/v1/workflows/{other.workflow_id}/lists")).json()["items"]
    assert [item["id"] for item in lists] == [other.list_id]


async def test_a_cannot_reach_b_list(tenant: Tenant, other: Objects) -> None:
    a = tenant.client
    assert_not_found(await a.get(f"/v1/lists/{other.list_id}"))
    assert_not_found(await a.post(f"/v1/lists/{other.list_id}/cancel"))
    listed = (await other.client.get(f"/v1/lists/{other.list_id}")).json()
    assert listed["status"] == "open"
    assert listed["cancelled_at"] is None
    assert (await _record(other.client, other.record_id))["status"] == "pending"


async def test_a_cannot_reach_b_record(tenant: Tenant, other: Objects) -> None:
    a = tenant.client
    assert_not_found(await a.get(f"/v1/records/{other.record_id}"))
    assert_not_found(await a.post(f"/v1/records/{other.record_id}/complete"))
    assert (await _record(other.client, other.record_id))["status"] == "pending"

    # a finished record of B cannot be resumed by A either
    done = await other.client.post(f"/v1/records/{other.record_id}/complete")
    assert done.status_code == 200, done.text
    assert done.json()["changed"] == [other.record_id]
    assert_not_found(await a.post(f"/v1/records/{other.record_id}/resume"))
    assert_not_found(await a.post("/v1/records/resume", json={"phone": PHONE}))
    assert (await _record(other.client, other.record_id))["status"] == "completed"


async def test_complete_by_phone_across_a_workspace_stays_in_it(
    tenant: Tenant, other: Objects
) -> None:
    a = tenant.client
    # A has nothing with that phone yet: nothing found, and B's record is untouched
    assert_not_found(await a.post("/v1/records/complete", json={"phone": PHONE}))
    assert (await _record(other.client, other.record_id))["status"] == "pending"

    # A gets its own record with the same phone; completing by phone touches only A's
    mine = await make_workflow(a)
    added = await a.post(f"/v1/workflows/{mine['key']}/records", json={"phone": PHONE})
    assert added.status_code == 201, added.text
    my_record = added.json()["record_id"]
    response = await a.post("/v1/records/complete", json={"phones": [PHONE, OTHER_PHONE]})
    assert response.status_code == 200, response.text
    assert response.json() == {"changed": [my_record], "unchanged": []}
    assert (await _record(a, my_record))["status"] == "completed"
    assert (await _record(other.client, other.record_id))["status"] == "pending"
    b_records = (await other.client.get(f"/v1/workflows/{other.workflow_key}/records")).json()
    assert [r["status"] for r in b_records["items"]] == ["pending", "pending"]


async def test_listing_workflows_never_shows_another_workspace(
    tenant: Tenant, other: Objects
) -> None:
    mine = await make_workflow(tenant.client)
    second_of_b = await make_workflow(other.client)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1"} if cursor is None else {"limit": "1", "cursor": cursor}
        page = await tenant.client.get("/v1/workflows", params=params)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [w["id"] for w in seen] == [mine["id"]]
    for status in ("active", "draft"):
        filtered = await tenant.client.get("/v1/workflows", params={"status": status})
        ids = {w["id"] for w in filtered.json()["items"]}
        assert other.workflow_id not in ids
        assert second_of_b["id"] not in ids
    b_ids = {w["id"] for w in (await other.client.get("/v1/workflows")).json()["items"]}
    assert b_ids == {other.workflow_id, second_of_b["id"]}
