"""The ticket store on a real SQLite file: numbers, idempotency per call, times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store.tickets import TicketStore, sqlite_url

UNIQUE_CALLS = 2000


@pytest.fixture
def store(database_url: str) -> Iterator[TicketStore]:
    """A ticket store on each database backend."""
    ticket_store = TicketStore(database_url)
    yield ticket_store
    ticket_store.close()


def request(call_id: str = "CA1", **kw: object) -> TicketRequest:
    """A ticket request with sensible defaults."""
    fields: dict[str, object] = {
        "call_id": call_id,
        "caller": "+8613800000000",
        "lang": "zh-CN",
        "category": "voicemail",
        "description": "服务器无法登录",
        "created_at": datetime(2026, 11, 30, 22, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        "first_response_minutes": 10,
    }
    fields.update(kw)
    return TicketRequest(**fields)


def test_file_is_created_on_first_use(tmp_path: Path) -> None:
    """The SQLite file and its folder appear when the store is first opened."""
    path = tmp_path / "nested" / "dir" / "ivr.sqlite3"
    store = TicketStore(sqlite_url(path))
    store.close()
    assert path.is_file()


def test_ticket_fields_are_stored(store: TicketStore) -> None:
    """A ticket keeps caller, language, category, description, UTC creation time and a 10-minute due time."""
    number = store.create_ticket(request())
    ticket = store.find(number)
    assert ticket is not None
    assert number.isdigit() and len(number) <= 12
    assert ticket.created_at == datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
    assert ticket.first_response_due - ticket.created_at == timedelta(minutes=10)
    assert (ticket.caller, ticket.language, ticket.category, ticket.status) == ("+8613800000000", "zh-CN", "voicemail", "open")
    assert ticket.description == "服务器无法登录"


def test_creating_twice_for_one_call_returns_the_same_ticket(store: TicketStore) -> None:
    """A second request for the same call id returns the first ticket and stores nothing new."""
    first = store.create_ticket(request("CA-same"))
    second = store.create_ticket(request("CA-same", description="a retry with other text"))
    assert first == second
    assert len(store.list_tickets()) == 1
    assert store.find(first).description == "服务器无法登录"


def test_numbers_are_unique_across_calls(database_url: str) -> None:
    """Distinct calls ticketed through several stores on one database each get their own stored number, drawn from a wide space."""
    stores = [TicketStore(database_url) for _ in range(3)]
    collisions: list[str] = []
    for s in stores:
        # A number that is already taken makes the insert fail and the store draw again: count those draws.
        event.listen(s.engine, "handle_error", lambda ctx: collisions.append(str(ctx.statement)))
    try:
        given = {f"CA-unique-{i}": stores[i % 3].create_ticket(request(f"CA-unique-{i}")) for i in range(UNIQUE_CALLS)}
        stored = {t.call_id: t.number for t in stores[0].list_tickets()}
    finally:
        for s in stores:
            s.close()
    assert stored == given  # every call's row holds the number it was told, nothing else was stored
    assert len(set(given.values())) == UNIQUE_CALLS
    assert all(n.isdigit() and not n.startswith("9") for n in given.values())  # 9… is the spool's range
    # Drawn from 80 million numbers, 2000 tickets collide about 0.025 times on average; a constant
    # or a range of a few thousand numbers collides every time or runs out of free numbers.
    assert len(collisions) <= 3, collisions[:5]


def test_concurrent_requests_for_one_call_make_one_ticket(database_url: str) -> None:
    """Threads racing to create the same call's ticket all get one number, and one row exists."""
    url = database_url
    stores = [TicketStore(url) for _ in range(4)]
    results: list[str] = []
    lock = threading.Lock()

    def create(store: TicketStore) -> None:
        number = store.create_ticket(request("CA-race"))
        with lock:
            results.append(number)

    threads = [threading.Thread(target=create, args=(s,)) for s in stores for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert len(stores[0].list_tickets()) == 1
    for s in stores:
        s.close()


def test_listing_is_newest_first(store: TicketStore) -> None:
    """Tickets are listed newest first."""
    base = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    for i in range(3):
        store.create_ticket(request(f"CA{i}", created_at=base + timedelta(minutes=i)))
    assert [t.call_id for t in store.list_tickets()] == ["CA2", "CA1", "CA0"]
    assert len(store.list_tickets(limit=2)) == 2


def test_unreachable_database_is_a_service_error(tmp_path: Path) -> None:
    """A store that cannot be opened raises ServiceError with the reason."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ServiceError, match="cannot open the ticket store"):
        TicketStore(f"sqlite:///{blocker}/ivr.sqlite3")
