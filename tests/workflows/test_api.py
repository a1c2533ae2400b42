"""Workflows over HTTP: create, read by id or key, list, update, lifecycle."""

from __future__ import annotations

from tests.conftest import Tenant


async def test_create_get_list_update(tenant: Tenant) -> None:
    created = await tenant.client.post(
        "/v1/workflows",
        json={
            "name": "Renewals",
            "key": "ren001",
            "definition": {
                "variables": [{"name": "car_model"}],
                "calling_hours": {"start": "10:00", "end": "18:00", "weekdays": ["mon", "tue"]},
                "timezone": "America/Chicago",
            },
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"] == "REN001"
    assert body["status"] == "draft"
    assert body["allowed_actions"] == ["activate", "stop"]
    by_id = (await tenant.client.get(f"/v1/workflows/{body['id']}")).json()
    by_key = (await tenant.client.get("/v1/workflows/ren001")).json()
    assert by_id == by_key == body

    taken = await tenant.client.post("/v1/workflows", json={"name": "x", "key": "REN001"})
    assert taken.status_code == 409

    patched = await tenant.client.patch(
        f"/v1/workflows/{body['id']}",
        json={"name": "Renewals 2", "definition": {"timezone": "America/Denver"}},
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renewals 2"
    assert patched.json()["definition"]["timezone"] == "America/Denver"

    invalid = await tenant.client.patch(
        f"/v1/workflows/{body['id']}", json={"definition": {"timezone": "Nowhere/Land"}}
    )
    assert invalid.status_code == 400
    assert "timezone" in invalid.json()["error"]["message"]

    pages: list[str] = []
    for _ in range(3):
        await tenant.client.post("/v1/workflows", json={"name": "more"})
    response = (await tenant.client.get("/v1/workflows", params={"limit": 2})).json()
    pages += [w["key"] for w in response["items"]]
    response = (
        await tenant.client.get(
            "/v1/workflows", params={"limit": 2, "cursor": response["next_cursor"]}
        )
    ).json()
    pages += [w["key"] for w in response["items"]]
    assert len(pages) == len(set(pages)) == 4
    drafts = (await tenant.client.get("/v1/workflows", params={"status": "active"})).json()
    assert drafts["items"] == []


async def test_lifecycle(tenant: Tenant) -> None:
    key = (await tenant.client.post("/v1/workflows", json={"name": "L"})).json()["key"]

    async def act(action: str) -> tuple[int, dict[str, object]]:
        response = await tenant.client.post(f"/v1/workflows/{key}/{action}")
        return response.status_code, response.json()

    assert (await act("pause"))[0] == 409
    for action, status in [
        ("activate", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("stop", "stopped"),
    ]:
        code, body = await act(action)
        assert code == 200, body
        assert body["status"] == status
    code, body = await act("activate")
    assert code == 409
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "illegal_transition"
    frozen = await tenant.client.patch(f"/v1/workflows/{key}", json={"name": "again"})
    assert frozen.status_code == 409


async def test_oversized_workflow_body_is_413(tenant: Tenant, settings: object) -> None:
    huge = {
        "name": "x",
        "definition": {"steps": [{"id": "a", "type": "call"}]},
        "pad": "x" * 11_000_000,
    }
    response = await tenant.client.post("/v1/workflows", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
