"""A workflow's variable schema: the placeholders / agent variables each record must carry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VariableType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class VariableSpec:
    name: str
    type: VariableType = VariableType.STRING
    required: bool = True
