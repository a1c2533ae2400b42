"""uploadCSV: a multipart form with a CSV ``file`` and the batch's fields (some as JSON strings).

The form is read with the standard library's MIME parser (the body is already capped by
``BodyLimitMiddleware``). Each CSV row is a call record: a ``phoneNumber`` column, an optional
``timezone`` column and any other columns as agent variables; empty cells are left out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import msgspec

from dialflow.dialects.weya.calls import PHONE_FIELD
from dialflow.errors import BadRequest

# Form fields Weya sends as JSON strings.
JSON_FIELDS = ("callingNumbers", "callingHour", "allowedDays", "agentVariables")
BATCH_TYPES = ("outbound", "mixed")
_FLAGS = {"true": True, "false": False}
_EXCEL = (".xlsx", ".xls")


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    file: bytes | None = None


def parse_form(content_type: str | None, body: bytes) -> Form:
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest(
            'send multipart/form-data with the CSV as the "file" part', code="not_multipart"
        )
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = message_from_bytes(head + body, policy=policy.HTTP)
    form = Form()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if name == "file":
            form.filename = part.get_filename()
            form.file = content
        elif isinstance(name, str):
            form.fields[name] = content.decode("utf-8", errors="replace")
    return form


def batch_fields(form: Form) -> dict[str, Any]:
    """The form's fields as createBatch's body: JSON strings decoded."""
    fields: dict[str, Any] = dict(form.fields)
    for name in JSON_FIELDS:
        if name in fields:
            try:
                fields[name] = msgspec.json.decode(fields[name])
            except msgspec.DecodeError:
                raise BadRequest(
                    f'"{name}" must be a JSON string, e.g. {_JSON_EXAMPLES[name]}',
                    code="invalid_request",
                ) from None
    return fields


_JSON_EXAMPLES = {
    "callingNumbers": '["+12125550100"]',
    "callingHour": '{"start":"09:00","end":"17:00"}',
    "allowedDays": "[1,2,3,4,5]",
    "agentVariables": '[{"name":"account_id"}]',
}


@dataclass(frozen=True, slots=True)
class Options:
    batch_type: str
    report_invalid: bool  # ``type``: "true" refuses a file with invalid rows (422)


def options_of(form: Form) -> Options:
    batch_type = form.fields.get("batchType") or "outbound"
    if batch_type not in BATCH_TYPES:
        raise BadRequest(
            f'"batchType" must be outbound or mixed, not "{batch_type[:40]}"',
            code="invalid_batch_type",
        )
    flag = (form.fields.get("type") or "true").lower()
    if flag not in _FLAGS:
        raise BadRequest('"type" must be "true" or "false"', code="invalid_request")
    return Options(batch_type, _FLAGS[flag])


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # where the row ends in the file; the header is line 1
    call: dict[str, str]


def read_rows(form: Form) -> list[Row]:
    """The data rows of the uploaded CSV (UTF-8, with or without a byte-order mark)."""
    if form.file is None:
        raise BadRequest('no file: send the CSV as the "file" part', code="missing_file")
    if (form.filename or "").lower().endswith(_EXCEL):
        raise BadRequest(
            "Excel files are not supported: save the first sheet as CSV (UTF-8) and upload it",
            code="unsupported_file_type",
        )
    try:
        text = form.file.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(
            "the file is not UTF-8 text: save it as CSV (UTF-8) and upload it",
            code="unsupported_file_type",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        if PHONE_FIELD not in header:
            raise BadRequest(
                f'the CSV is empty or has no "{PHONE_FIELD}" column in its first row',
                code="empty_csv" if not any(header) else "missing_phone_column",
            )
        repeated = sorted({name for name in header if name and header.count(name) > 1})
        if repeated:
            raise BadRequest(
                f"the CSV header repeats {', '.join(repeated)}", code="duplicate_columns"
            )
        rows = [_row(header, cells, reader.line_num) for cells in reader if any(cells)]
    except csv.Error as exc:
        raise BadRequest(
            f"the CSV cannot be read (line {reader.line_num}): {exc}", code="invalid_csv"
        ) from None
    if not rows:
        raise BadRequest("the CSV has a header but no rows", code="empty_csv")
    return rows


def _row(header: list[str], cells: list[str], line: int) -> Row:
    if len(cells) > len(header):
        raise BadRequest(
            f"line {line} has {len(cells)} cells but the header names {len(header)} columns",
            code="invalid_csv",
        )
    stripped = ((name, cell.strip()) for name, cell in zip(header, cells, strict=False))
    call = {name: value for name, value in stripped if name and value}
    return Row(line, call)
