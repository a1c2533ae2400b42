"""HTTP routes of the Weya dialect (``/api/call/...``): batches are workflows, calls are records.

Every route authenticates with ``x-api-key`` or ``Authorization: Bearer`` and answers in Weya's
envelope (``envelope.answer``); the operations are dialflow's own services and intake.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy.engine import RowMapping

from dialflow.dialects.weya.batches import (
    BATCH_EXAMPLE,
    QUEUE_STATUS,
    BatchIn,
    batch_json,
    parse_batch,
    statuses_named,
    workflow_for,
)
from dialflow.dialects.weya.calls import (
    CALLS_EXAMPLE,
    CHUNK_SIZE,
    PHONE_FIELD,
    SOURCE,
    Enqueued,
    added_ids,
    call_json,
    check,
    enqueue,
    refuse,
    summary,
    to_record,
)
from dialflow.dialects.weya.csv_upload import batch_fields, options_of, parse_form, read_rows
from dialflow.dialects.weya.envelope import Forbidden, answer, envelope
from dialflow.dialects.weya.params import call_query_of, page_of, search_of
from dialflow.domain.workflows import WorkflowAction, WorkflowStatus
from dialflow.errors import BadRequest, NotFound, Unprocessable
from dialflow.http import (
    db_of,
    json_body_doc,
    may_hold_nul,
    read_body,
    read_json_object,
    settings_of,
)
from dialflow.intake.service import ingest
from dialflow.records.service import search_records
from dialflow.workflows.definition import WorkflowDefinition
from dialflow.workflows.service import (
    apply_action,
    create_workflow,
    get_workflow_by_key,
    search_workflows,
)

router = APIRouter(tags=["weya"], include_in_schema=True)

_AUTH = "Send the API key as `x-api-key` or `Authorization: Bearer`. "
_ENVELOPE = "Every answer, errors included, is `{message, status, code, errorMessage, data}`."


def _batch_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(
            '"batchId" is required: the id createBatch returned', code="missing_batch_id"
        )
    return value.strip()


async def _owned_batch(request: Request, workspace_id: int, batch_id: str) -> RowMapping:
    """The batch's workflow: 404 when there is none, 403 when another workspace owns it
    (Weya's answer; the native API says 404 for both)."""
    row = await get_workflow_by_key(db_of(request), batch_id)
    if row is None:
        raise NotFound(f"batch {batch_id} not found", code="batch_not_found")
    if row["workspace_id"] != workspace_id:
        raise Forbidden(f"the API key does not own batch {batch_id}", code="batch_not_owned")
    return row


@router.post(
    "/api/call/createBatch",
    summary="Create a batch",
    description=_AUTH + "A batch is a dialflow workflow, created active; `data` is its batchId "
    "(the workflow key). `agentVariables` (a dialflow extension) sets the variables every call "
    "must carry. " + _ENVELOPE,
    openapi_extra=json_body_doc(BATCH_EXAMPLE, BatchIn.model_json_schema(by_alias=True)),
)
async def create_batch(request: Request) -> Response:
    async def run(workspace_id: int) -> Response:
        body, _raw = await read_json_object(request)
        workflow = await create_workflow(
            db_of(request), workspace_id, workflow_for(parse_batch(body))
        )
        return envelope(201, "Batch created successfully", data=workflow.key)

    return await answer(request, run)


def _enqueued(result: Enqueued) -> Response:
    data: dict[str, Any] = {"added": len(result.call_ids), "callIds": result.call_ids}
    if not result.failed_chunks:
        return envelope(200, "Calls enqueued successfully", data=data)
    data["failedChunks"] = result.failed_chunks
    if result.call_ids:
        return envelope(
            207,
            "Some calls failed to enqueue",
            data=data,
            error="Partial content, check failedChunks for details",
        )
    return envelope(
        500,
        "Calls failed to enqueue",
        data=data,
        error="no chunk could be stored; retry with exponential backoff",
    )


@router.post(
    "/api/call/addCallsToBatch",
    summary="Add calls to a batch",
    description=_AUTH + "Each call needs `phoneNumber`; `timezone` is its time zone and every "
    "other field an agent variable, checked against the batch's variable schema: any invalid "
    "call refuses the request (400, `data.invalidCalls`). Calls are stored in chunks of 1,000; "
    "a failed chunk gives 207 with `data.failedChunks`, the others stay added. A pending call "
    "with the same phone is updated, a finished one starts again. " + _ENVELOPE,
    openapi_extra=json_body_doc(CALLS_EXAMPLE),
)
async def add_calls_to_batch(request: Request) -> Response:
    async def run(workspace_id: int) -> Response:
        body, raw = await read_json_object(request)
        batch_id = _batch_id(body.get("batchId"))
        calls = body.get("call_data", body.get("callData"))
        if not isinstance(calls, list) or not calls:
            raise BadRequest(
                '"call_data" must be a non-empty array of call records', code="no_records"
            )
        row = await _owned_batch(request, workspace_id, batch_id)
        settings = settings_of(request)
        scan_nul = may_hold_nul(raw)
        records = [to_record(call) for call in calls]
        problems = check(
            records,
            WorkflowDefinition.model_validate(row["definition"]),
            meta_max_bytes=settings.meta_max_bytes,
            scan_nul=scan_nul,
        )
        if problems:
            raise refuse(calls, problems)
        result = await enqueue(
            db_of(request),
            workspace_id=workspace_id,
            workflow_id=row["id"],
            records=records,
            meta_max_bytes=settings.meta_max_bytes,
            scan_nul=scan_nul,
        )
        return _enqueued(result)

    return await answer(request, run)


# start-calling fields dialflow does not take: they would change which calls are made.
_UNSUPPORTED = {
    "callData": "add calls with addCallsToBatch, then start calling",
    "callingNumbers": "the batch's calling numbers are set when it is created",
}


def _calling_route(path: str, action: WorkflowAction, target: WorkflowStatus, word: str) -> None:
    async def route(request: Request) -> Response:
        async def run(workspace_id: int) -> Response:
            body, _raw = await read_json_object(request)
            row = await _owned_batch(request, workspace_id, _batch_id(body.get("batchId")))
            for name, instead in _UNSUPPORTED.items():
                if body.get(name):
                    raise BadRequest(
                        f'"{name}" is not supported by dialflow: {instead}',
                        code="unsupported_field",
                    )
            if row["status"] != target:  # already there: nothing to do
                await apply_action(db_of(request), workspace_id, row["id"], action)
            return envelope(
                200, f"Calling {word} successfully", data={"batchId": row["key"], "status": word}
            )

        return await answer(request, run)

    router.add_api_route(
        path,
        route,
        methods=["POST"],
        summary=f"{word.capitalize()} calling a batch",
        description=_AUTH
        + f"Body `{{batchId, userId}}` (`userId` is ignored). The batch's workflow is "
        f"{target.value}: "
        + (
            "calls already in flight finish; no new call starts until start-calling. "
            if action is WorkflowAction.PAUSE
            else "its pending calls are dialed in their calling hours. "
        )
        + _ENVELOPE,
        openapi_extra=json_body_doc({"batchId": "K7QF3M", "userId": "user-1"}),
        operation_id=f"weya_{word}_calling",
    )


_calling_route("/api/call/start-calling", WorkflowAction.ACTIVATE, WorkflowStatus.ACTIVE, "started")
_calling_route("/api/call/stop-calling", WorkflowAction.PAUSE, WorkflowStatus.PAUSED, "stopped")


@router.get(
    "/api/call/batches/{userId}",
    summary="List batches",
    description=_AUTH + "The key's workspace's batches, newest first; `userId` is ignored. "
    "Query `page` (from 1), `limit` (default 10, at most 100), `search` (part of the batch name, "
    "or of its queue status active, paused or completed). " + _ENVELOPE,
)
async def list_batches(
    request: Request,
    _user_id: Annotated[
        str, Path(alias="userId", description="Ignored: the API key names the workspace.")
    ],
) -> Response:
    async def run(workspace_id: int) -> Response:
        page = page_of(request.query_params)
        search = search_of(request.query_params)
        found = await search_workflows(
            db_of(request),
            workspace_id,
            text=search,
            statuses_matching=statuses_named(search) if search else (),
            offset=page.offset,
            limit=page.limit,
        )
        data = {
            "batches": [batch_json(item) for item in found.items],
            "pagination": page.json(found.total),
        }
        return envelope(200, "Batches fetched successfully", data=data)

    return await answer(request, run)


@router.get(
    "/api/call/batch-details/{id}",
    summary="A batch and its calls",
    description=_AUTH + "One page of the batch's calls, each with its agent variables and "
    "`phoneLogs[{callStatus, callDuration, recordingUrl, transcript, createdAt}]` (its call "
    'attempts). Query `page`, `limit` (10), `filter` (JSON: `{"callStatus": "completed"}` or '
    "`phoneNumber`), `sortBy` (createdAt, updatedAt, phoneNumber), `sortOrder` (asc, desc), "
    "`search` (part of the phone number or of a variable). " + _ENVELOPE,
)
async def batch_details(
    request: Request,
    batch_id: Annotated[str, Path(alias="id", description="The batchId createBatch returned.")],
) -> Response:
    async def run(workspace_id: int) -> Response:
        row = await _owned_batch(request, workspace_id, batch_id)
        page = page_of(request.query_params)
        query = call_query_of(request.query_params)
        found = await search_records(
            db_of(request),
            workspace_id,
            row["id"],
            status=query.status,
            phone=query.phone,
            text=query.text,
            sort=query.sort,
            descending=query.descending,
            offset=page.offset,
            limit=page.limit,
        )
        data = {
            "batchId": row["key"],
            "batchName": row["name"],
            "batchStatus": QUEUE_STATUS[WorkflowStatus(row["status"])],
            **page.json(found.total),
            "data": [call_json(item) for item in found.items],
        }
        return envelope(200, "Batch details fetched successfully", data=data)

    return await answer(request, run)


@router.post(
    "/api/call/uploadCSV",
    summary="Create a batch from a CSV file",
    description=_AUTH + "multipart/form-data: `file` (CSV, UTF-8; a `phoneNumber` column, an "
    "optional `timezone` column, every other column an agent variable) and createBatch's "
    "fields (`callingNumbers`, `callingHour`, `allowedDays`, `agentVariables` as JSON "
    'strings), `batchType` (outbound or mixed), `type` ("true", the default: any invalid row '
    'refuses the file with 422 and `data.invalidRows`; "false": invalid rows are skipped and '
    "listed). A phone repeated in the file keeps its first row. " + _ENVELOPE,
)
async def upload_csv(request: Request) -> Response:
    async def run(workspace_id: int) -> Response:
        form = parse_form(request.headers.get("content-type"), await read_body(request))
        options = options_of(form)
        create = workflow_for(parse_batch(batch_fields(form)))
        rows = read_rows(form)
        settings = settings_of(request)
        records = [to_record(row.call) for row in rows]
        problems = check(
            records, create.definition, meta_max_bytes=settings.meta_max_bytes, scan_nul=True
        )
        invalid_rows: list[dict[str, Any]] = [
            {"row": rows[index].line, PHONE_FIELD: rows[index].call.get(PHONE_FIELD), "errors": e}
            for index, e in problems.items()
        ]
        valid = [record for index, record in enumerate(records) if index not in problems]
        if invalid_rows and (options.report_invalid or not valid):
            raise Unprocessable(
                summary(invalid_rows, len(rows), "rows", lambda item: f"row {item['row']}"),
                code="invalid_rows",
                details={"invalidRows": invalid_rows},
            )
        db = db_of(request)
        workflow = await create_workflow(db, workspace_id, create)
        outcome = await ingest(
            db,
            workspace_id=workspace_id,
            workflow_ref=workflow.id,
            records=valid,
            max_records=len(valid),
            chunk_size=CHUNK_SIZE,
            meta_max_bytes=settings.meta_max_bytes,
            list_name=(form.filename or "upload.csv")[:200],
            source=SOURCE,
        )
        counts = outcome.counts()
        call_ids = added_ids(outcome)
        data = {
            "batchId": workflow.key,
            "batchName": workflow.name,
            "batchType": options.batch_type,
            "callingNumbers": workflow.definition.caller_ids,
            "timezone": workflow.definition.timezone,
            "totalRows": len(rows),
            "added": len(call_ids),
            "duplicates": counts["duplicate"],
            "suppressed": counts["suppressed"],
            "failed": counts["failed"],
            "invalid": len(invalid_rows),
            "invalidRows": invalid_rows,
            "callIds": call_ids,
        }
        if counts["failed"]:
            return envelope(
                207,
                "Batch created; some rows failed to import",
                data=data,
                error="a database error kept some rows out; upload them again in a new batch "
                "or add them with addCallsToBatch",
            )
        return envelope(201, "Batch created successfully", data=data)

    return await answer(request, run)
