"""createBatch, start-calling / stop-calling, the batch list and the batch details."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.db.engine import Database
from dialflow.workspaces.service import create_workspace
from tests.dialects.weya.conftest import EVERY_DAY, Weya, expect
from tests.intake.test_bulk import phone

CREATE = "/api/call/createBatch"
START = "/api/call/start-calling"
STOP = "/api/call/stop-calling"


async def native(weya: Weya, batch_id: str) -> dict[str, Any]:
    response = await weya.client.get(
        f"/v1/workflows/{batch_id}", headers={"x-api-key": weya.api_key}
    )
    assert response.status_code == 200, response.text
    workflow: dict[str, Any] = response.json()
    return workflow


async def test_create_batch_makes_an_active_workflow_from_every_field(weya: Weya) -> None:
    response = await weya.client.post(
        CREATE,
        json={
            "batchName": "November renewals",
            "callingNumbers": ["12125550100", "+13105550101"],
            "retry": 2,
            "delay": 90,
            "timezone": "America/Chicago",
            "callingHour": {"start": "10:00", "end": "16:30"},
            "allowedDays": [0, 1, 6],
            "agentVariables": [{"name": "account_id"}, {"name": "balance", "type": "number"}],
            "userId": "user-1",
        },
        headers={"Authorization": f"Bearer {weya.api_key}"},
    )
    batch_id = expect(response, 201)
    assert response.json()["message"] == "Batch created successfully"
    workflow = await native(weya, batch_id)
    assert workflow["key"] == batch_id
    assert workflow["name"] == "November renewals"
    assert workflow["status"] == "active"
    definition = workflow["definition"]
    assert definition["caller_ids"] == ["+12125550100", "+13105550101"]
    assert definition["timezone"] == "America/Chicago"
    assert definition["calling_hours"]["start"] == "10:00"
    assert definition["calling_hours"]["end"] == "16:30"
    assert definition["calling_hours"]["weekdays"] == ["sun", "mon", "sat"]
    assert [(v["name"], v["type"]) for v in definition["variables"]] == [
        ("account_id", "string"),
        ("balance", "number"),
    ]
    assert definition["retry"]["max_attempts"] == 3  # the first call and two retries
    retried = {
        reason: rule["period_minutes"]
        for reason, rule in definition["retry"]["outcomes"].items()
        if rule["action"] == "RETRY"
    }
    assert retried["no_answer"] == retried["busy"] == 2  # 90 seconds, in whole minutes
    assert set(retried.values()) == {2}


async def test_create_batch_defaults(weya: Weya) -> None:
    batch_id = await weya.create_batch()
    definition = (await native(weya, batch_id))["definition"]
    assert definition["variables"] == []
    assert definition["retry"]["max_attempts"] == 3
    assert definition["calling_hours"]["weekdays"] == ["mon", "tue", "wed", "thu", "fri"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"batchName": None}, "batchName: is required"),
        ({"batchName": "  "}, "batchName: name must not be blank"),
        ({"callingNumbers": None}, "callingNumbers: is required"),
        ({"callingNumbers": []}, "callingNumbers: List should have at least 1 item"),
        ({"callingNumbers": ["555"]}, '"callingNumbers[0]" is not a valid phone number'),
        ({"timezone": "Moon/Base"}, "timezone: 'Moon/Base' is not an IANA time zone"),
        ({"callingHour": {"start": "06:00", "end": "17:00"}}, "callingHour: calling hours"),
        ({"callingHour": {"start": "9am"}}, "callingHour.start: '9am' is not a time of day"),
        ({"allowedDays": [7]}, "allowedDays.0: Input should be less than or equal to 6"),
        ({"allowedDays": [1, 1]}, "allowedDays: weekdays lists mon more than once"),
        ({"retry": -1}, "retry: Input should be greater than or equal to 0"),
        ({"agentVariables": [{"name": "1st"}]}, "agentVariables.0.name: variable name"),
    ],
)
async def test_create_batch_refuses_bad_fields_with_400(
    weya: Weya, fields: dict[str, Any], words: str
) -> None:
    body = {"batchName": "Renewals", "callingNumbers": ["+12125550100"], **fields}
    response = await weya.post(CREATE, {k: v for k, v in body.items() if v is not None})
    expect(response, 400)
    assert words in response.json()["errorMessage"]


async def test_create_batch_without_a_key_is_403(weya: Weya) -> None:
    response = await weya.client.post(
        CREATE, json={"batchName": "x", "callingNumbers": ["+12125550100"]}
    )
    expect(response, 403)


async def test_stop_and_start_calling_pause_and_resume_the_workflow(weya: Weya) -> None:
    batch_id = await weya.create_batch()
    body = {"batchId": batch_id, "userId": "user-1"}
    stopped = expect(await weya.post(STOP, body), 200)
    assert stopped == {"batchId": batch_id, "status": "stopped"}
    assert (await native(weya, batch_id))["status"] == "paused"
    assert expect(await weya.post(STOP, body), 200) == stopped  # already stopped: no change
    started = expect(await weya.post(START, body), 200)
    assert started == {"batchId": batch_id, "status": "started"}
    assert (await native(weya, batch_id))["status"] == "active"
    assert expect(await weya.post(START, body), 200) == started


async def test_start_and_stop_errors(weya: Weya, db: Database) -> None:
    batch_id = await weya.create_batch()
    expect(await weya.post(START, {"userId": "user-1"}), 400)
    expect(await weya.post(START, {"batchId": "NOSUCH"}), 404)
    other = await create_workspace(db, "other")
    expect(await weya.post(STOP, {"batchId": batch_id}, key=other.api_key), 403)
    refused = await weya.post(START, {"batchId": batch_id, "callData": [{"phoneNumber": "1"}]})
    expect(refused, 400)
    assert "addCallsToBatch" in refused.json()["errorMessage"]
    await weya.client.post(f"/v1/workflows/{batch_id}/stop", headers={"x-api-key": weya.api_key})
    closed = await weya.post(START, {"batchId": batch_id})
    expect(closed, 400)
    assert "cannot activate a workflow that is stopped" in closed.json()["errorMessage"]


async def test_batch_list_pages_newest_first_and_searches(weya: Weya, db: Database) -> None:
    first = await weya.create_batch(batchName="Spring leads")
    second = await weya.create_batch(batchName="Summer leads")
    third = await weya.create_batch(batchName="Autumn renewals")
    await weya.post(STOP, {"batchId": second})
    await weya.add_calls(first, [{"phoneNumber": "1" + phone(n)} for n in range(3)])
    other = await create_workspace(db, "other")
    await weya.post(
        CREATE, {"batchName": "Leads", "callingNumbers": ["+12125550100"]}, key=other.api_key
    )

    page1 = expect(await weya.get("/api/call/batches/user-1", limit=2), 200)
    assert [b["_id"] for b in page1["batches"]] == [third, second]
    assert page1["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2}
    page2 = expect(await weya.get("/api/call/batches/user-1", limit=2, page=2), 200)
    assert [b["_id"] for b in page2["batches"]] == [first]
    spring = page2["batches"][0]
    assert spring["batchName"] == "Spring leads"
    assert spring["queue_status"] == "active"
    assert (spring["totalCalls"], spring["pickedUpCalls"], spring["completedCalls"]) == (3, 0, 0)
    assert spring["callingNumbers"] == ["+12125550100"]
    assert spring["createdAt"].endswith("Z")

    async def search(text: str) -> list[str]:
        found = expect(await weya.get("/api/call/batches/user-1", search=text), 200)
        assert found["pagination"]["total"] == len(found["batches"])
        return [b["_id"] for b in found["batches"]]

    assert await search("LEADS") == [second, first]
    assert await search("paused") == [second]
    assert await search("renewals") == [third]
    assert await search("100%") == []


@pytest.mark.parametrize(
    "params",
    [{"page": "0"}, {"page": "x"}, {"limit": "101"}, {"limit": "-1"}],
)
async def test_batch_list_refuses_bad_paging_with_400(weya: Weya, params: dict[str, str]) -> None:
    expect(await weya.get("/api/call/batches/user-1", **params), 400)


async def test_batch_details_pages_filters_sorts_and_searches(weya: Weya) -> None:
    batch_id = await weya.create_batch(allowedDays=EVERY_DAY)
    sent = [
        {"phoneNumber": "1" + phone(n), "name": name, "tier": tier}
        for n, name, tier in [(3, "Ada", "gold"), (1, "Grace", "silver"), (2, "Alan", "gold")]
    ]
    ids = (await weya.add_calls(batch_id, sent))["callIds"]
    await weya.add_calls(batch_id, [sent[1]])  # updated: its updatedAt is now the latest

    details = await weya.details(batch_id, limit=2)
    assert {k: v for k, v in details.items() if k != "data"} == {
        "batchId": batch_id,
        "batchName": "Renewals",
        "batchStatus": "active",
        "page": 1,
        "limit": 2,
        "total": 3,
        "totalPages": 2,
    }
    first = details["data"][0]
    assert set(first) == {
        "_id",
        "phoneNumber",
        "timezone",
        "callStatus",
        "phoneLogs",
        "createdAt",
        "updatedAt",
        "name",
        "tier",
    }
    assert (first["_id"], first["phoneNumber"], first["name"]) == (ids[2], "+1" + phone(2), "Alan")
    assert (first["callStatus"], first["phoneLogs"]) == ("pending", [])

    async def order(**params: Any) -> list[str]:
        return [call["_id"] for call in (await weya.details(batch_id, **params))["data"]]

    assert await order() == [ids[2], ids[1], ids[0]]  # newest first
    assert await order(page=2, limit=2) == [ids[0]]
    assert await order(sortBy="phoneNumber", sortOrder="asc") == [ids[1], ids[2], ids[0]]
    assert (await order(sortBy="updatedAt", sortOrder="desc"))[:1] == [ids[1]]
    assert await order(search="gold") == [ids[2], ids[0]]
    assert await order(search=phone(1)) == [ids[1]]
    assert await order(filter='{"callStatus": "pending"}') == [ids[2], ids[1], ids[0]]
    assert await order(filter='{"callStatus": "completed"}') == []
    assert await order(filter=f'{{"phoneNumber": "1{phone(3)}"}}') == [ids[0]]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"filter": "{"}, "JSON object"),
        ({"filter": '{"name": "Ada"}'}, "cannot use name"),
        ({"filter": '{"callStatus": "done"}'}, "callStatus"),
        ({"filter": '{"phoneNumber": "12"}'}, "not a valid phone number"),
        ({"sortBy": "name"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_batch_details_refuses_bad_queries_with_400(
    weya: Weya, params: dict[str, str], words: str
) -> None:
    batch_id = await weya.create_batch()
    response = await weya.get(f"/api/call/batch-details/{batch_id}", **params)
    expect(response, 400)
    assert words in response.json()["errorMessage"]


async def test_batch_details_of_an_unknown_or_foreign_batch(weya: Weya, db: Database) -> None:
    expect(await weya.get("/api/call/batch-details/64e5f12345abcdef98765432"), 404)
    other = await create_workspace(db, "other")
    foreign = expect(
        await weya.post(
            CREATE, {"batchName": "Theirs", "callingNumbers": ["+12125550100"]}, key=other.api_key
        ),
        201,
    )
    expect(await weya.get(f"/api/call/batch-details/{foreign}"), 403)
