"""Talkdesk bulk creation, JSON Patch updates (one record and in bulk) and deletions."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.dialects.talkdesk.schemas import RECORD_EXAMPLE
from tests.conftest import Tenant
from tests.dialects.talkdesk.conftest import add, make_list, record
from tests.dialects.talkdesk.test_records import assert_error
from tests.intake.test_bulk import phone


async def test_bulk_creates_valid_records_and_names_the_errors(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    records = [record(1), {**record(2), "priority": ""}, record(3, priority=2), record(1), 7]
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records/bulks", json={"records": records}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["record_list_id"] == list_id
    assert body["has_errors"] is True
    assert body["total_created"] == 2
    assert body["total_errors"] == 3
    assert body["_links"]["record_list"]["href"].endswith(f"/record-lists/{list_id}")
    created = body["_embedded"]["records"]
    assert [r["phone_numbers"][0]["phone_number"] for r in created] == [
        f"+1{phone(1)}",
        f"+1{phone(3)}",
    ]
    assert created[1]["priority"] == 2
    errors = {e["index"]: e for e in body["_embedded"]["errors"]}
    assert sorted(errors) == [1, 3, 4]
    assert [f["name"] for f in errors[1]["fields"]] == ["priority"]
    assert [f["name"] for f in errors[3]["fields"]] == ["phone_number"]  # same phone as record 0
    assert "record 0" in errors[3]["fields"][0]["description"]
    assert errors[4]["code"] == "invalid_record"
    listed = (await tenant.client.get(f"/record-lists/{list_id}")).json()
    assert listed["records_count"] == 2


async def test_bulk_of_the_seed_example_and_a_clean_one(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records/bulks", json={"records": [RECORD_EXAMPLE, record(1)]}
    )
    body = response.json()
    assert response.status_code == 201
    assert (body["has_errors"], body["total_errors"], body["total_created"]) == (False, 0, 2)
    assert body["_embedded"]["errors"] == []


async def test_bulk_takes_at_most_100_records(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    url = f"/record-lists/{list_id}/records/bulks"
    at_limit = await tenant.client.post(url, json={"records": [record(n) for n in range(100)]})
    assert at_limit.json()["total_created"] == 100
    over = await tenant.client.post(url, json={"records": [record(n) for n in range(101)]})
    assert assert_error(over, 400)["code"] == "too_many_records"
    empty = await tenant.client.post(url, json={"records": []})
    assert assert_error(empty, 400)["code"] == "no_records"
    shapeless = await tenant.client.post(url, json=[record(1)])
    assert_error(shapeless, 400, "records")


async def test_json_patch_updates_one_record(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    created = await add(tenant.client, list_id, RECORD_EXAMPLE)
    url = f"/record-lists/{list_id}/records/{created['id']}"
    response = await tenant.client.patch(
        url,
        json=[
            {"op": "replace", "path": "/priority", "value": 9},
            {"op": "add", "path": "/extra_data/home", "value": "New York"},
            {"op": "remove", "path": "/extra_data/job"},
            {"op": "test", "path": "/first_name", "value": "Joey"},
            {"op": "replace", "path": "/phone_numbers/1/phone_number", "value": "+351929312399"},
        ],
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["id"] == created["id"]
    assert patched["priority"] == 9
    assert patched["extra_data"] == {"country": "USA", "state": "California", "home": "New York"}
    assert patched["phone_numbers"][1]["phone_number"] == "+351929312399"
    assert patched["updated_at"] > created["updated_at"]
    assert (await tenant.client.get(url)).json() == patched
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    assert native["priority"] == 9
    assert native["timeline"][-1]["kind"] == "updated"


@pytest.mark.parametrize(
    ("patch", "status", "field"),
    [
        ([{"op": "replace", "path": "/priority", "value": ""}], 400, "priority"),
        ([{"op": "replace", "path": "/first_name", "value": "JOEY"}], 400, "first_name"),
        ([{"op": "replace", "path": "/nickname", "value": "Joe"}], 400, "[0].path"),
        ([{"op": "add", "path": "/nickname", "value": "Joe"}], 400, "nickname"),
        ([{"op": "test", "path": "/first_name", "value": "Ross"}], 400, "[0].path"),
        ([{"op": "jump", "path": "/priority"}], 400, "[0].op"),
        ([{"op": "replace", "path": "priority/x", "value": 1}], 400, "[0].path"),
        ({"path": "/priority"}, 400, "[0].op"),
        (
            [{"op": "replace", "path": "/phone_numbers/0/phone_type", "value": "OFFICE"}],
            400,
            "phone_numbers[1].phone_type",
        ),
    ],
)
async def test_json_patch_errors_change_nothing(
    tenant: Tenant, patch: Any, status: int, field: str
) -> None:
    list_id = await make_list(tenant.client)
    created = await add(tenant.client, list_id, RECORD_EXAMPLE)
    url = f"/record-lists/{list_id}/records/{created['id']}"
    assert_error(await tenant.client.patch(url, json=patch), status, field)
    assert (await tenant.client.get(url)).json() == created


async def test_json_patch_to_a_taken_phone_is_409(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    first = await add(tenant.client, list_id, record(1))
    await add(tenant.client, list_id, record(2))
    response = await tenant.client.patch(
        f"/record-lists/{list_id}/records/{first['id']}",
        json=[{"op": "replace", "path": "/phone_numbers/0/phone_number", "value": f"+1{phone(2)}"}],
    )
    assert assert_error(response, 409)["code"] == "duplicate_record"


async def test_bulk_json_patch_updates_each_record(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    one = await add(tenant.client, list_id, record(1))
    two = await add(tenant.client, list_id, record(2, extra_data={"plan": "basic"}))
    response = await tenant.client.patch(
        f"/record-lists/{list_id}/records/bulks",
        json=[
            {
                "op": "replace",
                "path": f"/records/{one['id']}",
                "value": {"extra_data": {"plan": "gold"}, "priority": 4},
            },
            {"op": "replace", "path": f"/records/{two['id']}/priority", "value": 7},
            {"op": "add", "path": f"/records/{two['id']}/extra_data/seats", "value": "3"},
            {"op": "replace", "path": "/records/123456789/priority", "value": 1},
            {"op": "replace", "path": f"/records/{two['id']}x/priority", "value": 1},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["has_errors"], body["total_errors"], body["total_created"]) == (True, 2, 2)
    updated = {r["id"]: r for r in body["_embedded"]["records"]}
    assert updated[one["id"]]["extra_data"] == {"plan": "gold"}
    assert updated[one["id"]]["priority"] == 4
    assert updated[two["id"]]["priority"] == 7
    assert updated[two["id"]]["extra_data"] == {"plan": "basic", "seats": "3"}
    assert {e["id"]: e["code"] for e in body["_embedded"]["errors"]} == {
        "123456789": "record_not_found",
        f"{two['id']}x": "record_not_found",
    }


async def test_bulk_json_patch_needs_record_paths(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    url = f"/record-lists/{list_id}/records/bulks"
    wrong_path = await tenant.client.patch(url, json=[{"op": "replace", "path": "/priority"}])
    assert_error(wrong_path, 400, "[0].path")
    whole_without_object = await tenant.client.patch(
        url, json=[{"op": "remove", "path": "/records/1"}]
    )
    assert_error(whole_without_object, 400, "[0]")


async def test_delete_one_record_by_id(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    created = await add(tenant.client, list_id, record(1))
    url = f"/record-lists/{list_id}/records/{created['id']}"
    assert (await tenant.client.delete(url)).status_code == 204
    assert_error(await tenant.client.get(url), 404)
    assert_error(await tenant.client.delete(url), 404)
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    assert (native["status"], native["final_outcome"]) == ("cancelled", "deleted")
    assert (await tenant.client.get(f"/record-lists/{list_id}")).json()["records_count"] == 0
    # Sent again, the number is a record of the list again.
    again = await add(tenant.client, list_id, record(1))
    assert (await tenant.client.get(f"/record-lists/{list_id}/records/{again['id']}")).is_success


async def test_bulk_delete_by_id_phone_and_external_id(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client, "NOTHING")
    by_id = await add(tenant.client, list_id, record(1))
    by_phone = [await add(tenant.client, list_id, record(2)) for _ in range(2)]
    by_external = await add(tenant.client, list_id, record(3, **RECORD_EXAMPLE))
    kept = await add(
        tenant.client,
        list_id,
        record(4, external_provider="hubspot", external_id=RECORD_EXAMPLE["external_id"]),
    )
    response = await tenant.client.request(
        "DELETE",
        f"/record-lists/{list_id}/records/bulks",
        json=[
            {"id": by_id["id"]},
            {"phone_number": f"+1{phone(2)}"},
            {"external_provider": "salesforce", "external_id": "0030O000024ukNtQAD"},
            {"id": "42"},
            {"phone_number": "12"},
            {"name": "Joey"},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record_list_id"] == list_id
    assert (body["has_errors"], body["total_deleted"], body["total_errors"]) == (True, 4, 3)
    failed = body["_embedded"]["failed_records"]
    assert [{k: v for k, v in f.items() if k != "description"} for f in failed] == [
        {"id": "42"},
        {"phone_number": "12"},
        {"name": "Joey"},
    ]
    assert all(f["description"] for f in failed)
    for gone in [by_id, *by_phone, by_external]:
        url = f"/record-lists/{list_id}/records/{gone['id']}"
        assert (await tenant.client.get(url)).status_code == 404
    assert (await tenant.client.get(f"/record-lists/{list_id}/records/{kept['id']}")).is_success


async def test_bulk_delete_body_errors(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    url = f"/record-lists/{list_id}/records/bulks"
    assert_error(await tenant.client.request("DELETE", url, json={"id": "1"}), 400, "")
    too_many = await tenant.client.request("DELETE", url, json=[{"id": "1"}] * 101)
    assert assert_error(too_many, 400)["code"] == "too_many_records"
