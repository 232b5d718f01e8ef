"""Baseline: the tables of the last release without migrations; brings a database of any earlier release up to them.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A frozen copy of those tables: what this revision does must not change when ivr/store/schema.py does.
baseline = sa.MetaData()

sa.Table(
    "tickets",
    baseline,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(12), nullable=False, unique=True),
    sa.Column("call_id", sa.String(256), nullable=False, unique=True),
    sa.Column("caller", sa.String(256), nullable=False, default=""),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_response_due", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),
)

sa.Table(
    "calls",
    baseline,
    sa.Column("call_sid", sa.String(256), primary_key=True),
    sa.Column("caller", sa.String(256), nullable=False, default=""),
    sa.Column("called", sa.String(256), nullable=False, default=""),
    sa.Column("menu_version", sa.String(32), nullable=False),
    sa.Column("snapshot", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("last_response", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="in-progress"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("duration", sa.Integer, nullable=True),
)

sa.Table(
    "menu_versions",
    baseline,
    sa.Column("version", sa.String(32), primary_key=True),
    sa.Column("menu_id", sa.String(128), nullable=False),
    sa.Column("entry", sa.Text, nullable=False),
    sa.Column("files", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
)

# What rows that predate an added NOT NULL column hold in it, by the column's type.
_EPOCH = "1970-01-01 00:00:00+00:00"


def upgrade() -> None:
    """Create the tables a database lacks; add missing columns and widen short text columns in those it has."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in baseline.sorted_tables:
        if inspector.has_table(table.name):
            _bring_up(table, {c["name"]: c for c in inspector.get_columns(table.name)})
        else:
            table.create(bind)


def downgrade() -> None:
    """Not supported: below the baseline there is no schema to go back to."""
    raise NotImplementedError("the baseline revision cannot be undone")


def _bring_up(table: sa.Table, found: dict[str, Any]) -> None:
    missing = [c for c in table.columns if c.name not in found]
    narrow = [c for c in table.columns if c.name in found and _shorter(found[c.name]["type"], c.type)]
    if not missing and not narrow:
        return
    # On SQLite the batch copies the table when a type changes (SQLite has no ALTER COLUMN); elsewhere it is plain ALTERs.
    with op.batch_alter_table(table.name) as batch:
        for column in missing:
            batch.add_column(_addable(column))
        for column in narrow:
            old = found[column.name]
            batch.alter_column(column.name, type_=column.type, existing_type=old["type"], existing_nullable=old["nullable"])


def _shorter(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> bool:
    old_length = getattr(old, "length", None) or 0
    return isinstance(new, sa.String) and bool(new.length) and 0 < old_length < (new.length or 0)


def _addable(column: sa.Column[Any]) -> sa.Column[Any]:
    """The column as it can be added to a table that has rows: a NOT NULL one gets a server default they take."""
    if column.nullable:
        return sa.Column(column.name, column.type, nullable=True)
    return sa.Column(column.name, column.type, nullable=False, server_default=_fill(column))


def _fill(column: sa.Column[Any]) -> str:
    default = getattr(column.default, "arg", None)
    if isinstance(default, str | int):
        return str(default)
    if isinstance(column.type, sa.Integer):
        return "0"
    if isinstance(column.type, sa.DateTime):
        return _EPOCH
    return ""
