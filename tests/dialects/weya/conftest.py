"""Weya clients as the vendor's users write them: the key in ``x-api-key`` (or Bearer), the
envelope on every answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from dialflow.db.engine import Database
from tests.conftest import Tenant, workflow_records

__all__ = ["Weya", "batch_records", "expect", "weya"]

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


@dataclass(frozen=True)
class Weya:
    client: httpx.AsyncClient  # no default credentials: each call sends its own
    api_key: str
    workspace_id: int

    async def post(self, path: str, body: Any, *, key: str | None = None) -> httpx.Response:
        return await self.client.post(
            path, json=body, headers={"x-api-key": self.api_key if key is None else key}
        )

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {self.api_key}"}
        )

    async def create_batch(self, **fields: Any) -> str:
        body = {"batchName": "Renewals", "callingNumbers": ["+12125550100"], **fields}
        data = expect(await self.post("/api/call/createBatch", body), 201)
        assert isinstance(data, str)
        return data

    async def add_calls(self, batch_id: str, calls: list[dict[str, Any]]) -> Any:
        response = await self.post(
            "/api/call/addCallsToBatch", {"batchId": batch_id, "call_data": calls}
        )
        return expect(response, 200)

    async def details(self, batch_id: str, **params: Any) -> Any:
        return expect(await self.get(f"/api/call/batch-details/{batch_id}", **params), 200)


def expect(response: httpx.Response, code: int) -> Any:
    """The envelope's ``data``, after checking the envelope and that its code is the HTTP one."""
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"message", "status", "code", "errorMessage", "data"}, body
    assert body["code"] == code
    assert body["status"] is (code in (200, 201))
    assert isinstance(body["message"], str)
    assert body["message"]
    if code >= 400:
        assert body["errorMessage"]
    return body["data"]


async def batch_records(db: Database, batch_id: str) -> dict[str, dict[str, Any]]:
    """The batch's records as stored, by call id, in the order they were created."""
    return {str(row["id"]): row for row in await workflow_records(db, batch_id)}


@pytest.fixture
def weya(tenant: Tenant) -> Weya:
    del tenant.client.headers["Authorization"]
    return Weya(tenant.client, tenant.api_key, tenant.workspace_id)
