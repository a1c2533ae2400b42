"""Idempotency-Key on intake: replay the first response, write nothing; 409 on reuse."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from dialflow.db.engine import Database
from dialflow.db.tables import lists, records
from tests.conftest import Tenant, make_workflow
from tests.intake.test_bulk import phone


async def _counts(db: Database, workflow_id: int) -> tuple[int, int]:
    async with db.read() as conn:
        n_records = (
            await conn.execute(
                select(func.count())
                .select_from(records)
                .where(records.c.workflow_id == workflow_id)
            )
        ).scalar_one()
        n_lists = (
            await conn.execute(
                select(func.count()).select_from(lists).where(lists.c.workflow_id == workflow_id)
            )
        ).scalar_one()
    return int(n_records), int(n_lists)


async def test_repeat_returns_first_response_and_writes_nothing(
    tenant: Tenant, db: Database
) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    body = {"records": [{"phone": phone(1)}, {"phone": phone(2)}, {"phone": "bad"}]}
    headers = {"Idempotency-Key": "import-2026-11-22"}
    first = await tenant.client.post(url, json=body, headers=headers)
    assert first.status_code == 207
    after_first = await _counts(db, int(workflow["id"]))
    assert after_first == (2, 1)

    again = await tenant.client.post(url, json=body, headers=headers)
    assert again.status_code == 207
    assert again.content == first.content  # byte for byte, same record ids and list id
    assert await _counts(db, int(workflow["id"])) == after_first

    # Without the key the same body is a new request: the pending records are updated.
    plain = await tenant.client.post(url, json=body)
    assert [r["status"] for r in plain.json()["results"]] == ["updated", "updated", "invalid"]


async def test_same_key_different_body_is_a_conflict(tenant: Tenant, db: Database) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records"
    headers = {"Idempotency-Key": "k1"}
    first = await tenant.client.post(url, json={"phone": phone(1)}, headers=headers)
    assert first.status_code == 201
    other = await tenant.client.post(url, json={"phone": phone(2)}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert await _counts(db, int(workflow["id"])) == (1, 0)


async def test_keys_are_per_workspace_and_failed_requests_release_the_key(
    tenant: Tenant,
) -> None:
    headers = {"Idempotency-Key": "k2"}
    missing = await tenant.client.post(
        "/v1/workflows/NOSUCH/records", json={"phone": phone(1)}, headers=headers
    )
    assert missing.status_code == 404
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records"
    # The 404 did not store a response, so the key is free for a request that succeeds.
    created = await tenant.client.post(url, json={"phone": phone(1)}, headers=headers)
    assert created.status_code == 201


async def test_concurrent_repeats_run_once(tenant: Tenant, db: Database) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    body = {"records": [{"phone": phone(n)} for n in range(50)]}
    headers = {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(tenant.client.post(url, json=body, headers=headers) for _ in range(4))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 409}
    replays = {r.content for r in responses if r.status_code == 201}
    assert len(replays) == 1  # every success is the same stored response
    assert await _counts(db, int(workflow["id"])) == (50, 1)
