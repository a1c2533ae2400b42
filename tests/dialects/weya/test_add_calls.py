"""addCallsToBatch: auth, the documented errors, chunks of 1,000, updates and time zones."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from dialflow.db.engine import Database
from dialflow.db.tables import lists, workflows
from dialflow.workspaces.service import create_workspace
from tests.conftest import FailInserts
from tests.dialects.weya.conftest import Weya, batch_records, expect
from tests.intake.test_bulk import phone

ADD = "/api/call/addCallsToBatch"


def calls(*numbers: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"phoneNumber": "1" + phone(n), **fields} for n in numbers]


async def test_bearer_auth_works_like_x_api_key(weya: Weya) -> None:
    batch_id = await weya.create_batch()
    response = await weya.client.post(
        ADD,
        json={"batchId": batch_id, "call_data": calls(1)},
        headers={"Authorization": f"Bearer {weya.api_key}"},
    )
    assert expect(response, 200)["added"] == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "dfk_nothing_real"}, {"Authorization": "Bearer dfk_nothing_real"}],
    ids=["missing", "unknown-x-api-key", "unknown-bearer"],
)
async def test_a_missing_or_unknown_key_is_403(weya: Weya, headers: dict[str, str]) -> None:
    batch_id = await weya.create_batch()
    response = await weya.client.post(
        ADD, json={"batchId": batch_id, "call_data": calls(1)}, headers=headers
    )
    assert expect(response, 403) is None


async def test_a_batch_of_another_workspace_is_403_and_untouched(weya: Weya, db: Database) -> None:
    other = await create_workspace(db, "other")
    batch_id = await weya.create_batch()
    response = await weya.post(ADD, {"batchId": batch_id, "call_data": calls(1)}, key=other.api_key)
    expect(response, 403)
    assert "does not own" in response.json()["errorMessage"]
    assert await batch_records(db, batch_id) == {}


async def test_an_unknown_batch_is_404(weya: Weya) -> None:
    response = await weya.post(ADD, {"batchId": "64e5f12345abcdef98765432", "call_data": calls(1)})
    expect(response, 404)
    assert "not found" in response.json()["errorMessage"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"call_data": [{"phoneNumber": "12125551001"}]}, "batchId"),
        ({"batchId": "", "call_data": [{"phoneNumber": "12125551001"}]}, "batchId"),
        ({"batchId": "BATCH1", "call_data": []}, "call_data"),
        ({"batchId": "BATCH1"}, "call_data"),
        ({"batchId": "BATCH1", "call_data": {"phoneNumber": "12125551001"}}, "call_data"),
        (["not", "an", "object"], "JSON object"),
    ],
    ids=[
        "no-batch-id",
        "blank-batch-id",
        "empty-call-data",
        "no-call-data",
        "call-data-not-array",
        "not-object",
    ],
)
async def test_a_malformed_request_is_400(weya: Weya, body: Any, words: str) -> None:
    response = await weya.post(ADD, body)
    expect(response, 400)
    assert words in response.json()["errorMessage"]


async def test_the_prose_spelling_call_data_is_accepted(weya: Weya) -> None:
    """The seed's prose says "callData" where its schema says call_data."""
    batch_id = await weya.create_batch()
    response = await weya.post(ADD, {"batchId": batch_id, "callData": calls(1)})
    assert expect(response, 200)["added"] == 1


async def test_malformed_json_is_400_in_the_envelope(weya: Weya) -> None:
    response = await weya.client.post(
        ADD,
        content=b'{"batchId": "X", "call_data": [',
        headers={"x-api-key": weya.api_key, "Content-Type": "application/json"},
    )
    expect(response, 400)
    assert "not valid JSON" in response.json()["errorMessage"]


async def test_any_invalid_call_refuses_the_request_and_names_each_problem(
    weya: Weya, db: Database
) -> None:
    batch_id = await weya.create_batch(
        agentVariables=[{"name": "account_id"}, {"name": "balance", "type": "number"}]
    )
    sent = [
        {"phoneNumber": "12125551001", "account_id": "A-1", "balance": "12.50"},
        {"account_id": "A-2", "balance": 3},
        {"phoneNumber": "12345", "balance": "lots"},
        {"phoneNumber": "12125551004", "account_id": "A-4", "balance": 1, "timezone": "Mars/Base"},
    ]
    response = await weya.post(ADD, {"batchId": batch_id, "call_data": sent})
    data = expect(response, 400)
    assert response.json()["errorMessage"].startswith("3 of 4 call records are invalid: ")
    assert data == {
        "invalidCalls": [
            {
                "index": 1,
                "phoneNumber": None,
                "errors": [
                    {
                        "field": "phoneNumber",
                        "code": "required",
                        "message": '"phoneNumber" is required',
                    }
                ],
            },
            {
                "index": 2,
                "phoneNumber": "12345",
                "errors": [
                    {
                        "field": "phoneNumber",
                        "code": "invalid_phone",
                        "message": '"phoneNumber" is not a valid phone number: "12345"',
                    },
                    {
                        "field": "account_id",
                        "code": "missing_placeholder",
                        "message": 'missing required agent variable "account_id"',
                    },
                    {
                        "field": "balance",
                        "code": "invalid_placeholder",
                        "message": 'agent variable "balance" must be a number, not "lots"',
                    },
                ],
            },
            {
                "index": 3,
                "phoneNumber": "12125551004",
                "errors": [
                    {
                        "field": "timezone",
                        "code": "invalid_timezone",
                        "message": '"timezone" is not a known IANA time zone name (like '
                        '"America/New_York"): "Mars/Base"',
                    }
                ],
            },
        ]
    }
    assert await batch_records(db, batch_id) == {}  # nothing of the request was written


async def test_a_closed_batch_takes_no_calls(weya: Weya) -> None:
    batch_id = await weya.create_batch()
    stopped = await weya.client.post(
        f"/v1/workflows/{batch_id}/stop", headers={"x-api-key": weya.api_key}
    )
    assert stopped.status_code == 200
    response = await weya.post(ADD, {"batchId": batch_id, "call_data": calls(1)})
    expect(response, 400)
    assert "takes no new records" in response.json()["errorMessage"]


async def test_thousands_of_calls_go_in_chunks_of_1000_with_exact_ids(
    weya: Weya, db: Database
) -> None:
    batch_id = await weya.create_batch()
    data = await weya.add_calls(batch_id, calls(*range(2_500), account_id="A"))
    assert data["added"] == 2_500
    assert len(set(data["callIds"])) == 2_500
    stored = await batch_records(db, batch_id)
    assert [stored[i]["phone"] for i in data["callIds"]] == ["+1" + phone(n) for n in range(2_500)]
    async with db.read() as conn:
        chunks = await conn.execute(
            select(lists.c.name, lists.c.total, lists.c.accepted)
            .join(workflows, workflows.c.id == lists.c.workflow_id)
            .where(workflows.c.key == batch_id)
            .order_by(lists.c.id)
        )
        assert [tuple(row) for row in chunks] == [
            ("addCallsToBatch chunk 1", 1_000, 1_000),
            ("addCallsToBatch chunk 2", 1_000, 1_000),
            ("addCallsToBatch chunk 3", 500, 500),
        ]


async def test_a_pending_call_with_the_same_phone_is_updated(weya: Weya, db: Database) -> None:
    batch_id = await weya.create_batch()
    first = await weya.add_calls(batch_id, calls(1, 2, account_id="OLD"))
    again = await weya.add_calls(batch_id, calls(2, 3, account_id="NEW"))
    assert again["added"] == 2
    assert again["callIds"][0] == first["callIds"][1]  # the same call, updated
    assert again["callIds"][1] not in first["callIds"]
    stored = await batch_records(db, batch_id)
    assert len(stored) == 3
    assert stored[first["callIds"][1]]["placeholders"] == {"account_id": "NEW"}
    assert stored[first["callIds"][1]]["status"] == "pending"
    assert stored[first["callIds"][0]]["placeholders"] == {"account_id": "OLD"}


async def test_a_phone_twice_in_one_request_keeps_its_first_call(weya: Weya, db: Database) -> None:
    batch_id = await weya.create_batch()
    sent = [*calls(1, tag="first"), *calls(2), *calls(1, tag="second")]
    data = await weya.add_calls(batch_id, sent)
    assert data["added"] == 2  # call records, each listed once
    stored = await batch_records(db, batch_id)
    assert list(stored) == data["callIds"]
    assert stored[data["callIds"][0]]["placeholders"] == {"tag": "first"}


async def test_the_batch_time_zone_applies_when_nothing_else_tells_the_zone(
    weya: Weya, db: Database
) -> None:
    batch_id = await weya.create_batch(timezone="America/Chicago")
    sent = [
        {"phoneNumber": "18005551234"},  # toll-free: no area to read a zone from
        {"phoneNumber": "12125551001"},  # a New York area code
        {"phoneNumber": "12125551002", "timezone": "America/Denver"},
    ]
    data = await weya.add_calls(batch_id, sent)
    stored = await batch_records(db, batch_id)
    zones = [(stored[i]["timezone"], stored[i]["timezone_source"]) for i in data["callIds"]]
    assert zones == [
        ("America/Chicago", "default"),
        ("America/New_York", "area_code"),
        ("America/Denver", "explicit"),
    ]
    assert all("timezone" not in stored[i]["placeholders"] for i in data["callIds"])


async def test_a_do_not_call_number_is_not_added(weya: Weya) -> None:
    batch_id = await weya.create_batch()
    blocked = await weya.client.post(
        "/v1/dnc", json={"phone": phone(1)}, headers={"x-api-key": weya.api_key}
    )
    assert blocked.status_code == 201, blocked.text
    data = await weya.add_calls(batch_id, calls(1, 2))
    assert data["added"] == 1
    assert len(data["callIds"]) == 1


async def test_every_chunk_failing_is_a_500_with_the_failed_chunks(
    weya: Weya, db: Database, fail_inserts: FailInserts
) -> None:
    batch_id = await weya.create_batch()
    await fail_inserts("records", f"NEW.phone = '+1{phone(2)}'")
    response = await weya.post(ADD, {"batchId": batch_id, "call_data": calls(1, 2, 3)})
    data = expect(response, 500)
    assert data["added"] == 0
    assert data["callIds"] == []
    assert [chunk["chunkNum"] for chunk in data["failedChunks"]] == [1]
    assert await batch_records(db, batch_id) == {}


async def test_a_database_error_outside_the_chunks_is_a_500_in_the_envelope(
    weya: Weya, fail_inserts: FailInserts
) -> None:
    batch_id = await weya.create_batch()
    await fail_inserts("lists", "NEW.source = 'weya'")
    response = await weya.post(ADD, {"batchId": batch_id, "call_data": calls(1)})
    assert expect(response, 500) is None
    assert "retry with exponential backoff" in response.json()["errorMessage"]
