"""records: no foreign keys to workspaces, workflows and lists

On PostgreSQL their checks were about two fifths of a bulk COPY into records, and dropping them
made bulk intake 43 % faster (docs/benchmarks.md, 2026-12-04). Those parent rows are never
deleted, and intake reads the workflow (and writes the list) before any record that names it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_PARENTS = (("workspace_id", "workspaces"), ("workflow_id", "workflows"), ("list_id", "lists"))


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        for column, parent in _PARENTS:
            batch_op.drop_constraint(f"fk_records_{column}_{parent}", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        for column, parent in _PARENTS:
            batch_op.create_foreign_key(f"fk_records_{column}_{parent}", parent, [column], ["id"])
