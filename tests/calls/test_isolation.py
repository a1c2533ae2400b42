"""Every call query stays inside the key's workspace: another workspace's ids answer 404, its
phones, case ids and external ids find nothing, its cursors are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dialflow.db.engine import Database
from dialflow.settings import Settings
from tests.calls.scenario import CASE_IDS, EXTERNAL_IDS, NUMBERS, Dialed, dialed_workflow
from tests.calls.test_api import all_pages, get_json, ids
from tests.conftest import Tenant, open_tenant
from tests.intake.test_bulk import phone


@pytest.fixture
async def other(db: Database, settings: Settings) -> AsyncIterator[Tenant]:
    """Workspace B, with its own key and client (and, so far, nothing of its own)."""
    async with open_tenant(db, settings, "other", key_as="x-api-key") as opened:
        yield opened


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, (response.request.url, response.text)
    assert response.json()["error"]["code"].endswith("not_found")


async def refusals(b: httpx.AsyncClient, a: Dialed, a_calls: list[dict[str, Any]]) -> None:
    """What B must not reach of A: by id 404, by value nothing."""
    for call in a_calls:
        assert_not_found(await b.get(f"/v1/calls/{call['id']}"))
        if call["recording"]:
            assert_not_found(await b.get(call["recording"]))
        assert await all_pages(b, "/v1/calls", record_id=call["record_id"]) == []
    for record_id in a.record_ids:
        assert_not_found(await b.get(f"/v1/records/{record_id}/calls"))
    workflow = a.workflow
    for ref in (str(workflow["id"]), str(workflow["key"]), str(workflow["key"]).lower()):
        assert_not_found(await b.get("/v1/calls", params={"workflow": ref}))
        assert_not_found(
            await b.get(f"/v1/workflows/{ref}/recordings", params={"phone": phone(NUMBERS[0])})
        )
    assert_not_found(await b.get(f"/v1/lists/{a.list_id}/status"))


async def test_b_cannot_see_a_calls(tenant: Tenant, other: Tenant, db: Database) -> None:
    a = await dialed_workflow(tenant, db)
    a_calls = await all_pages(tenant.client, "/v1/calls")
    assert len(a_calls) == 6
    b = other.client

    # B has no calls at all: every search is empty, whatever names A's data
    await refusals(b, a, a_calls)
    assert await get_json(b, "/v1/calls") == {"items": [], "next_cursor": None}
    for n, case_id, external_id in zip(NUMBERS, CASE_IDS, EXTERNAL_IDS, strict=True):
        assert await all_pages(b, "/v1/calls", phone=phone(n)) == []
        assert await all_pages(b, "/v1/calls", case_id=case_id) == []
        assert await all_pages(b, "/v1/calls", external_id=external_id) == []
        assert await all_pages(b, "/v1/calls", end_reason="call_transferred") == []

    # A's cursor means nothing to B: refused, not a window into A's calls
    a_page = await get_json(tenant.client, "/v1/calls", limit=2)
    assert a_page["next_cursor"]
    refused = await b.get("/v1/calls", params={"cursor": a_page["next_cursor"]})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_cursor"


async def test_same_numbers_and_case_ids_in_two_workspaces(
    tenant: Tenant, other: Tenant, db: Database
) -> None:
    """Both workspaces dial the same phones with the same case and external ids: each sees only
    its own calls, through every look-up."""
    a = await dialed_workflow(tenant, db)
    b = await dialed_workflow(other, db)
    a_calls = await all_pages(tenant.client, "/v1/calls")
    b_calls = await all_pages(other.client, "/v1/calls")
    assert len(a_calls) == len(b_calls) == 6
    assert not set(ids(a_calls)) & set(ids(b_calls))
    assert {c["record_id"] for c in a_calls} == set(a.record_ids)
    assert {c["record_id"] for c in b_calls} == set(b.record_ids)

    for tenant_, mine, theirs in ((tenant, a, b), (other, b, a)):
        client = tenant_.client
        my_calls = a_calls if mine is a else b_calls
        their_calls = b_calls if mine is a else a_calls
        await refusals(client, theirs, their_calls)
        for i, n in enumerate(NUMBERS):
            record_id = mine.record_ids[i]
            expected = {c["id"] for c in my_calls if c["record_id"] == record_id}
            for params in (
                {"phone": phone(n)},
                {"case_id": CASE_IDS[i]},
                {"external_id": EXTERNAL_IDS[i]},
                {"record_id": record_id},
                {"workflow": str(mine.workflow["key"]), "case_id": CASE_IDS[i]},
            ):
                found = await all_pages(client, "/v1/calls", limit=1, **params)
                assert set(ids(found)) == expected, params
            recordings = await get_json(
                client, f"/v1/workflows/{mine.workflow['key']}/recordings", phone=phone(n)
            )
            assert [c["record_id"] for c in recordings["items"]] == [record_id]
            record_calls = await all_pages(client, f"/v1/records/{record_id}/calls")
            assert set(ids(record_calls)) == expected
        for call in my_calls:
            assert (await get_json(client, f"/v1/calls/{call['id']}"))["id"] == call["id"]
        status = await get_json(client, f"/v1/lists/{mine.list_id}/status")
        assert status["total"] == 3
