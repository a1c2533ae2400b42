"""workflows/list, workflows/activate (with skip_profiles) and workflows/deactivate."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant, make_workflow
from tests.dialects.altcraft.conftest import Altcraft, xml_root

STEPS = [
    {"id": "call-1", "type": "call", "name": "First call"},
    {"id": "pause", "type": "wait", "minutes": 60},
    {"id": "text", "type": "sms", "message": "Hello"},
]


async def status(altcraft: Altcraft) -> str:
    response = await altcraft.tenant.client.get(f"/v1/workflows/{altcraft.workflow['key']}")
    value: str = response.json()["status"]
    return value


async def test_list_pages_the_workflows_as_scenarios(tenant: Tenant) -> None:
    first = await make_workflow(tenant.client, steps=STEPS)
    second = await make_workflow(tenant.client, dedup="none")
    third = await make_workflow(tenant.client)
    altcraft = Altcraft(tenant, first)
    page = await altcraft.call("workflows/list", from_id=first["id"], limit=2)
    assert list(page) == ["error", "error_text", "data", "next_from_id", "total"]
    assert (page["error"], page["error_text"]) == (0, "Successful operation")
    assert page["total"] == 3
    assert [s["id"] for s in page["data"]] == [first["id"], second["id"]]
    assert page["next_from_id"] == second["id"] + 1
    assert page["data"][0] == {
        "id": first["id"],
        "name": "Test workflow",
        "list_id": tenant.workspace_id,
        "is_active": True,
        "ui_tags": [],
        "mode": "skip",
        "groups": [],
        "nodes": [
            {"name": "DEFAULT_START_NODE_TITLE", "type": "start", "node_id": 0},
            {"name": "First call", "type": "campaign", "node_id": 1},
            {"name": "pause", "type": "delay", "node_id": 2},
            {"name": "text", "type": "campaign", "node_id": 3},
        ],
    }
    assert page["data"][1]["mode"] == "parallel"
    last = await altcraft.call("workflows/list", from_id=page["next_from_id"], ui_tags=["B2C"])
    assert [s["id"] for s in last["data"]] == [third["id"]]
    assert last["next_from_id"] is None
    everything = await altcraft.call("workflows/list")
    assert [s["id"] for s in everything["data"]] == [first["id"], second["id"], third["id"]]


async def test_list_in_xml(altcraft: Altcraft) -> None:
    body = (
        f"<xml><token>{altcraft.tenant.api_key}</token><from_id>1</from_id><limit>1</limit>"
        "<ui_tags array='true'>B2C</ui_tags></xml>"
    )
    root = xml_root(await altcraft.send("workflows/list", body, xml=True))
    assert [child.tag for child in root] == ["error", "error_text", "data", "next_from_id", "total"]
    assert root.findtext("data/id") == str(altcraft.workflow["id"])
    assert root.findtext("data/is_active") == "true"
    assert [node.findtext("type") for node in root.findall("data/nodes")] == ["start", "campaign"]
    assert root.findtext("total") == "1"


async def test_invalid_list_parameters_are_error_400(altcraft: Altcraft) -> None:
    answer = await altcraft.call("workflows/list", limit=5000)
    assert answer["error"] == 400
    assert answer["error_debug"].startswith("limit: Input should be less than or equal to 1000")


async def test_deactivate_pauses_and_activate_resumes(altcraft: Altcraft) -> None:
    done = {"error": 0, "error_text": "Successful operation", "data": None}
    assert await altcraft.call("workflows/deactivate", id=altcraft.workflow["id"]) == done
    assert await status(altcraft) == "paused"
    assert await altcraft.call("workflows/activate", id=altcraft.workflow["id"]) == done
    assert await status(altcraft) == "active"


async def test_activate_with_skip_profiles_clears_the_scenario_first(altcraft: Altcraft) -> None:
    profiles = [
        {"data": {"email": f"p{n}@example.com", "phones": f"+1212555{n:04}"}} for n in (1, 2)
    ]
    await altcraft.import_batch(profiles)
    await altcraft.call("workflows/deactivate", id=altcraft.workflow["id"])
    answer = await altcraft.call(
        "workflows/activate", id=altcraft.workflow["id"], skip_profiles=True
    )
    assert answer["error"] == 0
    assert await status(altcraft) == "active"
    records = await altcraft.records()
    assert {(r["status"], r["final_outcome"]) for r in records} == {
        ("cancelled", "workflow_cleared")
    }
    # A profile sent again enters the cleared scenario afresh.
    await altcraft.import_batch(profiles[:1])
    assert sorted(r["status"] for r in await altcraft.records()) == ["cancelled", "pending"]


async def test_activate_refused_clears_nothing(altcraft: Altcraft) -> None:
    await altcraft.import_batch([{"data": {"email": "a@example.com", "phones": "+12125550001"}}])
    answer = await altcraft.call(
        "workflows/activate", id=altcraft.workflow["id"], skip_profiles=True
    )
    assert answer["error"] == 400
    assert answer["error_debug"].startswith("cannot activate a workflow that is active")
    [record] = await altcraft.records()
    assert record["status"] == "pending"


async def test_unknown_or_missing_scenarios_are_error_400(altcraft: Altcraft) -> None:
    unknown = await altcraft.call("workflows/deactivate", id=987654321)
    assert (unknown["error"], unknown["error_debug"]) == (400, "workflow 987654321 not found")
    missing: dict[str, Any] = await altcraft.call("workflows/activate")
    assert missing["error"] == 400
    assert missing["error_debug"].startswith("id: Field required")
