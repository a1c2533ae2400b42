"""Lists: counts that add up, listing, cancelling."""

from __future__ import annotations

from tests.conftest import Tenant, make_workflow
from tests.intake.test_bulk import phone


async def test_list_counts_and_cancel(tenant: Tenant) -> None:
    workflow = await make_workflow(tenant.client)
    url = f"/v1/workflows/{workflow['key']}/records/bulk"
    first = await tenant.client.post(
        url,
        json={
            "list_name": "november",
            "records": [{"phone": phone(n)} for n in range(5)] + [{"phone": "x"}],
        },
    )
    second = await tenant.client.post(url, json={"records": [{"phone": phone(9)}]})
    list_id = first.json()["list_id"]

    got = (await tenant.client.get(f"/v1/lists/{list_id}")).json()
    assert got["name"] == "november"
    assert got["status"] == "open"
    counts = got["counts"]
    assert counts["accepted"] == 5
    assert counts["invalid"] == 1
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"] == 6

    listed = (await tenant.client.get(f"/v1/workflows/{workflow['key']}/lists")).json()
    assert [item["id"] for item in listed["items"]] == [list_id, second.json()["list_id"]]

    await tenant.client.post(f"/v1/records/{first.json()['results'][0]['record_id']}/complete")
    cancelled = await tenant.client.post(f"/v1/lists/{list_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_records"] == 4
    assert cancelled.json()["list"]["status"] == "cancelled"
    statuses = [
        (await tenant.client.get(f"/v1/records/{r['record_id']}")).json()["status"]
        for r in first.json()["results"][:5]
    ]
    assert statuses == ["completed"] + ["cancelled"] * 4
    other = (
        await tenant.client.get(f"/v1/records/{second.json()['results'][0]['record_id']}")
    ).json()
    assert other["status"] == "pending"
    again = await tenant.client.post(f"/v1/lists/{list_id}/cancel")
    assert again.status_code == 409
