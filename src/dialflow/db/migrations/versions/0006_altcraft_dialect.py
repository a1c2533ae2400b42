"""state the Altcraft dialect keeps

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_records_workspace_id_email",
        "records",
        ["workspace_id", "email"],
        unique=False,
        sqlite_where=sa.text("email IS NOT NULL"),
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        "ix_records_workspace_id_profile_id",
        "records",
        ["workspace_id", "profile_id"],
        unique=False,
        sqlite_where=sa.text("profile_id IS NOT NULL"),
        postgresql_where=sa.text("profile_id IS NOT NULL"),
    )
    op.create_table(
        "altcraft_tasks",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_altcraft_tasks_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_altcraft_tasks")),
    )
    op.create_index(
        "ix_altcraft_tasks_status",
        "altcraft_tasks",
        ["status"],
        unique=False,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_altcraft_tasks_status",
        table_name="altcraft_tasks",
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_table("altcraft_tasks")
    op.drop_index(
        "ix_records_workspace_id_profile_id",
        table_name="records",
        sqlite_where=sa.text("profile_id IS NOT NULL"),
        postgresql_where=sa.text("profile_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_records_workspace_id_email",
        table_name="records",
        sqlite_where=sa.text("email IS NOT NULL"),
        postgresql_where=sa.text("email IS NOT NULL"),
    )
