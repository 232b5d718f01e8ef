"""Call history: each call's story (ivr/engine/story.py) in the store, read back by period or by call, aged out.

The webhooks write a step's lines in the transaction that stores the step (CallStore); a simulated call
(console, QA in process) is written whole when it ends. Readers get calls and their lines as plain data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, bindparam, delete, func, insert, select

from ivr.engine.snapshot import CallSnapshot
from ivr.engine.story import Line
from ivr.store.guard import Database
from ivr.store.schema import call_events, call_steps, calls
from ivr.store.tickets import clean, utc

__all__ = ["CallHistory", "CallSummary", "Purged", "StoredLine", "event_rows"]

# Ids of many calls are read in chunks: SQLite allows a limited number of bound values per statement.
_CHUNK = 500
PURGE_BATCH = 200  # calls forgotten per transaction (a few thousand story lines: well under a second)


@dataclass(frozen=True)
class CallSummary:
    """One call as the history lists it (the caller's number as the carrier gave it: mask it to show it)."""

    call_sid: str
    caller: str
    called: str
    channel: str  # twilio, console or qa
    menu_version: str
    started_at: datetime  # UTC
    ended_at: datetime | None
    status: str  # the carrier's final status (in-progress until it is told)
    outcome: str | None  # ivr.engine.story.OUTCOMES; None while the call is undecided
    duration: int | None  # seconds, as the carrier reported them


@dataclass(frozen=True)
class StoredLine:
    """One line of a call's story, where it happened in the call and when."""

    seq: int  # the step (1: the call's start)
    pos: int  # its place in the step
    at: datetime  # UTC
    line: Line

    @property
    def type(self) -> str:
        """The line's type (say, input, move…)."""
        return str(self.line["type"])

    @property
    def node(self) -> str:
        """The node it happened at."""
        return str(self.line.get("node", ""))


@dataclass(frozen=True)
class Purged:
    """What a purge removed."""

    calls: int
    lines: int
    done: bool = True  # False: stopped at its deadline with old calls left


def event_rows(call_sid: str, seq: int, at: datetime, lines: Iterable[Line], first_pos: int = 0) -> list[dict[str, Any]]:
    """The rows that store one step's lines."""
    when = utc(at)
    return [
        {
            "call_sid": call_sid,
            "seq": seq,
            "pos": pos,
            "at": when,
            "type": str(line["type"])[:16],
            "node": str(line.get("node", ""))[:128],
            "data": json.dumps(line, ensure_ascii=False),
        }
        for pos, line in enumerate(lines, start=first_pos)
    ]


def call_row(
    call_sid: str,
    caller: str,
    called: str,
    snapshot: CallSnapshot,
    started_at: datetime,
    *,
    seq: int,
    response: str = "",
    channel: str = "twilio",
    outcome: str | None = None,
) -> dict[str, Any]:
    """The calls row of a call in progress at step `seq`, its last answer `response`."""
    return {
        "call_sid": call_sid,
        "caller": clean(caller),
        "called": clean(called),
        "menu_version": snapshot.menu_version,
        "snapshot": json.dumps(snapshot.to_dict(), ensure_ascii=False),
        "seq": seq,
        "last_response": response,
        "status": "in-progress",
        "started_at": utc(started_at),
        "channel": channel,
        "outcome": outcome,
    }


def insert_lines(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write story rows in one statement (nothing when there are none)."""
    if rows:
        conn.execute(insert(call_events), list(rows))


_LINES = (
    select(call_events.c.call_sid, call_events.c.seq, call_events.c.pos, call_events.c.at, call_events.c.data)
    .where(call_events.c.call_sid.in_(bindparam("sids", expanding=True)))
    .order_by(call_events.c.call_sid, call_events.c.seq, call_events.c.pos)
)


class CallHistory:
    """Calls and their stories in the store."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def record(
        self,
        *,
        call_sid: str,
        caller: str,
        called: str,
        channel: str,
        snapshot: CallSnapshot,
        started_at: datetime,
        ended_at: datetime | None,
        steps: Sequence[tuple[datetime, Sequence[Line]]],
        outcome: str | None,
    ) -> None:
        """Store a whole simulated call and its story, steps numbered from 1 (once: a call already stored is kept)."""
        rows = [row for seq, (at, lines) in enumerate(steps, start=1) for row in event_rows(call_sid, seq, at, lines)]
        call = call_row(call_sid, caller, called, snapshot, started_at, seq=len(steps), channel=channel, outcome=outcome)
        if ended_at is not None:
            call.update(status="completed", ended_at=utc(ended_at))
        with self.db.connect(transaction=True) as conn:
            if conn.execute(select(calls.c.call_sid).where(calls.c.call_sid == call_sid)).first() is not None:
                return
            conn.execute(insert(calls).values(**call))
            insert_lines(conn, rows)

    def calls(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: str | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> list[CallSummary]:
        """Calls started in [since, until), oldest first; `outcome` 'open' selects the undecided ones.

        `limit` keeps the first (or with `newest`, the last) that many, still listed oldest first.
        """
        order = (calls.c.started_at.desc(), calls.c.call_sid.desc()) if newest else (calls.c.started_at, calls.c.call_sid)
        query = _period(select(calls), since, until, outcome).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            found = [_summary(row) for row in conn.execute(query).mappings()]
        return found[::-1] if newest else found

    def count(self, since: datetime | None = None, until: datetime | None = None, outcome: str | None = None) -> int:
        """How many calls started in [since, until) (with `outcome`, as `calls` selects them)."""
        with self.db.connect() as conn:
            return int(conn.execute(_period(select(func.count()).select_from(calls), since, until, outcome)).scalar_one())

    def call(self, call_sid: str) -> CallSummary | None:
        """One call, or None."""
        with self.db.connect() as conn:
            row = conn.execute(select(calls).where(calls.c.call_sid == call_sid)).mappings().first()
        return _summary(row) if row is not None else None

    def lines(self, call_sid: str) -> list[StoredLine]:
        """A call's story in order."""
        return self.lines_of([call_sid]).get(call_sid, [])

    def lines_of(self, call_sids: Iterable[str], without: Sequence[str] = ()) -> dict[str, list[StoredLine]]:
        """The stories of many calls, each in order; `without` leaves lines of those types out (prompts' words are the bulk)."""
        sids = list(dict.fromkeys(call_sids))
        found: dict[str, list[StoredLine]] = {}
        query = _LINES.where(call_events.c.type.not_in(without)) if without else _LINES
        with self.db.connect() as conn:
            for start in range(0, len(sids), _CHUNK):
                for row in conn.execute(query, {"sids": sids[start : start + _CHUNK]}).mappings():
                    found.setdefault(row["call_sid"], []).append(
                        StoredLine(row["seq"], row["pos"], utc(row["at"]), json.loads(row["data"]))
                    )
        return found

    def purge(self, before: datetime, batch: int = PURGE_BATCH, deadline: float | None = None) -> Purged:
        """Forget calls that started before `before`: their record, their answers and their story.

        In batches of `batch` calls, each its own short transaction, so a backlog never holds a lock or
        a statement long (a request's timeout cuts any one use of a connection); `deadline`
        (time.monotonic()) stops between batches, the rest waiting for the next purge.
        """
        cutoff = utc(before)
        oldest = select(calls.c.call_sid).where(calls.c.started_at < cutoff).order_by(calls.c.started_at).limit(batch)
        gone = lines = 0
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return Purged(calls=gone, lines=lines, done=False)
            with self.db.connect(transaction=True) as conn:
                sids = list(conn.execute(oldest).scalars())
                lines += conn.execute(delete(call_events).where(call_events.c.call_sid.in_(sids))).rowcount if sids else 0
                conn.execute(delete(call_steps).where(call_steps.c.call_sid.in_(sids)))
                gone += conn.execute(delete(calls).where(calls.c.call_sid.in_(sids))).rowcount
            if len(sids) < batch:
                return Purged(calls=gone, lines=lines)


def _period(query: Select[Any], since: datetime | None, until: datetime | None, outcome: str | None) -> Select[Any]:
    if since is not None:
        query = query.where(calls.c.started_at >= utc(since))
    if until is not None:
        query = query.where(calls.c.started_at < utc(until))
    if outcome == "open":
        query = query.where(calls.c.outcome.is_(None))
    elif outcome is not None:
        query = query.where(calls.c.outcome == outcome)
    return query


def _summary(row: RowMapping) -> CallSummary:
    return CallSummary(
        call_sid=row["call_sid"],
        caller=row["caller"],
        called=row["called"],
        channel=row["channel"],
        menu_version=row["menu_version"],
        started_at=utc(row["started_at"]),
        ended_at=utc(row["ended_at"]) if row["ended_at"] is not None else None,
        status=row["status"],
        outcome=row["outcome"],
        duration=row["duration"],
    )
