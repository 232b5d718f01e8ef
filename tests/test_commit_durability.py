"""What each SQLite commit waits for: a call's step not the disk, a ticket and its deliveries always the disk.

A step's record survives a killed worker either way (WAL); only a power cut could take back the last
steps, and it ends those calls too. A ticket number a caller has heard, and the spool file removed once
its insert commits, must survive the power cut: those commits run with synchronous=FULL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from ivr.engine.services import TicketRequest
from ivr.engine.snapshot import CallSnapshot
from ivr.store import Store, sqlite_url
from tests.databases import postgres_schema

AT = datetime(2026, 11, 30, 22, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
LEVELS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def message(call_id: str) -> TicketRequest:
    """A message left on the call, as a ticket request."""
    return TicketRequest(
        call_id=call_id,
        caller="+8613800000000",
        lang="zh-CN",
        category="voicemail",
        description="服务器无法登录",
        created_at=AT,
        first_response_minutes=10,
    )


@pytest.fixture
def commits(tmp_path: Path) -> Iterator[tuple[Store, list[tuple[str, str]]]]:
    """A SQLite store, and for every commit that wrote: the tables it wrote and the synchronous level it ran with.

    Read from SQLite's own trace of the statements each connection runs, whatever runs them.
    """
    store = Store(sqlite_url(tmp_path / "durable.sqlite3"))
    seen: list[tuple[str, str]] = []

    @event.listens_for(store.engine, "connect")
    def _trace(dbapi_conn: Any, _record: Any) -> None:
        level = [LEVELS[dbapi_conn.execute("PRAGMA synchronous").fetchone()[0]]]
        written: list[str] = []

        def statement(sql: str) -> None:
            words = sql.replace("(", " ").split()
            verb = words[0].upper() if words else ""
            if verb == "PRAGMA" and words[1].lower().startswith("synchronous="):
                level[0] = words[1].split("=", 1)[1].upper()
            elif verb in ("INSERT", "UPDATE", "DELETE"):
                written.append(words[1] if verb == "UPDATE" else words[2])
            elif verb == "COMMIT" and written:
                seen.append((",".join(sorted(set(written))), level[0]))
                written.clear()

        dbapi_conn.set_trace_callback(statement)

    store.engine.dispose()  # the connections opened before the trace was set are closed; new ones are traced
    yield store, seen
    store.close()


def test_a_call_step_commits_without_waiting_for_the_disk(commits: tuple[Store, list[tuple[str, str]]]) -> None:
    """The call's first step and the next one: their commits are NORMAL."""
    store, seen = commits
    snapshot = CallSnapshot("CAsync1", "+8613800000000", "zh-CN", "main", "v1")
    store.calls.begin("CAsync1", "+8613800000000", "+864008500030", snapshot, "<Response/>", AT)
    assert store.calls.advance("CAsync1", 1, snapshot, "<Response/>", [{"type": "key", "node": "main", "digits": "1"}], AT)
    assert [level for tables, level in seen if "calls" in tables] == ["NORMAL", "NORMAL"]


def test_a_ticket_commits_to_the_disk_even_after_call_steps(commits: tuple[Store, list[tuple[str, str]]]) -> None:
    """The same pooled connection serves a step and then a ticket: the ticket's commit is FULL again."""
    store, seen = commits
    snapshot = CallSnapshot("CAsync2", "+8613800000000", "zh-CN", "main", "v1")
    store.calls.begin("CAsync2", "+8613800000000", "+864008500030", snapshot, "<Response/>", AT)
    number = store.tickets.create_ticket(message("CAsync2"))
    assert number
    assert store.calls.advance("CAsync2", 1, snapshot, "<Response/>", [], AT)
    ticket_commits = [level for tables, level in seen if "tickets" in tables]
    assert ticket_commits == ["FULL"]
    assert [level for tables, level in seen if tables == "call_steps,calls"][-1] == "NORMAL"


@pytest.fixture
def postgres() -> Iterator[str]:
    """A private PostgreSQL schema for the test."""
    with postgres_schema() as url:
        yield url


def test_on_postgresql_a_step_does_not_wait_for_the_log_flush_and_a_ticket_does(postgres: str) -> None:
    """PostgreSQL: after a call's step the connection commits with synchronous_commit off; after a ticket, on."""
    store = Store(postgres)

    def level_now() -> str:
        # Used one at a time, the pool holds a single connection: the one the work just ran on.
        assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        with store.engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())

    snapshot = CallSnapshot("CAsync3", "+8613800000000", "zh-CN", "main", "v1")
    store.calls.begin("CAsync3", "+8613800000000", "+864008500030", snapshot, "<Response/>", AT)
    assert level_now() == "off"
    store.tickets.create_ticket(message("CAsync3"))
    assert level_now() == "on"
    assert store.calls.advance("CAsync3", 1, snapshot, "<Response/>", [{"type": "key", "node": "main", "digits": "1"}], AT)
    assert level_now() == "off"
    store.close()
