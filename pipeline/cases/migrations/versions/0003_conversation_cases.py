"""Map each conversation to its case, so stream intake creates one case per conversation and
adds each message once, however often it is redelivered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_cases",
        sa.Column("conversation_key", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_conversation_cases_case_id_cases")),
        sa.PrimaryKeyConstraint("conversation_key", name=op.f("pk_conversation_cases")),
    )
    with op.batch_alter_table("conversation_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_cases_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_cases_case_id"))
    op.drop_table("conversation_cases")
