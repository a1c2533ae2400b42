"""Request bodies of the Talkdesk dialect that are not records (records go through intake)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ListName: TypeAlias = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CsvMetadata(BaseModel):
    """Accepted for compatibility; dialflow takes records over the API, not by file upload."""

    model_config = ConfigDict(extra="allow")


class RecordListIn(_Strict):
    name: ListName
    unique_identifier_type: Literal["PHONE_NUMBER", "EXTERNAL", "NOTHING"] = "PHONE_NUMBER"
    csv_metadata: CsvMetadata | None = None


class DncListIn(_Strict):
    name: ListName
    csv_metadata: CsvMetadata | None = None


class DncEntryIn(_Strict):
    phone_number: str = Field(min_length=1, max_length=20)
    expiration_date: date | None = Field(
        default=None,
        ge=date(1970, 1, 1),
        le=date(9998, 12, 31),
        description="YYYY-MM-DD: the entry blocks through this day (local time).",
    )
    reason: str | None = Field(default=None, max_length=200)


# Talkdesk's own example (seed 004), shown in the OpenAPI documentation of the record routes.
RECORD_EXAMPLE = {
    "phone_numbers": [
        {"phone_number": "+351929312312", "phone_type": "MOBILE"},
        {"phone_number": "+351929312300", "phone_type": "OFFICE"},
        {"phone_number": "+351929312301", "phone_type": "HOME"},
    ],
    "first_name": "Joey",
    "last_name": "Tribbiani",
    "timezone": "Europe/Lisbon",
    "priority": 6,
    "external_provider": "salesforce",
    "external_id": "0030O000024ukNtQAD",
    "external_url": "https://xxx.salesforce.com/0030O000024ukNtQAD",
    "sync_external_id": True,
    "extra_data": {"country": "USA", "state": "California", "job": "Actor"},
}
