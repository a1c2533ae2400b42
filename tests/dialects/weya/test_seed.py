"""Seed 001's examples, sent as printed (only the host, the key and the batch id replaced)."""

from __future__ import annotations

import msgspec

from dialflow.db.engine import Database
from tests.conftest import FailInserts
from tests.dialects.weya.conftest import Weya, batch_records, expect
from tests.intake.test_bulk import phone

# The seed's request body, verbatim.
PRINTED_BODY = """{
    "batchId": "64e5f12345abcdef98765432",
    "call_data": [
      {
        "phoneNumber": "12125551001",
        "name": "Sarah Johnson",
        "account_id": "ACC-1001",
        "custom_field_1": "value1",
        "priority": "high"
      },
      {
        "phoneNumber": "13105552002",
        "name": "Michael Chen",
        "account_id": "ACC-1002",
        "category": "support"
      }
    ]
  }"""
SEED_BATCH_ID = "64e5f12345abcdef98765432"
# The agent the seed's calls are written for: every call carries a name and an account id.
AGENT_VARIABLES = [{"name": "name"}, {"name": "account_id"}]


async def send_printed(weya: Weya, batch_id: str) -> dict[str, object]:
    """The seed's curl: x-api-key and Content-Type headers, the body as printed."""
    response = await weya.client.post(
        "/api/call/addCallsToBatch",
        content=PRINTED_BODY.replace(SEED_BATCH_ID, batch_id),
        headers={"x-api-key": weya.api_key, "Content-Type": "application/json"},
    )
    body: dict[str, object] = response.json()
    assert response.status_code == body["code"]
    return body


async def test_the_printed_request_enqueues_both_calls(weya: Weya, db: Database) -> None:
    batch_id = await weya.create_batch(agentVariables=AGENT_VARIABLES)
    body = await send_printed(weya, batch_id)
    data = body["data"]
    assert isinstance(data, dict)
    call_ids = data["callIds"]
    assert body == {
        "message": "Calls enqueued successfully",
        "status": True,
        "code": 200,
        "errorMessage": "",
        "data": {"added": 2, "callIds": call_ids},
    }
    assert len(call_ids) == 2
    assert all(isinstance(i, str) for i in call_ids)
    by_id = await batch_records(db, batch_id)
    assert list(by_id) == call_ids
    # phoneNumber is the record's phone; every other field is kept as an agent variable.
    assert by_id[call_ids[0]]["phone"] == "+12125551001"
    assert by_id[call_ids[0]]["placeholders"] == {
        "name": "Sarah Johnson",
        "account_id": "ACC-1001",
        "custom_field_1": "value1",
        "priority": "high",
    }
    assert by_id[call_ids[1]]["phone"] == "+13105552002"
    assert by_id[call_ids[1]]["placeholders"] == {
        "name": "Michael Chen",
        "account_id": "ACC-1002",
        "category": "support",
    }


async def test_the_partial_success_answer_when_a_chunk_fails(
    weya: Weya, db: Database, fail_inserts: FailInserts
) -> None:
    """The seed's 207: the second chunk of 1,000 fails in the database, the others stay."""
    batch_id = await weya.create_batch(agentVariables=AGENT_VARIABLES)
    calls = [
        {"phoneNumber": "1" + phone(n), "name": "Sarah Johnson", "account_id": f"ACC-{n}"}
        for n in range(2_500)
    ]
    await fail_inserts("records", f"NEW.phone = '+1{phone(1_500)}'")
    body = msgspec.json.encode({"batchId": batch_id, "call_data": calls})
    response = await weya.client.post(
        "/api/call/addCallsToBatch",
        content=body,
        headers={"x-api-key": weya.api_key, "Content-Type": "application/json"},
    )
    data = expect(response, 207)
    assert response.json()["message"] == "Some calls failed to enqueue"
    assert response.json()["errorMessage"] == "Partial content, check failedChunks for details"
    assert set(data) == {"added", "callIds", "failedChunks"}
    assert data["added"] == 1_500
    assert len(data["failedChunks"]) == 1
    assert data["failedChunks"][0]["chunkNum"] == 2
    assert "could not be stored" in data["failedChunks"][0]["error"]
    # Exactly the records of chunks 1 and 3 are stored, and callIds lists them in order.
    by_id = await batch_records(db, batch_id)
    assert sorted(by_id) == sorted(data["callIds"])
    assert [by_id[i]["phone"] for i in data["callIds"]] == [
        "+1" + phone(n) for n in [*range(1_000), *range(2_000, 2_500)]
    ]
