"""A record added through /api/call/ is dialed, and its call reported in 2X's post-call shape."""

from __future__ import annotations

import json

from sqlalchemy import select

from dialflow.db.engine import Database
from dialflow.db.tables import attempts, records
from tests.conftest import Tenant, make_workflow
from tests.dialects.ncol.test_api import CAR_VARIABLES, DIALABLE, SINGLE_EXAMPLE, example, post
from tests.dialects.ncol.test_webhooks import SEED_POST_CALL
from tests.dialer.test_engine import ALWAYS_OPEN, DialerFactory, always, drain
from tests.intake.test_bulk import phone
from tests.webhooks.conftest import DelivererFactory, add_endpoint, deliver_all
from tests.webhooks.receiver import Receiver


async def test_a_record_added_by_the_seed_example_is_dialed_and_reported_in_2x_shape(
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    make_dialer: DialerFactory,
    make_deliverer: DelivererFactory,
) -> None:
    await add_endpoint(
        tenant,
        receiver.url,
        format="2x",
        auth_header_name="X-2X-Token",
        auth_header_value="configured-by-2x",
    )
    workflow = await make_workflow(
        tenant.client,
        calling_hours=ALWAYS_OPEN,
        variables=CAR_VARIABLES,
        steps=[
            {
                "id": "call-1",
                "type": "call",
                "script": "Hi {{ first_name }}, about your {{ car_color }} {{ car_model }}.",
            }
        ],
    )
    added = await post(tenant, "/api/call/", example(SINGLE_EXAMPLE, tenant, workflow, DIALABLE))
    assert added.status_code == 200, added.text
    await drain(make_dialer(always("call_transferred")))
    await deliver_all(make_deliverer())

    # Delivered by the outbox to an endpoint in the 2X format, with 2X's header auth.
    [request] = receiver.requests
    assert request.headers["x-2x-token"] == "configured-by-2x"
    body = json.loads(request.body)
    async with db.read() as conn:
        attempt = (
            (await conn.execute(select(attempts).where(attempts.c.workflow_id == workflow["id"])))
            .mappings()
            .one()
        )
    turns = attempt["transcript"]

    assert list(body) == list(SEED_POST_CALL)
    assert body == {
        "id": attempt["id"],
        "call": {
            "end_reason": "call_transferred",
            "telnyx_call_control_id": attempt["provider_call_id"],
            "answered": True,
            "duration": attempt["duration_seconds"],
            "call_direction": "outbound",
        },
        "question_fields": attempt["collected_fields"],
        "message_left": "N",
        "record_phone_number": f"+1{DIALABLE['9876543210']}",
        "record_zip_code": "12345",
        "record_first_name": "John",
        "record_last_name": "Doe",
        "record_timezone": body["record_timezone"],
        "workflow_key": workflow["key"],
        "workflow_day": 1,
        "workflow_call": 1,
        "workflow_end": True,
        "meta": {"campaign": "fall2024"},
        "transcript": turns,  # the simulator's turns, back from the text form
    }
    assert attempt["provider_call_id"].startswith("sim-")
    assert attempt["duration_seconds"] > 0
    assert body["record_timezone"] in {"UTC-5", "UTC-4"}  # ZIP 12345: Schenectady, New York
    assert body["transcript"][0] == {
        "role": "Assistant",
        "content": "Hi John, about your blue corolla.",
    }
    assert {turn["role"] for turn in body["transcript"]} == {"Assistant", "User"}
    async with db.read() as conn:
        transfer = (
            await conn.execute(
                select(records.c.transfer_number).where(records.c.id == attempt["record_id"])
            )
        ).scalar_one()
    assert transfer == f"+1{phone(99)}"
