"""Ticket hand-off: the outbox of deliveries, and tickets that engineers close with a note.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A frozen copy of the new table (see ivr/store/schema.py for what it is for).
added = sa.MetaData()

sa.Table(
    "deliveries",
    added,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket", sa.String(12), nullable=False, index=True),
    sa.Column("call_id", sa.String(256), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim", sa.String(32), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("target", sa.String(256), nullable=False),
    sa.Column("receipt", sa.String(256), nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.UniqueConstraint("call_id", "channel", name="uq_deliveries_call_channel"),
    sa.Index("ix_deliveries_due", "status", "next_at"),
)


def upgrade() -> None:
    """Add the outbox, and to tickets when and why they were closed."""
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("deliveries"):
        added.tables["deliveries"].create(bind)
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("close_note", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the outbox and the closing columns of tickets."""
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("close_note")
        batch.drop_column("closed_at")
    op.drop_table("deliveries")
