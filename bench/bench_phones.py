"""The phone numbers the benchmarks send: distinct, valid NANP numbers, shared by every bench."""

from __future__ import annotations

from dialflow.domain.errors import FieldErrors
from dialflow.domain.phones import normalize_phone

AREA_CODES = ("212", "312", "415", "617", "713", "206", "305", "404", "503", "602")
LINES_PER_EXCHANGE = 10_000


def valid_prefixes() -> list[str]:
    """Area code + exchange pairs the product's phone validation accepts (checked once)."""
    prefixes = []
    for area in AREA_CODES:
        for exchange in range(200, 1000):
            text = str(exchange)
            if text[1:] == "11" or text == "555":
                continue
            try:
                normalize_phone(f"{area}{text}4567")
            except FieldErrors:
                continue
            prefixes.append(area + text)
    return prefixes
