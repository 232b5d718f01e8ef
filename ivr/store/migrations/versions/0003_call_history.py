"""Call history: each call's story line by line, how it came in and how it ended.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# A frozen copy of the new table (see ivr/store/schema.py for what it is for).
added = sa.MetaData()

sa.Table(
    "call_events",
    added,
    sa.Column("call_sid", sa.String(256), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("node", sa.String(128), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_call_events_at", "at"),
)


def upgrade() -> None:
    """Add the story table, and to calls their channel (earlier calls came in by Twilio) and outcome."""
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("call_events"):
        added.tables["call_events"].create(bind)
    with op.batch_alter_table("calls") as batch:
        # The default fills the rows already there and lets hosts of the release before (a rolling upgrade) insert calls.
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="twilio"))
        batch.add_column(sa.Column("outcome", sa.String(16), nullable=True))
        batch.create_index("ix_calls_started_at", ["started_at"])


def downgrade() -> None:
    """Drop the story table and the new columns of calls."""
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_started_at")
        batch.drop_column("outcome")
        batch.drop_column("channel")
    op.drop_table("call_events")
