"""HTTP routes of the Airudder dialect (``/service/cloud/...``): workflow tasks are workflows,
list entries (``details``) are records, calls are call attempts.

``POST /service/cloud/auth`` trades ``APPKey``/``APPSecret`` for a 24-hour token; every other
route needs ``Authorization: Token <token>`` (``Bearer`` accepted). Every answer, errors
included, is Airudder's envelope (``envelope.py``). The operations are dialflow's own services;
see docs/dialects.md, section "Airudder", for the mapping and the choices made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping

from dialflow.calls import service as calls_service
from dialflow.clock import utcnow
from dialflow.db.engine import Database
from dialflow.dialects.airudder import service
from dialflow.dialects.airudder.details import (
    CALLEE,
    CASE_ID,
    counted,
    describe,
    details_of,
    entry_error,
    laid_over,
    to_record,
    upload_result,
)
from dialflow.dialects.airudder.envelope import AirudderRoute, envelope
from dialflow.dialects.airudder.params import (
    DEFAULT_PAGE_SIZE,
    MAX_LIST_PAGE_SIZE,
    TIME_EXAMPLE,
    CallPage,
    call_page,
    identifier,
    integer,
    required_text,
    text,
    time_field,
)
from dialflow.dialects.airudder.shapes import call_json, time_text
from dialflow.dialects.airudder.tasks import (
    TASK_STATUSES,
    TEMPLATE_STATUSES,
    default_region,
    outbound_tasks,
    subtasks,
    task_create,
    task_json,
    template_json,
)
from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone
from dialflow.domain.workflows import WorkflowAction, WorkflowStatus
from dialflow.errors import ApiError, BadRequest, NotFound, Unauthorized, Unprocessable
from dialflow.http import (
    DbDep,
    SettingsDep,
    db_of,
    json_body_doc,
    may_hold_nul,
    read_json_object,
)
from dialflow.intake.service import ingest
from dialflow.lists.service import cancel_list, get_list
from dialflow.pagination import MAX_PAGE_SIZE, Page, parse_id
from dialflow.records.service import find_case_records, get_records_by_id, update_record
from dialflow.settings import Settings
from dialflow.workflows.service import (
    WorkflowSummary,
    apply_action,
    create_workflow,
    get_workflow_by_key,
    get_workflow_row,
    search_workflows_by_status,
)

router = APIRouter(tags=["airudder"], include_in_schema=True, route_class=AirudderRoute)

PREFIX: Final = "/service/cloud"
WORKFLOW: Final = f"{PREFIX}/workflow"
SOURCE: Final = "airudder"
_AUTO_FINISH: Final = (1, 2)
_TOKEN_SCHEMES: Final = frozenset({"token", "bearer"})
_AUTH = (
    "Send `Authorization: Token <token>` (from `POST /service/cloud/auth`; `Bearer` works too). "
)
_ENVELOPE = (
    'Answers `{"data": ..., "status": "OK", "code": 200}`; errors `{"data": null, "status", '
    '"code", "message"}` with the HTTP status as `code`.'
)


async def _token_workspace(request: Request) -> int:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in _TOKEN_SCHEMES or not token.strip():
        raise Unauthorized(
            'send the token from POST /service/cloud/auth as "Authorization: Token <token>"',
            code="missing_token",
        )
    return await service.token_workspace(db_of(request), token.strip())


WorkspaceDep = Annotated[int, Depends(_token_workspace)]
PageQuery = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PageSizeQuery = Annotated[
    int, Query(ge=1, le=MAX_LIST_PAGE_SIZE, description="Items per page (default 20).")
]
CallPageSizeQuery = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description="Calls per page (default 20).")
]
CursorQuery = Annotated[
    str | None, Query(description="`next_cursor` of the previous page; absent: the first page.")
]


async def _task(db: Database, workspace_id: int, workflow_id: str) -> RowMapping:
    """The workspace's workflow task (a workflow that is not a draft) with this key."""
    row = await get_workflow_by_key(db, workflow_id)
    if (
        row is None
        or row["workspace_id"] != workspace_id
        or WorkflowStatus(row["status"]) in TEMPLATE_STATUSES
    ):
        raise NotFound(f"workflow task {workflow_id} not found", code="task_not_found")
    return row


async def _template(db: Database, workspace_id: int, template_id: int) -> RowMapping:
    """The workspace's workflow template (a draft workflow) with this id."""
    try:
        row = await get_workflow_row(db, workspace_id, template_id)
    except NotFound:
        row = None
    if row is None or WorkflowStatus(row["status"]) not in TEMPLATE_STATUSES:
        raise NotFound(
            f"workflow template {template_id} not found: templates are the workspace's draft "
            "workflows (GET /service/cloud/workflow/templates)",
            code="template_not_found",
        )
    return row


# --- auth ------------------------------------------------------------------------------------


@router.post(
    f"{PREFIX}/auth",
    summary="Get the Authorization token",
    description="`APPKey` is a dialflow API key's prefix (`dfk_…`, from `dialflow key list`), "
    "`APPSecret` the whole key. The token is valid for 24 hours; applying again issues a new "
    "token and gives the earlier ones still valid another 24 hours. A wrong pair is a 403. "
    + _ENVELOPE,
    openapi_extra=json_body_doc({"APPKey": "dfk_k3x9q2ab", "APPSecret": "dfk_k3x9q2ab_…"}),
)
async def auth(request: Request, db: DbDep) -> Response:
    body, _raw = await read_json_object(request)
    token = await service.issue_token(
        db, required_text(body, "APPKey"), required_text(body, "APPSecret")
    )
    return envelope({"token": token})


# --- templates and tasks ---------------------------------------------------------------------


@router.post(
    f"{WORKFLOW}/createinstance",
    summary="Create a New WorkFlow Task",
    description=_AUTH + "Copies the workflow template (`workflow_template_id`: a draft "
    "workflow's integer id) into a new, active workflow named `name` that completes by itself "
    f"at `end_time` (like `{TIME_EXAMPLE}`; without an offset, UTC). `auto_finish` (1 or 2) "
    "is accepted; `details` (optional) are added as its first list. `data.workflow_id` is the "
    "task's id (the workflow key). " + _ENVELOPE,
    openapi_extra=json_body_doc(
        {
            "workflow_template_id": 12,
            "name": "test-544-0001",
            "end_time": TIME_EXAMPLE,
            "auto_finish": 2,
        }
    ),
)
async def create_instance(
    request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    body, raw = await read_json_object(request)
    template_id = body.get("workflow_template_id")
    if isinstance(template_id, bool) or not isinstance(template_id, int):
        raise BadRequest(
            '"workflow_template_id" is required: the integer id of a workflow template',
            code="missing_parameter",
        )
    name = required_text(body, "name")
    end_time = time_field(body, "end_time")
    if end_time <= utcnow():
        raise BadRequest('"end_time" must be in the future', code="invalid_time")
    # Checked, then left aside: either way the task completes at end_time (docs/dialects.md).
    integer(body, "auto_finish", low=min(_AUTO_FINISH), high=max(_AUTO_FINISH), default=2)
    details = details_of(body) if body.get("details") is not None else None
    template = await _template(db, workspace_id, template_id)
    workflow = await create_workflow(db, workspace_id, task_create(template, name, end_time))
    data: dict[str, Any] = {"workflow_id": workflow.key}
    if details is not None:
        data.update(await _upload(db, settings, workspace_id, workflow.id, details, raw))
    return envelope(data)


async def _workflow_listing(
    db: Database,
    workspace_id: int,
    statuses: tuple[WorkflowStatus, ...],
    as_json: Callable[[WorkflowSummary], dict[str, Any]],
    page: int,
    page_size: int,
) -> Response:
    """One page of the workspace's workflows in these statuses (templates or tasks), newest
    first: ``{total, page, page_size, list}``."""
    found = await search_workflows_by_status(
        db, workspace_id, statuses, offset=(page - 1) * page_size, limit=page_size
    )
    items = [as_json(item) for item in found.items]
    return envelope({"total": found.total, "page": page, "page_size": page_size, "list": items})


@router.get(
    f"{WORKFLOW}/templates",
    summary="Obtain the List of Workflow Templates",
    description=_AUTH + "The workspace's draft workflows, newest first: "
    "`{total, page, page_size, list[{workflow_template_id, workflow_template_name, create_time, "
    "nodes[{node_name, node_type}]}]}`. " + _ENVELOPE,
)
async def list_templates(
    db: DbDep,
    workspace_id: WorkspaceDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = DEFAULT_PAGE_SIZE,
) -> Response:
    return await _workflow_listing(
        db, workspace_id, TEMPLATE_STATUSES, template_json, page, page_size
    )


@router.get(
    f"{WORKFLOW}/instances",
    summary="Obtain the Workflow Task List",
    description=_AUTH + "The workspace's workflow tasks (every workflow but drafts), newest "
    "first: `{total, page, page_size, list[{workflow_id, workflow_name, status (running, "
    "paused, stopped, finished), create_time, update_time, end_time, total, finished, "
    "connected}]}`. " + _ENVELOPE,
)
async def list_tasks(
    db: DbDep,
    workspace_id: WorkspaceDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = DEFAULT_PAGE_SIZE,
) -> Response:
    return await _workflow_listing(db, workspace_id, TASK_STATUSES, task_json, page, page_size)


@router.post(
    f"{WORKFLOW}/stopinstance",
    summary="Stop the Workflow Task",
    description=_AUTH + "Stops the workflow: nothing more is sent or dialed, calls in flight "
    "finish. Stopping a stopped task answers the same; a finished one cannot be stopped (400). "
    + _ENVELOPE,
    openapi_extra=json_body_doc({"workflow_id": "K7QF3M"}),
)
async def stop_instance(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body, _raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "workflow_id"))
    if task["status"] != WorkflowStatus.STOPPED:
        await apply_action(db, workspace_id, task["id"], WorkflowAction.STOP)
    return envelope({"workflow_id": task["key"], "status": "stopped"})


@router.get(
    f"{WORKFLOW}/subtasks",
    summary="Obtain the Subtask List of the Workflow",
    description=_AUTH + "The task's node tasks, one per step: `{workflow_id, workflow_name, "
    "list[{nodetask_id, task_id (call nodes), nodetask_name, node_type, status}]}`. " + _ENVELOPE,
)
async def list_subtasks(
    db: DbDep, workspace_id: WorkspaceDep, workflow_id: Annotated[str, Query()]
) -> Response:
    task = await _task(db, workspace_id, workflow_id)
    return envelope(
        {"workflow_id": task["key"], "workflow_name": task["name"], "list": subtasks(task)}
    )


@router.post(
    f"{WORKFLOW}/tasklist",
    summary="Obtain the Outbound Task List of Workflow",
    description=_AUTH + "The task's outbound (dialer) tasks: dialflow dials a workflow's calls "
    "from one queue, so there is one when the workflow has call steps, its `task_id` being the "
    "`workflow_id`: `{list[{task_id, task_name, workflow_id, workflow_name, status, "
    "create_time, nodetasks[...]}]}`. " + _ENVELOPE,
    openapi_extra=json_body_doc({"workflow_id": "K7QF3M"}),
)
async def list_outbound_tasks(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body, _raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "workflow_id"))
    return envelope({"list": outbound_tasks(task)})


# --- lists -----------------------------------------------------------------------------------


async def _upload(
    db: Database,
    settings: Settings,
    workspace_id: int,
    workflow_id: int,
    details: Sequence[object],
    raw: bytes,
) -> dict[str, Any]:
    outcome = await ingest(
        db,
        workspace_id=workspace_id,
        workflow_ref=workflow_id,
        records=[to_record(detail) for detail in details],
        max_records=settings.max_records_per_request,
        chunk_size=settings.chunk_size,
        meta_max_bytes=settings.meta_max_bytes,
        source=SOURCE,
        scan_nul=may_hold_nul(raw),
    )
    return upload_result(details, outcome)


_DETAILS_EXAMPLE: Final = {
    "workflow_id": "K7QF3M",
    "details": [
        {"callee": "+6281234567890", "case_id": "test-caseid11", "name": "Budi", "amount": "150000"}
    ],
}


@router.post(
    f"{WORKFLOW}/uploaddetails",
    summary="Add lists to an workflow task",
    description=_AUTH + "Adds `details` (each: `callee`, optional `case_id` and `email`, every "
    "other field a variable of the workflow) as one list: `{workflow_id, list_id, total, "
    "success, failed, errors[{index, callee, case_id, message}]}`; valid entries are added "
    "even when others are refused. " + _ENVELOPE,
    openapi_extra=json_body_doc(_DETAILS_EXAMPLE),
)
async def upload_details(
    request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    body, raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "workflow_id"))
    details = details_of(body)
    result = await _upload(db, settings, workspace_id, task["id"], details, raw)
    return envelope({"workflow_id": task["key"], **result})


def _by_case(detail: dict[str, Any]) -> bool:
    """Whether an update names its entry by ``case_id`` (else by ``callee``)."""
    return detail.get(CASE_ID) is not None


def _named_phone(detail: object, region: str) -> str | None:
    """The number an update names its entry by (when it has no ``case_id``), in E.164."""
    if not isinstance(detail, dict) or _by_case(detail):
        return None
    try:
        return normalize_phone(detail.get(CALLEE), region=region, field=CALLEE)
    except FieldErrors:
        return None


def _refusal(exc: ApiError) -> str:
    if isinstance(exc, Unprocessable) and isinstance(exc.details, list):
        return "; ".join(describe(error) for error in exc.details)
    return exc.message


@router.post(
    f"{WORKFLOW}/updatedetails",
    summary="Update the List Info of Workflow Task",
    description=_AUTH + "Updates entries already in the task, each named by its `case_id` (or, "
    "without one, by its `callee`): its variables are laid over the stored ones, a `callee` "
    "(with a `case_id`) replaces the number, `email` the email. `{workflow_id, total, success, "
    "failed, errors[{index, callee, case_id, message}]}`. " + _ENVELOPE,
    openapi_extra=json_body_doc(
        {"workflow_id": "K7QF3M", "details": [{"case_id": "test-caseid11", "amount": "90000"}]}
    ),
)
async def update_details(
    request: Request, db: DbDep, settings: SettingsDep, workspace_id: WorkspaceDep
) -> Response:
    body, _raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "workflow_id"))
    details = details_of(body)
    if len(details) > settings.max_records_per_request:
        raise BadRequest(
            f"too many details: at most {settings.max_records_per_request} per request",
            code="too_many_records",
        )
    region = default_region(task)
    phones = {index: _named_phone(detail, region) for index, detail in enumerate(details)}
    case_ids = sorted(
        {d[CASE_ID] for d in details if isinstance(d, dict) and isinstance(d.get(CASE_ID), str)}
    )
    found = await find_case_records(
        db,
        workspace_id,
        case_ids=case_ids,
        phones=sorted({phone for phone in phones.values() if phone is not None}),
        workflow_id=task["id"],
        limit=None,
    )
    by_case: dict[str, RowMapping] = {}
    by_phone: dict[str, RowMapping] = {}
    for row in found:  # newest first: the newest record of a case or number is the one updated
        if row["case_id"] is not None:
            by_case.setdefault(row["case_id"], row)
        by_phone.setdefault(row["phone"], row)
    errors: list[dict[str, Any]] = []
    for index, detail in enumerate(details):
        if not isinstance(detail, dict):
            errors.append(entry_error(detail, index, "a list entry must be a JSON object"))
            continue
        phone = phones[index]
        target = by_case.get(detail[CASE_ID]) if _by_case(detail) else by_phone.get(phone or "")
        if target is None:
            errors.append(
                entry_error(detail, index, "no entry of the task has this case_id or callee")
            )
            continue
        try:
            await update_record(
                db,
                workspace_id,
                target["id"],
                partial(laid_over, detail=detail),
                meta_max_bytes=settings.meta_max_bytes,
            )
        except ApiError as exc:
            errors.append(entry_error(detail, index, _refusal(exc)))
    return envelope({"workflow_id": task["key"], **counted(len(details), errors)})


@router.post(
    f"{WORKFLOW}/canceldetails",
    summary="Cancel the processes for a specific list",
    description=_AUTH + "Cancels every unfinished entry of a list (`list_id` from "
    "uploaddetails): nothing more is sent or dialed to them, calls in flight finish. "
    "`{workflow_id, list_id, cancelled}`; a list already cancelled is a 400. " + _ENVELOPE,
    openapi_extra=json_body_doc({"workflow_id": "K7QF3M", "list_id": "382830616794484736"}),
)
async def cancel_details(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body, _raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "workflow_id"))
    list_ref = identifier(body, "list_id")
    list_id = parse_id(list_ref)
    missing = NotFound(f"list {list_ref} of workflow task {task['key']} not found")
    if list_id is None:
        raise missing
    try:
        found = await get_list(db, workspace_id, list_id)
    except NotFound:
        raise missing from None
    if found["workflow_id"] != task["id"]:
        raise missing
    _row, cancelled = await cancel_list(db, workspace_id, list_id)
    return envelope({"workflow_id": task["key"], "list_id": str(list_id), "cancelled": cancelled})


# --- calls -----------------------------------------------------------------------------------


async def _calls_json(
    db: Database, workspace_id: int, task: RowMapping, calls: Sequence[RowMapping]
) -> list[dict[str, Any]]:
    """The task's calls as Airudder shows them, with their case's id and variables."""
    cases = await get_records_by_id(db, workspace_id, sorted({c["record_id"] for c in calls}))
    return [
        call_json(
            call_id=str(call["id"]),
            workflow_key=task["key"],
            workflow_name=task["name"],
            step_id=call["step_id"],
            channel=call["channel"],
            case_id=cases[call["record_id"]]["case_id"],
            callee=call["to_address"],
            caller=call["from_address"],
            status=call["status"],
            answered=call["answered"],
            end_reason=call["end_reason"],
            duration=call["duration_seconds"],
            start_time=time_text(call["started_at"] or call["created_at"]),
            end_time=time_text(call["ended_at"]),
            recording_url=call["recording_url"],
            dialog=call["transcript"],
            variables=cases[call["record_id"]]["placeholders"],
            collected=call["collected_fields"],
        )
        for call in calls
    ]


async def _calls_page_json(
    db: Database, workspace_id: int, task: RowMapping, found: Page[RowMapping]
) -> dict[str, Any]:
    """``{list[call], next_cursor}`` of a page of the task's calls."""
    return {
        "list": await _calls_json(db, workspace_id, task, found.items),
        "next_cursor": found.next_cursor,
    }


async def _call_page(
    db: Database,
    workspace_id: int,
    task: RowMapping,
    search: calls_service.CallSearch,
    page: CallPage,
) -> dict[str, Any]:
    found = await calls_service.search_calls(
        db, workspace_id, search, cursor=page.cursor, limit=page.size
    )
    return await _calls_page_json(db, workspace_id, task, found)


@router.post(
    f"{WORKFLOW}/taskdetail",
    summary="Obtain the Outbound Task Details of Workflow",
    description=_AUTH + "The calls of an outbound task (`task_id`), newest first, `page_size` "
    "(20, at most 500) at a time after `cursor`: `{task_id, list[call], next_cursor}`; each "
    "call has the fields of the call-completion notification. " + _ENVELOPE,
    openapi_extra=json_body_doc({"task_id": "K7QF3M", "page_size": 20}),
)
async def task_detail(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body, _raw = await read_json_object(request)
    task = await _task(db, workspace_id, identifier(body, "task_id"))
    search = calls_service.CallSearch(workflow=task["key"], channel="call")
    page = await _call_page(db, workspace_id, task, search, call_page(body))
    return envelope({"task_id": task["key"], **page})


@router.get(
    f"{WORKFLOW}/callinfo",
    summary="Obtain Call Information and Recording Links by callee/caseid and taskid/workflow_id",
    description=_AUTH + "The calls to one `callee` or of one `case_id` in one task (`task_id` "
    "or `workflow_id`), newest first: `{list[call], next_cursor}`, each with its "
    "`recording_url`. " + _ENVELOPE,
)
async def call_info(
    db: DbDep,
    workspace_id: WorkspaceDep,
    callee: Annotated[str | None, Query(description="The number called, E.164.")] = None,
    case_id: Annotated[str | None, Query()] = None,
    task_id: Annotated[str | None, Query()] = None,
    workflow_id: Annotated[str | None, Query()] = None,
    page_size: CallPageSizeQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
) -> Response:
    if not (callee or case_id):
        raise BadRequest('send "callee" or "case_id"', code="missing_parameter")
    if task_id and workflow_id and task_id.upper() != workflow_id.upper():
        raise BadRequest('"task_id" and "workflow_id" name different tasks')
    scope = task_id or workflow_id
    if not scope:
        raise BadRequest('send "task_id" or "workflow_id"', code="missing_parameter")
    task = await _task(db, workspace_id, scope)
    search = calls_service.CallSearch(
        phone=callee, case_id=case_id, workflow=task["key"], channel="call"
    )
    return envelope(await _call_page(db, workspace_id, task, search, CallPage(page_size, cursor)))


@router.get(
    f"{WORKFLOW}/call",
    summary="Obtain Call Information and Recording Link by Call ID",
    description=_AUTH + "One call (`call_id`, from a notification or a call list) with the "
    "fields of the call-completion notification. " + _ENVELOPE,
)
async def call_by_id(
    db: DbDep, workspace_id: WorkspaceDep, call_id: Annotated[str, Query()]
) -> Response:
    parsed = parse_id(call_id)
    if parsed is None:
        raise NotFound(f"call {call_id} not found", code="call_not_found")
    call = await calls_service.get_call(db, workspace_id, parsed)
    task = await get_workflow_row(db, workspace_id, call["workflow_id"])
    [found] = await _calls_json(db, workspace_id, task, [call])
    return envelope(found)


@router.get(
    f"{WORKFLOW}/recordings",
    summary="Obtain All the Recordings of a Single Number in the Workflow",
    description=_AUTH + "The calls to `callee` in the task (`workflow_id`) that have a "
    "recording, newest first: `{list[call], next_cursor}`. " + _ENVELOPE,
)
async def recordings(
    db: DbDep,
    workspace_id: WorkspaceDep,
    workflow_id: Annotated[str, Query()],
    callee: Annotated[str, Query(description="The number called, E.164.")],
    page_size: CallPageSizeQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
) -> Response:
    task = await _task(db, workspace_id, workflow_id)
    found = await calls_service.recordings(
        db, workspace_id, task["key"], callee, cursor=cursor, limit=page_size
    )
    return envelope(await _calls_page_json(db, workspace_id, task, found))


@router.post(
    f"{WORKFLOW}/detailinstances",
    summary="Query workflow_id using case_id/callee",
    description=_AUTH + "The workflow tasks a `case_id` or a `callee` (either matches) was "
    f"added to between `start_time` and `end_time` (like `{TIME_EXAMPLE}`; without an offset, "
    "UTC), newest first, at most 1,000: `{list[{workflow_id, workflow_name, case_id, callee, "
    "create_time}]}`. " + _ENVELOPE,
    openapi_extra=json_body_doc(
        {
            "callee": "+8613711112222",
            "start_time": "2024-05-01 00:00:00+08:00",
            "end_time": "2024-06-01 00:00:00+08:00",
        }
    ),
)
async def detail_instances(request: Request, db: DbDep, workspace_id: WorkspaceDep) -> Response:
    body, _raw = await read_json_object(request)
    case_id, callee = text(body, CASE_ID), text(body, CALLEE)
    if case_id is None and callee is None:
        raise BadRequest('send "case_id" or "callee"', code="missing_parameter")
    start, end = time_field(body, "start_time"), time_field(body, "end_time")
    if start >= end:
        raise BadRequest('"start_time" must be before "end_time"', code="invalid_time")
    phones: list[str] = []
    if callee is not None:
        try:
            phones.append(normalize_phone(callee, field=CALLEE))
        except FieldErrors as exc:
            raise BadRequest(exc.errors[0].message, code="invalid_phone") from None
    found = await find_case_records(
        db,
        workspace_id,
        case_ids=[] if case_id is None else [case_id],
        phones=phones,
        since=start,
        until=end,
    )
    return envelope(
        {
            "list": [
                {
                    "workflow_id": row["workflow_key"],
                    "workflow_name": row["workflow_name"],
                    "case_id": row["case_id"] or "",
                    "callee": row["phone"],
                    "create_time": time_text(row["created_at"]),
                }
                for row in found
            ]
        }
    )
