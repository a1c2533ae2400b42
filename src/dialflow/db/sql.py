"""Small SQL builders whose best form differs by dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, any_, bindparam, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection


def one_of(conn: AsyncConnection, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL one array parameter (``= ANY(:values)``): a long
    expanded IN list costs more to build and parse client-side than the query itself."""
    if not values:
        return literal(value=False)
    if conn.dialect.name == "postgresql":
        element = BigInteger() if isinstance(values[0], int) else String()
        parameter = bindparam(None, list(values), type_=ARRAY(element))
        condition: ColumnElement[bool] = column == any_(parameter)
        return condition
    expanded: ColumnElement[bool] = column.in_(values)
    return expanded
