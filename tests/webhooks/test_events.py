"""The events clients wait for, produced by the engine and the API, as they arrive."""

from __future__ import annotations

import json
from typing import Any

from dialflow.db.engine import Database
from tests.conftest import Tenant, make_workflow
from tests.dialer.test_engine import ALWAYS_OPEN, DialerFactory, always, drain
from tests.intake.test_bulk import phone
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver


def _by_type(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for request in receiver.requests:
        body = json.loads(request.body)
        grouped.setdefault(body["type"], []).append(body)
    return grouped


async def test_a_call_reports_call_attempt_record_and_list_completion(
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    await add_endpoint(tenant, receiver.url)
    workflow = await make_workflow(
        tenant.client,
        calling_hours=ALWAYS_OPEN,
        variables=[{"name": "car"}],
        steps=[{"id": "call-1", "type": "call", "script": "Hi {{ first_name }}, {{ car }}?"}],
    )
    response = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk",
        json={
            "records": [
                {
                    "phone": phone(n),
                    "first_name": "Ada",
                    "zip": "10001",
                    "placeholders": {"car": "corolla"},
                    "meta": {"crm_id": f"c-{n}"},
                }
                for n in range(3)
            ]
        },
    )
    assert response.status_code == 201, response.text
    list_id = response.json()["list_id"]
    await drain(make_dialer(always("call_transferred")))
    await deliver_all(make_deliverer())

    events = _by_type(receiver)
    assert len(events["call.completed"]) == 3
    assert len(events["attempt.completed"]) == 3
    assert len(events["record.completed"]) == 3
    assert len(events["list.completed"]) == 1

    call = events["call.completed"][0]["data"]
    assert call["workflow_key"] == workflow["key"]
    assert call["end_reason"] == "call_transferred"
    assert call["answered"] is True
    assert call["meta"]["crm_id"].startswith("c-")
    assert call["placeholders"] == {"car": "corolla"}
    assert call["record"]["first_name"] == "Ada"
    assert call["record"]["timezone"] == "America/New_York"
    assert call["record"]["timezone_offset"] in {"UTC-5", "UTC-4"}
    assert call["transcript"]
    assert call["recording_url"].endswith(".wav")
    assert (call["day"], call["call"]) == (1, 1)
    assert call["workflow_ended"] is True
    assert call["is_last_attempt"] is True

    finished = events["record.completed"][0]["data"]
    assert finished["final_outcome"] == "call_transferred"
    assert [step["step_id"] for step in finished["steps"]] == ["call-1"]
    assert finished["steps"][0]["end_reason"] == "call_transferred"

    done = events["list.completed"][0]["data"]
    assert done["list_id"] == list_id
    assert done["total"] == 3
    assert sum(done["by_status"].values()) == sum(done["by_final_outcome"].values()) == 3
    assert done["by_final_outcome"] == {"call_transferred": 3}


async def test_retries_report_each_attempt_and_an_opt_out(
    tenant: Tenant,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    await add_endpoint(tenant, receiver.url, event_types=["attempt.completed", "record.opted_out"])
    workflow = await make_workflow(
        tenant.client, calling_hours=ALWAYS_OPEN, steps=[{"id": "call-1", "type": "call"}]
    )
    await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records", json={"phone": phone(7), "first_name": "Bo"}
    )
    await drain(make_dialer(always("do_not_call")))
    await deliver_all(make_deliverer())
    events = _by_type(receiver)
    assert set(events) == {"attempt.completed", "record.opted_out"}
    assert events["record.opted_out"][0]["data"]["phone"] == "+1" + phone(7)


async def test_marking_complete_reports_record_completed(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    await add_endpoint(tenant, receiver.url, event_types=["record.completed", "list.completed"])
    workflow = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    added = await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records/bulk",
        json={"records": [{"phone": phone(8), "first_name": "Cy"}]},
    )
    record_id = added.json()["results"][0]["record_id"]
    done = await tenant.client.post(f"/v1/records/{record_id}/complete")
    assert done.status_code == 200, done.text
    await deliver_all(make_deliverer())
    events = _by_type(receiver)
    assert events["record.completed"][0]["data"]["record_id"] == record_id
    assert events["record.completed"][0]["data"]["steps"] == []
    assert events["list.completed"][0]["data"]["total"] == 1


async def test_an_endpoint_for_one_workflow_hears_only_that_workflow(
    tenant: Tenant, receiver: Receiver, make_deliverer: DelivererFactory
) -> None:
    first = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    second = await make_workflow(tenant.client, steps=[{"id": "call-1", "type": "call"}])
    await add_endpoint(tenant, receiver.url, workflow=first["key"])
    for workflow in (first, second):
        await tenant.client.post(f"/v1/workflows/{workflow['key']}/pause")
    await deliver_all(make_deliverer())
    keys = [json.loads(r.body)["data"]["workflow_key"] for r in receiver.requests]
    assert keys == [first["key"]]


async def test_a_2x_format_endpoint_gets_the_2x_post_call_body(
    tenant: Tenant,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    await add_endpoint(
        tenant,
        receiver.url,
        format="2x",
        auth_header_name="Authorization-Token",
        auth_header_value="crm-token",
    )
    workflow = await make_workflow(
        tenant.client, calling_hours=ALWAYS_OPEN, steps=[{"id": "call-1", "type": "call"}]
    )
    await tenant.client.post(
        f"/v1/workflows/{workflow['key']}/records",
        json={"phone": phone(9), "first_name": "Di", "zip": "10001", "meta": {"lead": 42}},
    )
    await drain(make_dialer(always("not_interested")))
    await deliver_all(make_deliverer())
    # Only call.completed has a 2X shape; the other events are not sent to this endpoint.
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["authorization-token"] == "crm-token"
    body = json.loads(request.body)
    assert body["call"]["end_reason"] == "not_interested"
    assert body["workflow_key"] == workflow["key"]
    assert body["record_phone_number"] == "+1" + phone(9)
    assert body["record_timezone"] in {"UTC-5", "UTC-4"}
    assert body["meta"] == {"lead": 42}
    assert body["workflow_end"] is True
