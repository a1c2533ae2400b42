"""The call query API on both databases, over calls the simulator really made."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from dialflow.db.engine import Database
from dialflow.pagination import encode_cursor
from tests.calls.scenario import (
    CASE_IDS,
    EXTERNAL_IDS,
    Dialed,
    dial,
    dialed_workflow,
    e164,
)
from tests.conftest import Tenant, make_workflow
from tests.dialer.test_engine import Clock, always
from tests.intake.test_bulk import phone


@pytest.fixture
async def dialed(tenant: Tenant, db: Database) -> Dialed:
    return await dialed_workflow(tenant, db)


async def get_json(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, (url, params, response.text)
    return response.json()


async def all_pages(client: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item, following next_cursor; checks each page is at most ``limit`` long."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        page = await get_json(client, url, **params, **({"cursor": cursor} if cursor else {}))
        if "limit" in params:
            assert len(page["items"]) <= int(params["limit"])
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert page["items"], "a page with a next_cursor has items"
    raise AssertionError("pagination did not end")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda c: (c["created_at"], int(c["id"])), reverse=True)


async def test_a_call_by_id_has_every_field_and_its_recording(
    tenant: Tenant, dialed: Dialed
) -> None:
    record_id = dialed.record_ids[0]
    calls = (await get_json(tenant.client, f"/v1/records/{record_id}/calls"))["items"]
    assert len(calls) == 2
    transferred, unanswered = calls  # newest first

    call = await get_json(tenant.client, f"/v1/calls/{transferred['id']}")
    assert call == transferred
    assert isinstance(call["id"], str)
    assert call["id"].isdigit()
    assert call["record_id"] == record_id
    assert call["workflow_id"] == dialed.workflow["id"]
    assert call["workflow_key"] == dialed.workflow["key"]
    assert call["channel"] == "call"
    assert call["to"] == e164(1)
    assert "from" in call
    assert call["phone_type"] == "MOBILE"
    assert call["provider"] == "simulator"
    assert call["status"] == "completed"
    assert call["end_reason"] == "call_transferred"
    assert call["answered"] is True
    assert call["duration_seconds"] > 0
    assert call["message_left"] is False
    assert call["transcript"]
    assert {turn["role"] for turn in call["transcript"]} <= {"Assistant", "User"}
    assert isinstance(call["collected_fields"], dict)
    assert call["note"].startswith("call_transferred")
    assert call["error"] is None
    assert call["step_id"]
    assert (call["cycle"], call["day"]) == (1, 1)
    assert datetime.fromisoformat(call["created_at"]) == dialed.second_round
    assert call["started_at"] is not None
    assert call["ended_at"] is not None
    assert call["recording_url"].endswith(f"/{call['provider_call_id']}.wav")
    assert call["recording"] == f"/v1/recordings/{call['provider_call_id']}.wav"
    audio = await tenant.client.get(call["recording"])
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"

    missed = await get_json(tenant.client, f"/v1/calls/{unanswered['id']}")
    assert missed["end_reason"] == "no_answer"
    assert missed["answered"] is False
    assert missed["recording_url"] is None
    assert missed["recording"] is None
    assert missed["note"].startswith("no_answer")
    assert datetime.fromisoformat(missed["created_at"]) == dialed.first_round


@pytest.mark.parametrize("call_id", ["1", "999999999999999999", "abc", "-1", "1e3", "9" * 30])
async def test_an_unknown_call_is_404(tenant: Tenant, call_id: str) -> None:
    response = await tenant.client.get(f"/v1/calls/{call_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "call_not_found"


async def test_calls_of_a_record(tenant: Tenant, dialed: Dialed) -> None:
    for record_id in dialed.record_ids:
        url = f"/v1/records/{record_id}/calls"
        newest = (await get_json(tenant.client, url))["items"]
        assert [c["end_reason"] for c in newest] == ["call_transferred", "no_answer"]
        assert {c["record_id"] for c in newest} == {record_id}
        oldest = (await get_json(tenant.client, url, sort="created_at"))["items"]
        assert oldest == newest[::-1]
        assert await all_pages(tenant.client, url, limit=1) == newest
        assert await all_pages(tenant.client, url, limit=1, sort="created_at") == oldest

    # a record that exists but was never called: an empty page, not a 404
    workflow = await make_workflow(tenant.client)
    added = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records", json={"phone": phone(50)}
    )
    fresh = added.json()["record_id"]
    assert await get_json(tenant.client, f"/v1/records/{fresh}/calls") == {
        "items": [],
        "next_cursor": None,
    }

    for missing in ("123", "abc", "9" * 25):
        response = await tenant.client.get(f"/v1/records/{missing}/calls")
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "record_not_found"


async def test_search_filters(tenant: Tenant, dialed: Dialed) -> None:
    client = tenant.client
    everything = (await get_json(client, "/v1/calls"))["items"]
    assert len(everything) == 6
    assert everything == newest_first(everything)
    by_id = {c["id"]: c for c in everything}

    async def search(**params: Any) -> set[str]:
        return set(ids(await all_pages(client, "/v1/calls", **params)))

    def where(**expected: Any) -> set[str]:
        return {i for i, c in by_id.items() if all(c[k] == v for k, v in expected.items())}

    # phone in any format a person types, matched as E.164
    first_phone = phone(1)  # 2122000001
    formatted = f"({first_phone[:3]}) {first_phone[3:6]}-{first_phone[6:]}"
    for typed in (first_phone, "+1" + first_phone, "1" + first_phone, formatted):
        assert await search(phone=typed) == where(to=e164(1)), typed
    assert len(where(to=e164(1))) == 2
    # an unencoded "+" in the query string arrives as a space, and still matches
    raw = await client.get(f"/v1/calls?phone=+1{first_phone}")
    assert set(ids(raw.json()["items"])) == where(to=e164(1))
    assert await search(phone=phone(77)) == set()

    # identifiers of the record
    for i, record_id in enumerate(dialed.record_ids):
        mine = where(record_id=record_id)
        assert len(mine) == 2
        assert await search(case_id=CASE_IDS[i]) == mine
        assert await search(external_id=EXTERNAL_IDS[i]) == mine
        assert await search(record_id=record_id) == mine
        assert await search(case_id=CASE_IDS[i], external_id=EXTERNAL_IDS[i]) == mine
    assert await search(case_id=CASE_IDS[0], external_id=EXTERNAL_IDS[1]) == set()
    assert await search(case_id="C-404") == set()
    assert await search(record_id="12345") == set()

    # workflow by id, key or lower-case key; another workflow of ours has no calls
    workflow = dialed.workflow
    for ref in (str(workflow["id"]), workflow["key"], str(workflow["key"]).lower()):
        assert await search(workflow=ref) == set(by_id)
        assert await search(workflow=ref, case_id=CASE_IDS[2]) == where(
            record_id=dialed.record_ids[2]
        )
    empty = await make_workflow(client)
    assert await search(workflow=empty["key"]) == set()
    assert await search(workflow=empty["key"], external_id=EXTERNAL_IDS[0]) == set()

    # channel, status, end reason
    assert await search(channel="call") == set(by_id)
    assert await search(channel="sms") == set()
    assert await search(status="completed") == set(by_id)
    assert await search(status="failed") == set()
    assert await search(end_reason="no_answer") == where(end_reason="no_answer")
    assert await search(end_reason="call_transferred", phone=phone(2)) == where(
        end_reason="call_transferred", to=e164(2)
    )
    assert len(where(end_reason="no_answer")) == 3

    # time range on created_at: since inclusive, until exclusive
    first, second = dialed.first_round, dialed.second_round
    first_round = where(end_reason="no_answer")
    second_round = where(end_reason="call_transferred")
    assert await search(since=first.isoformat(), until=second.isoformat()) == first_round
    assert await search(since=second.isoformat()) == second_round
    assert await search(until=second.isoformat()) == first_round
    assert await search(since=(second + timedelta(microseconds=1)).isoformat()) == set()
    assert await search(until=first.isoformat()) == set()
    assert await search(
        since=(first - timedelta(days=1)).isoformat(),
        until=(second + timedelta(days=1)).isoformat(),
    ) == set(by_id)
    # a "Z" suffix and another offset name the same instants
    zulu = second.isoformat().replace("+00:00", "Z")
    assert await search(since=zulu) == second_round
    shifted = second.astimezone(ZoneInfo("America/Chicago"))
    assert await search(since=shifted.isoformat()) == second_round


async def test_search_pagination_and_sorting(tenant: Tenant, dialed: Dialed) -> None:
    client = tenant.client
    newest = (await get_json(client, "/v1/calls"))["items"]
    assert len(newest) == 6
    # three calls share each round's instant: the id breaks ties, in the sort's direction
    assert newest == newest_first(newest)
    oldest = (await get_json(client, "/v1/calls", sort="created_at"))["items"]
    assert oldest == newest[::-1]
    assert (await get_json(client, "/v1/calls", sort="-created_at"))["items"] == newest

    for limit in (1, 2, 4, 5, 6):
        assert await all_pages(client, "/v1/calls", limit=limit) == newest, limit
        assert await all_pages(client, "/v1/calls", limit=limit, sort="created_at") == oldest

    # a full last page ends the listing: no empty page after it
    page = await get_json(client, "/v1/calls", limit=6)
    assert page["next_cursor"] is None
    first_page = await get_json(client, "/v1/calls", limit=3)
    assert first_page["next_cursor"]
    second_page = await get_json(client, "/v1/calls", limit=3, cursor=first_page["next_cursor"])
    assert second_page["next_cursor"] is None
    assert ids(first_page["items"]) + ids(second_page["items"]) == ids(newest)

    # pages combine with filters
    unanswered = await all_pages(client, "/v1/calls", limit=1, end_reason="no_answer")
    assert ids(unanswered) == [c["id"] for c in newest if c["end_reason"] == "no_answer"]


async def test_recordings_of_a_number_in_a_workflow(
    tenant: Tenant, db: Database, dialed: Dialed
) -> None:
    client = tenant.client
    key = dialed.workflow["key"]
    url = f"/v1/workflows/{key}/recordings"
    recordings = (await get_json(client, url, phone=phone(2)))["items"]
    assert len(recordings) == 1
    [recording] = recordings
    assert recording["to"] == e164(2)
    assert recording["end_reason"] == "call_transferred"
    assert recording["recording"] == f"/v1/recordings/{recording['provider_call_id']}.wav"
    assert (await client.get(recording["recording"])).status_code == 200
    assert await get_json(
        client, f"/v1/workflows/{dialed.workflow['id']}/recordings", phone=e164(2)
    ) == {"items": recordings, "next_cursor": None}
    assert (await get_json(client, url, phone=phone(99)))["items"] == []

    # the number is called again in the same workflow: two recordings, paged one by one
    await client.post("/v1/records/complete", json={"phone": phone(2), "workflow": key})
    readded = await client.post(
        f"/v1/workflows/{key}/records", json={"phone": phone(2), "first_name": "Ada"}
    )
    assert readded.status_code == 201, readded.text
    clock = Clock()
    clock.now = dialed.second_round + timedelta(hours=1)
    await dial(db, tenant.workspace_id, always("call_transferred"), clock)
    both = await all_pages(client, url, phone=phone(2), limit=1)
    assert len(both) == 2
    assert both == newest_first(both)
    assert both[1] == recording
    assert all(c["recording"] for c in both)
    oldest = await all_pages(client, url, phone=phone(2), limit=1, sort="created_at")
    assert oldest == both[::-1]

    # another workflow of ours does not have them
    other = await make_workflow(client)
    assert (await get_json(client, f"/v1/workflows/{other['key']}/recordings", phone=phone(2)))[
        "items"
    ] == []
    missing = await client.get("/v1/workflows/NOPE42/recordings", params={"phone": phone(2)})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "workflow_not_found"


BAD_SEARCHES: list[tuple[dict[str, str], str]] = [
    ({"limit": "0"}, "invalid_request"),
    ({"limit": "501"}, "invalid_request"),
    ({"limit": "many"}, "invalid_request"),
    ({"sort": "id"}, "invalid_request"),
    ({"sort": "created"}, "invalid_request"),
    ({"channel": "fax"}, "invalid_request"),
    ({"status": "ringing"}, "invalid_request"),
    ({"end_reason": "happy"}, "invalid_request"),
    ({"since": "yesterday"}, "invalid_request"),
    ({"since": "2026-01-01T00:00:00"}, "invalid_request"),  # no zone: ambiguous
    ({"until": "2026-13-01T00:00:00Z"}, "invalid_request"),
    ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "invalid_time_range"),
    ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "invalid_time_range"),
    ({"cursor": "!!!"}, "invalid_cursor"),
    ({"cursor": "aWQ6YWJj"}, "invalid_cursor"),  # "id:abc"
    ({"cursor": encode_cursor(123)}, "invalid_cursor"),  # well formed, but no such call
    ({"record_id": "abc"}, "invalid_request"),
    ({"record_id": "9" * 30}, "invalid_request"),
    ({"phone": "12345"}, "invalid_phone"),
    ({"phone": "not a phone"}, "invalid_phone"),
]


@pytest.mark.parametrize(("params", "code"), BAD_SEARCHES)
async def test_bad_search_parameters_are_400_json(
    tenant: Tenant, params: dict[str, str], code: str
) -> None:
    response = await tenant.client.get("/v1/calls", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


async def test_bad_parameters_on_the_other_listings(tenant: Tenant, dialed: Dialed) -> None:
    client = tenant.client
    record_url = f"/v1/records/{dialed.record_ids[0]}/calls"
    recordings_url = f"/v1/workflows/{dialed.workflow['key']}/recordings"
    cases: list[tuple[str, dict[str, str], int, str]] = [
        (record_url, {"limit": "0"}, 400, "invalid_request"),
        (record_url, {"sort": "ended_at"}, 400, "invalid_request"),
        (record_url, {"cursor": "nope"}, 400, "invalid_cursor"),
        (recordings_url, {}, 400, "invalid_request"),  # phone is required
        (recordings_url, {"phone": "555"}, 400, "invalid_phone"),
        (recordings_url, {"phone": phone(1), "limit": "1000"}, 400, "invalid_request"),
        (recordings_url, {"phone": phone(1), "cursor": "x"}, 400, "invalid_cursor"),
        ("/v1/calls", {"workflow": "NOPE42"}, 404, "workflow_not_found"),
        ("/v1/calls", {"workflow": "not a key"}, 404, "workflow_not_found"),
        ("/v1/calls", {"workflow": "0"}, 404, "workflow_not_found"),
        ("/v1/workflows/not%20a%20key/recordings", {"phone": phone(1)}, 404, "workflow_not_found"),
    ]
    for url, params, status, code in cases:
        response = await client.get(url, params=params)
        assert response.status_code == status, (url, params, response.text)
        assert response.json()["error"]["code"] == code, (url, params)


async def test_the_routes_are_documented(tenant: Tenant) -> None:
    spec = (await tenant.client.get("/openapi.json")).json()
    routes = [
        "/v1/calls",
        "/v1/calls/{call_id}",
        "/v1/records/{record_id}/calls",
        "/v1/workflows/{workflow}/recordings",
        "/v1/lists/{list_id}/status",
    ]
    for path in routes:
        operation = spec["paths"][path]["get"]
        assert operation["summary"], path
        assert operation["description"], path
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, path
        assert "404" in operation["responses"], path
    call = spec["components"]["schemas"]["CallOut"]["properties"]
    assert {"to", "from", "recording", "workflow_key", "transcript"} <= set(call)
    search = {p["name"] for p in spec["paths"]["/v1/calls"]["get"]["parameters"]}
    assert {"phone", "case_id", "external_id", "workflow", "record_id", "channel", "status"} <= (
        search
    )
    assert {"end_reason", "since", "until", "sort", "cursor", "limit"} <= search
