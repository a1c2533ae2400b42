"""Small SQL builders whose best form differs by dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    literal,
    update,
)
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


async def update_each(
    conn: AsyncConnection,
    table: Table,
    changes: Sequence[Mapping[str, Any]],
    *,
    match: Mapping[str, str],
    where: Sequence[ColumnElement[bool]] = (),
) -> None:
    """Write each row its own values: ``changes`` hold column values plus the match keys
    (``match``: key -> column name, e.g. ``{"_id": "id"}``); ``where`` adds fixed
    conditions on the table. Every item must have the same keys.

    One executemany (pipelined by psycopg): each row is found by its key through the primary
    key. A single ``UPDATE … FROM unnest(arrays)`` was measured slower here: without fresh
    statistics PostgreSQL joins it by scanning the table."""
    if not changes:
        return
    columns = [name for name in changes[0] if name not in match]
    conditions = [table.c[column] == bindparam(key) for key, column in match.items()]
    await conn.execute(
        update(table)
        .where(*conditions, *where)
        .values({name: bindparam(name) for name in columns}),
        list(changes),
    )
