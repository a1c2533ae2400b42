"""state the Talkdesk dialect keeps: campaigns, record lists, do-not-call lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "talkdesk_campaigns",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_talkdesk_campaigns_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talkdesk_campaigns")),
    )
    op.create_index(
        op.f("ix_talkdesk_campaigns_workspace_id"),
        "talkdesk_campaigns",
        ["workspace_id"],
        unique=False,
    )
    op.create_table(
        "talkdesk_record_lists",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("workflow_id", _ID, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["talkdesk_campaigns.id"],
            name=op.f("fk_talkdesk_record_lists_campaign_id_talkdesk_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_talkdesk_record_lists_workflow_id_workflows"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_talkdesk_record_lists_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talkdesk_record_lists")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_talkdesk_record_lists_workflow_id")),
    )
    op.create_index(
        op.f("ix_talkdesk_record_lists_campaign_id"),
        "talkdesk_record_lists",
        ["campaign_id"],
        unique=False,
    )
    op.create_table(
        "talkdesk_dnc_lists",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_talkdesk_dnc_lists_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talkdesk_dnc_lists")),
    )
    op.create_table(
        "talkdesk_dnc_list_entries",
        sa.Column("dnc_list_id", sa.BigInteger(), nullable=False),
        sa.Column("dnc_entry_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["dnc_entry_id"],
            ["dnc_entries.id"],
            name=op.f("fk_talkdesk_dnc_list_entries_dnc_entry_id_dnc_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dnc_list_id"],
            ["talkdesk_dnc_lists.id"],
            name=op.f("fk_talkdesk_dnc_list_entries_dnc_list_id_talkdesk_dnc_lists"),
        ),
        sa.PrimaryKeyConstraint(
            "dnc_list_id", "dnc_entry_id", name=op.f("pk_talkdesk_dnc_list_entries")
        ),
    )
    op.create_index(
        op.f("ix_talkdesk_dnc_list_entries_dnc_entry_id"),
        "talkdesk_dnc_list_entries",
        ["dnc_entry_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_talkdesk_dnc_list_entries_dnc_entry_id"), table_name="talkdesk_dnc_list_entries"
    )
    op.drop_table("talkdesk_dnc_list_entries")
    op.drop_table("talkdesk_dnc_lists")
    op.drop_index(op.f("ix_talkdesk_record_lists_campaign_id"), table_name="talkdesk_record_lists")
    op.drop_table("talkdesk_record_lists")
    op.drop_index(op.f("ix_talkdesk_campaigns_workspace_id"), table_name="talkdesk_campaigns")
    op.drop_table("talkdesk_campaigns")
