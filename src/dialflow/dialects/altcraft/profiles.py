"""Altcraft profiles and dialflow records, translated both ways.

A profile's fields map onto a record: ``_fname``/``_lname`` to the names, ``email``, ``phones``
(a string or a list; typed MOBILE, HOME, OFFICE, EXTRA_1..3 in order) and the email/phone of
its ``subscriptions``; every other field is kept in ``meta``. ``content`` (the template's
``{apicontent.*}`` variables) becomes the record's placeholders. The profile id is the record's
``profile_id``: an Altcraft-shaped 24-hex-digit id given to a profile when it is first seen.

An import names fields, it does not replace the profile: a matched profile keeps whatever the
import leaves out, so the record sent to intake is the stored record with the import laid over it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy.engine import RowMapping

from dialflow.domain.errors import ErrorCode, FieldError
from dialflow.errors import BadRequest
from dialflow.records.service import ProfileField
from dialflow.workflows.definition import PHONE_TYPES

Matching = Literal["email", "email_profile", "phone", "profile_id", "custom"]

# Where each matching mode looks a profile up.
MATCH_FIELD: dict[Matching, ProfileField] = {
    "email": "email",
    "email_profile": "email",
    "phone": "phone",
    "profile_id": "profile_id",
    "custom": "meta",
}
_NAMED_FIELDS = {"_fname": "first_name", "_lname": "last_name", "email": "email"}
_PROFILE_FIELDS = {*_NAMED_FIELDS, "phones", "subscriptions"}
# Record fields as the Altcraft request names them, for error messages.
_ALTCRAFT_NAMES = {
    "phone": "phones",
    "first_name": "_fname",
    "last_name": "_lname",
    "placeholders": "content",
    "meta": "data",
}
_FIELD_HEAD = re.compile(r"[A-Za-z_]+")


class ImportRequest(BaseModel):
    """One ``import_and_start`` / ``import_and_start_batch`` call, as a task also stores it.

    ``profiles`` holds one entry per profile: ``data`` (its fields) plus the per-profile
    ``email``, ``phone``, ``profile_id``, ``field_value`` and ``content``, each optional.
    """

    model_config = ConfigDict(extra="ignore")

    workflow_id: int
    matching: Matching = "email"
    field_name: str | None = None
    content: dict[str, Any] | None = None
    skip_triggers: bool = False
    skip_invalid_subscriptions: bool = False
    detect_geo: bool = False
    custom_request: Any = None
    profiles: list[Any]

    @model_validator(mode="after")
    def _matching(self) -> ImportRequest:
        if self.custom_request is not None:
            raise ValueError(
                'custom_request (a MongoDB query) is not supported; match with "matching"'
            )
        if self.matching == "custom" and not self.field_name:
            raise ValueError('matching "custom" needs "field_name", the profile field to match')
        return self


def parse_import(params: Mapping[str, Any], *, batch: bool, xml: bool) -> ImportRequest:
    """The import a request asks for. A batch lists profiles in ``data`` (in XML each ``<data>``
    holds the profile's fields); a single import gives the profile's fields in ``data`` and its
    match values beside them."""
    if batch:
        items = params.get("data")
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            raise BadRequest('"data" must list the profiles to import, at least one')
        profiles = [{"data": item} for item in items] if xml else items
    else:
        keys = ("email", "phone", "profile_id", "field_value")
        profiles = [{"data": params.get("data"), **{k: params[k] for k in keys if k in params}}]
    try:
        return ImportRequest.model_validate({**params, "profiles": profiles})
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """Pydantic's errors as one line: ``field: message`` each (our own checks unprefixed)."""
    parts = []
    for err in exc.errors():
        context = err.get("ctx") or {}
        own = err["type"] == "value_error" and "error" in context
        message = str(context["error"]) if own else err["msg"]
        where = ".".join(str(part) for part in err["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def new_profile_id() -> str:
    """A fresh profile id, shaped like Altcraft's (24 hexadecimal digits)."""
    return secrets.token_hex(12)


def _text(value: object) -> str | None:
    """A match value as text: tags (a list) are written "tag-1, tag-2", as Altcraft does."""
    if isinstance(value, list):
        parts = [_text(item) for item in value]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _subscriptions(data: Mapping[str, Any], key: str) -> list[object]:
    listed = data.get("subscriptions")
    if not isinstance(listed, list):
        return []
    return [s[key] for s in listed if isinstance(s, dict) and s.get(key) is not None]


def _phones(data: Mapping[str, Any]) -> list[object]:
    given = data.get("phones")
    phones = given if isinstance(given, list) else [] if given is None else [given]
    return [*phones, *(p for p in _subscriptions(data, "phone") if p not in phones)]


def match_value(profile: Mapping[str, Any], request: ImportRequest) -> str | None:
    """The value the profile is matched by: given beside its data, else from its fields."""
    data = profile.get("data")
    fields: Mapping[str, Any] = data if isinstance(data, dict) else {}
    candidates: list[object]
    match request.matching:
        case "email":
            candidates = [fields.get("email"), *_subscriptions(fields, "email")]
        case "email_profile":
            candidates = [fields.get("email")]
        case "phone":
            candidates = _phones(fields)
        case "profile_id":
            candidates = []
        case "custom":
            candidates = [fields.get(request.field_name or "")]
    key = "field_value" if request.matching == "custom" else MATCH_FIELD[request.matching]
    for candidate in (profile.get(key), *candidates):
        text = _text(candidate)
        if text is not None:
            return text
    return None


def missing_match_message(request: ImportRequest) -> str:
    if request.matching == "custom":
        return f'the profile has no "{request.field_name}" to match by (matching "custom")'
    name = MATCH_FIELD[request.matching].replace("_", " ")
    return f'the profile has no {name} to match by (matching "{request.matching}")'


class ProfileProblem(Exception):
    """A profile that cannot be imported as sent; the message says why."""


def profile_fields(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's fields (its ``data``), checked for shape."""
    data = profile.get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileProblem('"data" must be an object of profile fields')
    if "subscriptions" in data and not isinstance(data["subscriptions"], list):
        raise ProfileProblem('"subscriptions" must be a list')
    return data


def lay_over(
    record: Mapping[str, Any], profile: Mapping[str, Any], request: ImportRequest, key: str
) -> dict[str, Any]:
    """``record`` with the profile's fields laid over it; ``key`` is its match value."""
    data = profile_fields(profile)
    merged = dict(record)
    merged.update({name: data[source] for source, name in _NAMED_FIELDS.items() if source in data})
    if merged.get("email") is None:
        emails: list[object] = [key] if MATCH_FIELD[request.matching] == "email" else []
        emails += _subscriptions(data, "email")
        if emails:
            merged["email"] = emails[0]
    phones = _phones(data)
    if not phones and request.matching == "phone" and "phones" not in merged:
        phones = [key]
    if len(phones) > len(PHONE_TYPES):
        raise ProfileProblem(f"a profile has at most {len(PHONE_TYPES)} phone numbers")
    if phones:
        typed = zip(phones, PHONE_TYPES, strict=False)  # at most one number per type
        merged["phones"] = [{"number": number, "type": kind} for number, kind in typed]
    custom = {name: value for name, value in data.items() if name not in _PROFILE_FIELDS}
    if request.matching == "custom":
        custom[request.field_name or ""] = key  # Altcraft records the value as a string
    if custom:
        merged["meta"] = {**(merged.get("meta") or {}), **custom}
    content = {**(request.content or {}), **(profile.get("content") or {})}
    if content:
        merged["placeholders"] = {**(merged.get("placeholders") or {}), **content}
    return merged


def altcraft_field(name: str) -> str:
    """A record field path as the Altcraft request names it (``first_name`` -> ``_fname``)."""
    head = _FIELD_HEAD.match(name)
    if head is None:
        return name
    return _ALTCRAFT_NAMES.get(head.group(), head.group()) + name[head.end() :]


def describe(errors: list[FieldError]) -> str:
    """Field errors as one ``error_debug`` line in the request's own terms."""
    parts = []
    for error in errors:
        message = error.message
        if error.code is ErrorCode.DUPLICATE_IN_REQUEST:
            message = "another profile of this request has the same value; the first one is kept"
        parts.append(f"{altcraft_field(error.field)}: {message}" if error.field else message)
    return "; ".join(parts)


@dataclass(slots=True, eq=False)
class Profile:
    """The entries of one import that share a match value, laid over each other in order
    (compared by identity)."""

    profile_id: str
    record: dict[str, Any]
    stored: RowMapping | None = None
    indexes: list[int] = field(default_factory=list)
