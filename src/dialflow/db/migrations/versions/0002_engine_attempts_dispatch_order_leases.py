"""engine: attempts, dispatch order, leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:12:39.263437
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "workflow_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("call", sa.Integer(), nullable=False),
        sa.Column("phone_type", sa.String(length=16), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_call_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("message_left", sa.Boolean(), nullable=True),
        sa.Column(
            "transcript",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("recording_url", sa.String(length=2000), nullable=True),
        sa.Column(
            "collected_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_attempts_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"], name=op.f("fk_attempts_workflow_id_workflows")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_attempts_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_deadline",
            ["deadline_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('dialing', 'in_progress')"),
            postgresql_where=sa.text("status IN ('dialing', 'in_progress')"),
        )
        batch_op.create_index("ix_attempts_record_id_id", ["record_id", "id"], unique=False)
        batch_op.create_index(
            "ix_attempts_to_address_created_at", ["to_address", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_attempts_workflow_id_created_at", ["workflow_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_attempts_live_record_id",
            ["record_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('dialing', 'in_progress')"),
            postgresql_where=sa.text("status IN ('dialing', 'in_progress')"),
        )

    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "phone_attempts",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("dispatch_rank", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("cycle_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_index(
            batch_op.f("ix_records_due"), sqlite_where=sa.text("status = 'pending'")
        )
        batch_op.create_index(
            "ix_records_dispatch",
            ["workflow_id", "dispatch_rank", "next_due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_records_lease",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        )

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_concurrent_calls", sa.Integer(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("max_concurrent_calls")

    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_records_lease",
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        )
        batch_op.drop_index(
            "ix_records_dispatch",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            batch_op.f("ix_records_due"),
            ["next_due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_column("cycle_started_at")
        batch_op.drop_column("dispatch_rank")
        batch_op.drop_column("phone_attempts")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_attempts_live_record_id",
            sqlite_where=sa.text("status IN ('dialing', 'in_progress')"),
            postgresql_where=sa.text("status IN ('dialing', 'in_progress')"),
        )
        batch_op.drop_index("ix_attempts_workflow_id_created_at")
        batch_op.drop_index("ix_attempts_to_address_created_at")
        batch_op.drop_index("ix_attempts_record_id_id")
        batch_op.drop_index(
            "ix_attempts_deadline",
            sqlite_where=sa.text("status IN ('dialing', 'in_progress')"),
            postgresql_where=sa.text("status IN ('dialing', 'in_progress')"),
        )

    op.drop_table("attempts")
