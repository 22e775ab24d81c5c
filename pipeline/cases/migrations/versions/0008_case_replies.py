"""Every outbound reply's time on the case, so a clock that starts after the first reply (the care
clock of a vulnerability disclosed later) is stopped by the next one (`pipeline.cases.clocks`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from pipeline.cases.tables import Json, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replies", Json, nullable=False, server_default=sa.text("'[]'")))
    communications = sa.table("communications", sa.column("case_id", sa.Integer()), sa.column("at", UTCDateTime()),
                              sa.column("direction", sa.String()))
    cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("replies", Json))
    bind = op.get_bind()
    replies: dict[int, list[str]] = defaultdict(list)
    for case_id, at in bind.execute(sa.select(communications.c.case_id, communications.c.at)
                                    .where(communications.c.direction == "outbound").order_by(communications.c.at)):
        replies[case_id].append(at.isoformat())
    for case_id, times in replies.items():
        bind.execute(cases.update().where(cases.c.id == case_id).values(replies=times))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("replies")
