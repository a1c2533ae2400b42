"""Property: across a simulated year in every US time zone, the engine never starts an attempt
outside the record's calling window, and defers every shut-window record to the next opening."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from dialflow.db.engine import Database
from dialflow.db.tables import attempts, records
from dialflow.dialer.engine import Dialer, DialerConfig
from dialflow.domain.windows import CallingWindow, is_open, next_opening
from dialflow.intake.service import ingest
from dialflow.providers import default_registry
from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition
from dialflow.workflows.service import create_workflow
from dialflow.workspaces.service import create_workspace
from tests.dialer.test_engine import always
from tests.intake.test_bulk import phone

US_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Indiana/Indianapolis",
    "America/Indiana/Knox",
    "America/Indiana/Tell_City",
    "America/Detroit",
    "America/Boise",
    "America/Puerto_Rico",
    "America/Adak",
]
DST_DAYS = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

instants = st.one_of(
    st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2026, 12, 31),
        timezones=st.just(UTC),
    ),
    st.builds(
        lambda day, minutes: day + timedelta(minutes=minutes),
        st.sampled_from(DST_DAYS),
        st.integers(min_value=0, max_value=48 * 60),
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    zone=st.sampled_from(US_ZONES),
    at=instants,
    start_hour=st.integers(min_value=8, max_value=20),
    hours=st.integers(min_value=1, max_value=13),
    weekdays=st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
)
async def test_engine_dials_only_inside_the_window(
    db: Database, zone: str, at: datetime, start_hour: int, hours: int, weekdays: list[str]
) -> None:
    hours_def = {
        "start": f"{start_hour:02d}:00",
        "end": f"{min(start_hour + hours, 23):02d}:00",
        "weekdays": weekdays,
    }
    workspace = await create_workspace(db, "windows")
    definition = (
        WorkflowDefinition.model_validate({"calling_hours": hours_def, "timezone": zone})
        if start_hour >= 8 and start_hour + hours <= 21
        else WorkflowDefinition.model_validate(
            {
                "calling_hours": {
                    **hours_def,
                    "allow_outside_legal_hours": False,
                    "start": "08:00",
                    "end": "21:00",
                },
                "timezone": zone,
            }
        )
    )
    workflow = await create_workflow(
        db, workspace.workspace_id, WorkflowCreate(name="w", status="active", definition=definition)
    )
    await ingest(
        db,
        workspace_id=workspace.workspace_id,
        workflow_ref=workflow.id,
        records=[{"phone": phone(1), "timezone": zone}],
        max_records=1,
        create_list=False,
    )
    async with db.write() as conn:  # make the record due at the simulated instant
        await conn.execute(
            update(records)
            .where(records.c.workflow_id == workflow.id)
            .values(next_due_at=at - timedelta(seconds=1))
        )
    dialer = Dialer(
        db,
        default_registry(always("call_transferred")),
        DialerConfig(workspaces=frozenset({workspace.workspace_id})),
        clock=lambda: at,
    )
    await dialer.run_once()
    await dialer.settle()
    window: CallingWindow = definition.calling_hours.window()
    async with db.read() as conn:
        started = (
            (
                await conn.execute(
                    select(attempts.c.created_at).where(attempts.c.workflow_id == workflow.id)
                )
            )
            .scalars()
            .all()
        )
        record = (
            (await conn.execute(select(records).where(records.c.workflow_id == workflow.id)))
            .mappings()
            .one()
        )
    if started:
        assert started == [at]
        assert is_open(window, [zone], at), (zone, at)
    else:
        assert not is_open(window, [zone], at)
        assert record["status"] == "pending"
        assert record["next_due_at"] == next_opening(window, [zone], at)
        local = record["next_due_at"].astimezone(ZoneInfo(zone))
        assert time(8) <= local.time() < time(21)
