"""Builds the ASGI application: the native /v1 API and its OpenAPI docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from dialflow import __version__
from dialflow.calls.api import router as calls_router
from dialflow.db.engine import Database
from dialflow.dialects import body_limit_refusals, dialect_routers, resume_dialect_work
from dialflow.dnc.api import router as dnc_router
from dialflow.http import BodyLimitMiddleware, install_error_handlers
from dialflow.intake.validate import warm_caches
from dialflow.lists.api import router as lists_router
from dialflow.records.api import router as records_router
from dialflow.runtime import build_deliverer, build_dialer, build_registry, tune_gc
from dialflow.settings import Settings
from dialflow.webhooks.api import router as webhooks_router
from dialflow.workflows.api import router as workflows_router

# A body this large is bulk intake (some 350 native records or more): with several server
# processes its connection is closed after the answer (``BodyLimitMiddleware``).
HEAVY_REQUEST_BYTES = 64 * 1024

DESCRIPTION = """
dialflow reaches contact records through outbound calling workflows.

**Authentication.** Send your API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.
A key reaches only its own workspace; anything else answers 404 as if it did not exist.

**Errors.** Every error is JSON: `{"error": {"code": "...", "message": "..."}}`, with a stable
`code`. Bulk intake answers per record: `index`, `status`, `record_id`, `errors[{code, field,
message}]`.
"""


class Health(BaseModel):
    status: str
    version: str
    database: str


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    owns_db = db is None
    database = db if db is not None else Database(settings.database_url)

    registry = build_registry(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        warm_caches()
        tune_gc()
        dialer = build_dialer(database, settings, registry) if settings.dialer else None
        deliverer = build_deliverer(database, settings) if settings.dialer else None
        if dialer is not None and deliverer is not None:
            await dialer.start()
            await deliverer.start()
            await resume_dialect_work(database, settings)
        yield
        if dialer is not None and deliverer is not None:
            await dialer.stop()
            await deliverer.stop()
        if owns_db:
            await database.dispose()

    app = FastAPI(
        title="dialflow",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "workflows", "description": "Workflows: definition and lifecycle."},
            {"name": "records", "description": "Add records (one or bulk), read and act on them."},
            {"name": "lists", "description": "The records added together, with counts."},
            {"name": "do-not-call", "description": "Numbers that are never dialed."},
            {"name": "calls", "description": "Call attempts and their recordings."},
            {
                "name": "webhooks",
                "description": "Signed, retried event deliveries: endpoints, events, replays.",
            },
            {"name": "2x", "description": "The 2X / NCOL API, verbatim (docs/dialects.md)."},
            {"name": "weya", "description": "The Weya batch-calling API, verbatim."},
            {"name": "altcraft", "description": "Altcraft's workflow import API (JSON and XML)."},
            {"name": "airudder", "description": "AIRUDDER's workflow task API, verbatim."},
            {"name": "talkdesk", "description": "Talkdesk's Campaign Management API, verbatim."},
        ],
    )
    app.state.db = database
    app.state.settings = settings
    app.state.registry = registry
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        refusals=body_limit_refusals(),
        close_after=HEAVY_REQUEST_BYTES if settings.workers > 1 else None,
    )

    @app.get("/health", tags=["health"], summary="Liveness and database kind")
    async def health() -> Health:
        return Health(status="ok", version=__version__, database=database.dialect)

    app.include_router(workflows_router)
    app.include_router(records_router)
    app.include_router(lists_router)
    app.include_router(dnc_router)
    app.include_router(calls_router)
    app.include_router(webhooks_router)
    for router in dialect_routers():
        app.include_router(router)
    return app


def create_app_from_env() -> FastAPI:
    """The app of one process of ``dialflow serve --workers N``: settings from DIALFLOW_*."""
    return create_app(Settings())
