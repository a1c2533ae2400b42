"""Turn one submitted record (a decoded JSON object) into a clean record or its field errors.

Pure and per record, so one bad record never rejects the rest of a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from dialflow.domain.contact_fields import (
    validate_email,
    validate_meta,
    validate_placeholders,
    validate_priority,
    validate_text,
)
from dialflow.domain.errors import ErrorCode, FieldError, FieldErrors
from dialflow.domain.names import validate_name
from dialflow.domain.phones import PhoneType, normalize_phone, parse_phone_type
from dialflow.domain.timezones import resolve_timezone, validate_zip
from dialflow.domain.variables import VariableSpec

DedupMode = Literal["phone", "external_id", "none"]

NATIVE_FIELDS = frozenset(
    {
        "phone",
        "phone_type",
        "phones",
        "first_name",
        "last_name",
        "email",
        "zip",
        "timezone",
        "priority",
        "placeholders",
        "meta",
        "external_id",
        "case_id",
        "external_provider",
        "external_url",
        "profile_id",
        "transfer_number",
    }
)
_TEXT_LIMITS = {
    "external_id": 200,
    "case_id": 200,
    "external_provider": 100,
    "external_url": 2000,
    "profile_id": 200,
}


@dataclass(frozen=True, slots=True)
class IntakeRules:
    """What a workflow (and the way in) demands of each record."""

    region: str = "US"
    default_timezone: str = "America/New_York"
    variables: tuple[VariableSpec, ...] = ()
    dedup: DedupMode = "phone"
    meta_max_bytes: int = 16_384
    required_fields: frozenset[str] = frozenset()
    # Look for U+0000 in every string; a caller that saw no "\u0000" in the raw body skips it.
    scan_nul: bool = True


@dataclass(slots=True)
class CleanRecord:
    phone: str
    phones: list[dict[str, str]]
    timezone: str
    timezone_source: str
    timezone_candidates: list[str] | None
    placeholders: dict[str, object]
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    zip: str | None = None
    priority: int | None = None
    meta: dict[str, object] | None = None
    external_id: str | None = None
    case_id: str | None = None
    external_provider: str | None = None
    external_url: str | None = None
    profile_id: str | None = None
    transfer_number: str | None = None
    dedup_key: str | None = field(default=None)


def _phones(raw: dict[str, object], region: str, errors: list[FieldError]) -> list[dict[str, str]]:
    phones: list[dict[str, str]] = []
    seen_types: set[PhoneType] = set()
    single = raw.get("phone")
    if single is not None:
        try:
            kind = (
                PhoneType.MOBILE
                if raw.get("phone_type") is None
                else parse_phone_type(raw.get("phone_type"), field="phone_type")
            )
            phones.append({"number": normalize_phone(single, region=region), "type": kind.value})
            seen_types.add(kind)
        except FieldErrors as exc:
            errors.extend(exc.errors)
    listed = raw.get("phones")
    if listed is not None:
        if not isinstance(listed, list):
            errors.append(FieldError(ErrorCode.INVALID_TYPE, "phones", '"phones" must be a list'))
            return phones
        for position, item in enumerate(listed):
            path = f"phones[{position}]"
            if not isinstance(item, dict):
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_TYPE,
                        path,
                        f'"{path}" must be an object with "number" and "type"',
                    )
                )
                continue
            try:
                number = normalize_phone(item.get("number"), region=region, field=f"{path}.number")
                kind = parse_phone_type(item.get("type", "MOBILE"), field=f"{path}.type")
            except FieldErrors as exc:
                errors.extend(exc.errors)
                continue
            if kind in seen_types:
                errors.append(
                    FieldError(
                        ErrorCode.DUPLICATE_PHONE_TYPE,
                        f"{path}.type",
                        f"phone type {kind.value} is given more than once; "
                        "each type holds one number",
                    )
                )
                continue
            seen_types.add(kind)
            phones.append({"number": number, "type": kind.value})
    if not phones and not errors:
        errors.append(
            FieldError(
                ErrorCode.REQUIRED, "phone", 'a record needs a phone number ("phone" or "phones")'
            )
        )
    return phones


def _nul_paths(value: object, path: str) -> list[str]:
    """Paths of strings holding U+0000, which PostgreSQL text and JSONB cannot store."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        found = [
            inner
            for key, item in value.items()
            for inner in _nul_paths(item, f"{path}.{key}" if path else str(key))
        ]
        if any("\x00" in str(key) for key in value):
            found.append(path or ".")
        return found
    if isinstance(value, list):
        return [inner for i, item in enumerate(value) for inner in _nul_paths(item, f"{path}[{i}]")]
    return []


def _name(field: str) -> Callable[[object, IntakeRules], object]:
    def check(value: object, rules: IntakeRules) -> object:
        return validate_name(value, field=field, required=field in rules.required_fields)

    return check


def _text(field: str, limit: int) -> Callable[[object, IntakeRules], object]:
    def check(value: object, _rules: IntakeRules) -> object:
        return validate_text(value, field=field, max_length=limit)

    return check


def _transfer(value: object, rules: IntakeRules) -> object:
    if value == "":
        return None
    return normalize_phone(value, region=rules.region, field="transfer_number")


# Field -> validator. Absent (None) optional fields are skipped without a call: bulk intake
# runs this table for every record, and most records carry only a few fields.
_OPTIONAL: tuple[tuple[str, Callable[[object, IntakeRules], object]], ...] = (
    ("first_name", _name("first_name")),
    ("last_name", _name("last_name")),
    ("email", lambda value, _rules: validate_email(value)),
    ("zip", lambda value, _rules: validate_zip(value)),
    ("priority", lambda value, _rules: validate_priority(value)),
    ("meta", lambda value, rules: validate_meta(value, max_bytes=rules.meta_max_bytes)),
    ("transfer_number", _transfer),
    *((name, _text(name, limit)) for name, limit in _TEXT_LIMITS.items()),
)


def clean_record(raw: object, rules: IntakeRules) -> CleanRecord | list[FieldError]:
    if not isinstance(raw, dict):
        return [FieldError(ErrorCode.INVALID_TYPE, "", "each record must be a JSON object")]
    errors: list[FieldError] = [
        FieldError(ErrorCode.UNKNOWN_FIELD, name, f'unknown field "{name}"')
        for name in raw
        if name not in NATIVE_FIELDS
    ]
    if rules.scan_nul:
        errors.extend(
            FieldError(
                ErrorCode.INVALID_VALUE,
                path,
                f'"{path}" contains a NUL character (\\u0000), which cannot be stored',
            )
            for path in _nul_paths(raw, "")
        )
    phones = _phones(raw, rules.region, errors)
    required = rules.required_fields
    values: dict[str, object] = {}
    for name, check in _OPTIONAL:
        value = raw.get(name)
        if value is None and name not in required:
            values[name] = None
            continue
        try:
            values[name] = check(value, rules)
        except FieldErrors as exc:
            errors.extend(exc.errors)
            values[name] = None
    try:
        values["placeholders"] = validate_placeholders(raw.get("placeholders"), rules.variables)
    except FieldErrors as exc:
        errors.extend(exc.errors)
    errors.extend(
        FieldError(ErrorCode.REQUIRED, name, f'"{name}" is required')
        for name in required
        if name in _TEXT_LIMITS and values.get(name) is None
    )
    if rules.dedup == "external_id" and values["external_id"] is None:
        errors.append(
            FieldError(
                ErrorCode.MISSING_EXTERNAL_ID,
                "external_id",
                'this workflow deduplicates by external id, so "external_id" is required',
            )
        )
    if not phones:
        return errors
    zip_code = values["zip"]
    try:
        timezone = resolve_timezone(
            explicit=raw.get("timezone"),
            zip_code=zip_code if isinstance(zip_code, str) else None,
            phone_e164=phones[0]["number"],
            default=rules.default_timezone,
        )
    except FieldErrors as exc:
        errors.extend(exc.errors)
    if errors:
        return errors
    primary = phones[0]["number"]
    dedup_key: str | None
    if rules.dedup == "phone":
        dedup_key = primary
    elif rules.dedup == "external_id":
        dedup_key = str(values["external_id"])
    else:
        dedup_key = None
    return CleanRecord(
        phone=primary,
        phones=phones,
        timezone=timezone.zone,
        timezone_source=timezone.source.value,
        timezone_candidates=list(timezone.candidates) if len(timezone.candidates) > 1 else None,
        dedup_key=dedup_key,
        **values,  # type: ignore[arg-type]
    )


def warm_caches() -> None:
    """Build the phone, ZIP and area-code tables now, so the first request does not pay."""
    normalize_phone("2125551234")
    resolve_timezone(
        explicit=None, zip_code="10001", phone_e164="+12125551234", default="America/New_York"
    )
