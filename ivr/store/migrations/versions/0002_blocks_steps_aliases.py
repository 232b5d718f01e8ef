"""Number blocks, call steps and ticket aliases; columns of earlier tables NOT NULL without server defaults, as declared.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the new tables (see ivr/store/schema.py for what they are for).
added = sa.MetaData()

sa.Table(
    "number_blocks",
    added,
    sa.Column("block", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
)

sa.Table(
    "call_steps",
    added,
    sa.Column("call_sid", sa.String(256), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("response", sa.Text, nullable=False),
)

sa.Table(
    "ticket_aliases",
    added,
    sa.Column("number", sa.String(12), primary_key=True),
    sa.Column("call_id", sa.String(256), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# The NOT NULL columns of the baseline tables, with what a NULL left by an earlier release's in-place upgrade
# becomes (None: there is no sensible value, and such a row makes the upgrade fail rather than invent one).
# The upgrade that added a column left it nullable, so rows written before it hold NULL there.
NOT_NULL: dict[str, dict[str, str | int | None]] = {
    "tickets": {
        "number": None,
        "call_id": None,
        "caller": "",
        "language": None,
        "category": None,
        "description": "",
        "created_at": None,
        "first_response_due": None,
        "status": "open",
    },
    "calls": {
        "caller": "",
        "called": "",
        "menu_version": None,
        "snapshot": None,
        "seq": None,
        "last_response": "",
        "status": "in-progress",
        "started_at": None,
    },
    "menu_versions": {"menu_id": None, "entry": None, "files": None, "created_at": None},
}


def upgrade() -> None:
    """Create the new tables; make the earlier tables' columns match their declaration."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in added.sorted_tables:
        # A database made by a development build with these tables already in its create_all keeps them.
        if not inspector.has_table(table.name):
            table.create(bind)
    for name, required in NOT_NULL.items():
        _declare(name, required, inspector)


def downgrade() -> None:
    """Drop the new tables (the earlier tables keep their NOT NULL columns: 0001 accepts them)."""
    for table in reversed(added.sorted_tables):
        op.drop_table(table.name)


def _declare(name: str, required: dict[str, str | int | None], inspector: sa.Inspector) -> None:
    columns = {c["name"]: c for c in inspector.get_columns(name)}
    primary = set(inspector.get_pk_constraint(name)["constrained_columns"])
    loose = [c for c in required if columns[c]["nullable"]]
    # The metadata declares no server defaults: the ones 0001 added for existing rows go (the key's sequence stays).
    defaulted = [c for c, info in columns.items() if info.get("default") is not None and c not in primary]
    if not loose and not defaulted:
        return
    table = sa.table(name, *(sa.column(c) for c in loose))
    for column in loose:
        if required[column] is not None:
            op.execute(table.update().where(table.c[column].is_(None)).values({column: required[column]}))
    with op.batch_alter_table(name) as batch:
        for column in sorted(set(loose) | set(defaulted)):
            info = columns[column]
            batch.alter_column(
                column,
                existing_type=info["type"],
                existing_nullable=info["nullable"],
                nullable=False if column in loose else None,
                server_default=None if column in defaulted else False,
            )
