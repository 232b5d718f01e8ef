"""Faults: a database outage when a ticket is due, a worker killed under load, a slow back-end, many hosts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from ivr.actions import with_deadline
from ivr.config import Settings
from ivr.engine.services import ActionContext, ActionResult
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.store import Store
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore, sqlite_url
from ivr.testing.phone import HttpTransport, PhoneCall, Reply, TwilioError
from tests.conftest import AFTER_HOURS, Caller
from tests.databases import postgres_schema
from tests.proxy import Proxy
from tests.server import Server, running_server
from tests.waiting import wait_until
from tests.webhooks import TOKEN, make_hotline, said

SPOKEN_TICKET = re.compile(r"(?:工单号是|ticket number is) ((?:\d ){7}\d)")
CLOCK = {"IvrTestClock": AFTER_HOURS.isoformat()}


def spoken_numbers(lines: list[dict[str, object]]) -> set[str]:
    """Ticket numbers read out to the caller."""
    return {m.replace(" ", "") for m in SPOKEN_TICKET.findall(said(lines))}  # type: ignore[arg-type]


@dataclass
class Outage:
    """A SQLite ticket store whose folder has been taken away, so the database cannot be opened."""

    store: TicketStore
    sink: SpoolingTicketSink
    folder: Path
    gone: Path

    def restore(self) -> None:
        """Put the database back."""
        self.gone.rename(self.folder)


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    """A ticket store that is down, with a spool beside it."""
    folder = tmp_path / "db"
    folder.mkdir()
    store = TicketStore(sqlite_url(folder / "tickets.sqlite3"))
    sink = SpoolingTicketSink(store, tmp_path / "spool")
    store.engine.dispose()
    folder.rename(tmp_path / "db-gone")
    yield Outage(store, sink, folder, tmp_path / "db-gone")
    store.close()


class TestSpool:
    """Tickets survive a database outage in a local spool."""

    def test_outage_spools_and_drains(self, outage: Outage, menu: Menu) -> None:
        """With the database gone the caller still hears a number; it is stored when the database is back."""
        store, sink = outage.store, outage.sink
        call = Caller(engine_for(menu, sink, Settings())).dial("1", at=AFTER_HOURS, voicemail="磁盘满了")
        assert call.ticket is not None
        number = call.ticket["number"]
        assert " ".join(number) in call.said
        assert len(sink.pending()) == 1
        outage.restore()
        assert sink.drain() == 1 and sink.pending() == []
        stored = store.find(number)
        assert stored is not None and stored.description == "磁盘满了"

    def test_retry_during_the_outage_keeps_the_same_number(self, outage: Outage, menu: Menu) -> None:
        """A repeated ticket request for a spooled call returns the number already read out."""
        sink = outage.sink
        engine = engine_for(menu, sink, Settings())
        first = engine.start("CA-spool", "+861", AFTER_HOURS)
        from ivr.engine.events import Entry, RecordingDone

        at_record = engine.handle(first.snapshot, Entry("1"), AFTER_HOURS)
        once = engine.handle(at_record.snapshot, RecordingDone("x"), AFTER_HOURS)
        twice = engine.handle(at_record.snapshot, RecordingDone("x"), AFTER_HOURS)
        assert once.snapshot.values["ticket"] == twice.snapshot.values["ticket"]
        assert len(sink.pending()) == 1

    def test_postgres_outage_behind_a_live_server(self, tmp_path: Path) -> None:
        """`ivr serve` on PostgreSQL cut off mid-service: the caller hears a number, and it reaches the database later."""
        with postgres_schema() as url:
            match = re.match(r"(postgresql\+psycopg://[^@]+@)([^:/]+):(\d+)(/.*)", url)
            assert match is not None
            proxy = Proxy(match[2], int(match[3]))
            proxy.up()
            proxied = f"{match[1]}127.0.0.1:{proxy.port}{match[4]}"
            with running_server(tmp_path, IVR_DATABASE_URL=proxied, IVR_TEST_CLOCK="1", IVR_SPOOL_DIR=str(tmp_path / "spool")) as server:
                before = PhoneCall(HttpTransport(server.url), server.url, TOKEN, extra=CLOCK, voicemail="一切正常")
                assert spoken_numbers(before.run(["1"]))
                proxy.down()
                during = PhoneCall(HttpTransport(server.url), server.url, TOKEN, extra=CLOCK, voicemail="数据库断了")
                numbers = spoken_numbers(during.run(["1"]))
                assert len(numbers) == 1
                assert list((tmp_path / "spool").glob("*.json"))
                proxy.up()

                def drained() -> bool:
                    with contextlib.suppress(OSError):  # every /healthz moves spooled tickets into the database
                        urllib.request.urlopen(server.url + "/healthz", timeout=5).read()
                    return not list((tmp_path / "spool").glob("*.json"))

                wait_until(drained, timeout=20, interval=0.2, message="the spool to drain into the database")
            proxy.down()
            store = Store(url)
            try:
                assert store.tickets.find(next(iter(numbers))) is not None
            finally:
                store.close()


def test_slow_order_backend_still_answers_in_time(tmp_path: Path) -> None:
    """An order lookup that hangs is cut off: the caller is transferred to an agent well inside 15 seconds."""
    hotline = make_hotline(tmp_path)

    def hang(ctx: ActionContext) -> ActionResult:
        time.sleep(30)  # the behaviour under test: a back-end that hangs far longer than the deadline
        return ActionResult("found")

    engine = hotline.apps[0].extensions["ivr.voice"].engine
    engine.actions["order_lookup"] = with_deadline(hang, 1.0)
    started = time.monotonic()
    call = hotline.call("2 202611280001#")
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert "系统暂时出现问题" in said(call.lines)
    assert [line["address"] for line in call.lines if line["type"] == "transfer"] == ["sip:general@pbx.example.test"]


class Alternating:
    """Sends each request to the next server in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.transports = [HttpTransport(u, timeout=30) for u in urls]
        self.turn = 0
        self.lock = threading.Lock()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST to the next server."""
        with self.lock:
            transport = self.transports[self.turn % len(self.transports)]
            self.turn += 1
        return transport.post(path, form, headers)


def _after_hours_call(transport: object, url: str, i: int, fallback: bool = False) -> PhoneCall:
    call = PhoneCall(
        transport,  # type: ignore[arg-type]
        url,
        TOKEN,
        caller=f"+86139{i:08d}",
        extra=CLOCK,
        voicemail=f"message {i}",
        use_fallback=fallback,
    )
    call.run(["1"])
    return call


def test_two_hosts_two_hundred_simultaneous_calls(tmp_path: Path) -> None:
    """Two `ivr serve` (3 workers each) on one PostgreSQL serve 200 simultaneous after-hours calls, alternating."""
    with postgres_schema() as url:
        # Both hosts sign for one public URL, as behind a load balancer.
        public = "https://ivr.example.test"
        env = {"IVR_DATABASE_URL": url, "IVR_TEST_CLOCK": "1", "IVR_SPOOL_DIR": str(tmp_path / "spool"), "IVR_PUBLIC_URL": public}
        with running_server(tmp_path / "a", workers=3, **env) as a, running_server(tmp_path / "b", workers=3, **env) as b:
            transport = Alternating([a.url, b.url])
            with ThreadPoolExecutor(max_workers=200) as pool:
                futures = [pool.submit(_after_hours_call_public, transport, public, i) for i in range(200)]
                errors = [f.exception() for f in futures if f.exception() is not None]
                calls = [f.result() for f in futures if f.exception() is None]
        assert errors == []
        store = Store(url)
        try:
            tickets = store.tickets.list_tickets()
        finally:
            store.close()
        assert len(tickets) == 200
        assert len({t.number for t in tickets}) == 200
        assert {n for c in calls for n in spoken_numbers(c.lines)} == {t.number for t in tickets}


def _after_hours_call_public(transport: Alternating, public: str, i: int) -> PhoneCall:
    return _after_hours_call(transport, public, i)


def test_worker_killed_under_load_loses_no_announced_ticket(tmp_path: Path) -> None:
    """SIGKILL to a worker mid-load: every ticket number a caller heard exists afterwards."""
    with postgres_schema() as url:
        env = {"IVR_DATABASE_URL": url, "IVR_TEST_CLOCK": "1", "IVR_SPOOL_DIR": str(tmp_path / "spool")}
        with running_server(tmp_path, workers=3, **env) as server:
            # The first worker answers /healthz before the others have booted.
            workers = wait_until(lambda: pids if len(pids := _worker_pids(server)) >= 3 else None, 15, message="3 workers")
            assert len(workers) == 3
            transport = HttpTransport(server.url, timeout=30)
            with ThreadPoolExecutor(max_workers=30) as pool:
                futures = [pool.submit(_after_hours_call, transport, server.url, i, True) for i in range(90)]
                # Kill mid-load: once the first calls have finished, the pool's 30 threads all have calls in progress.
                wait_until(lambda: sum(f.done() for f in futures) >= 10, 60, 0.01, message="the first calls to finish")
                os.kill(workers[0], signal.SIGKILL)
                # A call whose request and fallback both hit the dying worker hears Twilio's error and no number.
                calls = [f.result() for f in futures if not isinstance(f.exception(), TwilioError)]
            # A ticket the killed worker had spooled but not stored is moved into the database by the background
            # drainer of a live worker (once it is older than a request's budget: its writer may still be storing it).
            spool = Path(env["IVR_SPOOL_DIR"])
            wait_until(lambda: not list(spool.glob("*.json")), 30, 0.2, message="the spool to drain")
        heard = {n for c in calls for n in spoken_numbers(c.lines)}
        store = Store(url)
        try:
            stored = {t.number for t in store.tickets.list_tickets()}
        finally:
            store.close()
        assert heard and heard <= stored, heard - stored
        assert sum(1 for c in calls if spoken_numbers(c.lines)) >= 75  # nearly every caller got a ticket


def _worker_pids(server: Server) -> list[int]:
    """The gunicorn workers of a server (children of its master)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def test_twilio_error_without_fallback_is_loud(tmp_path: Path) -> None:
    """Without fallback emulation, a refused connection is reported, never silently passed."""
    call = PhoneCall(HttpTransport("http://127.0.0.1:9", timeout=2), "http://127.0.0.1:9", TOKEN)
    with pytest.raises(TwilioError, match="599"):
        call.run(["1"])


def test_clock_constant_is_after_hours(menu: Menu, caller: Caller) -> None:
    """The clock the fault tests send is a closed time of the shipped menu, where pressing 1 leaves a message that becomes a ticket."""
    at = datetime.fromisoformat(CLOCK["IvrTestClock"])
    assert at.tzinfo is not None  # a server in test mode ignores a clock without an offset and uses the real time
    assert not menu.schedule.is_open(at)
    call = caller.dial("1", at=at, voicemail="磁盘满了")
    assert call.ticket is not None and call.ticket["category"] == "voicemail"
    assert " ".join(call.ticket["number"]) in call.said
