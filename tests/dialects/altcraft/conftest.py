"""An Altcraft client against a fresh workspace, and the engine tests' dialer fixture."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeXml
import httpx
import pytest

from tests.conftest import Tenant, make_workflow

__all__ = ["Altcraft", "altcraft", "xml_root"]


def xml_root(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/xml"), response.text
    return SafeXml.fromstring(response.content)


@dataclass
class Altcraft:
    tenant: Tenant
    workflow: dict[str, Any]

    async def send(
        self,
        method: str,
        body: str | bytes,
        *,
        xml: bool = False,
        bearer: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST ``/api/v1.1/<method>`` as an Altcraft client does: the token in the body
        unless ``bearer``. Altcraft answers HTTP 200 whatever the outcome."""
        request = self.tenant.client.build_request(
            "POST",
            f"/api/v1.1/{method}",
            content=body,
            headers={"Content-Type": "application/xml" if xml else "application/json"}
            | (headers or {}),
        )
        if not bearer:
            del request.headers["Authorization"]
        response = await self.tenant.client.send(request)
        assert response.status_code == 200, response.text
        return response

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A JSON call with the workspace's token; the decoded answer."""
        params.setdefault("token", self.tenant.api_key)
        response = await self.send(method, json.dumps(params))
        assert response.headers["content-type"] == "application/json"
        body: dict[str, Any] = response.json()
        return body

    async def import_batch(self, profiles: list[Any], **params: Any) -> list[dict[str, Any]]:
        """``import_and_start_batch`` into the workflow; its ``result[]``."""
        params.setdefault("workflow_id", self.workflow["id"])
        body = await self.call("workflows/import_and_start_batch", data=profiles, **params)
        assert body["error"] == 0, body
        result: list[dict[str, Any]] = body["result"]
        return result

    async def records(self, workflow: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        key = (workflow or self.workflow)["key"]
        response = await self.tenant.client.get(f"/v1/workflows/{key}/records")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def task(self, task_id: str, *, until_over: bool = True) -> dict[str, Any]:
        """The task's ``data``; by default once it is done or failed."""
        for _ in range(500):
            body = await self.call("tasks/status", task_id=task_id)
            assert body["error"] == 0, body
            data: dict[str, Any] = body["data"]
            if not until_over or data["status"] in ("done", "failed"):
                return data
            await asyncio.sleep(0.01)
        raise AssertionError(f"task {task_id} did not finish: {data}")


@pytest.fixture
async def altcraft(tenant: Tenant) -> Altcraft:
    return Altcraft(tenant, await make_workflow(tenant.client))
