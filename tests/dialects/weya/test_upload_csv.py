"""uploadCSV: a batch from a multipart CSV upload, with invalid rows reported (422)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dialflow.db.engine import Database
from tests.conftest import FailInserts
from tests.dialects.weya.conftest import Weya, batch_records, expect
from tests.intake.test_bulk import phone

UPLOAD = "/api/call/uploadCSV"
FORM = {
    "userId": "user-1",
    "batchName": "Imported leads",
    "callingNumbers": '["+12125550100"]',
    "batchType": "outbound",
    "timezone": "America/Chicago",
    "callingHour": '{"start":"09:00","end":"17:00"}',
    "allowedDays": "[1,2,3,4,5]",
    "agentVariables": '[{"name":"account_id"}]',
}
GOOD_CSV = (
    "\ufeffphoneNumber,account_id,timezone,notes\r\n"
    f"1{phone(1)},A-1,America/Denver,first\r\n"
    f"1{phone(2)},A-2,,\r\n"
    "\r\n"
    f"1{phone(1)},A-3,,repeated phone\r\n"
    f'1{phone(3)},A-4,,"two\r\nlines"\r\n'
)


async def upload(
    weya: Weya,
    content: str | bytes | None,
    *,
    filename: str = "leads.csv",
    **fields: str,
) -> httpx.Response:
    """multipart/form-data, as a browser sends it: the fields, then the file (if any)."""
    parts: list[tuple[str, tuple[str | None, str | bytes, str | None]]] = [
        (name, (None, value, None)) for name, value in {**FORM, **fields}.items()
    ]
    if content is not None:
        parts.append(("file", (filename, content, "text/csv")))
    return await weya.client.post(
        UPLOAD, files=parts, headers={"Authorization": f"Bearer {weya.api_key}"}
    )


async def batch_count(weya: Weya) -> int:
    listed = expect(await weya.get("/api/call/batches/user-1"), 200)
    total: int = listed["pagination"]["total"]
    return total


async def test_a_csv_creates_a_batch_with_its_rows(weya: Weya, db: Database) -> None:
    response = await upload(weya, GOOD_CSV)
    data = expect(response, 201)
    call_ids = data.pop("callIds")
    assert data == {
        "batchId": data["batchId"],
        "batchName": "Imported leads",
        "batchType": "outbound",
        "callingNumbers": ["+12125550100"],
        "timezone": "America/Chicago",
        "totalRows": 4,
        "added": 3,
        "duplicates": 1,  # the first row of a repeated phone is kept
        "suppressed": 0,
        "failed": 0,
        "invalid": 0,
        "invalidRows": [],
    }
    stored = await batch_records(db, data["batchId"])
    assert list(stored) == call_ids
    rows = [stored[i] for i in call_ids]
    assert [r["phone"] for r in rows] == ["+1" + phone(n) for n in (1, 2, 3)]
    assert [r["placeholders"] for r in rows] == [
        {"account_id": "A-1", "notes": "first"},
        {"account_id": "A-2"},
        {"account_id": "A-4", "notes": "two\r\nlines"},
    ]
    assert [r["timezone"] for r in rows][:1] == ["America/Denver"]


async def test_invalid_rows_refuse_the_file_with_422(weya: Weya) -> None:
    content = f"phoneNumber,account_id\n1{phone(1)},A-1\n1{phone(2)},\n12345,A-3\n"
    response = await upload(weya, content)
    data = expect(response, 422)
    assert response.json()["errorMessage"].startswith("2 of 3 rows are invalid: row 3: ")
    assert data == {
        "invalidRows": [
            {
                "row": 3,
                "phoneNumber": "1" + phone(2),
                "errors": [
                    {
                        "field": "account_id",
                        "code": "missing_placeholder",
                        "message": 'missing required agent variable "account_id"',
                    }
                ],
            },
            {
                "row": 4,
                "phoneNumber": "12345",
                "errors": [
                    {
                        "field": "phoneNumber",
                        "code": "invalid_phone",
                        "message": '"phoneNumber" is not a valid phone number: "12345"',
                    }
                ],
            },
        ]
    }
    assert await batch_count(weya) == 0  # nothing was created


async def test_type_false_skips_invalid_rows_and_lists_them(weya: Weya, db: Database) -> None:
    content = f"phoneNumber,account_id\n1{phone(1)},A-1\n1{phone(2)},\n"
    data = expect(await upload(weya, content, type="false"), 201)
    assert (data["totalRows"], data["added"], data["invalid"]) == (2, 1, 1)
    assert [row["row"] for row in data["invalidRows"]] == [3]
    assert len(await batch_records(db, data["batchId"])) == 1


async def test_a_file_with_only_invalid_rows_is_422_even_when_skipping(weya: Weya) -> None:
    expect(await upload(weya, "phoneNumber,account_id\n12345,A\n", type="false"), 422)
    assert await batch_count(weya) == 0


@pytest.mark.parametrize(
    ("content", "options", "words"),
    [
        (None, {}, "no file"),
        ("", {}, "the CSV is empty"),
        ("account_id\nA-1\n", {}, 'no "phoneNumber" column'),
        ("phoneNumber,account_id\n", {}, "no rows"),
        ("phoneNumber,a,a\n12125551001,1,2\n", {}, "repeats a"),
        ("phoneNumber\n12125551001,extra\n", {}, "line 2 has 2 cells"),
        ("phoneNumber\n12125551001\n", {"filename": "leads.xlsx"}, "Excel files"),
        (b"phoneNumber\n\xff\xfe\n", {}, "not UTF-8"),
        ("phoneNumber\n12125551001\n", {"batchType": "inbound"}, "batchType"),
        ("phoneNumber\n12125551001\n", {"type": "maybe"}, '"type"'),
        ("phoneNumber\n12125551001\n", {"batchName": ""}, "batchName"),
        ("phoneNumber\n12125551001\n", {"callingNumbers": "+1212"}, "JSON string"),
    ],
)
async def test_bad_uploads_are_400(
    weya: Weya, content: str | bytes | None, options: dict[str, Any], words: str
) -> None:
    response = await upload(weya, content, **options)
    expect(response, 400)
    assert words in response.json()["errorMessage"]
    assert await batch_count(weya) == 0


async def test_a_json_body_is_400(weya: Weya) -> None:
    response = await weya.post(UPLOAD, {"batchName": "x"})
    expect(response, 400)
    assert "multipart/form-data" in response.json()["errorMessage"]


async def test_a_failed_chunk_is_reported_as_207(
    weya: Weya, db: Database, fail_inserts: FailInserts
) -> None:
    lines = "".join(f"1{phone(n)},A-{n}\n" for n in range(1_200))
    await fail_inserts("records", f"NEW.phone = '+1{phone(1_100)}'")
    response = await upload(weya, "phoneNumber,account_id\n" + lines)
    data = expect(response, 207)
    assert (data["added"], data["failed"]) == (1_000, 200)
    assert len(await batch_records(db, data["batchId"])) == 1_000
