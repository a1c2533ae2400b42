"""Talkdesk record lists and records: the seed's example, its error cases, dedup, bulks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dialflow.dialects.talkdesk.schemas import RECORD_EXAMPLE
from tests.conftest import Tenant
from tests.dialects.talkdesk.conftest import add, make_list, record
from tests.intake.test_bulk import phone

# The 201 schema of the seed: every documented field of a created record.
RECORD_FIELDS = {
    "id",
    "record_list_id",
    "phone_numbers",
    "first_name",
    "last_name",
    "timezone",
    "priority",
    "extra_data",
    "external_provider",
    "external_id",
    "external_url",
    "sync_external_id",
    "created_at",
    "updated_at",
    "_links",
}


def assert_error(response: httpx.Response, status: int, *field_names: str) -> dict[str, Any]:
    """Talkdesk's error envelope: code, message, description, fields[{name, description}]."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "description", "fields"}
    assert all(isinstance(body[k], str) and body[k] for k in ("code", "message", "description"))
    assert all(set(f) == {"name", "description"} and f["description"] for f in body["fields"])
    assert [f["name"] for f in body["fields"]] == list(field_names)
    return body


async def test_seed_example_creates_the_record(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(f"/record-lists/{list_id}/records", json=RECORD_EXAMPLE)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == RECORD_FIELDS
    assert created["record_list_id"] == list_id
    assert created["id"].isdigit()
    assert created["_links"]["self"]["href"] == (
        f"http://dialflow.test/record-lists/{list_id}/records/{created['id']}"
    )
    assert {k: created[k] for k in RECORD_EXAMPLE} == RECORD_EXAMPLE
    assert created["created_at"] == created["updated_at"]

    # The same record, read back natively: typed phones, explicit zone, extra data as
    # placeholders for scripts.
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    assert native["phones"] == [
        {"number": "+351929312312", "type": "MOBILE"},
        {"number": "+351929312300", "type": "OFFICE"},
        {"number": "+351929312301", "type": "HOME"},
    ]
    assert native["timezone_source"] == "explicit"
    assert native["placeholders"] == RECORD_EXAMPLE["extra_data"]
    assert native["status"] == "pending"
    again = await tenant.client.get(f"/record-lists/{list_id}/records/{created['id']}")
    assert again.json() == created


async def test_record_list_is_created_and_counts_its_records(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/record-lists",
        json={
            "name": "Spring leads",
            "csv_metadata": {
                "filename": "leads.csv",
                "byte_size": 1024,
                "checksum": "0cc175b9c0f1b6a831c399e269772661",
                "content_type": "text/csv",
            },
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Spring leads"
    assert created["unique_identifier_type"] == "PHONE_NUMBER"
    assert created["status"] == "ACCEPTED"
    assert created["signed_url"] is None
    assert created["records_count"] == 0
    await add(tenant.client, created["id"], record(1))
    read = (await tenant.client.get(f"/record-lists/{created['id']}")).json()
    assert read["records_count"] == 1
    assert read["_links"]["self"]["href"].endswith(f"/record-lists/{created['id']}")


@pytest.mark.parametrize(
    ("identifier", "dedup"),
    [("PHONE_NUMBER", "phone"), ("EXTERNAL", "external_id"), ("NOTHING", "none")],
)
async def test_unique_identifier_type_is_the_workflow_dedup(
    tenant: Tenant, identifier: str, dedup: str
) -> None:
    list_id = await make_list(tenant.client, identifier)
    body = record(1, external_provider="salesforce", external_id="A-1")
    created = await add(tenant.client, list_id, body)
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    workflow = (await tenant.client.get(f"/v1/workflows/{native['workflow_id']}")).json()
    assert workflow["definition"]["dedup"] == dedup
    assert workflow["status"] == "draft"  # nothing is dialed before a campaign runs the list


async def test_phone_number_lists_update_a_record_with_the_same_phone(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client, "PHONE_NUMBER")
    first = await add(tenant.client, list_id, record(1, priority=3))
    again = await tenant.client.post(
        f"/record-lists/{list_id}/records", json=record(1, first_name="Grace", priority=9)
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]
    assert again.json()["first_name"] == "Grace"
    assert again.json()["priority"] == 9
    other = await add(tenant.client, list_id, record(2))
    assert other["id"] != first["id"]


async def test_external_lists_key_on_the_external_id(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client, "EXTERNAL")
    first = await add(tenant.client, list_id, record(1, external_provider="sf", external_id="A-1"))
    same = await tenant.client.post(
        f"/record-lists/{list_id}/records",
        json=record(2, external_provider="sf", external_id="A-1"),
    )
    assert same.status_code == 200
    assert same.json()["id"] == first["id"]
    assert same.json()["phone_numbers"][0]["phone_number"] == f"+1{phone(2)}"
    other = await add(tenant.client, list_id, record(1, external_provider="sf", external_id="B-2"))
    assert other["id"] != first["id"]
    missing = await tenant.client.post(f"/record-lists/{list_id}/records", json=record(3))
    assert_error(missing, 400, "external_provider", "external_id")


async def test_nothing_lists_keep_every_record(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client, "NOTHING")
    first = await add(tenant.client, list_id, record(1))
    second = await add(tenant.client, list_id, record(1))
    assert first["id"] != second["id"]


async def test_absent_or_null_priority_is_a_hot_lead(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client, "NOTHING")
    for body in (record(1), record(2, priority=None)):
        created = await add(tenant.client, list_id, body)
        assert created["priority"] is None
        native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
        assert native["hot"] is True
    ranked = await add(tenant.client, list_id, record(3, priority=10))
    assert (await tenant.client.get(f"/v1/records/{ranked['id']}")).json()["hot"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": ""}, "priority"),
        ({"priority": 0}, "priority"),
        ({"priority": 11}, "priority"),
        ({"priority": "6"}, "priority"),
        ({"first_name": None}, "first_name"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "L" * 81}, "last_name"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "T" * 36}, "timezone"),
        ({"extra_data": ["not", "an", "object"]}, "extra_data"),
        ({"sync_external_id": "yes"}, "sync_external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"nickname": "Joe"}, "nickname"),
        (
            {"phone_numbers": [{"phone_number": "+1 212 555 0100 000000", "phone_type": "HOME"}]},
            "phone_numbers[0].phone_number",
        ),
        (
            {"phone_numbers": [{"phone_number": "12345", "phone_type": "HOME"}]},
            "phone_numbers[0].phone_number",
        ),
        (
            {"phone_numbers": [{"phone_number": "+12125550100", "phone_type": "FAX"}]},
            "phone_numbers[0].phone_type",
        ),
        (
            {"phone_numbers": [{"phone_number": "+12125550100"}]},
            "phone_numbers[0].phone_type",
        ),
        ({"phone_numbers": []}, "phone_numbers"),
        ({"phone_numbers": "+12125550100"}, "phone_numbers"),
        ({"phone_numbers": None}, "phone_number"),
    ],
)
async def test_field_errors_answer_400_with_talkdesk_field_names(
    tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records", json={**record(1), **change}
    )
    body = assert_error(response, 400, field)
    assert body["code"] == "invalid_record"
    assert body["message"] == "errors found in the submitted data"
    assert (await tenant.client.get(f"/record-lists/{list_id}")).json()["records_count"] == 0


async def test_empty_string_priority_is_an_error_not_a_hot_lead(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records", json={**RECORD_EXAMPLE, "priority": ""}
    )
    body = assert_error(response, 400, "priority")
    assert "1 to 10" in body["fields"][0]["description"]


async def test_several_errors_are_all_named(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records",
        json={"phone_numbers": [{"phone_number": "+351929312312", "phone_type": "CAR"}]},
    )
    assert_error(response, 400, "phone_numbers[0].phone_type", "first_name", "last_name")


async def test_legacy_single_phone_number_is_accepted(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    body = {"phone_number": "+351929312312", "first_name": "Joey", "last_name": "Tribbiani"}
    created = await add(tenant.client, list_id, body)
    assert created["phone_numbers"] == [{"phone_number": "+351929312312", "phone_type": "MOBILE"}]
    assert created["timezone"] is None  # resolved by dialflow, not given


async def test_body_that_is_not_json_is_400(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert assert_error(response, 400)["code"] == "invalid_json"


async def test_number_on_do_not_call_list_is_refused(tenant: Tenant) -> None:
    list_id = await make_list(tenant.client)
    await tenant.client.post("/v1/dnc", json={"phone": "+351929312312"})
    response = await tenant.client.post(
        f"/record-lists/{list_id}/records",
        json={**RECORD_EXAMPLE, "phone_numbers": RECORD_EXAMPLE["phone_numbers"][:1]},
    )
    assert assert_error(response, 400, "phone_number")["code"] == "do_not_call"


async def test_missing_or_unknown_key_is_401(tenant: Tenant, anonymous: httpx.AsyncClient) -> None:
    list_id = await make_list(tenant.client)
    url = f"/record-lists/{list_id}/records"
    missing = await anonymous.post(url, json=RECORD_EXAMPLE)
    assert assert_error(missing, 401)["code"] == "missing_api_key"
    wrong = await anonymous.post(
        url, json=RECORD_EXAMPLE, headers={"Authorization": "Bearer dfk_nothing_here"}
    )
    assert assert_error(wrong, 401)["code"] == "invalid_api_key"
    assert (await tenant.client.get(f"/record-lists/{list_id}")).json()["records_count"] == 0


async def test_record_list_of_another_account_is_403(tenant: Tenant, other_key: str) -> None:
    list_id = await make_list(tenant.client)
    created = await add(tenant.client, list_id, record(1))
    other = {"Authorization": f"Bearer {other_key}"}
    url = f"/record-lists/{list_id}/records"
    assert assert_error(await tenant.client.post(url, json=record(2), headers=other), 403)
    assert assert_error(await tenant.client.get(f"{url}/{created['id']}", headers=other), 403)
    assert assert_error(await tenant.client.get(f"/record-lists/{list_id}", headers=other), 403)
    assert (await tenant.client.get(f"/record-lists/{list_id}")).json()["records_count"] == 1


@pytest.mark.parametrize("list_id", ["123456789", "not-an-id", "99999999999999999999999"])
async def test_unknown_record_list_is_404(tenant: Tenant, list_id: str) -> None:
    response = await tenant.client.post(f"/record-lists/{list_id}/records", json=RECORD_EXAMPLE)
    assert assert_error(response, 404)["code"] == "record_list_not_found"


async def test_record_of_another_list_is_404(tenant: Tenant) -> None:
    first, second = await make_list(tenant.client), await make_list(tenant.client)
    created = await add(tenant.client, first, record(1))
    response = await tenant.client.get(f"/record-lists/{second}/records/{created['id']}")
    assert assert_error(response, 404)["code"] == "record_not_found"


async def test_record_list_body_errors(tenant: Tenant) -> None:
    too_long = await tenant.client.post("/record-lists", json={"name": "x" * 121})
    assert_error(too_long, 400, "name")
    bad_type = await tenant.client.post(
        "/record-lists", json={"name": "Leads", "unique_identifier_type": "EMAIL"}
    )
    assert_error(bad_type, 400, "unique_identifier_type")
    blank = await tenant.client.post("/record-lists", json={"name": "   "})
    assert_error(blank, 400, "name")
    nul = await tenant.client.post("/record-lists", json={"name": "Lea\u0000ds"})
    assert_error(nul, 400, "")
