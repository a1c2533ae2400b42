"""Bulk intake end to end over HTTP on both databases: per-record results, dedup, DNC."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dialflow.db.engine import Database
from dialflow.db.tables import records
from tests.conftest import Tenant, make_workflow


def phone(n: int) -> str:
    """A valid, distinct NANP number per n."""
    return f"212{200 + n // 10_000:03d}{n % 10_000:04d}"


async def count_records(db: Database, workflow_id: int) -> int:
    async with db.read() as conn:
        query = (
            select(func.count()).select_from(records).where(records.c.workflow_id == workflow_id)
        )
        return int((await conn.execute(query)).scalar_one())


async def test_every_error_kind_gets_its_own_result(tenant: Tenant, db: Database) -> None:
    workflow = await make_workflow(
        tenant.client,
        variables=[{"name": "car"}, {"name": "visits", "type": "integer", "required": False}],
    )
    await tenant.client.post("/v1/dnc", json={"phone": phone(99), "reason": "asked"})
    good = {"first_name": "Ada", "placeholders": {"car": "blue"}}
    submitted: list[Any] = [
        {"phone": phone(1), **good},  # 0 accepted
        {"phone": "12345", **good},  # 1 invalid phone
        {"phone": phone(2), "first_name": "JOHN", "placeholders": {"car": "x"}},  # 2 all caps
        {"phone": phone(3), "first_name": "Ada"},  # 3 missing placeholder
        {"phone": phone(4), **good, "priority": 11},  # 4 bad priority
        {"phone": phone(5), **good, "timezone": "Mars/Olympus"},  # 5 bad time zone
        {"phone": phone(6), **good, "meta": "not an object"},  # 6 meta type
        {"phone": phone(1), **good},  # 7 duplicate of 0 in this request
        {"phone": phone(99), **good},  # 8 on the DNC list
        {"phone": phone(7), **good, "colour": "red"},  # 9 unknown field
        "not an object",  # 10
        {**good},  # 11 no phone
        {"phone": phone(8), "first_name": "A" * 81, "placeholders": {"car": "x"}},  # 12 too long
        {"phone": phone(9), **good, "placeholders": {"car": "x", "visits": "many"}},  # 13 type
        {"phone": phone(10), **good, "email": "not-an-email"},  # 14 email
        {"phones": [{"number": phone(11), "type": "PAGER"}], **good},  # 15 phone type
        {"phone": phone(12), **good, "priority": None, "zip": "10001"},  # 16 accepted, hot
    ]
    response = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk", json={"records": submitted}
    )
    assert response.status_code == 207, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(submitted)))

    def check(index: int, status: str, *codes: str) -> None:
        result = results[index]
        assert result["status"] == status, result
        assert sorted(e["code"] for e in result["errors"]) == sorted(codes), result
        assert all(e["message"] for e in result["errors"])
        assert (result["record_id"] is not None) == (status in {"accepted", "updated"})

    check(0, "accepted")
    check(1, "invalid", "invalid_phone")
    check(2, "invalid", "all_caps_name")
    check(3, "invalid", "missing_placeholder")
    assert results[3]["errors"][0]["field"] == "placeholders.car"
    assert '"car"' in results[3]["errors"][0]["message"]
    check(4, "invalid", "invalid_priority")
    check(5, "invalid", "invalid_timezone")
    check(6, "invalid", "invalid_type")
    check(7, "duplicate", "duplicate_in_request")
    assert "record 0" in results[7]["errors"][0]["message"]
    check(8, "suppressed", "do_not_call")
    check(9, "invalid", "unknown_field")
    assert results[9]["errors"][0]["field"] == "colour"
    check(10, "invalid", "invalid_type")
    check(11, "invalid", "required")
    check(12, "invalid", "too_long")
    check(13, "invalid", "invalid_placeholder")
    check(14, "invalid", "invalid_email")
    check(15, "invalid", "invalid_phone_type")
    check(16, "accepted")
    assert body["counts"] == {
        "accepted": 2,
        "updated": 0,
        "duplicate": 1,
        "invalid": 13,
        "suppressed": 1,
        "failed": 0,
        "total": 17,
    }
    assert await count_records(db, int(workflow["id"])) == 2

    listed = await tenant.client.get(f"/v1/lists/{body['list_id']}")
    assert listed.status_code == 200
    assert listed.json()["counts"] == body["counts"]

    hot = await tenant.client.get(f"/v1/records/{results[16]['record_id']}")
    assert hot.json()["hot"] is True
    assert hot.json()["timezone"] == "America/New_York"
    assert hot.json()["timezone_source"] == "zip"


async def test_status_codes_all_good_and_none_good(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    created = await tenant.client.post(url, json={"records": [{"phone": phone(1)}]})
    assert created.status_code == 201
    updated = await tenant.client.post(url, json={"records": [{"phone": phone(1)}]})
    assert updated.status_code == 200
    assert updated.json()["results"][0]["status"] == "updated"
    nothing = await tenant.client.post(url, json={"records": [{"phone": "1"}]})
    assert nothing.status_code == 422


async def test_pending_record_is_updated_in_place(tenant: Tenant, db: Database) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records"
    first = await tenant.client.post(url, json={"phone": phone(1), "first_name": "Ada"})
    assert first.status_code == 201
    again = await tenant.client.post(
        url, json={"phone": f"+1 {phone(1)}", "first_name": "Grace", "meta": {"v": 2}}
    )
    assert again.status_code == 200
    assert again.json()["status"] == "updated"
    assert again.json()["record_id"] == first.json()["record_id"]
    record = (await tenant.client.get(f"/v1/records/{first.json()['record_id']}")).json()
    assert record["first_name"] == "Grace"
    assert record["meta"] == {"v": 2}
    assert [e["kind"] for e in record["timeline"]] == ["created", "updated"]
    assert await count_records(db, int(workflow["id"])) == 1


async def test_finished_record_starts_a_new_cycle_keeping_history(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records"
    first = (await tenant.client.post(url, json={"phone": phone(1)})).json()
    done = await tenant.client.post(f"/v1/records/{first['record_id']}/complete")
    assert done.status_code == 200
    again = await tenant.client.post(url, json={"phone": phone(1)})
    assert again.status_code == 201
    assert again.json()["status"] == "accepted"
    assert again.json()["record_id"] == first["record_id"]
    record = (await tenant.client.get(f"/v1/records/{first['record_id']}")).json()
    assert record["status"] == "pending"
    assert record["cycle"] == 2
    assert [e["kind"] for e in record["timeline"]] == ["created", "completed", "restarted"]


async def test_dedup_by_external_id_and_none(tenant: Tenant, db: Database) -> None:
    by_id = await make_workflow(tenant.client, dedup="external_id")
    url = f"/v1/workflows/{by_id['key']}/records/bulk"
    response = await tenant.client.post(
        url,
        json={
            "records": [
                {"phone": phone(1), "external_id": "A"},
                {"phone": phone(1), "external_id": "B"},
                {"phone": phone(2), "external_id": "A"},
                {"phone": phone(3)},
            ]
        },
    )
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["accepted", "accepted", "duplicate", "invalid"]
    assert response.json()["results"][3]["errors"][0]["code"] == "missing_external_id"

    no_dedup = await make_workflow(tenant.client, dedup="none")
    twice = {"records": [{"phone": phone(1)}, {"phone": phone(1)}]}
    response = await tenant.client.post(f"/v1/workflows/{no_dedup['key']}/records/bulk", json=twice)
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted"]
    assert await count_records(db, int(no_dedup["id"])) == 2


async def test_expired_dnc_entry_no_longer_suppresses(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    await tenant.client.post(
        "/v1/dnc", json={"phone": phone(1), "expires_at": "2000-01-01T00:00:00Z"}
    )
    response = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records", json={"phone": phone(1)}
    )
    assert response.json()["status"] == "accepted"


async def test_typed_phone_chain_is_kept_in_order(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    response = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records",
        json={
            "phones": [
                {"number": "(312) 555-0100", "type": "OFFICE"},
                {"number": "415.555.0199", "type": "HOME"},
            ]
        },
    )
    assert response.status_code == 201, response.text
    record = (await tenant.client.get(f"/v1/records/{response.json()['record_id']}")).json()
    assert record["phone"] == "+13125550100"
    assert record["phones"] == [
        {"number": "+13125550100", "type": "OFFICE"},
        {"number": "+14155550199", "type": "HOME"},
    ]
    assert record["timezone"] == "America/Chicago"


async def test_a_bad_list_name_is_refused_whole(tenant: Tenant, db: Database) -> None:
    workflow = await make_workflow(tenant.client)
    for name in ("\x00", "n" * 201):
        response = await tenant.client.post(
            f"/v1/workflows/{workflow['key']}/records/bulk",
            json={"list_name": name, "records": [{"phone": phone(1), "first_name": "Ada"}]},
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_list_name"
    assert await count_records(db, int(str(workflow["id"]))) == 0
