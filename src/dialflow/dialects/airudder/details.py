"""A workflow task's list entries (``details``) and dialflow records, translated both ways.

A detail is ``callee`` (the number, E.164 like ``+62123456``), optional ``case_id`` and
``email``, and any other field: a variable of the workflow's template (a record placeholder,
checked against the workflow's variables by the intake, usable as ``{{ name }}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy.engine import RowMapping

from dialflow.domain.errors import FieldError
from dialflow.errors import BadRequest
from dialflow.intake.service import GOOD, IntakeOutcome
from dialflow.records.service import stored_record

CALLEE: Final = "callee"
CASE_ID: Final = "case_id"
#: Detail field -> native record field; every other detail field is a variable.
_NAMED: Final[Mapping[str, str]] = {CALLEE: "phone", CASE_ID: "case_id", "email": "email"}
_VENDOR: Final[Mapping[str, str]] = {native: vendor for vendor, native in _NAMED.items()}
_PLACEHOLDERS: Final = "placeholders"


def details_of(body: Mapping[str, Any]) -> list[Any]:
    details = body.get("details")
    if not isinstance(details, list) or not details:
        raise BadRequest('"details" must be a non-empty array of list entries', code="no_details")
    return details


def _variables(detail: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in detail.items() if name not in _NAMED}


def to_record(detail: object) -> object:
    """A detail as a native record (anything but an object is left to the intake to refuse)."""
    if not isinstance(detail, dict):
        return detail
    record: dict[str, Any] = {
        native: detail[vendor] for vendor, native in _NAMED.items() if vendor in detail
    }
    record[_PLACEHOLDERS] = _variables(detail)
    return record


def laid_over(row: RowMapping, detail: Mapping[str, Any]) -> dict[str, Any]:
    """The stored record with a detail's fields laid over it: its variables are added to (or
    replace) the record's, a ``callee`` replaces the record's numbers, ``email`` its email."""
    record = stored_record(row)
    if CALLEE in detail:
        record.pop("phones", None)
        record["phone"] = detail[CALLEE]
    if "email" in detail:
        record["email"] = detail["email"]
    record[_PLACEHOLDERS] = {**record.get(_PLACEHOLDERS, {}), **_variables(detail)}
    return record


def _vendor_field(field: str) -> str:
    head, dot, rest = field.partition(".")
    if head == _PLACEHOLDERS:
        return rest
    return f"{_VENDOR.get(head, head)}{dot}{rest}"


def describe(error: FieldError) -> str:
    """A native field error in the detail's words (``callee``, the variable's own name)."""
    if not error.field:
        return "a list entry must be a JSON object"
    vendor = _vendor_field(error.field)
    message = error.message.replace(f'"{error.field}"', f'"{vendor}"')
    return message.replace("placeholder", "variable")


def entry_error(detail: object, index: int, message: str) -> dict[str, Any]:
    """One refused detail: its position in ``details``, what names it, and why."""
    named = detail if isinstance(detail, dict) else {}
    return {
        "index": index,
        CALLEE: named.get(CALLEE),
        CASE_ID: named.get(CASE_ID),
        "message": message,
    }


def counted(total: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``{total, success, failed, errors}`` of a request about ``total`` details."""
    return {"total": total, "success": total - len(errors), "failed": len(errors), "errors": errors}


def upload_result(details: Sequence[object], outcome: IntakeOutcome) -> dict[str, Any]:
    """``{list_id, total, success, failed, errors[{index, callee, case_id, message}]}``: the
    list the details were added as, and the details refused (invalid, repeated in the request,
    on the do-not-call list, or not stored)."""
    errors = [
        entry_error(
            details[result.index],
            result.index,
            "; ".join(describe(error) for error in result.errors),
        )
        for result in outcome.results
        if result.status not in GOOD
    ]
    return {"list_id": str(outcome.list_id), **counted(len(outcome.results), errors)}
