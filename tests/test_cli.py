"""The ``dialflow`` command: workspaces, keys, migrations and a real ``serve`` smoke test."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from dialflow import cli
from dialflow.db import migrate
from dialflow.db.engine import Database
from dialflow.errors import Unauthorized
from dialflow.workspaces.service import authenticate

DIALFLOW = Path(sys.executable).with_name("dialflow")
KEY = re.compile(r"dfk_[a-z0-9]{8}_[A-Za-z0-9_-]+")
STARTUP_TIMEOUT_S = 20.0


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


async def run_cli(*args: str) -> Result:
    """The CLI in a worker thread: it runs its own event loop with ``asyncio.run``."""
    return await asyncio.to_thread(invoke, *args)


def prefix_of(api_key: str) -> str:
    """``dfk_<prefix>_<secret>``; the secret itself may contain underscores."""
    scheme, prefix, _secret = api_key.split("_", 2)
    return f"{scheme}_{prefix}"


def secret_of(api_key: str) -> str:
    return api_key.split("_", 2)[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALFLOW_")}
    env.update(PYTHONUNBUFFERED="1", COLUMNS="200", **extra)
    return env


async def _exercise_workspaces_and_keys(url: str) -> None:
    """workspace create, key create / list / revoke, checked against ``authenticate``."""
    created = await run_cli("workspace", "create", "Acme", "--json", "--database-url", url)
    assert created.exit_code == 0, created.output
    lines = created.stdout.strip().splitlines()
    assert len(lines) == 1, created.stdout
    payload = json.loads(lines[0])
    assert set(payload) == {"workspace_id", "api_key"}
    workspace_id = payload["workspace_id"]
    first_key = payload["api_key"]
    assert type(workspace_id) is int
    assert isinstance(first_key, str)
    assert KEY.fullmatch(first_key)

    second = await run_cli(
        "key", "create", "--workspace", str(workspace_id), "--name", "ci", "--json",
        "--database-url", url,
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    second_payload = json.loads(second.stdout)
    assert second_payload["workspace_id"] == workspace_id
    second_key = second_payload["api_key"]

    third = await run_cli("key", "create", "--workspace", str(workspace_id), "--database-url", url)
    assert third.exit_code == 0, third.output
    third_key = third.stdout.strip()
    assert KEY.fullmatch(third_key), third.stdout
    assert len({first_key, second_key, third_key}) == 3

    db = Database(url)
    try:
        for key in (first_key, second_key, third_key):
            assert await authenticate(db, key) == workspace_id

        listed = await run_cli(
            "key", "list", "--workspace", str(workspace_id), "--database-url", url
        )
        assert listed.exit_code == 0, listed.output
        for key in (first_key, second_key, third_key):
            assert prefix_of(key) in listed.stdout
            assert key not in listed.stdout
            assert secret_of(key) not in listed.stdout
        assert "default" in listed.stdout
        assert "ci" in listed.stdout

        revoked = await run_cli("key", "revoke", prefix_of(second_key), "--database-url", url)
        assert revoked.exit_code == 0, revoked.output
        assert prefix_of(second_key) in revoked.stdout
        with pytest.raises(Unauthorized) as excinfo:
            await authenticate(db, second_key)
        assert excinfo.value.code == "invalid_api_key"
        # the workspace's other keys still work
        assert await authenticate(db, first_key) == workspace_id
        assert await authenticate(db, third_key) == workspace_id

        # the listing now shows when the revoked key was revoked, and only for that key
        after = await run_cli(
            "key", "list", "--workspace", str(workspace_id), "--database-url", url
        )
        rows = {
            line.split()[1]: line
            for line in after.stdout.splitlines()
            if "dfk_" in line and len(line.split()) > 1
        }
        assert set(rows) == {prefix_of(k) for k in (first_key, second_key, third_key)}
        assert len(re.findall(r"\d{4}-\d\d-\d\dT", rows[prefix_of(second_key)])) == 2
        assert len(re.findall(r"\d{4}-\d\d-\d\dT", rows[prefix_of(first_key)])) == 1
    finally:
        await db.dispose()

    # revoking again, or naming an unknown workspace, is a clear error with exit code 1
    again = await run_cli("key", "revoke", prefix_of(second_key), "--database-url", url)
    assert again.exit_code == 1
    assert "no active key" in again.output
    missing = await run_cli("key", "list", "--workspace", "987654321", "--database-url", url)
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    missing = await run_cli("key", "create", "--workspace", "987654321", "--database-url", url)
    assert missing.exit_code == 1
    assert "does not exist" in missing.output


async def test_workspaces_and_keys_on_a_fresh_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgraded = await run_cli("db", "upgrade", "--database-url", url)
    assert upgraded.exit_code == 0, upgraded.output
    assert "revision" in upgraded.stdout
    assert migrate.current_revision(url) is not None
    await _exercise_workspaces_and_keys(url)


async def test_workspaces_and_keys_on_each_database(database_url: str) -> None:
    """The same commands against the suite's SQLite and PostgreSQL databases."""
    upgraded = await run_cli("db", "upgrade", "--database-url", database_url)
    assert upgraded.exit_code == 0, upgraded.output  # already migrated: a no-op
    await _exercise_workspaces_and_keys(database_url)


async def test_workspace_create_without_json_prints_the_key(database_url: str) -> None:
    created = await run_cli("workspace", "create", "Plain", "--database-url", database_url)
    assert created.exit_code == 0, created.output
    keys = KEY.findall(created.stdout)
    assert len(keys) == 1, created.stdout
    assert "shown once" in created.stdout
    db = Database(database_url)
    try:
        workspace_id = await authenticate(db, keys[0])
    finally:
        await db.dispose()
    assert f"workspace {workspace_id} created" in created.stdout


async def test_console_script_workspace_create_json(tmp_path: Path) -> None:
    """The installed ``dialflow`` script prints exactly one JSON object and nothing else."""
    url = f"sqlite:///{tmp_path / 'script.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DIALFLOW), *args, "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
            check=False,
        )

    upgraded = await asyncio.to_thread(run, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    created = await asyncio.to_thread(run, "workspace", "create", "Script", "--json")
    assert created.returncode == 0, created.stderr
    payload = json.loads(created.stdout)  # the whole of stdout is one JSON document
    assert isinstance(payload, dict)
    assert set(payload) == {"workspace_id", "api_key"}
    assert type(payload["workspace_id"]) is int
    assert isinstance(payload["api_key"], str)
    db = Database(url)
    try:
        assert await authenticate(db, payload["api_key"]) == payload["workspace_id"]
    finally:
        await db.dispose()


# --- serve --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(database_url: str, log: Path, started: list[Server], *options: str) -> Server:
    """Start ``dialflow serve`` (recorded in ``started`` to be stopped) and wait for /health."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(DIALFLOW), "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=clean_env(DIALFLOW_DATABASE_URL=database_url),
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    started.append(server)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dialflow serve exited with {process.returncode}:\n{server.output}")
        try:
            health = httpx.get(f"{server.base_url}/health", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        assert health.json()["database"] == "sqlite"
        return server
    pytest.fail(f"dialflow serve did not answer /health in {STARTUP_TIMEOUT_S}s:\n{server.output}")


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts is stopped, whatever happens."""
    started: list[Server] = []
    yield started
    for server in started:
        stop_server(server)


def test_serve_first_start_prints_a_working_key_and_curl_command(
    tmp_path: Path, servers: list[Server]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'serve.db'}"
    first = start_server(database_url, tmp_path / "first.log", servers)
    output = first.output

    # the key is printed once, on a line of its own, and it is the only key printed
    key_lines = re.findall(rf"^\s+({KEY.pattern})\s*$", output, flags=re.MULTILINE)
    assert len(key_lines) == 1, output
    api_key = key_lines[0]
    assert set(KEY.findall(output)) == {api_key}, output

    # the curl command points at this server and carries the key
    curl = re.search(r"curl -X POST (\S+)/v1/workflows/([A-Z0-9]{6})/records", output)
    assert curl is not None, output
    assert curl.group(1) == first.base_url
    workflow_key = curl.group(2)
    assert f"Authorization: Bearer {api_key}" in output
    data = re.search(r"-d '(\{.*\})'", output)
    assert data is not None, output
    record = json.loads(data.group(1))

    # and running that request works
    response = httpx.post(
        f"{first.base_url}/v1/workflows/{workflow_key}/records",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        content=json.dumps(record),
        timeout=10.0,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "accepted"
    record_id = response.json()["record_id"]

    stop_server(first)
    assert first.process.returncode is not None

    # a second start on the same database creates nothing and prints no key
    second = start_server(database_url, tmp_path / "second.log", servers)
    again = second.output
    assert KEY.search(again) is None, again
    assert "First start" not in again
    assert "curl" not in again
    assert second.base_url in again

    # the first key still works there and the record is still there
    headers = {"x-api-key": api_key}
    workflows = httpx.get(f"{second.base_url}/v1/workflows", headers=headers, timeout=10.0)
    assert workflows.status_code == 200, workflows.text
    assert [w["key"] for w in workflows.json()["items"]] == [workflow_key]
    fetched = httpx.get(f"{second.base_url}/v1/records/{record_id}", headers=headers, timeout=10.0)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["phone"] == "+12125551234"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_several_worker_processes(tmp_path: Path, servers: list[Server]) -> None:
    database_url = f"sqlite:///{tmp_path / 'workers.db'}"
    server = start_server(database_url, tmp_path / "workers.log", servers, "--workers", "2")
    api_key = re.findall(rf"^\s+({KEY.pattern})\s*$", server.output, flags=re.MULTILINE)[0]
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while len(_children(server.process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_children(server.process.pid)) >= 2, server.output
    headers = {"Authorization": f"Bearer {api_key}"}
    # New connections land on either process; every one answers from the same database.
    for _ in range(6):
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10.0) as client:
            listed = client.get("/v1/workflows")
            assert listed.status_code == 200, listed.text
            assert len(listed.json()["items"]) == 1
