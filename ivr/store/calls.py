"""Call records: each call's engine snapshot between webhook requests, so any worker can serve any step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ivr.engine.snapshot import CallSnapshot
from ivr.errors import ServiceError
from ivr.store.schema import calls
from ivr.store.tickets import utc


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


class CallStore:
    """Reads and advances call records with optimistic locking on `seq`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def begin(self, call_sid: str, caller: str, called: str, snapshot: CallSnapshot, response: str, now: datetime) -> CallRecord:
        """Record a new call at step 1; if the call already exists (a repeated first request), return it unchanged."""
        row = {
            "call_sid": call_sid,
            "caller": caller,
            "called": called,
            "menu_version": snapshot.menu_version,
            "snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False),
            "seq": 1,
            "last_response": response,
            "status": "in-progress",
            "started_at": utc(now),
        }
        try:
            with self.engine.connect() as conn:  # autocommit: one statement, committed on its own
                conn.execute(insert(calls).values(**row))
        except IntegrityError:
            pass  # another worker, or a retry, stored it first
        except SQLAlchemyError as exc:
            raise ServiceError(f"call store unavailable: {exc}") from exc
        record = self.load(call_sid)
        if record is None:
            raise ServiceError(f"call {call_sid} could not be stored")
        return record

    def load(self, call_sid: str) -> CallRecord | None:
        """The stored call, or None."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(_LOAD, {"sid": call_sid}).mappings().first()
        except SQLAlchemyError as exc:
            raise ServiceError(f"call store unavailable: {exc}") from exc
        if row is None:
            return None
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

    def advance(self, call_sid: str, seq: int, snapshot: CallSnapshot, response: str) -> bool:
        """Store step `seq + 1` if the call is still at `seq`; False when another request got there first."""
        values = {"snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False), "seq": seq + 1, "last_response": response}
        try:
            with self.engine.connect() as conn:  # autocommit: one statement, committed on its own
                result = conn.execute(_ADVANCE, {"sid": call_sid, "at_seq": seq, **values})
        except SQLAlchemyError as exc:
            raise ServiceError(f"call store unavailable: {exc}") from exc
        return result.rowcount == 1

    def close(self, call_sid: str, status: str, duration: int | None, now: datetime) -> bool:
        """Mark a call finished with the carrier's final status and duration; False for an unknown call."""
        try:
            with self.engine.connect() as conn:  # autocommit: one statement, committed on its own
                # Only the first final status counts: a repeated callback (Twilio retries) must not blank its duration.
                result = conn.execute(
                    update(calls)
                    .where(calls.c.call_sid == call_sid, calls.c.ended_at.is_(None))
                    .values(status=status[:16], duration=duration, ended_at=utc(now))
                )
        except SQLAlchemyError as exc:
            raise ServiceError(f"call store unavailable: {exc}") from exc
        return result.rowcount == 1

    def count(self) -> int:
        """How many calls are recorded."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(select(1))
