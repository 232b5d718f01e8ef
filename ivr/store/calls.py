"""Call records: each call's engine snapshot between webhook requests, so any worker can serve any step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ivr.engine.snapshot import CallSnapshot
from ivr.engine.story import Line
from ivr.errors import ServiceError
from ivr.store.guard import Database
from ivr.store.history import call_row, event_rows, insert_lines
from ivr.store.schema import call_steps, calls
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
_ANSWER = select(call_steps.c.response).where(call_steps.c.call_sid == bindparam("sid"), call_steps.c.seq == bindparam("seq"))


class CallStore:
    """Reads and advances call records with optimistic locking on `seq`."""

    def __init__(self, database: Engine | Database) -> None:
        self.db = database if isinstance(database, Database) else Database(database)

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
            with self.db.connect(transaction=True) as conn:  # the call, its first answer and its story, together
                conn.execute(insert(calls).values(**row))
                conn.execute(insert(call_steps).values(call_sid=call_sid, seq=1, response=response))
                insert_lines(conn, event_rows(call_sid, 1, now, lines))
        except IntegrityError:
            pass  # another worker, or a retry, stored it first
        record = self.load(call_sid)
        if record is None:
            raise ServiceError(f"call {call_sid} could not be stored")
        return record

    def load(self, call_sid: str) -> CallRecord | None:
        """The stored call, or None."""
        rows = self.db.read(_LOAD, {"sid": call_sid})  # the first statement of most steps: a stale connection is retried
        if not rows:
            return None
        row = rows[0]
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
                with self.db.connect(transaction=True) as conn:
                    result = conn.execute(_ADVANCE, {"sid": call_sid, "at_seq": seq, **values})
                    if result.rowcount != 1:
                        return False
                    conn.execute(insert(call_steps).values(call_sid=call_sid, seq=seq + 1, response=response))
                    insert_lines(conn, rows)  # in the step's own transaction: one more statement, no extra commit
            except IntegrityError:
                return False  # the answer to this step is stored already: the step was taken by another request
            return True

        # Safe to run twice: if the first attempt committed, the second finds the call moved on and says so.
        return self.db.retrying(store)

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
        with self.db.connect(transaction=bool(lines)) as conn:
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
