"""Talkdesk do-not-call lists: entries with reason and expiration date, honoured when dialing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from tests.conftest import Tenant
from tests.dialects.talkdesk.conftest import (
    NEW_YORK,
    FixedClock,
    add,
    noon_in_new_york,
    record,
    running_list,
)
from tests.dialects.talkdesk.test_records import assert_error
from tests.dialer.test_engine import DialerFactory, always, drain
from tests.intake.test_bulk import phone


async def make_dnc_list(client: httpx.AsyncClient) -> str:
    response = await client.post("/do-not-call-lists", json={"name": "Opt-outs"})
    assert response.status_code == 201, response.text
    dnc_list_id: str = response.json()["id"]
    return dnc_list_id


async def add_entry(
    client: httpx.AsyncClient, dnc_list_id: str, number: str, expiration: date | None = None
) -> dict[str, object]:
    body: dict[str, object] = {"phone_number": number, "reason": "asked not to be called"}
    if expiration is not None:
        body["expiration_date"] = expiration.isoformat()
    response = await client.post(f"/do-not-call-lists/{dnc_list_id}/entries", json=body)
    assert response.status_code == 201, response.text
    entry: dict[str, object] = response.json()
    return entry


def today_in_new_york() -> date:
    return datetime.now(NEW_YORK).date()


async def test_dnc_list_and_entry_shapes(tenant: Tenant) -> None:
    created = await tenant.client.post(
        "/do-not-call-lists",
        json={"name": "Opt-outs", "csv_metadata": {"filename": "dnc.csv"}},
    )
    assert created.status_code == 201
    dnc_list = created.json()
    assert (dnc_list["name"], dnc_list["status"], dnc_list["signed_url"]) == (
        "Opt-outs",
        "ACCEPTED",
        None,
    )
    assert (await tenant.client.get(f"/do-not-call-lists/{dnc_list['id']}")).json() == dnc_list
    expiration = today_in_new_york() + timedelta(days=30)
    entry = await add_entry(tenant.client, dnc_list["id"], "+351929312312", expiration)
    assert set(entry) == {
        "id",
        "do_not_call_list_id",
        "phone_number",
        "reason",
        "expiration_date",
        "created_at",
        "_links",
    }
    assert entry["do_not_call_list_id"] == dnc_list["id"]
    assert entry["phone_number"] == "+351929312312"
    assert entry["expiration_date"] == expiration.isoformat()
    # The workspace's own do-not-call list holds it, until the end of the expiration date in
    # the workspace's time zone.
    native = (await tenant.client.get("/v1/dnc")).json()["items"]
    assert [n["phone"] for n in native] == ["+351929312312"]
    end_of_day = datetime.combine(expiration + timedelta(days=1), datetime.min.time(), NEW_YORK)
    assert datetime.fromisoformat(native[0]["expires_at"]) == end_of_day.astimezone(UTC)


async def test_entries_are_listed_by_page(tenant: Tenant) -> None:
    dnc_list_id = await make_dnc_list(tenant.client)
    for n in range(5):
        await add_entry(tenant.client, dnc_list_id, f"+1{phone(n)}")
    other_list = await make_dnc_list(tenant.client)
    await add_entry(tenant.client, other_list, f"+1{phone(9)}")
    url = f"/do-not-call-lists/{dnc_list_id}/entries"
    page = (await tenant.client.get(url, params={"page": 2, "per_page": 2})).json()
    assert (page["total"], page["count"], page["page"], page["total_pages"]) == (5, 2, 2, 3)
    assert page["per_page"] == 2
    assert [e["phone_number"] for e in page["_embedded"]["entries"]] == [
        f"+1{phone(2)}",
        f"+1{phone(3)}",
    ]
    assert set(page["_links"]) == {"self", "first", "last", "prev", "next"}
    assert page["_links"]["next"]["href"].endswith("page=3")
    last = (await tenant.client.get(url, params={"page": 3, "per_page": 2})).json()
    assert last["count"] == 1
    assert "next" not in last["_links"]
    assert_error(await tenant.client.get(url, params={"page": 0}), 400, "page")
    assert_error(await tenant.client.get(url, params={"page": 10**12}), 400, "page")


async def test_entry_is_patched_with_json_patch(tenant: Tenant) -> None:
    dnc_list_id = await make_dnc_list(tenant.client)
    entry = await add_entry(tenant.client, dnc_list_id, f"+1{phone(1)}")
    url = f"/do-not-call-lists/{dnc_list_id}/entries/{entry['id']}"
    response = await tenant.client.patch(
        url,
        json=[
            {"op": "replace", "path": "/expiration_date", "value": "2031-01-31"},
            {"op": "replace", "path": "/reason", "value": "litigator"},
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["expiration_date"] == "2031-01-31"
    assert response.json()["reason"] == "litigator"
    assert response.json()["id"] == entry["id"]
    renumbered = await tenant.client.patch(
        url, json=[{"op": "replace", "path": "/phone_number", "value": f"+1{phone(2)}"}]
    )
    assert assert_error(renumbered, 422, "phone_number")["code"] == "phone_number_immutable"
    bad_date = await tenant.client.patch(
        url, json=[{"op": "replace", "path": "/expiration_date", "value": "tomorrow"}]
    )
    assert_error(bad_date, 400, "expiration_date")
    missing = await tenant.client.patch(
        f"/do-not-call-lists/{dnc_list_id}/entries/42",
        json=[{"op": "replace", "path": "/reason", "value": "x"}],
    )
    assert_error(missing, 404)


async def test_entry_errors(tenant: Tenant, other_key: str) -> None:
    dnc_list_id = await make_dnc_list(tenant.client)
    url = f"/do-not-call-lists/{dnc_list_id}/entries"
    assert_error(await tenant.client.post(url, json={"phone_number": "12345"}), 400, "phone_number")
    assert_error(
        await tenant.client.post(url, json={"phone_number": "+1" + "2" * 20}), 400, "phone_number"
    )
    assert_error(
        await tenant.client.post(
            url, json={"phone_number": f"+1{phone(1)}", "expiration_date": "31/12/2030"}
        ),
        400,
        "expiration_date",
    )
    assert_error(await tenant.client.post(url, json={"reason": "x"}), 400, "phone_number")
    assert_error(
        await tenant.client.post(
            url, json={"phone_number": f"+1{phone(1)}", "expiration_date": "9999-12-31"}
        ),
        400,
        "expiration_date",
    )
    other = {"Authorization": f"Bearer {other_key}"}
    forbidden = await tenant.client.post(url, json={"phone_number": f"+1{phone(1)}"}, headers=other)
    assert_error(forbidden, 403)
    unknown = await tenant.client.post(
        "/do-not-call-lists/987654321/entries", json={"phone_number": f"+1{phone(1)}"}
    )
    assert assert_error(unknown, 404)["code"] == "dnc_list_not_found"
    assert (await tenant.client.get(url)).json()["total"] == 0


async def test_entries_block_dials_until_they_expire(
    tenant: Tenant, make_dialer: DialerFactory
) -> None:
    list_id = await running_list(tenant.client)
    expired, forever, until = [await add(tenant.client, list_id, record(n)) for n in range(3)]
    dnc_list_id = await make_dnc_list(tenant.client)
    today = today_in_new_york()
    await add_entry(tenant.client, dnc_list_id, f"+1{phone(0)}", today - timedelta(days=1))
    await add_entry(tenant.client, dnc_list_id, f"+1{phone(1)}")
    await add_entry(tenant.client, dnc_list_id, f"+1{phone(2)}", today + timedelta(days=2))
    # Four days on: the dated entries have expired, the undated one still blocks.
    clock = FixedClock(noon_in_new_york(days=4))
    await drain(make_dialer(always("call_transferred"), clock=clock))
    outcomes = {}
    for created in (expired, forever, until):
        native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
        outcomes[created["id"]] = native["final_outcome"]
    assert outcomes == {
        expired["id"]: "call_transferred",
        forever["id"]: "no_phone_left",
        until["id"]: "call_transferred",
    }


async def test_an_entry_blocks_a_dial_before_its_expiration_date(
    tenant: Tenant, make_dialer: DialerFactory
) -> None:
    list_id = await running_list(tenant.client)
    created = await add(tenant.client, list_id, record(1))
    dnc_list_id = await make_dnc_list(tenant.client)
    await add_entry(tenant.client, dnc_list_id, f"+1{phone(1)}", today_in_new_york() + timedelta(2))
    await drain(make_dialer(always("call_transferred"), clock=FixedClock(noon_in_new_york())))
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    assert native["final_outcome"] == "no_phone_left"
    assert native["attempts"] == 0
    assert "do-not-call" in native["timeline"][-1]["message"]
