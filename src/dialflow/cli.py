"""The ``dialflow`` command: serve, db, workspace and key management."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from dialflow.db import migrate
from dialflow.db.engine import Database, sync_url
from dialflow.domain.workflows import WorkflowStatus
from dialflow.errors import ApiError
from dialflow.settings import Settings
from dialflow.workflows.definition import WorkflowCreate, WorkflowDefinition
from dialflow.workflows.service import create_workflow
from dialflow.workspaces import service as workspaces

T = TypeVar("T")
app = typer.Typer(help="dialflow: outbound calling workflows.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
key_app = typer.Typer(help="API keys of a workspace.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
console = Console()

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="DIALFLOW_DATABASE_URL", help="Database URL."),
]


# Every day within the legal hours, so a first record is dialed soon on most days and times.
DEMO_DEFINITION = {
    "calling_hours": {
        "start": "08:00",
        "end": "21:00",
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    },
    "steps": [
        {
            "id": "call-1",
            "type": "call",
            "script": "Hi {{ first_name | default('there') }}, this is a demo call from dialflow.",
        }
    ],
}


def _settings(database_url: str | None) -> Settings:
    settings = Settings()
    if database_url:
        settings.database_url = database_url
    return settings


def _run(database_url: str | None, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(_settings(database_url).database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOption = None) -> None:
    """Apply every pending migration."""
    url = _settings(database_url).database_url
    migrate.upgrade(url)
    console.print(f"database at revision {migrate.current_revision(url)}")


@workspace_app.command("create")
def workspace_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create a workspace and print its first API key (shown once)."""
    created = _run(database_url, lambda db: workspaces.create_workspace(db, name))
    if as_json:
        print(json.dumps({"workspace_id": created.workspace_id, "api_key": created.api_key}))
    else:
        console.print(f"workspace {created.workspace_id} created; API key (shown once):")
        print(created.api_key)


@key_app.command("create")
def key_create(
    workspace: Annotated[int, typer.Option(help="Workspace id.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create another API key for a workspace (shown once)."""
    key = _run(database_url, lambda db: workspaces.create_key(db, workspace, name))
    print(json.dumps({"workspace_id": workspace, "api_key": key}) if as_json else key)


@key_app.command("list")
def key_list(
    workspace: Annotated[int, typer.Option(help="Workspace id.")],
    database_url: DatabaseOption = None,
) -> None:
    """List a workspace's keys by prefix (the secret part is never shown again)."""
    keys = _run(database_url, lambda db: workspaces.list_keys(db, workspace))
    table = Table("prefix", "name", "created", "revoked")
    for key in keys:
        table.add_row(
            key.prefix,
            key.name,
            key.created_at.isoformat(timespec="seconds"),
            "" if key.revoked_at is None else key.revoked_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@key_app.command("revoke")
def key_revoke(prefix: str, database_url: DatabaseOption = None) -> None:
    """Revoke a key by its prefix; requests with it get 401 from now on."""
    _run(database_url, lambda db: workspaces.revoke_key(db, prefix))
    console.print(f"revoked {prefix}")


async def _first_start(db: Database, base_url: str) -> None:
    """On an empty database: a default workspace, a demo workflow, and how to use them."""
    if await workspaces.has_any_workspace(db):
        return
    created = await workspaces.create_workspace(db, "default")
    workflow = await create_workflow(
        db,
        created.workspace_id,
        WorkflowCreate(
            name="Demo workflow",
            status=WorkflowStatus.ACTIVE,
            definition=WorkflowDefinition.model_validate(DEMO_DEFINITION),
        ),
    )
    console.print("\n[bold]First start:[/bold] created workspace 'default' and workflow ")
    console.print(f"'Demo workflow' (key {workflow.key}). Your API key, shown only this once:\n")
    print(f"    {created.api_key}\n")
    console.print("Add a record:\n")
    print(
        f"    curl -X POST {base_url}/v1/workflows/{workflow.key}/records \\\n"
        f"      -H 'Authorization: Bearer {created.api_key}' \\\n"
        "      -H 'Content-Type: application/json' \\\n"
        """      -d '{"phone": "2125551234", "first_name": "Ada", "last_name": "Lovelace"}'\n"""
    )
    console.print(
        "The simulator dials it within its local calling hours (08:00-21:00, every day); "
        "follow it at /v1/records/<record_id>.\n"
    )


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every webhook delivery with its full URL (which may carry a token).
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(envvar="DIALFLOW_HOST")] = None,
    port: Annotated[int | None, typer.Option(envvar="DIALFLOW_PORT")] = None,
    database_url: DatabaseOption = None,
    workers: Annotated[
        int,
        typer.Option(
            envvar="DIALFLOW_WORKERS",
            min=1,
            help="Server processes. More than one spreads request parsing and validation over "
            "cores; each also runs the engine, which is safe on PostgreSQL (SQLite serialises "
            "writers across processes, so extra processes help it less).",
        ),
    ] = 1,
) -> None:
    """Run the API (SQLite databases are migrated on start)."""
    from dialflow.app import create_app  # noqa: PLC0415 - keep CLI start-up light

    _configure_logging()
    settings = _settings(database_url)
    if host:
        settings.host = host
    if port:
        settings.port = port
    url = settings.database_url
    if sync_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)
    elif migrate.current_revision(url) is None:
        console.print("[red]the database has no schema: run 'dialflow db upgrade' first[/red]")
        raise typer.Exit(1)
    base_url = f"http://{settings.host}:{settings.port}"
    _run(url, lambda db: _first_start(db, base_url))
    console.print(f"dialflow on {base_url}  (API docs: {base_url}/docs, database: {url})")
    if workers == 1:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )
        return
    # Worker processes build their own app from the environment: hand them these settings.
    os.environ.update(
        DIALFLOW_DATABASE_URL=url,
        DIALFLOW_HOST=settings.host,
        DIALFLOW_PORT=str(settings.port),
        DIALFLOW_WORKERS=str(workers),
    )
    uvicorn.run(
        "dialflow.app:create_app_from_env",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )


@app.command()
def worker(database_url: DatabaseOption = None) -> None:
    """Run only the engine (scheduler and executor); start any number, on any machine,
    against the same PostgreSQL. SIGTERM stops it gracefully."""
    from dialflow.runtime import run_worker  # noqa: PLC0415 - keep CLI start-up light

    _configure_logging()
    settings = _settings(database_url)
    if migrate.current_revision(settings.database_url) is None:
        console.print("[red]the database has no schema: run 'dialflow db upgrade' first[/red]")
        raise typer.Exit(1)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run_worker(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (as ``serve`` runs under uvicorn): its event loop costs
    the worker's many small tasks and socket reads less CPU than asyncio's own."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        return None
    return uvloop.new_event_loop


def main() -> None:
    app()
