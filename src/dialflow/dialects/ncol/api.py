"""HTTP routes of the 2X / NCOL dialect: add records to a workflow, complete and resume them.

2X clients send ``api_key`` and ``workflow_key`` in the JSON body and read ``{"message": ...}``
answers. Each request is translated onto the same intake and record services as the native API;
what is 2X's own is only the field names, the 10-digit phone format (``+1`` implied) and the
envelope. See docs/dialects.md, section "2X / NCOL".
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dialflow.db.engine import Database
from dialflow.domain.errors import ErrorCode, FieldError, FieldErrors
from dialflow.domain.phones import is_ten_digits
from dialflow.domain.text import clip, type_name
from dialflow.errors import ApiError, BadRequest
from dialflow.http import (
    DbDep,
    EnvelopeRoute,
    SettingsDep,
    decode_json,
    json_response,
    may_hold_nul,
    presented_key,
    read_body,
)
from dialflow.intake.service import GOOD, RecordResult, ingest
from dialflow.records.service import ActionOutcome, complete_records, resume_records
from dialflow.settings import Settings
from dialflow.workspaces.service import authenticate

#: "There is currently a limit of 1,000 records per call."
LIMIT: Final = 1_000
_SOURCE: Final = "2x"
#: 2X record field -> native intake field.
_FIELDS: Final[Mapping[str, str]] = {
    "record_phone_number": "phone",
    "record_first_name": "first_name",
    "record_last_name": "last_name",
    "record_zip_code": "zip",
    "transfer_number": "transfer_number",
    "placeholders": "placeholders",
    "meta": "meta",
}
_VENDOR_FIELDS: Final[Mapping[str, str]] = {native: vendor for vendor, native in _FIELDS.items()}
#: "record_phone_number and transfer_number fields should be exactly 10 digits long."
_TEN_DIGITS: Final = ("record_phone_number", "transfer_number")
#: "placeholders, meta, record_last_name, transfer_number and record_zip_code are optional
#: fields. All other fields are required." (the phone is required by intake itself)
_REQUIRED: Final = frozenset({"first_name"})
_AUTH_FIELDS: Final = ("api_key", "workflow_key")
_WORDING: Final[Mapping[str, str]] = {
    "missing_api_key": 'Missing required field "api_key".',
    "invalid_api_key": "Invalid API key.",
    "too_many_records": (
        f"Too many records in one call. There is currently a limit of {LIMIT:,} records per call."
    ),
}
# A JSON string (an unterminated one runs to the end, so the scan stays linear) or a comma
# that only a closing bracket follows.
_STRING_OR_TRAILING_COMMA: Final = re.compile(rb'"(?:[^"\\]|\\.?)*(?:"|\Z)|,(?=\s*[}\]])', re.S)
_TRAILING_COMMA: Final = re.compile(rb",\s*[}\]]")
#: Bodies up to this size get the trailing-comma repair (1,000 2X records take about 0.3 MB);
#: it costs about a microsecond per string, too much to spend on any malformed 10 MB body.
_REPAIR_MAX_BYTES: Final = 1024 * 1024


def _sentence(text: str) -> str:
    """A native message in 2X's style: capitalised, ending with a full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _refusal(exc: ApiError) -> Response:
    status = exc.status_code if exc.status_code in (401, 413) else 400
    return json_response({"message": _WORDING.get(exc.code) or _sentence(exc.message)}, status)


class _Route(EnvelopeRoute):
    """Answers every refusal, the dialect's own and the services', as 2X's ``{"message"}``."""

    def refusal(self, _request: Request, exc: Exception) -> Response | None:
        return _refusal(exc) if isinstance(exc, ApiError) else None


router = APIRouter(tags=["2x"], route_class=_Route)

_Handler = TypeVar("_Handler", bound=Callable[..., Coroutine[Any, Any, Response]])


def _post(path: str, summary: str) -> Callable[[_Handler], _Handler]:
    """Route ``path`` and its twin with or without the trailing slash (2X's docs use both)."""
    twin = path.removesuffix("/") if path.endswith("/") else f"{path}/"

    def register(handler: _Handler) -> _Handler:
        router.post(path, summary=summary)(handler)
        router.post(twin, include_in_schema=False)(handler)
        return handler

    return register


# --- the request: body, key, workflow -------------------------------------------------------


def _without_trailing_commas(body: bytes) -> bytes:
    return _STRING_OR_TRAILING_COMMA.sub(lambda m: m.group() if m.group() != b"," else b"", body)


def _decode(body: bytes) -> object:
    """Strict JSON, tolerating trailing commas (2X's own examples have them)."""
    try:
        return decode_json(body)
    except BadRequest as original:
        if len(body) > _REPAIR_MAX_BYTES or _TRAILING_COMMA.search(body) is None:
            raise
        try:
            return decode_json(_without_trailing_commas(body))
        except BadRequest:
            raise original from None


@dataclass(frozen=True, slots=True)
class _Call:
    workspace_id: int
    payload: dict[str, Any]
    body: bytes


async def _read(request: Request, db: Database) -> _Call:
    """The JSON object sent, and the workspace of its ``api_key`` (or, failing that, of a key
    sent the native way in a header)."""
    body = await read_body(request)
    payload = _decode(body)
    if not isinstance(payload, dict):
        raise BadRequest("The request body must be a JSON object.")
    key = payload.get("api_key")
    if key is None:
        key = presented_key(request)
    workspace_id = await authenticate(db, None if key is None else str(key))
    return _Call(workspace_id, payload, body)


def _workflow_key(payload: Mapping[str, Any]) -> str | None:
    """The workflow named, or None when the request names none."""
    value = payload.get("workflow_key")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest('"workflow_key" must be the workflow\'s key, like "A1B2C3".')
    return value.strip()


def _required_workflow_key(payload: Mapping[str, Any]) -> str:
    key = _workflow_key(payload)
    if key is None:
        raise BadRequest('Missing required field "workflow_key".')
    return key


def _ten_digit_error(field: str, value: object) -> FieldError:
    shown = f'"{clip(value)}"' if isinstance(value, str) else type_name(value)
    return FieldError(
        ErrorCode.INVALID_VALUE,
        field,
        f'"{field}" must be exactly 10 digits, without the "+1" country code '
        f'(like "2125551234"), not {shown}',
    )


def _e164(value: object) -> str | None:
    """A 2X number (10 digits, ``+1`` implied) in E.164; None when it is not one."""
    return f"+1{value}" if isinstance(value, str) and is_ten_digits(value) else None


# --- adding records --------------------------------------------------------------------------


def _native_record(raw: object) -> object:
    """A 2X record as a native intake record (anything but an object is left to intake to
    refuse); raises ``FieldErrors`` for unknown fields and numbers not in 2X's format."""
    if not isinstance(raw, dict):
        return raw
    errors = [
        FieldError(ErrorCode.UNKNOWN_FIELD, name, f'unknown field "{name}"')
        for name in raw
        if name not in _FIELDS
    ]
    record = {_FIELDS[name]: value for name, value in raw.items() if name in _FIELDS}
    for field in _TEN_DIGITS:
        value = raw.get(field)
        if value in (None, ""):
            continue  # absent: intake decides whether it was needed
        number = _e164(value)
        if number is None:
            errors.append(_ten_digit_error(field, value))
        else:
            record[_FIELDS[field]] = number
    if errors:
        raise FieldErrors(errors)
    return record


def _vendor_error(error: FieldError) -> FieldError:
    """A native intake error named with 2X's field names."""
    head, dot, rest = error.field.partition(".")
    vendor = _VENDOR_FIELDS.get(head)
    if vendor is None:
        return error
    return FieldError(
        error.code,
        f"{vendor}{dot}{rest}",
        error.message.replace(f'"{head}"', f'"{vendor}"'),
    )


def _error_sentence(subject: str, error: FieldError) -> str:
    """One error of one record (2X field names) as 2X words it: ``Record 2 is missing required
    placeholder field "car".``"""
    field = error.field
    if error.code is ErrorCode.MISSING_PLACEHOLDER:
        return f'{subject} is missing required placeholder field "{field.partition(".")[2]}".'
    if error.code is ErrorCode.REQUIRED:
        return f'{subject} is missing required field "{field}".'
    if error.code is ErrorCode.ALL_CAPS_NAME:
        return (
            f'{subject} has "{field}" in all capital letters; names must be in proper case '
            '(e.g. "John Doe", not "JOHN DOE").'
        )
    if error.code is ErrorCode.INVALID_PHONE:
        return f'{subject} has an invalid "{field}": it is not a valid phone number.'
    if error.code is ErrorCode.UNKNOWN_FIELD:
        return f'{subject} has unknown field "{field}".'
    if error.code is ErrorCode.DUPLICATE_IN_REQUEST:
        return (
            f"{subject} has the same phone number as an earlier record of this call; "
            "only the first one is imported."
        )
    if error.code is ErrorCode.DO_NOT_CALL:
        return f"{subject} was not imported: its phone number is on the do-not-call list."
    if error.code is ErrorCode.WRITE_FAILED:
        return (
            f"{subject} could not be saved because of a database error; nothing of it was "
            "written, so it is safe to send again."
        )
    if not error.field:
        return f"{subject} must be a JSON object."
    return f"{subject} is invalid: {error.message}."


def _errors_text(subject: str, errors: Sequence[FieldError]) -> str:
    return " ".join(_error_sentence(subject, error) for error in errors)


@dataclass(frozen=True, slots=True)
class _Imported:
    result: RecordResult
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return self.result.status in GOOD


async def _import(
    db: Database,
    settings: Settings,
    call: _Call,
    records: Sequence[object],
    *,
    max_records: int,
    create_list: bool,
) -> list[_Imported]:
    """Translate and ingest the records; each result with the errors 2X should hear of."""
    workflow_key = _required_workflow_key(call.payload)
    refused: dict[int, list[FieldError]] = {}
    native: list[object] = []
    for index, raw in enumerate(records):
        try:
            native.append(_native_record(raw))
        except FieldErrors as exc:
            refused[index] = exc.errors
            native.append(None)  # already refused here; intake reports it invalid, unwritten
    outcome = await ingest(
        db,
        workspace_id=call.workspace_id,
        workflow_ref=workflow_key,
        records=native,
        max_records=max_records,
        chunk_size=settings.chunk_size,
        meta_max_bytes=settings.meta_max_bytes,
        source=_SOURCE,
        create_list=create_list,
        required_fields=_REQUIRED,
        scan_nul=may_hold_nul(call.body),
    )
    return [
        _Imported(result, refused.get(result.index) or [_vendor_error(e) for e in result.errors])
        for result in outcome.results
    ]


@_post("/api/call/", "Add a record to a workflow")
async def add_record(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    call = await _read(request, db)
    raw = {name: value for name, value in call.payload.items() if name not in _AUTH_FIELDS}
    [imported] = await _import(db, settings, call, [raw], max_records=1, create_list=False)
    if not imported.ok:
        raise BadRequest(_errors_text("Record", imported.errors))
    return json_response({"message": "Successfully added record."})


@_post("/api/bulk-call/", "Add up to 1,000 records to a workflow")
async def add_records(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    call = await _read(request, db)
    records = call.payload.get("records")
    if not isinstance(records, list):
        raise BadRequest('"records" must be an array of records.')
    results = await _import(db, settings, call, records, max_records=LIMIT, create_list=True)
    failed = [r for r in results if not r.ok]
    return json_response(
        {
            "message": f"Successfully imported {len(results) - len(failed)} records. "
            f"Failed to import {len(failed)} records.",
            "errors": [
                {
                    "index": r.result.index,
                    "error": _errors_text(f"Record {r.result.index + 1}", r.errors),
                }
                for r in failed
            ],
        }
    )


# --- completing and resuming -----------------------------------------------------------------


class _Action(Protocol):
    """``complete_records`` or ``resume_records``, as the dialect calls them."""

    def __call__(
        self, db: Database, workspace_id: int, *, workflow_ref: str | None, phones: Sequence[str]
    ) -> Awaitable[ActionOutcome]: ...


async def _act_on_one(request: Request, db: Database, action: _Action) -> ActionOutcome:
    """The action on the records with one phone number; 400 when there are none."""
    call = await _read(request, db)
    workflow_key = _workflow_key(call.payload)
    number = call.payload.get("record_phone_number")
    if number is None:
        raise BadRequest('Missing required field "record_phone_number".')
    phone = _e164(number)
    if phone is None:
        raise BadRequest(_sentence(_ten_digit_error("record_phone_number", number).message))
    outcome = await action(db, call.workspace_id, workflow_ref=workflow_key, phones=[phone])
    if not outcome.found:
        where = "in the workflow" if workflow_key else "in any of your workflows"
        raise BadRequest(f"Record not found {where}.")
    return outcome


async def _act_on_many(request: Request, db: Database, action: _Action) -> int:
    """The action on the records of up to 1,000 numbers (numbers it cannot act on are
    ignored); how many records it changed."""
    call = await _read(request, db)
    workflow_key = _workflow_key(call.payload)
    numbers = call.payload.get("record_phone_numbers")
    if not isinstance(numbers, list):
        raise BadRequest('"record_phone_numbers" must be an array of 10-digit phone numbers.')
    if len(numbers) > LIMIT:
        raise BadRequest(
            f"{len(numbers)} numbers sent, at most {LIMIT} per call", code="too_many_records"
        )
    phones = sorted({phone for n in numbers if (phone := _e164(n)) is not None})
    if not phones:  # no number to act on (and no phones would select every record)
        return 0
    outcome = await action(db, call.workspace_id, workflow_ref=workflow_key, phones=phones)
    return len(outcome.changed)


@_post("/api/complete-record/", "Mark a record complete")
async def complete_record(request: Request, db: DbDep) -> Response:
    outcome = await _act_on_one(request, db, complete_records)
    message = (
        "Successfully marked record as completed."
        if outcome.changed
        else "Record is already completed."
    )
    return json_response({"message": message})


@_post("/api/bulk-complete-record/", "Mark up to 1,000 records complete")
async def complete_records_bulk(request: Request, db: DbDep) -> Response:
    changed = await _act_on_many(request, db, complete_records)
    return json_response({"message": f"Successfully marked {changed} records as completed."})


@_post("/api/resume-record", "Resume a completed record")
async def resume_record(request: Request, db: DbDep) -> Response:
    await _act_on_one(request, db, resume_records)
    return json_response({"message": "Successfully resumed record."})


@_post("/api/bulk-resume-record/", "Resume up to 1,000 completed records")
async def resume_records_bulk(request: Request, db: DbDep) -> Response:
    changed = await _act_on_many(request, db, resume_records)
    return json_response({"message": f"Successfully resumed {changed} records."})
