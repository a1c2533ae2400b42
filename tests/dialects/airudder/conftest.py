"""Airudder clients as the vendor's users write them: a token from ``/service/cloud/auth``, sent
as ``Authorization: Token …``, and the ``{data, status, code}`` envelope on every answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.dialer.test_engine import ALWAYS_OPEN

__all__ = [
    "ALWAYS_OPEN",
    "Airudder",
    "airudder",
    "expect",
]

#: Headers Airudder's request samples send with every request.
SAMPLE_HEADERS = {"User-Agent": "Airudder", "Content-Type": "application/json"}
END_TIME = "2099-12-31 23:59:59+08:00"
#: A valid Indonesian mobile number (the seed's "+62123456" is too short to be dialable).
CALLEE = "+6281234567890"


def expect(response: httpx.Response, code: int = 200) -> Any:
    """The envelope's ``data``, after checking the envelope and that its code is the HTTP one."""
    assert response.status_code == code, response.text
    body = response.json()
    if code == 200:
        assert set(body) == {"data", "status", "code"}, body
        assert (body["status"], body["code"]) == ("OK", 200)
        return body["data"]
    assert set(body) == {"data", "status", "code", "message"}, body
    assert body["code"] == code
    assert body["data"] is None
    assert body["status"] != "OK"
    assert body["message"]
    return body["message"]


def prefix_of(api_key: str) -> str:
    """The visible prefix of a ``dfk_<prefix>_<secret>`` key: Airudder's APPKey."""
    return "_".join(api_key.split("_")[:2])


@dataclass
class Airudder:
    client: httpx.AsyncClient  # no default credentials: each call sends its own
    api_key: str
    workspace_id: int
    token: str = ""

    @property
    def app_key(self) -> str:
        return prefix_of(self.api_key)

    async def auth(
        self, app_key: str | None = None, app_secret: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            "/service/cloud/auth",
            headers={"User-Agent": "Airudder"},
            json={
                "APPKey": self.app_key if app_key is None else app_key,
                "APPSecret": self.api_key if app_secret is None else app_secret,
            },
        )

    async def login(self) -> str:
        self.token = expect(await self.auth())["token"]
        return self.token

    def _headers(self, token: str | None) -> dict[str, str]:
        return {
            **SAMPLE_HEADERS,
            "Authorization": f"Token {self.token if token is None else token}",
        }

    async def post(self, path: str, body: Any, *, token: str | None = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self._headers(token))

    async def get(self, path: str, *, token: str | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self._headers(token))

    async def native(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.api_key}"}
        )
        assert response.status_code < 300, response.text
        return response.json()

    async def template(self, name: str = "Collection", **definition: Any) -> int:
        """A workflow template: a draft workflow; answers its integer id."""
        definition.setdefault("calling_hours", ALWAYS_OPEN)
        definition.setdefault("timezone", "Asia/Jakarta")
        definition.setdefault("default_region", "ID")
        created = await self.native(
            "POST", "/v1/workflows", {"name": name, "status": "draft", "definition": definition}
        )
        return int(created["id"])

    async def task(self, template_id: int | None = None, **fields: Any) -> str:
        """A workflow task of ``template_id`` (a new default template when None)."""
        body = {
            "workflow_template_id": template_id
            if template_id is not None
            else await self.template(),
            "name": "test-544-0001",
            "end_time": END_TIME,
            **fields,
        }
        data = expect(await self.post("/service/cloud/workflow/createinstance", body))
        workflow_id: str = data["workflow_id"]
        return workflow_id

    async def upload(self, workflow_id: str, details: list[Any]) -> Any:
        body = {"workflow_id": workflow_id, "details": details}
        return expect(await self.post("/service/cloud/workflow/uploaddetails", body))


@pytest.fixture
async def airudder(tenant: Tenant) -> Airudder:
    del tenant.client.headers["Authorization"]
    client = Airudder(tenant.client, tenant.api_key, tenant.workspace_id)
    await client.login()
    return client
