"""Call records: each call's engine snapshot between webhook requests, so any worker can serve any step."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ivr.engine.snapshot import CallSnapshot
from ivr.engine.story import Line
from ivr.errors import ServiceError
from ivr.store.db import SQLITE_BUSY_MS
from ivr.store.driver import Compiled, driver_cursor, sqlite_transaction
from ivr.store.guard import Database
from ivr.store.history import call_row, event_rows, insert_lines
from ivr.store.schema import call_events, call_steps, calls
from ivr.store.tickets import clean, utc


@dataclass(frozen=True)
class CallRecord:
    """A stored call: its snapshot, how many steps it took and the last answer given."""

    call_sid: str
    caller: str
    menu_version: str
    snapshot: CallSnapshot
    seq: int
    last_response: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration: int | None
    outcome: str | None = None  # how the call ended, once decided (ivr.engine.story.OUTCOMES)


# Built once: these run on every webhook step, and building a statement costs more than running it.
_LOAD = select(calls).where(calls.c.call_sid == bindparam("sid"))
_ADVANCE = (
    update(calls)
    .where(calls.c.call_sid == bindparam("sid"), calls.c.seq == bindparam("at_seq"))
    .values(
        snapshot=bindparam("snapshot"),
        seq=bindparam("seq"),
        last_response=bindparam("last_response"),
        outcome=func.coalesce(bindparam("outcome"), calls.c.outcome),
    )
)
_BEGUN = insert(calls)
_ANSWERED = insert(call_steps)
# PostgreSQL: the whole step in one statement, one round trip instead of five (begin, three writes, commit).
# Its parts see the same snapshot and stand or fall together: no row moves unless the call was at `at_seq`.
_ADVANCE_AT_ONCE = text(
    """
    WITH moved AS (
        UPDATE calls SET snapshot = :snapshot, seq = :seq, last_response = :last_response,
               outcome = coalesce(:outcome, calls.outcome)
        WHERE call_sid = :sid AND seq = :at_seq
        RETURNING call_sid
    ), answered AS (
        INSERT INTO call_steps (call_sid, seq, response) SELECT call_sid, :seq, :last_response FROM moved
    ), told AS (
        INSERT INTO call_events (call_sid, seq, pos, at, type, node, data)
        SELECT moved.call_sid, :seq, line.pos, line.at, line.type, line.node, line.data
        FROM moved, jsonb_to_recordset(CAST(:lines AS jsonb)) AS line(pos int, at timestamptz, type text, node text, data text)
    )
    SELECT count(*) FROM moved
    """
)
_ANSWER = select(call_steps.c.response).where(call_steps.c.call_sid == bindparam("sid"), call_steps.c.seq == bindparam("seq"))


def _record(row: Mapping[str, Any]) -> CallRecord:
    """A call record from its row (as read, or as just inserted)."""
    return CallRecord(
        call_sid=row["call_sid"],
        caller=row["caller"],
        menu_version=row["menu_version"],
        snapshot=CallSnapshot.from_dict(json.loads(row["snapshot"])),
        seq=row["seq"],
        last_response=row["last_response"],
        status=row["status"],
        started_at=utc(row["started_at"]),
        ended_at=utc(row["ended_at"]) if row["ended_at"] else None,
        duration=row["duration"],
        outcome=row["outcome"],
    )


class CallStore:
    """Reads and advances call records with optimistic locking on `seq`."""

    def __init__(self, database: Engine | Database) -> None:
        self.db = database if isinstance(database, Database) else Database(database)
        dialect = self.db.engine.dialect
        # SQLite: the statements of every step compiled once and run on the driver (ivr.store.driver).
        self._load = Compiled(_LOAD, dialect) if dialect.name == "sqlite" else None
        # SQLite: the step's three writes in one short transaction.
        self._sqlite_step = (
            (Compiled(_ADVANCE, dialect), Compiled(_ANSWERED, dialect), Compiled(insert(call_events), dialect))
            if dialect.name == "sqlite"
            else None
        )

    def begin(
        self,
        call_sid: str,
        caller: str,
        called: str,
        snapshot: CallSnapshot,
        response: str,
        now: datetime,
        lines: Sequence[Line] = (),
        outcome: str | None = None,
    ) -> CallRecord:
        """Record a new call at step 1 with its story so far; if the call already exists (a repeated first request), return it unchanged."""
        row = call_row(call_sid, caller, called, snapshot, now, seq=1, response=response, outcome=outcome)
        try:
            with self.db.connect(transaction=True, lazy_sync=True) as conn:  # the call, its first answer and its story, together
                conn.execute(_BEGUN, row)
                conn.execute(_ANSWERED, {"call_sid": call_sid, "seq": 1, "response": response})
                insert_lines(conn, event_rows(call_sid, 1, now, lines))
        except IntegrityError:
            record = self.load(call_sid)  # another worker, or a retry, stored it first: theirs stands
            if record is None:
                raise ServiceError(f"call {call_sid} could not be stored") from None
            return record
        return _record({**row, "ended_at": None, "duration": None})  # stored as given: no need to read it back

    def load(self, call_sid: str) -> CallRecord | None:
        """The stored call, or None."""
        rows = self._read_call(call_sid)
        if not rows:
            return None
        return _record(rows[0])

    def _read_call(self, call_sid: str) -> list[dict[str, Any]] | list[Any]:
        """The call's row (or none); the first statement of most steps, so a stale pooled connection is retried."""
        query = self._load
        if query is None:
            return self.db.read(_LOAD, {"sid": call_sid})

        def run() -> list[dict[str, Any]]:
            with self.db.connect(lazy_sync=None) as conn, driver_cursor(conn) as cursor:
                return query.rows(cursor, {"sid": call_sid})

        return self.db.retrying(run)

    def answer(self, call_sid: str, seq: int) -> str | None:
        """What step `seq` of a call answered (None when it was not stored)."""
        with self.db.connect() as conn:
            found = conn.execute(_ANSWER, {"sid": call_sid, "seq": seq}).scalar_one_or_none()
        return str(found) if found is not None else None

    def advance(
        self,
        call_sid: str,
        seq: int,
        snapshot: CallSnapshot,
        response: str,
        lines: Sequence[Line] = (),
        at: datetime | None = None,
        outcome: str | None = None,
    ) -> bool:
        """Store step `seq + 1`, its answer and its story (`lines`, at `at`) if the call is still at `seq`.

        False when another request got there first.
        """
        values = {
            "snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False),
            "seq": seq + 1,
            "last_response": response,
            "outcome": outcome,
        }
        rows = event_rows(call_sid, seq + 1, at, lines) if lines and at is not None else []

        def store() -> bool:
            try:
                if self._sqlite_step is not None:
                    return self._advance_on_sqlite(self._sqlite_step, call_sid, seq, values, rows)
                if self.db.engine.dialect.name == "postgresql":
                    return self._advance_at_once(call_sid, seq, values, rows)
                with self.db.connect(transaction=True) as conn:
                    result = conn.execute(_ADVANCE, {"sid": call_sid, "at_seq": seq, **values})
                    if result.rowcount != 1:
                        return False
                    conn.execute(_ANSWERED, {"call_sid": call_sid, "seq": seq + 1, "response": response})
                    insert_lines(conn, rows)  # in the step's own transaction: one more statement, no extra commit
            except IntegrityError:
                return False  # the answer to this step is stored already: the step was taken by another request
            return True

        # Safe to run twice: if the first attempt committed, the second finds the call moved on and says so.
        return self.db.retrying(store)

    def _advance_on_sqlite(
        self,
        statements: tuple[Compiled, Compiled, Compiled],
        call_sid: str,
        seq: int,
        values: dict[str, object],
        rows: Sequence[dict[str, Any]],
    ) -> bool:
        """The step as one short SQLite transaction on the driver: the record (compare-and-set), the answer, the story."""
        moved, answered, told = statements
        with self.db.connect(lazy_sync=True) as conn, sqlite_transaction(conn, self.db.write_wait(), SQLITE_BUSY_MS) as cursor:
            if moved.run(cursor, {"sid": call_sid, "at_seq": seq, **values}) != 1:
                return False  # nothing written: the empty transaction commits
            answered.run(cursor, {"call_sid": call_sid, "seq": seq + 1, "response": values["last_response"]})
            told.run_many(cursor, rows)
        return True

    def _advance_at_once(self, call_sid: str, seq: int, values: dict[str, object], rows: Sequence[dict[str, Any]]) -> bool:
        """The step as one PostgreSQL statement (autocommit): the record, the answer and the story lines."""
        lines = [{"pos": r["pos"], "at": r["at"].isoformat(), "type": r["type"], "node": r["node"], "data": r["data"]} for r in rows]
        params = {"sid": call_sid, "at_seq": seq, **values, "lines": json.dumps(lines, ensure_ascii=False)}
        with self.db.connect(lazy_sync=True) as conn:
            return bool(conn.execute(_ADVANCE_AT_ONCE, params).scalar_one() == 1)

    def close(
        self,
        call_sid: str,
        status: str,
        duration: int | None,
        now: datetime,
        outcome: str | None = None,
        lines: Sequence[Line] = (),
        seq: int = 0,
    ) -> bool:
        """Mark a call finished with the carrier's final status and duration; False for an unknown call.

        A call still undecided gets its `outcome` (abandoned: the caller hung up) and its last `lines` at step `seq`.
        """
        values: dict[str, object] = {"status": clean(status)[:16], "duration": duration, "ended_at": utc(now)}
        if outcome is not None:
            values["outcome"] = outcome
        with self.db.connect(transaction=bool(lines), lazy_sync=True) as conn:
            # Only the first final status counts: a repeated callback (Twilio retries) must not blank its duration.
            result = conn.execute(update(calls).where(calls.c.call_sid == call_sid, calls.c.ended_at.is_(None)).values(**values))
            if result.rowcount == 1:
                insert_lines(conn, event_rows(call_sid, seq, now, lines))
        return result.rowcount == 1

    def count(self) -> int:
        """How many calls are recorded."""
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())

    def ping(self) -> None:
        """Raise ServiceError unless the database answers."""
        with self.db.connect() as conn:
            conn.execute(select(1))
