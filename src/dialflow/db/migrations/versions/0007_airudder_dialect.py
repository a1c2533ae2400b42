"""state the Airudder dialect keeps: the tokens of POST /service/cloud/auth

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "airudder_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_airudder_tokens_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_airudder_tokens")),
    )
    op.create_index(
        op.f("ix_airudder_tokens_api_key_id"), "airudder_tokens", ["api_key_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_airudder_tokens_api_key_id"), table_name="airudder_tokens")
    op.drop_table("airudder_tokens")
