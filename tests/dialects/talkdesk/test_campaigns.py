"""Talkdesk campaigns: their configuration becomes the definition of their record lists'
workflows, their status drives those workflows, and attached lists are dialed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialflow.db.engine import Database
from dialflow.dialects.talkdesk.schemas import RECORD_EXAMPLE
from tests.conftest import Tenant
from tests.dialects.talkdesk.conftest import (
    EVERY_DAY,
    FixedClock,
    add,
    list_workflow,
    make_campaign,
    make_list,
    noon_in_new_york,
    record,
    running_list,
    set_status,
)
from tests.dialects.talkdesk.test_records import assert_error
from tests.dialer.test_engine import DialerFactory, always, drain
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver


async def workflow_of(tenant: Tenant, db: Database, list_id: str) -> dict[str, Any]:
    workflow_id = await list_workflow(db, list_id)
    body: dict[str, Any] = (await tenant.client.get(f"/v1/workflows/{workflow_id}")).json()
    return body


async def test_campaign_is_created_ready(tenant: Tenant) -> None:
    response = await tenant.client.post(
        "/campaigns",
        json={
            "name": "Renewals",
            "dialing_mode": "PREVIEW",
            "priority": 4,
            "dialing_strategy": {
                "max_attempts": 5,
                "retry_period": 2,
                "retry_time_unit": "HOURS",
                "calling_hours": [
                    {"from": "09:00:00", "to": "18:00:00", "week_days": ["MONDAY", "FRIDAY"]}
                ],
                "dispositions": {"invalid_number": {"status_after_call": "FINAL"}},
            },
        },
    )
    assert response.status_code == 201, response.text
    campaign = response.json()
    assert campaign["status"] == "READY"
    assert campaign["name"] == "Renewals"
    assert (campaign["dialing_mode"], campaign["priority"]) == ("PREVIEW", 4)
    strategy = campaign["dialing_strategy"]
    assert strategy["calling_hours"] == [
        {"from": "09:00:00", "to": "18:00:00", "week_days": ["MONDAY", "FRIDAY"]}
    ]
    assert strategy["max_attempts"] == 5
    assert campaign["_links"]["self"]["href"].endswith(f"/campaigns/{campaign['id']}")
    read = await tenant.client.get(f"/campaigns/{campaign['id']}")
    assert read.json() == campaign


async def test_campaign_configuration_becomes_the_list_definition(
    tenant: Tenant, db: Database
) -> None:
    list_id = await make_list(tenant.client, "EXTERNAL")
    campaign_id = await make_campaign(
        tenant.client,
        max_attempts=6,
        retry_period=90,
        retry_time_unit="SECONDS",
        calling_hours=[
            {"from": "09:00:30", "to": "20:59:59", "week_days": ["MONDAY", "TUESDAY"]},
            {"from": "09:00:30", "to": "20:59:59", "week_days": ["SATURDAY"]},
        ],
        dispositions={
            "busy": {"status_after_call": "FINAL"},
            "no_answer": {
                "status_after_call": "RETRY",
                "retry_period": 3,
                "retry_period_time_unit": "HOURS",
            },
            "answering_machine_detection": {"status_after_call": "RETRY"},
            "abandoned": {"status_after_call": "RETRY", "retry_period": 5},
        },
        record_chain=[
            {"type": "OFFICE", "max_attempts": 2},
            {"type": "MOBILE", "max_attempts": 3},
        ],
    )
    attached = await tenant.client.put(f"/campaigns/{campaign_id}/record-lists/{list_id}")
    assert attached.status_code == 200, attached.text
    assert attached.json()["campaign_id"] == campaign_id
    definition = (await workflow_of(tenant, db, list_id))["definition"]
    assert definition["dedup"] == "external_id"  # the list's own
    assert definition["calling_hours"]["start"] == "09:01"
    assert definition["calling_hours"]["end"] == "20:59"
    assert definition["calling_hours"]["weekdays"] == ["mon", "tue", "sat"]
    retry = definition["retry"]
    assert retry["max_attempts"] == 6
    assert retry["max_attempts_per_phone_type"] == {"OFFICE": 2, "MOBILE": 3}
    assert definition["steps"][0]["phone_types"] == ["OFFICE", "MOBILE"]
    outcomes = retry["outcomes"]
    assert outcomes["busy"] == {"action": "FINAL", "period_minutes": None}
    assert outcomes["no_answer"] == {"action": "RETRY", "period_minutes": 180}
    # No period of its own: the campaign's retry_period (90 s, rounded up to 2 minutes).
    assert outcomes["voicemail_detected"] == {"action": "RETRY", "period_minutes": 2}
    assert outcomes["failed"] == {"action": "RETRY", "period_minutes": 2}
    assert outcomes["invalid_number"]["action"] == "FINAL"


async def test_patch_status_drives_the_list_workflow(tenant: Tenant, db: Database) -> None:
    list_id = await make_list(tenant.client)
    campaign_id = await make_campaign(tenant.client)
    await tenant.client.put(f"/campaigns/{campaign_id}/record-lists/{list_id}")
    assert (await workflow_of(tenant, db, list_id))["status"] == "draft"
    for status, workflow_status in [
        ("RUNNING", "active"),
        ("paused", "paused"),
        ("RUNNING", "active"),
        ("READY", "paused"),
        ("READY", "paused"),
    ]:
        campaign = await set_status(tenant.client, campaign_id, status)
        assert campaign["status"] == status.upper()
        assert (await workflow_of(tenant, db, list_id))["status"] == workflow_status
    # The RFC 6902 form works as well.
    response = await tenant.client.patch(
        f"/campaigns/{campaign_id}", json=[{"op": "replace", "path": "/status", "value": "RUNNING"}]
    )
    assert response.json()["status"] == "RUNNING"
    assert (await workflow_of(tenant, db, list_id))["status"] == "active"


async def test_patch_configuration_reaches_attached_lists(tenant: Tenant, db: Database) -> None:
    list_id = await running_list(tenant.client)
    campaign_id = (await tenant.client.get(f"/record-lists/{list_id}")).json()["campaign_id"]
    response = await tenant.client.patch(
        f"/campaigns/{campaign_id}",
        json=[
            {"op": "replace", "path": "/dialing_strategy/max_attempts", "value": 9},
            {"op": "replace", "path": "/name", "value": "Winter renewals"},
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Winter renewals"
    assert response.json()["status"] == "RUNNING"
    workflow = await workflow_of(tenant, db, list_id)
    assert workflow["definition"]["retry"]["max_attempts"] == 9
    assert workflow["status"] == "active"


async def test_attach_and_detach(tenant: Tenant, db: Database) -> None:
    list_id = await running_list(tenant.client)
    campaign_id = (await tenant.client.get(f"/record-lists/{list_id}")).json()["campaign_id"]
    other = await make_campaign(tenant.client)
    taken = await tenant.client.put(f"/campaigns/{other}/record-lists/{list_id}")
    assert assert_error(taken, 409)["code"] == "record_list_attached"
    not_attached = await tenant.client.delete(f"/campaigns/{other}/record-lists/{list_id}")
    assert_error(not_attached, 404)
    detached = await tenant.client.delete(f"/campaigns/{campaign_id}/record-lists/{list_id}")
    assert detached.status_code == 204
    assert (await workflow_of(tenant, db, list_id))["status"] == "paused"
    assert (await tenant.client.get(f"/record-lists/{list_id}")).json()["campaign_id"] is None
    moved = await tenant.client.put(f"/campaigns/{other}/record-lists/{list_id}")
    assert moved.json()["campaign_id"] == other
    assert (await workflow_of(tenant, db, list_id))["status"] == "paused"  # other is READY


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Re"}, "name"),
        ({"name": "  Re  "}, "name"),
        ({"name": "Renewals\u0000"}, ""),
        ({"name": "Renewals", "colour": "blue"}, "colour"),
        ({"name": "Renewals", "dialing_mode": "ROBOT"}, "dialing_mode"),
        (
            {"name": "Renewals", "dialing_strategy": {"max_attempts": 0}},
            "dialing_strategy.max_attempts",
        ),
        (
            {
                "name": "Renewals",
                "dialing_strategy": {
                    "calling_hours": [{"from": "9:00", "to": "18:00:00", "week_days": EVERY_DAY}]
                },
            },
            "dialing_strategy.calling_hours.0.from",
        ),
        (
            {
                "name": "Renewals",
                "dialing_strategy": {
                    "calling_hours": [
                        {"from": "09:00:00", "to": "18:00:00", "week_days": ["MONDAY"]},
                        {"from": "10:00:00", "to": "14:00:00", "week_days": ["SATURDAY"]},
                    ]
                },
            },
            "dialing_strategy.calling_hours",
        ),
        (
            {
                "name": "Renewals",
                "dialing_strategy": {
                    "calling_hours": [
                        {"from": "06:00:00", "to": "18:00:00", "week_days": EVERY_DAY}
                    ]
                },
            },
            "dialing_strategy.calling_hours",
        ),
        (
            {
                "name": "Renewals",
                "dialing_strategy": {
                    "dispositions": {"invalid_number": {"status_after_call": "RETRY"}}
                },
            },
            "dialing_strategy.dispositions",
        ),
    ],
)
async def test_campaign_body_errors(tenant: Tenant, body: dict[str, Any], field: str) -> None:
    assert_error(await tenant.client.post("/campaigns", json=body), 400, field)


async def test_patch_errors(tenant: Tenant, db: Database) -> None:
    list_id = await running_list(tenant.client)
    campaign_id = (await tenant.client.get(f"/record-lists/{list_id}")).json()["campaign_id"]
    url = f"/campaigns/{campaign_id}"
    bad_status = await tenant.client.patch(
        url, json={"op": "replace", "path": "status", "value": "FLYING"}
    )
    assert_error(bad_status, 400, "status")
    bad_path = await tenant.client.patch(url, json={"op": "replace", "path": "colour", "value": 1})
    assert_error(bad_path, 400, "[0].path")
    bad_value = await tenant.client.patch(
        url, json=[{"op": "replace", "path": "/dialing_strategy/max_attempts", "value": 0}]
    )
    assert_error(bad_value, 400, "dialing_strategy.max_attempts")
    assert (await tenant.client.get(url)).json()["status"] == "RUNNING"
    assert (await workflow_of(tenant, db, list_id))["definition"]["retry"]["max_attempts"] == 3


async def test_campaigns_of_another_account_and_unknown_ones(
    tenant: Tenant, other_key: str
) -> None:
    campaign_id = await make_campaign(tenant.client)
    other = {"Authorization": f"Bearer {other_key}"}
    assert_error(await tenant.client.get(f"/campaigns/{campaign_id}", headers=other), 403)
    forbidden = await tenant.client.patch(
        f"/campaigns/{campaign_id}",
        json={"op": "replace", "path": "status", "value": "RUNNING"},
        headers=other,
    )
    assert_error(forbidden, 403)
    assert (await tenant.client.get(f"/campaigns/{campaign_id}")).json()["status"] == "READY"
    assert_error(await tenant.client.get("/campaigns/12345"), 404)
    list_id = await make_list(tenant.client)
    assert_error(await tenant.client.put(f"/campaigns/12345/record-lists/{list_id}"), 404)


async def test_a_record_added_through_talkdesk_is_dialed(
    tenant: Tenant,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    # Talkdesk documents no dialer webhook: calls are reported by dialflow's own events.
    await add_endpoint(tenant, receiver.url, event_types=["call.completed"])
    list_id = await running_list(tenant.client)
    created = await add(
        tenant.client,
        list_id,
        {**RECORD_EXAMPLE, **record(1), "extra_data": RECORD_EXAMPLE["extra_data"]},
    )
    clock = FixedClock(noon_in_new_york())
    await drain(make_dialer(always("call_transferred"), clock=clock))
    await deliver_all(make_deliverer(clock=clock))
    [report] = [json.loads(request.body)["data"] for request in receiver.requests]
    assert report["record_id"] == created["id"]
    assert report["end_reason"] == "call_transferred"
    native = (await tenant.client.get(f"/v1/records/{created['id']}")).json()
    assert native["status"] == "completed"
    assert native["final_outcome"] == "call_transferred"
    assert [e["kind"] for e in native["timeline"]] == ["created", "attempt"]
    assert native["timeline"][1]["data"]["end_reason"] == "call_transferred"


async def test_records_of_a_paused_or_ready_campaign_wait(
    tenant: Tenant, make_dialer: DialerFactory
) -> None:
    list_id = await make_list(tenant.client)
    campaign_id = await make_campaign(tenant.client)
    await tenant.client.put(f"/campaigns/{campaign_id}/record-lists/{list_id}")
    created = await add(tenant.client, list_id, record(1))
    dialer = make_dialer(always("call_transferred"), clock=FixedClock(noon_in_new_york()))
    await drain(dialer)  # READY: nothing is dialed
    url = f"/v1/records/{created['id']}"
    assert (await tenant.client.get(url)).json()["attempts"] == 0
    await set_status(tenant.client, campaign_id, "RUNNING")
    await set_status(tenant.client, campaign_id, "PAUSED")
    await drain(dialer)
    assert (await tenant.client.get(url)).json()["attempts"] == 0
    await set_status(tenant.client, campaign_id, "RUNNING")
    await drain(dialer)
    assert (await tenant.client.get(url)).json()["final_outcome"] == "call_transferred"
