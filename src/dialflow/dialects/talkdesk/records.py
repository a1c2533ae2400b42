"""Talkdesk records in and out: a Talkdesk record becomes an intake record, a stored record
becomes Talkdesk's record object. Only shapes and names change here; intake checks the values.

=====================  ==========================================
Talkdesk               intake
=====================  ==========================================
phone_numbers[]        phones[] (``phone_number`` -> ``number``, ``phone_type`` -> ``type``)
phone_number           phone (deprecated single number, type MOBILE)
first_name, last_name  first_name, last_name (required: Talkdesk calls them mandatory)
timezone, priority     timezone, priority (absent or null priority: hot lead)
external_*             external_provider, external_id, external_url
extra_data             placeholders (available to scripts, kept verbatim)
sync_external_id       meta.sync_external_id
=====================  ==========================================
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import RowMapping

from dialflow.domain.errors import ErrorCode, FieldError

MAX_PHONE_LENGTH = 20
_SAME_NAME = (
    "first_name",
    "last_name",
    "timezone",
    "external_provider",
    "external_id",
    "external_url",
)
RECORD_FIELDS = frozenset(
    {
        "phone_numbers",
        "phone_number",
        "priority",
        "extra_data",
        "sync_external_id",
        *_SAME_NAME,
    }
)
_PHONE_FIELDS = frozenset({"phone_number", "phone_type"})

# Talkdesk's unique_identifier_type <-> the workflow's dedup mode.
IDENTIFIER_TYPES = {"PHONE_NUMBER": "phone", "EXTERNAL": "external_id", "NOTHING": "none"}
DEDUP_TYPES = {dedup: kind for kind, dedup in IDENTIFIER_TYPES.items()}


def required_fields(dedup: str) -> frozenset[str]:
    """Talkdesk's mandatory fields: both names, and the external pair on lists keyed by it."""
    names = frozenset({"first_name", "last_name"})
    return names | {"external_provider"} if dedup == "external_id" else names


def _phone_errors(position: int, item: dict[str, Any]) -> list[FieldError]:
    path = f"phone_numbers[{position}]"
    errors = [
        FieldError(ErrorCode.UNKNOWN_FIELD, f"{path}.{name}", f'unknown field "{path}.{name}"')
        for name in item
        if name not in _PHONE_FIELDS
    ]
    number = item.get("phone_number")
    if isinstance(number, str) and len(number) > MAX_PHONE_LENGTH:
        errors.append(
            FieldError(
                ErrorCode.TOO_LONG,
                f"{path}.phone_number",
                f'"{path}.phone_number" must be at most {MAX_PHONE_LENGTH} characters long, '
                f"not {len(number)}",
            )
        )
    return errors


def _phones(raw: object, errors: list[FieldError]) -> list[object]:
    if not isinstance(raw, list):
        errors.append(
            FieldError(ErrorCode.INVALID_TYPE, "phone_numbers", '"phone_numbers" must be an array')
        )
        return []
    if not raw:
        errors.append(
            FieldError(
                ErrorCode.TOO_SHORT,
                "phone_numbers",
                '"phone_numbers" needs at least one phone number',
            )
        )
    phones: list[object] = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_TYPE,
                    f"phone_numbers[{position}]",
                    f'"phone_numbers[{position}]" must be an object with "phone_number" and '
                    '"phone_type"',
                )
            )
            continue
        errors.extend(_phone_errors(position, item))
        phones.append({"number": item.get("phone_number"), "type": item.get("phone_type")})
    return phones


def to_intake(raw: object) -> tuple[dict[str, object], list[FieldError]]:
    """The intake record for a Talkdesk record, and the errors of its Talkdesk shape."""
    if not isinstance(raw, dict):
        return {}, [FieldError(ErrorCode.INVALID_TYPE, "", "each record must be a JSON object")]
    errors = [
        FieldError(ErrorCode.UNKNOWN_FIELD, name, f'unknown field "{name}"')
        for name in raw
        if name not in RECORD_FIELDS
    ]
    record: dict[str, object] = {name: raw.get(name) for name in _SAME_NAME}
    if "priority" in raw:
        record["priority"] = raw["priority"]
    if raw.get("phone_numbers") is not None:
        record["phones"] = _phones(raw["phone_numbers"], errors)
    if raw.get("phone_number") is not None:
        record["phone"] = raw["phone_number"]
    record["placeholders"] = raw.get("extra_data")
    sync = raw.get("sync_external_id")
    if sync is not None:
        if isinstance(sync, bool):
            record["meta"] = {"sync_external_id": sync}
        else:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_TYPE,
                    "sync_external_id",
                    '"sync_external_id" must be true or false',
                )
            )
    return record, errors


def document(row: RowMapping) -> dict[str, Any]:
    """The writable fields of a stored record, as Talkdesk shows them (what JSON Patch edits).

    ``timezone`` is the one the client gave; a zone dialflow resolved itself is null here, so
    an edit resolves it again from the (possibly new) phone number."""
    meta = row["meta"] or {}
    return {
        "phone_numbers": [
            {"phone_number": p["number"], "phone_type": p["type"]} for p in row["phones"]
        ],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "timezone": row["timezone"] if row["timezone_source"] == "explicit" else None,
        "priority": row["priority"],
        "extra_data": row["placeholders"],
        "external_provider": row["external_provider"],
        "external_id": row["external_id"],
        "external_url": row["external_url"],
        "sync_external_id": meta.get("sync_external_id"),
    }


def record_json(row: RowMapping, record_list_id: int, base_url: str) -> dict[str, Any]:
    href = f"{base_url}/record-lists/{record_list_id}/records/{row['id']}"
    return {
        "id": str(row["id"]),
        "record_list_id": str(record_list_id),
        **document(row),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "_links": {"self": {"href": href}},
    }
