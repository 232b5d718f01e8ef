"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(12), nullable=False, unique=True),
    Column("call_id", String(256), nullable=False, unique=True),  # one ticket per call, whatever is retried
    Column("caller", String(256), nullable=False, default=""),
    Column("language", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("first_response_due", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, default="open"),  # open, or closed by `ivr tickets close`
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("close_note", Text, nullable=True),  # what the engineer who closed it wrote
)

# The outbox: each way a ticket is handed on (ivr/delivery), recorded in the transaction that stores the
# ticket, then sent by the background sender with retries until delivered or dead-lettered (ivr/store/outbox.py).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket", String(12), nullable=False, index=True),  # the ticket number: the receivers' idempotency key
    Column("call_id", String(256), nullable=False),
    Column("channel", String(16), nullable=False),  # desk, email or sms (ivr.delivery.CHANNELS)
    Column("status", String(16), nullable=False),  # pending, delivered, or failed (dead-lettered)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", DateTime(timezone=True), nullable=False),  # when a pending delivery is next due
    Column("claimed_until", DateTime(timezone=True), nullable=True),  # a sender's lease while it tries
    Column("claim", String(32), nullable=True),  # that attempt's token: only the sender holding it may record the outcome
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("target", String(256), nullable=False, default=""),  # where the last attempt went, as operators may see it
    Column("receipt", String(256), nullable=False, default=""),  # what the receiver answered last (status, message id)
    Column("last_error", Text, nullable=False, default=""),
    UniqueConstraint("call_id", "channel", name="uq_deliveries_call_channel"),  # once per ticket and channel
    Index("ix_deliveries_due", "status", "next_at"),
)

calls = Table(
    "calls",
    metadata,
    Column("call_sid", String(256), primary_key=True),
    Column("caller", String(256), nullable=False, default=""),
    Column("called", String(256), nullable=False, default=""),
    Column("menu_version", String(32), nullable=False),
    Column("snapshot", Text, nullable=False),  # JSON of the engine's CallSnapshot
    Column("seq", Integer, nullable=False),  # steps taken; action URLs carry it, so replays are recognised
    Column("last_response", Text, nullable=False),  # what the last step answered, for replays
    Column("status", String(16), nullable=False, default="in-progress"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("duration", Integer, nullable=True),  # seconds, from the carrier's status callback
    # How it came in: twilio, console or qa. A server default, so a host of the release before (a rolling
    # upgrade) can still insert its calls.
    Column("channel", String(16), nullable=False, server_default="twilio"),
    Column("outcome", String(16), nullable=True),  # how it ended (ivr.engine.story.OUTCOMES); None while undecided
    Index("ix_calls_started_at", "started_at"),
)

menu_versions = Table(
    "menu_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("menu_id", String(128), nullable=False),
    Column("entry", Text, nullable=False),  # the menu file, relative to the stored files' common folder
    Column("files", Text, nullable=False),  # JSON: relative path -> text of every file the version was built from
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),  # set by `ivr menu publish`
    # When a worker last loaded it cleanly from its files (a revert to an old version refreshes it).
    Column("loaded_at", DateTime(timezone=True), nullable=True),
)

# Blocks of ticket numbers leased to a host (its spool folder) while the database is up; a host hands
# out numbers only from its own blocks, so numbers chosen during an outage cannot collide (ivr/store/numbers.py).
number_blocks = Table(
    "number_blocks",
    metadata,
    Column("block", Integer, primary_key=True, autoincrement=False),
    Column("host", String(255), nullable=False),  # who leased it: host name and spool folder
    Column("leased_at", DateTime(timezone=True), nullable=False),
)

# Every answer a call was given, by step: a replayed request for an old step gets that step's answer.
call_steps = Table(
    "call_steps",
    metadata,
    Column("call_sid", String(256), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("response", Text, nullable=False),
)

# A second number a caller heard for a call that already had a ticket (the same call answered on two
# hosts during an outage): it still finds that call's ticket.
ticket_aliases = Table(
    "ticket_aliases",
    metadata,
    Column("number", String(12), primary_key=True),
    Column("call_id", String(256), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A call's story, line by line (ivr/engine/story.py): what the caller did and heard, where the call went.
# Written with the step it belongs to; `ivr calls show` and `ivr stats` read it, `ivr calls purge` ages it out.
call_events = Table(
    "call_events",
    metadata,
    Column("call_sid", String(256), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the step (1: the call's start)
    Column("pos", Integer, primary_key=True, autoincrement=False),  # its place in the step
    Column("at", DateTime(timezone=True), nullable=False),
    Column("type", String(16), nullable=False),
    Column("node", String(128), nullable=False),
    Column("data", Text, nullable=False),  # JSON: the whole line
    Index("ix_call_events_at", "at"),
)
