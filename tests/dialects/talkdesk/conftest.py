"""Helpers for the Talkdesk dialect tests: record lists, campaigns, records, a dialing clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from dialflow.app import create_app
from dialflow.db.engine import Database
from dialflow.db.tables import talkdesk_record_lists
from dialflow.settings import Settings
from dialflow.workspaces.service import create_workspace
from tests.intake.test_bulk import phone

__all__ = [
    "FixedClock",
    "add",
    "anonymous",
    "list_workflow",
    "make_campaign",
    "make_list",
    "noon_in_new_york",
    "other_key",
    "record",
    "running_list",
    "set_status",
]

EVERY_DAY = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
NEW_YORK = ZoneInfo("America/New_York")


def record(n: int, **fields: Any) -> dict[str, Any]:
    """A valid Talkdesk record with its own US mobile number."""
    return {
        "phone_numbers": [{"phone_number": f"+1{phone(n)}", "phone_type": "MOBILE"}],
        "first_name": "Ada",
        "last_name": "Lovelace",
        "timezone": "America/New_York",
        **fields,
    }


async def make_list(client: httpx.AsyncClient, identifier: str = "PHONE_NUMBER") -> str:
    response = await client.post(
        "/record-lists", json={"name": "Leads", "unique_identifier_type": identifier}
    )
    assert response.status_code == 201, response.text
    list_id: str = response.json()["id"]
    return list_id


async def add(client: httpx.AsyncClient, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/record-lists/{list_id}/records", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def make_campaign(client: httpx.AsyncClient, **strategy: Any) -> str:
    response = await client.post(
        "/campaigns",
        json={
            "name": "Renewals",
            "dialing_strategy": {
                "calling_hours": [{"from": "09:00:00", "to": "20:00:00", "week_days": EVERY_DAY}],
                **strategy,
            },
        },
    )
    assert response.status_code == 201, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


async def set_status(client: httpx.AsyncClient, campaign_id: str, status: str) -> dict[str, Any]:
    """Talkdesk's own example shape: one operation, upper-case op, path without a slash."""
    response = await client.patch(
        f"/campaigns/{campaign_id}", json={"op": "REPLACE", "path": "status", "value": status}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def running_list(client: httpx.AsyncClient, identifier: str = "PHONE_NUMBER") -> str:
    """A record list attached to a RUNNING campaign that calls 09:00-20:00 every day."""
    list_id = await make_list(client, identifier)
    campaign_id = await make_campaign(client)
    attached = await client.put(f"/campaigns/{campaign_id}/record-lists/{list_id}")
    assert attached.status_code == 200, attached.text
    await set_status(client, campaign_id, "RUNNING")
    return list_id


async def list_workflow(db: Database, list_id: str) -> int:
    async with db.read() as conn:
        result = await conn.execute(
            select(talkdesk_record_lists.c.workflow_id).where(
                talkdesk_record_lists.c.id == int(list_id)
            )
        )
        return int(result.scalar_one())


def noon_in_new_york(days: int = 1) -> datetime:
    """Noon in New York ``days`` from today: inside the calling hours, after intake time."""
    local = datetime.now(NEW_YORK) + timedelta(days=days)
    return local.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def anonymous(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no API key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, db)),
        base_url="http://dialflow.test",
    ) as client:
        yield client


@pytest.fixture
async def other_key(db: Database) -> str:
    """The key of another workspace than the tenant's."""
    return (await create_workspace(db, "other")).api_key
