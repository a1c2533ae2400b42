"""Reading and acting on records over HTTP."""

from __future__ import annotations

from tests.conftest import Tenant, make_workflow
from tests.intake.test_bulk import phone


async def _bulk(tenant: Tenant, key: object, numbers: range) -> list[str]:
    response = await tenant.client.post(
        f"/v1/workflows/{key}/records/bulk",
        json={"records": [{"phone": phone(n), "external_id": f"x{n}"} for n in numbers]},
    )
    assert response.status_code == 201, response.text
    return [r["record_id"] for r in response.json()["results"]]


async def test_list_filters_and_cursor_pagination(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    ids = await _bulk(tenant, workflow["key"], range(25))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = (
            await tenant.client.get(f"/v1/workflows/{workflow['id']}/records", params=params)
        ).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, key=int)

    by_phone = await tenant.client.get(
        f"/v1/workflows/{workflow['key']}/records",
        params={"phone": f"({phone(3)[:3]}) {phone(3)[3:]}"},
    )
    assert [r["id"] for r in by_phone.json()["items"]] == [ids[3]]
    by_external = await tenant.client.get(
        f"/v1/workflows/{workflow['key']}/records", params={"external_id": "x7"}
    )
    assert [r["id"] for r in by_external.json()["items"]] == [ids[7]]
    await tenant.client.post(f"/v1/records/{ids[0]}/complete")
    completed = await tenant.client.get(
        f"/v1/workflows/{workflow['key']}/records", params={"status": "completed"}
    )
    assert [r["id"] for r in completed.json()["items"]] == [ids[0]]
    bad_cursor = await tenant.client.get(
        f"/v1/workflows/{workflow['key']}/records", params={"cursor": "%%%"}
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["code"] == "invalid_cursor"


async def test_complete_and_resume_by_id(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    [record_id] = await _bulk(tenant, workflow["key"], range(1))
    done = await tenant.client.post(f"/v1/records/{record_id}/complete")
    assert done.json() == {"changed": [record_id], "unchanged": []}
    again = await tenant.client.post(f"/v1/records/{record_id}/complete")
    assert again.json() == {"changed": [], "unchanged": [record_id]}
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "completed"
    assert record["final_outcome"] == "marked_complete"
    assert record["completed_at"] is not None

    resumed = await tenant.client.post(f"/v1/records/{record_id}/resume")
    assert resumed.json() == {"changed": [record_id], "unchanged": []}
    record = (await tenant.client.get(f"/v1/records/{record_id}")).json()
    assert record["status"] == "pending"
    assert record["step_id"] == "call-1"
    assert [e["kind"] for e in record["timeline"]] == ["created", "completed", "resumed"]
    missing = await tenant.client.post("/v1/records/12345/complete")
    assert missing.status_code == 404


async def test_complete_by_phone_in_one_workflow_or_across_the_workspace(tenant: Tenant) -> None:
    first = await make_workflow(tenant.client)
    second = await make_workflow(tenant.client)
    [a] = await _bulk(tenant, first["key"], range(1))
    [b] = await _bulk(tenant, second["key"], range(1))

    one = await tenant.client.post(
        "/v1/records/complete", json={"phone": phone(0), "workflow": first["key"]}
    )
    assert one.json()["changed"] == [a]
    assert (await tenant.client.get(f"/v1/records/{b}")).json()["status"] == "pending"

    everywhere = await tenant.client.post("/v1/records/complete", json={"phone": phone(0)})
    assert everywhere.json() == {"changed": [b], "unchanged": [a]}

    resumed = await tenant.client.post(
        "/v1/records/resume", json={"phones": [phone(0)], "workflow": second["key"]}
    )
    assert resumed.json()["changed"] == [b]
    nobody = await tenant.client.post("/v1/records/complete", json={"phone": phone(5)})
    assert nobody.status_code == 404
    no_phone = await tenant.client.post("/v1/records/complete", json={})
    assert no_phone.status_code == 400
