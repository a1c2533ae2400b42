"""The records repository's SQLite bulk insert: how a chunk is cut into statements."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialflow.db.tables import RECORD_COLUMNS
from dialflow.records.repository import (
    _SQLITE_INSERT_SIZES,
    _SQLITE_MAX_PARAMETERS,
    _sqlite_insert_sizes,
)


@given(st.integers(min_value=0, max_value=10_000))
def test_a_chunk_goes_in_few_statements_of_a_few_shapes(rows: int) -> None:
    sizes = _sqlite_insert_sizes(rows)
    assert sum(sizes) == rows
    assert sizes == sorted(sizes, reverse=True)
    assert set(sizes) <= set(_SQLITE_INSERT_SIZES)
    # Every row count up to 1,023 takes at most one statement of each size.
    if rows < 2 * max(_SQLITE_INSERT_SIZES):
        assert len(sizes) == len(set(sizes)) <= len(_SQLITE_INSERT_SIZES)
    assert all(size * len(RECORD_COLUMNS) <= _SQLITE_MAX_PARAMETERS for size in sizes)
