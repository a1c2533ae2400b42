"""A record added through /api/call/ is dialed, and its call reported in 2X's post-call shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialflow.db.engine import Database
from dialflow.db.tables import attempts, records, workflows
from dialflow.dialects.ncol.webhooks import post_call_body
from tests.conftest import Tenant, make_workflow
from tests.dialects.ncol.test_api import CAR_VARIABLES, DIALABLE, SINGLE_EXAMPLE, example, post
from tests.dialects.ncol.test_webhooks import SEED_POST_CALL
from tests.dialer.test_engine import ALWAYS_OPEN, DialerFactory, always, drain
from tests.intake.test_bulk import phone

_SPEAKERS = {"Assistant": "Agent", "User": "Contact"}


def utc_offset(zone: str, at: datetime) -> str:
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return f"UTC{int(offset.total_seconds() // 3600):+d}"


async def call_completed(db: Database, workflow_id: object) -> dict[str, Any]:
    """The ``call.completed`` data (the native contract) of the workflow's one attempt."""
    async with db.read() as conn:
        attempt = (
            (await conn.execute(select(attempts).where(attempts.c.workflow_id == workflow_id)))
            .mappings()
            .one()
        )
        row = (
            (await conn.execute(select(records).where(records.c.id == attempt["record_id"])))
            .mappings()
            .one()
        )
        key = (
            await conn.execute(select(workflows.c.key).where(workflows.c.id == workflow_id))
        ).scalar_one()
    return {
        "call_id": str(attempt["id"]),
        "record_id": str(row["id"]),
        "workflow_id": str(workflow_id),
        "workflow_key": key,
        "list_id": None,
        "channel": attempt["channel"],
        "to": attempt["to_address"],
        "from": attempt["from_address"],
        "phone_type": attempt["phone_type"],
        "provider": attempt["provider"],
        "provider_call_id": attempt["provider_call_id"],
        "status": attempt["status"],
        "end_reason": attempt["end_reason"],
        "answered": attempt["answered"],
        "duration": attempt["duration_seconds"],
        "call_direction": "outbound",
        "failure_reason": attempt["error"],
        "message_left": attempt["message_left"],
        # The contract's text form: one "Agent: …" / "Contact: …" line per turn.
        "transcript": "\n".join(
            f"{_SPEAKERS[turn['role']]}: {turn['content']}" for turn in attempt["transcript"]
        ),
        "recording_url": attempt["recording_url"],
        "collected_fields": attempt["collected_fields"],
        "started_at": attempt["started_at"].isoformat(),
        "ended_at": attempt["ended_at"].isoformat(),
        "day": attempt["day"],
        "call": attempt["call"],
        "workflow_ended": row["workflow_ended"],
        "is_last_attempt": row["workflow_ended"],
        "final_outcome": row["final_outcome"],
        "record": {
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "phone": row["phone"],
            "phones": [
                {"phone_number": p["number"], "phone_type": p["type"]} for p in row["phones"]
            ],
            "email": row["email"],
            "zip": row["zip"],
            "timezone": row["timezone"],
            "timezone_offset": utc_offset(row["timezone"], attempt["ended_at"]),
            "external_id": row["external_id"],
            "case_id": row["case_id"],
            "external_provider": row["external_provider"],
            "external_url": row["external_url"],
            "profile_id": row["profile_id"],
            "transfer_number": row["transfer_number"],
            "priority": row["priority"],
        },
        "placeholders": row["placeholders"],
        "meta": row["meta"],
    }


async def test_a_record_added_by_the_seed_example_is_dialed_and_reported_in_2x_shape(
    tenant: Tenant, db: Database, make_dialer: DialerFactory
) -> None:
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

    data = await call_completed(db, workflow["id"])
    body = post_call_body(data)
    async with db.read() as conn:
        turns = (
            await conn.execute(
                select(attempts.c.transcript).where(attempts.c.id == int(data["call_id"]))
            )
        ).scalar_one()

    assert list(body) == list(SEED_POST_CALL)
    assert body == {
        "id": int(data["call_id"]),
        "call": {
            "end_reason": "call_transferred",
            "telnyx_call_control_id": data["provider_call_id"],
            "answered": True,
            "duration": data["duration"],
            "call_direction": "outbound",
        },
        "question_fields": data["collected_fields"],
        "message_left": "N",
        "record_phone_number": f"+1{DIALABLE['9876543210']}",
        "record_zip_code": "12345",
        "record_first_name": "John",
        "record_last_name": "Doe",
        "record_timezone": data["record"]["timezone_offset"],
        "workflow_key": workflow["key"],
        "workflow_day": 1,
        "workflow_call": 1,
        "workflow_end": True,
        "meta": {"campaign": "fall2024"},
        "transcript": turns,  # the simulator's turns, back from the text form
    }
    assert data["provider_call_id"].startswith("sim-")
    assert data["duration"] > 0
    assert body["record_timezone"] in {"UTC-5", "UTC-4"}  # ZIP 12345: Schenectady, New York
    assert body["transcript"][0] == {
        "role": "Assistant",
        "content": "Hi John, about your blue corolla.",
    }
    assert {turn["role"] for turn in body["transcript"]} == {"Assistant", "User"}
    assert data["record"]["transfer_number"] == f"+1{phone(99)}"
