"""import_and_start_batch_task: a task id at once, the import in the background, its status and
result readable, and a task left behind by a dead process run again."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dialects.altcraft import repository, service
from dialflow.dialects.altcraft.profiles import ImportRequest
from dialflow.settings import Settings
from tests.dialects.altcraft.conftest import Altcraft, xml_root
from tests.dialects.altcraft.seed import CUSTOM_JSON, CUSTOM_XML, printed

TASK = "workflows/import_and_start_batch_task"
TASK_ID = re.compile(r"[0-9a-f]{24}")


async def test_a_task_answers_its_id_at_once_and_its_result_later(altcraft: Altcraft) -> None:
    body = printed(CUSTOM_JSON, altcraft.tenant.api_key, altcraft.workflow["id"])
    answer = (await altcraft.send(TASK, body)).json()
    assert list(answer) == ["error", "error_text", "task_id"]
    assert (answer["error"], answer["error_text"]) == (0, "Successful operation")
    assert TASK_ID.fullmatch(answer["task_id"])

    task = await altcraft.task(answer["task_id"])
    assert task["task_id"] == answer["task_id"]
    assert task["status"] == "done"
    assert task["created_at"] <= task["started_at"] <= task["finished_at"]
    records = await altcraft.records()
    assert sorted(item["profile_id"] for item in task["result"]) == sorted(
        r["profile_id"] for r in records
    )
    assert {r["meta"]["CRM_ID"] for r in records} == {"00066", "00076"}


async def test_a_task_in_xml_answers_in_xml(altcraft: Altcraft) -> None:
    body = printed(CUSTOM_XML, altcraft.tenant.api_key, altcraft.workflow["id"])
    root = xml_root(await altcraft.send(TASK, body, xml=True))
    assert [child.tag for child in root] == ["error", "error_text", "task_id"]
    task_id = root.findtext("task_id")
    status = f"<xml><token>{altcraft.tenant.api_key}</token><task_id>{task_id}</task_id></xml>"
    await altcraft.task(task_id)
    read = xml_root(await altcraft.send("tasks/status", status, xml=True))
    assert read.findtext("data/status") == "done"
    assert len(read.findall("data/result")) == 2
    assert TASK_ID.fullmatch(read.findtext("data/result/profile_id"))


async def test_a_task_keeps_per_profile_errors(altcraft: Altcraft) -> None:
    answer = await altcraft.call(
        TASK,
        workflow_id=altcraft.workflow["id"],
        data=[{"data": {"email": "ada@example.com", "phones": "+12125551234"}}, {"data": {}}],
    )
    task = await altcraft.task(answer["task_id"])
    assert task["status"] == "done"
    ok, failed = task["result"]
    assert list(ok) == ["profile_id"]
    assert failed["error"] == 400
    assert failed["error_debug"] == 'the profile has no email to match by (matching "email")'


async def test_a_task_whose_import_fails_says_why(
    altcraft: Altcraft, db: Database, settings: Settings
) -> None:
    stopped = await altcraft.tenant.client.post(f"/v1/workflows/{altcraft.workflow['key']}/stop")
    assert stopped.status_code == 200, stopped.text
    await left_behind(altcraft, db, "closed000000000000000000", status=repository.QUEUED)
    await service.run_import_task(db, settings, "closed000000000000000000")
    task = await altcraft.task("closed000000000000000000")
    assert task["status"] == "failed"
    assert "is stopped and takes no new records" in task["error_debug"]
    assert task["result"] is None


async def test_a_task_is_refused_at_once_for_an_unknown_workflow(altcraft: Altcraft) -> None:
    answer = await altcraft.call(TASK, workflow_id=987654321, data=[{"data": {}}])
    assert answer["error"] == 400
    assert answer["error_debug"] == "workflow 987654321 not found"


async def test_an_unknown_task_is_not_found(altcraft: Altcraft) -> None:
    answer = await altcraft.call("tasks/status", task_id="5f19953a03e4227216278ba4")
    assert answer["error"] == 400
    assert answer["error_debug"] == "task 5f19953a03e4227216278ba4 not found"
    missing = await altcraft.call("tasks/status")
    assert missing["error"] == 400
    assert missing["error_debug"].startswith("task_id: Field required")


async def left_behind(
    altcraft: Altcraft,
    db: Database,
    task_id: str,
    *,
    status: str = repository.RUNNING,
    lease: timedelta | None = None,
) -> None:
    """A task row as a process leaves it: queued, or running under a lease ending after
    ``lease``."""
    request = ImportRequest(
        workflow_id=altcraft.workflow["id"],
        profiles=[{"data": {"email": "ada@example.com", "phones": "+12125551234"}}],
    )
    now = utcnow()
    async with db.write() as conn:
        await repository.insert_task(
            conn,
            {
                "id": task_id,
                "workspace_id": altcraft.tenant.workspace_id,
                "status": status,
                "request": json.loads(request.model_dump_json()),
                "lease_expires_at": None if lease is None else now + lease,
                "created_at": now,
                "started_at": None if lease is None else now,
            },
        )


async def test_a_task_left_running_by_a_dead_process_runs_again(
    altcraft: Altcraft, db: Database, settings: Settings
) -> None:
    await left_behind(altcraft, db, "abandoned000000000000000", lease=timedelta(seconds=-1))
    await left_behind(altcraft, db, "alive0000000000000000000", lease=timedelta(minutes=5))
    resumed = await service.resume_import_tasks(db, settings)
    assert "abandoned000000000000000" in resumed
    assert "alive0000000000000000000" not in resumed
    task = await altcraft.task("abandoned000000000000000")
    assert task["status"] == "done"
    [record] = await altcraft.records()
    assert task["result"] == [{"profile_id": record["profile_id"]}]
    # Another process holds the live one's lease: running it here does nothing.
    await service.run_import_task(db, settings, "alive0000000000000000000")
    alive = await altcraft.task("alive0000000000000000000", until_over=False)
    assert (alive["status"], alive["result"]) == ("running", None)
