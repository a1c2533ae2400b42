"""HTTP routes of the Altcraft dialect: ``POST /api/v1.1/...`` in JSON or XML.

Each route reads the body once, authenticates the ``token`` (in the body, the query string or
as ``Authorization: Bearer``; it is a dialflow API key), calls one operation and answers in the
request's format with Altcraft's envelope, HTTP 200 and ``error`` 0 on success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, ValidationError

from dialflow.db.engine import Database
from dialflow.dialects.altcraft import scenarios, service
from dialflow.dialects.altcraft.codec import (
    Format,
    decode,
    failure,
    ok,
    read_altcraft_body,
    render,
    request_format,
)
from dialflow.dialects.altcraft.profiles import ImportRequest, parse_import, validation_message
from dialflow.errors import ApiError, BadRequest, Unauthorized
from dialflow.http import DbDep, SettingsDep, presented_key
from dialflow.workspaces.service import authenticate

router = APIRouter(tags=["altcraft"], include_in_schema=True)

PREFIX = "/api/v1.1"
_FORMATS = (
    "Send JSON or XML (`Content-Type: application/xml`, root `<xml>`); the answer comes in the "
    "same format, always HTTP 200 with `error` 0 on success or Altcraft's error code and "
    "`error_text`/`error_debug`."
)

ModelT = TypeVar("ModelT", bound=BaseModel)
Operation = Callable[[int, dict[str, Any], Format], Awaitable[Mapping[str, object]]]


async def _workspace(db: Database, request: Request, params: Mapping[str, Any]) -> int:
    token = params.get("token") or request.query_params.get("token") or presented_key(request)
    if not token:
        raise Unauthorized('"token" is required: send it in the body or as "Authorization: Bearer"')
    return await authenticate(db, str(token))


async def _serve(request: Request, db: Database, operation: Operation) -> Response:
    fmt = request_format(request.headers)
    try:
        body = await read_altcraft_body(request)
        fmt = request_format(request.headers, body)
        params = decode(body, fmt)
        workspace_id = await _workspace(db, request, params)
        content = await operation(workspace_id, params, fmt)
    except ApiError as exc:
        return failure(exc, fmt)
    return render(content, fmt)


def _parse(model: type[ModelT], params: Mapping[str, Any]) -> ModelT:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None


async def _switch(
    request: Request,
    db: Database,
    switch: Callable[[Database, int, scenarios.ScenarioParams], Awaitable[None]],
) -> Response:
    """Serve a scenario's activation or deactivation (``id``), answering ``data: null``."""

    async def run(workspace_id: int, params: dict[str, Any], _fmt: Format) -> Mapping[str, object]:
        await switch(db, workspace_id, _parse(scenarios.ScenarioParams, params))
        return ok(data=None)

    return await _serve(request, db, run)


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task_id: str


@router.post(
    f"{PREFIX}/workflows/import_and_start_batch",
    summary="Altcraft: import profiles and engage them in a scenario",
    description="`workflow_id`, `matching` (email, email_profile, phone, profile_id, custom "
    "with `field_name`), `data[]` of profiles, `content`. Answers `result[]` in order: "
    "`{profile_id}` or a per-profile `{error, error_text, error_debug}`. " + _FORMATS,
)
async def import_and_start_batch(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    async def run(workspace_id: int, params: dict[str, Any], fmt: Format) -> Mapping[str, object]:
        imported = parse_import(params, batch=True, xml=fmt is Format.XML)
        return ok(result=await service.import_profiles(db, settings, workspace_id, imported))

    return await _serve(request, db, run)


@router.post(
    f"{PREFIX}/workflows/import_and_start",
    summary="Altcraft: import one profile and engage it in a scenario",
    description="As the batch, for one profile given in `data` with its match value beside "
    "it (`email`, `phone`, `profile_id` or `field_value`). Answers `profile_id`. " + _FORMATS,
)
async def import_and_start(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    async def run(workspace_id: int, params: dict[str, Any], fmt: Format) -> Mapping[str, object]:
        imported = parse_import(params, batch=False, xml=fmt is Format.XML)
        [result] = await service.import_profiles(db, settings, workspace_id, imported)
        return ok(**result) if "profile_id" in result else result

    return await _serve(request, db, run)


@router.post(
    f"{PREFIX}/workflows/import_and_start_batch_task",
    summary="Altcraft: the batch import as a background task",
    description="Takes the batch's parameters and answers `task_id` at once; read the task "
    f"with `{PREFIX}/tasks/status`. " + _FORMATS,
)
async def import_and_start_batch_task(
    request: Request, db: DbDep, settings: SettingsDep
) -> Response:
    async def run(workspace_id: int, params: dict[str, Any], fmt: Format) -> Mapping[str, object]:
        imported: ImportRequest = parse_import(params, batch=True, xml=fmt is Format.XML)
        return ok(task_id=await service.start_import_task(db, settings, workspace_id, imported))

    return await _serve(request, db, run)


@router.post(
    f"{PREFIX}/tasks/status",
    summary="Altcraft: read an import task",
    description="`task_id` as `import_and_start_batch_task` answered it. `data.status` is "
    "queued, running, done or failed; `data.result` is the batch's `result[]` once done, "
    "`data.error_debug` says why it failed. (dialflow's addition: Altcraft documents no such "
    "call.) " + _FORMATS,
)
async def task_status(request: Request, db: DbDep) -> Response:
    async def run(workspace_id: int, params: dict[str, Any], _fmt: Format) -> Mapping[str, object]:
        task = _parse(TaskParams, params)
        return ok(data=await service.get_task(db, workspace_id, task.task_id))

    return await _serve(request, db, run)


@router.post(
    f"{PREFIX}/workflows/list",
    summary="Altcraft: list scenarios",
    description="`from_id` (default 1) and `limit` (default and at most 1000). Answers "
    "`data[{id, name, list_id, is_active, ui_tags, mode, groups, nodes}]`, `next_from_id`, "
    "`total`. " + _FORMATS,
)
async def list_scenarios(request: Request, db: DbDep) -> Response:
    async def run(workspace_id: int, params: dict[str, Any], _fmt: Format) -> Mapping[str, object]:
        page = _parse(scenarios.ListParams, params)
        return ok(**await scenarios.list_scenarios(db, workspace_id, page))

    return await _serve(request, db, run)


@router.post(
    f"{PREFIX}/workflows/activate",
    summary="Altcraft: activate a scenario",
    description="`id`; `skip_profiles: true` clears the scenario first (its unfinished "
    "records are cancelled). " + _FORMATS,
)
async def activate(request: Request, db: DbDep) -> Response:
    return await _switch(request, db, scenarios.activate)


@router.post(
    f"{PREFIX}/workflows/deactivate",
    summary="Altcraft: deactivate a scenario",
    description="`id`. The workflow pauses: calls in flight finish, its records wait for "
    "the next activation. " + _FORMATS,
)
async def deactivate(request: Request, db: DbDep) -> Response:
    return await _switch(request, db, scenarios.deactivate)
