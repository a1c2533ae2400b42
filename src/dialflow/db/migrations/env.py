"""Alembic environment: online migrations only, on the URL set by ``dialflow.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dialflow.db.engine import configure_sqlite
from dialflow.db.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine = create_engine(url)
if engine.dialect.name == "sqlite":
    configure_sqlite(engine)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
