"""Alembic environment: online migrations only, on the URL set by ``dialflow.db.migrate``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine, event

from dialflow.db.engine import configure_sqlite
from dialflow.db.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine = create_engine(url)
sqlite = engine.dialect.name == "sqlite"
if sqlite:
    configure_sqlite(engine)

    @event.listens_for(engine, "connect")
    def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
        # Batch migrations rebuild a table by copy, drop and rename; dropping a table that
        # others reference fails with foreign keys on. They are checked once at the end instead.
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:10]}")
engine.dispose()
