"""Small SQL builders whose best form differs by dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    literal,
    text,
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
    where: Sequence[str] = (),
) -> None:
    """Write each row its own values: ``changes`` hold column values plus the match keys
    (``match``: key -> column name, e.g. ``{"_id": "id"}``); ``where`` adds fixed SQL
    conditions on the table. Every item must have the same keys.

    PostgreSQL gets one ``UPDATE … FROM unnest(arrays)``: one statement, one plan, one round
    trip for the batch, instead of an UPDATE per row. Elsewhere an executemany."""
    if not changes:
        return
    columns = [name for name in changes[0] if name not in match]
    if conn.dialect.name != "postgresql":
        conditions = [table.c[column] == bindparam(key) for key, column in match.items()]
        await conn.execute(
            update(table)
            .where(*conditions, *(text(condition) for condition in where))
            .values({name: bindparam(name) for name in columns}),
            list(changes),
        )
        return
    keys = [*match, *columns]
    types = {key: table.c[match.get(key, key)].type for key in keys}
    arrays = {
        f"a{index}": [_pg_value(types[key], item[key]) for item in changes]
        for index, key in enumerate(keys)
    }
    casts = ", ".join(
        f"CAST(:a{index} AS {types[key].compile(dialect=conn.dialect)}[])"
        for index, key in enumerate(keys)
    )
    aliases = ", ".join(f'"{key}"' for key in keys)
    assignments = ", ".join(f'"{name}" = v."{name}"' for name in columns)
    matching = " AND ".join(
        [f'{table.name}."{column}" = v."{key}"' for key, column in match.items()]
        + [f"{table.name}.{condition}" for condition in where]
    )
    await conn.execute(
        text(
            f"UPDATE {table.name} SET {assignments} "  # noqa: S608 (names come from the schema)
            f"FROM unnest({casts}) AS v({aliases}) WHERE {matching}"
        ),
        arrays,
    )


def _pg_value(column_type: Any, value: Any) -> Any:
    """A value as the array parameter carries it (JSON travels as text, cast to jsonb)."""
    if value is not None and isinstance(column_type, JSON):
        return msgspec.json.encode(value).decode()
    return value
