"""Call records: each call's engine snapshot between webhook requests, so any worker can serve any step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ivr.engine.snapshot import CallSnapshot
from ivr.errors import ServiceError
from ivr.store.guard import Database
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


# Built once: these run on every webhook step, and building a statement costs more than running it.
_LOAD = select(calls).where(calls.c.call_sid == bindparam("sid"))
_ADVANCE = (
    update(calls)
    .where(calls.c.call_sid == bindparam("sid"), calls.c.seq == bindparam("at_seq"))
    .values(snapshot=bindparam("snapshot"), seq=bindparam("seq"), last_response=bindparam("last_response"))
)
_ANSWER = select(call_steps.c.response).where(call_steps.c.call_sid == bindparam("sid"), call_steps.c.seq == bindparam("seq"))


class CallStore:
    """Reads and advances call records with optimistic locking on `seq`."""

    def __init__(self, database: Engine | Database) -> None:
        self.db = database if isinstance(database, Database) else Database(database)

    def begin(self, call_sid: str, caller: str, called: str, snapshot: CallSnapshot, response: str, now: datetime) -> CallRecord:
        """Record a new call at step 1; if the call already exists (a repeated first request), return it unchanged."""
        row = {
            "call_sid": call_sid,
            "caller": clean(caller),
            "called": clean(called),
            "menu_version": snapshot.menu_version,
            "snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False),
            "seq": 1,
            "last_response": response,
            "status": "in-progress",
            "started_at": utc(now),
        }
        try:
            with self.db.connect(transaction=True) as conn:  # the call and its first answer, together
                conn.execute(insert(calls).values(**row))
                conn.execute(insert(call_steps).values(call_sid=call_sid, seq=1, response=response))
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
        )

    def answer(self, call_sid: str, seq: int) -> str | None:
        """What step `seq` of a call answered (None when it was not stored)."""
        with self.db.connect() as conn:
            found = conn.execute(_ANSWER, {"sid": call_sid, "seq": seq}).scalar_one_or_none()
        return str(found) if found is not None else None

    def advance(self, call_sid: str, seq: int, snapshot: CallSnapshot, response: str) -> bool:
        """Store step `seq + 1` and its answer if the call is still at `seq`; False when another request got there first."""
        values = {"snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False), "seq": seq + 1, "last_response": response}

        def store() -> bool:
            try:
                with self.db.connect(transaction=True) as conn:
                    result = conn.execute(_ADVANCE, {"sid": call_sid, "at_seq": seq, **values})
                    if result.rowcount != 1:
                        return False
                    conn.execute(insert(call_steps).values(call_sid=call_sid, seq=seq + 1, response=response))
            except IntegrityError:
                return False  # the answer to this step is stored already: the step was taken by another request
            return True

        # Safe to run twice: if the first attempt committed, the second finds the call moved on and says so.
        return self.db.retrying(store)

    def close(self, call_sid: str, status: str, duration: int | None, now: datetime) -> bool:
        """Mark a call finished with the carrier's final status and duration; False for an unknown call."""
        with self.db.connect() as conn:  # autocommit: one statement, committed on its own
            # Only the first final status counts: a repeated callback (Twilio retries) must not blank its duration.
            result = conn.execute(
                update(calls)
                .where(calls.c.call_sid == call_sid, calls.c.ended_at.is_(None))
                .values(status=clean(status)[:16], duration=duration, ended_at=utc(now))
            )
        return result.rowcount == 1

    def count(self) -> int:
        """How many calls are recorded."""
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())

    def ping(self) -> None:
        """Raise ServiceError unless the database answers."""
        with self.db.connect() as conn:
            conn.execute(select(1))
