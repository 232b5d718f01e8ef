"""Every number a caller hears is their ticket, exactly once: numbering, the spool, the drainer, bounded waits.

Faults happen for real: PostgreSQL behind a TCP proxy the test refuses, black-holes or cuts in the
middle of a statement; spool folders shared by processes; a database that hangs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store import Store
from ivr.store.guard import Breaker, Database, Unavailable, budget
from ivr.store.numbers import BLOCK_SIZE, FIRST_NUMBER, NumberLeases, NumberReserve, block_of
from ivr.store.schema import number_blocks, ticket_aliases, tickets
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore, sqlite_url
from ivr.testing.phone import HttpTransport, PhoneCall, call_sid
from tests.databases import postgres_schema
from tests.proxy import Proxy
from tests.server import health, running_server
from tests.test_faults import CLOCK, _worker_pids, spoken_numbers
from tests.waiting import wait_until
from tests.webhooks import TOKEN, make_hotline, signed_post
from tests.workspace import ivr_command, ivr_env

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def request(call_id: str, description: str = "磁盘满了", caller: str = "+8613900000000") -> TicketRequest:
    """An after-hours message for a call."""
    return TicketRequest(call_id, caller, "zh-CN", "voicemail", description, datetime(2026, 11, 30, 14, 0, tzinfo=UTC), 10)


@pytest.fixture
def fast_dir() -> Iterator[Path]:
    """A folder on tmpfs when there is one: thousands of fsyncs in a test should not wait on a shared disk."""
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="ivr-spool-", dir=base))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[str]:
    """A private PostgreSQL schema for the test."""
    with postgres_schema() as url:
        yield url


def stored_numbers(url: str) -> dict[str, str]:
    """number -> call_id of every ticket in the database."""
    store = Store(url)
    try:
        return {t.number: t.call_id for t in store.tickets.list_tickets()}
    finally:
        store.close()


class TestNumbers:
    """Numbers come from blocks leased per host; none is ever handed out twice."""

    def test_ten_thousand_tickets_spooled_on_two_hosts_during_an_outage_have_unique_numbers(self, postgres: str, fast_dir: Path) -> None:
        """Two hosts lease while the database is up, then spool 5,000 tickets each while it refuses: 10,000 distinct numbers, all stored."""
        with Proxy.before(postgres) as (proxy, proxied):
            hosts = [SpoolingTicketSink(TicketStore(proxied), fast_dir / name, reserve=5000) for name in ("a", "b")]
            assert [h.numbers.remaining() for h in hosts] == [5000, 5000]
            proxy.down()

            def spool(index: int) -> list[str]:
                sink = hosts[index % 2]
                with budget(3.0):
                    return [sink.create_ticket(request(f"CA{index:02d}{n:030x}")) for n in range(1250)]

            with ThreadPoolExecutor(max_workers=8) as pool:
                heard = [number for batch in pool.map(spool, range(8)) for number in batch]
            assert len(heard) == 10_000 and len(set(heard)) == 10_000
            assert all(len(n) == 8 and n.isdigit() and not n.startswith("9") for n in heard)
            assert [h.depth() for h in hosts] == [5000, 5000]
            proxy.up()
            results = [h.drain_report(wait=True) for h in hosts]
            assert [(r.stored, r.waiting, r.set_aside) for r in results] == [(5000, 0, 0), (5000, 0, 0)]
            for h in hosts:
                h.store.close()
        assert set(stored_numbers(postgres)) == set(heard)

    def test_hosts_lease_different_blocks_even_when_they_ask_at_once(self, postgres: str) -> None:
        """Eight hosts leasing at the same moment never share a block."""
        store = Store(postgres)
        try:
            leases = NumberLeases(store.db)
            with ThreadPoolExecutor(max_workers=8) as pool:
                got = list(pool.map(lambda i: leases.lease(f"host-{i}", 3), range(8)))
            blocks = [b for batch in got for b in batch]
            assert len(blocks) == 24 and len(set(blocks)) == 24
            with store.engine.connect() as conn:
                owners = dict(conn.execute(select(number_blocks.c.block, number_blocks.c.host)).all())
            assert all(owners[b] == f"host-{i}" for i, batch in enumerate(got) for b in batch)
        finally:
            store.close()

    def test_a_block_holding_an_older_random_number_is_never_leased(self, tmp_path: Path) -> None:
        """Tickets numbered at random by an earlier release keep their numbers: blocks that hold one are skipped."""
        store = Store(sqlite_url(tmp_path / "t.sqlite3"))
        try:
            old = f"{FIRST_NUMBER + 1234:08d}"  # in block 1
            with store.engine.connect() as conn:
                conn.execute(insert(number_blocks).values(block=0, host="someone", leased_at=datetime.now(UTC)))
                row = {**request("CAold").__dict__}
                conn.execute(
                    insert(tickets).values(
                        number=old,
                        call_id="CAold",
                        caller=row["caller"],
                        language="zh-CN",
                        category="voicemail",
                        description="",
                        created_at=datetime.now(UTC),
                        first_response_due=datetime.now(UTC),
                        status="open",
                    )
                )
            assert NumberLeases(store.db).lease("me", 1) == [2]
            assert block_of(int(old)) == 1
        finally:
            store.close()

    def test_numbers_written_off_by_a_process_that_ended_are_never_reused(self, tmp_path: Path) -> None:
        """Two processes on one spool folder, one after the other: the second never repeats a number of the first."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        folder = tmp_path / "spool"
        first = NumberReserve(NumberLeases(store.db), folder, target=BLOCK_SIZE)
        first.refill()
        a = [first.take() for _ in range(3)]
        second = NumberReserve(NumberLeases(store.db), folder, target=BLOCK_SIZE)  # as after a restart
        b = [second.take() for _ in range(30)]
        assert not set(a) & set(b) and len(set(b)) == 30
        store.close()

    def test_a_damaged_reserve_is_set_aside_and_fresh_blocks_are_leased(self, tmp_path: Path) -> None:
        """A reserve file that cannot be read is never guessed at: numbers come from a new block."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        folder = tmp_path / "spool"
        reserve = NumberReserve(NumberLeases(store.db), folder, target=BLOCK_SIZE)
        reserve.refill()
        used = reserve.take()
        assert reserve.file is not None
        reserve.file.write_text("{not json", encoding="utf-8")
        fresh = NumberReserve(NumberLeases(store.db), folder, target=BLOCK_SIZE).take()
        assert block_of(int(fresh)) != block_of(int(used))
        assert reserve.file.with_suffix(".damaged").exists()
        store.close()


class TestExactlyOnce:
    """One call, one number, on every path."""

    def test_an_insert_cut_while_it_commits_keeps_the_number_the_caller_heard(self, postgres: str, fast_dir: Path) -> None:
        """The connection drops after the INSERT reached the server: the caller hears the spooled number, which is the stored one."""
        with Proxy.before(postgres) as (proxy, proxied):
            store = TicketStore(proxied)
            sink = SpoolingTicketSink(store, fast_dir, reserve=BLOCK_SIZE)
            calls = [call_sid() for _ in range(3)]
            heard = {}
            for sid in calls:
                proxy.cut_after(b"INSERT INTO tickets")
                with budget(3.0):
                    heard[sid] = sink.create_ticket(request(sid))
                assert sink._path(sid).exists(), "the outcome was unknown: the ticket must stay spooled"
                time.sleep(1.1)  # let the breaker's pause pass, so the next trial reaches the database
            assert proxy.cuts == 3
            result = sink.drain_report(wait=True)
            assert (result.stored, result.waiting, result.set_aside) == (3, 0, 0)
            store.close()
        numbers = stored_numbers(postgres)
        assert {numbers[n]: n for n in numbers} == heard

    def test_simultaneous_deliveries_during_an_outage_all_hear_the_first_number(self, tmp_path: Path, fast_dir: Path) -> None:
        """Ten deliveries of one call's ticket at once, twenty times, database down: one number per call, one spool file."""
        db = tmp_path / "db"
        db.mkdir()
        store = TicketStore(sqlite_url(db / "t.sqlite3"))
        sink = SpoolingTicketSink(store, fast_dir, reserve=BLOCK_SIZE)
        store.engine.dispose()
        db.rename(tmp_path / "gone")  # the database cannot be opened any more
        for trial in range(20):
            sid = call_sid()
            barrier = threading.Barrier(10)

            def deliver(_: int, sid: str = sid, barrier: threading.Barrier = barrier) -> str:
                barrier.wait()
                with budget(3.0):
                    return sink.create_ticket(request(sid))

            with ThreadPoolExecutor(max_workers=10) as pool:
                numbers = set(pool.map(deliver, range(10)))
            assert len(numbers) == 1, f"trial {trial}: {numbers}"
        assert sink.depth() == 20
        store.close()

    def test_simultaneous_deliveries_from_several_processes_share_one_spool_file(self, postgres: str, fast_dir: Path) -> None:
        """Processes on one spool folder (gunicorn workers) racing for one call's ticket during an outage all answer one number."""
        script = (
            "import sys\n"
            "from datetime import UTC, datetime\n"
            "from ivr.engine.services import TicketRequest\n"
            "from ivr.store.guard import budget\n"
            "from ivr.store.spool import SpoolingTicketSink\n"
            "from ivr.store.tickets import TicketStore\n"
            "sink = SpoolingTicketSink(TicketStore(sys.argv[1]), sys.argv[2], reserve=1000)\n"
            "print('ready', flush=True)\n"
            "for sid in sys.stdin:\n"
            "    req = TicketRequest(sid.strip(), '+86', 'zh-CN', 'voicemail', 'm', datetime(2026, 11, 30, tzinfo=UTC), 10)\n"
            "    with budget(3):\n"
            "        print(sink.create_ticket(req), flush=True)\n"
        )
        with Proxy.before(postgres) as (proxy, proxied):
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", script, proxied, str(fast_dir)],
                    env=ivr_env({}),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(4)
            ]
            try:
                assert all(p.stdout is not None and p.stdout.readline().strip() == "ready" for p in procs)
                proxy.down()
                for _ in range(5):
                    sid = call_sid()
                    for p in procs:  # as close to simultaneous as four processes get
                        assert p.stdin is not None
                        p.stdin.write(sid + "\n")
                        p.stdin.flush()
                    answers = {p.stdout.readline().strip() for p in procs if p.stdout is not None}
                    assert len(answers) == 1 and next(iter(answers)).isdigit(), answers
            finally:
                for p in procs:
                    p.kill()
                    p.communicate(timeout=10)  # reaps it and closes its pipes
        assert len(list(fast_dir.glob("*.json"))) == 5

    def test_a_retry_after_the_ticket_was_drained_hears_the_same_number(self, tmp_path: Path) -> None:
        """Spooled, drained, then asked again: the database's number, not a new one."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        sink = SpoolingTicketSink(store, tmp_path / "spool", reserve=BLOCK_SIZE)
        first = sink.create_ticket(request("CAretry"))
        assert sink.depth() == 0  # stored at once: the database was up
        assert sink.create_ticket(request("CAretry")) == first
        store.close()

    def test_a_call_told_two_numbers_on_two_hosts_finds_its_ticket_by_either(self, tmp_path: Path) -> None:
        """The same call answered by two hosts during an outage: both numbers it heard lead to its one ticket."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        one = SpoolingTicketSink(store, tmp_path / "a", reserve=BLOCK_SIZE)
        two = SpoolingTicketSink(store, tmp_path / "b", reserve=BLOCK_SIZE)
        store.db.breaker = Breaker(pause=600.0)
        store.db.breaker.failed()  # the outage, as the breaker sees it: no request reaches the database
        a, b = one.create_ticket(request("CAtwice")), two.create_ticket(request("CAtwice"))
        assert a != b and one.depth() == two.depth() == 1
        store.db.breaker = Breaker()
        assert one.drain() == 1 and two.drain() == 1
        found = [store.find(n) for n in (a, b)]
        assert all(t is not None and t.call_id == "CAtwice" for t in found)
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(tickets)).scalar_one() == 1
            assert conn.execute(select(ticket_aliases.c.number)).scalars().all() == [b]
        store.close()

    def test_control_characters_in_every_field_are_stored_sanitised_on_postgres(self, postgres: str, tmp_path: Path) -> None:
        """A NUL (which PostgreSQL cannot store) in the caller, the message or the call id loses no ticket."""
        store = TicketStore(postgres)
        sink = SpoolingTicketSink(store, tmp_path / "spool", reserve=BLOCK_SIZE)
        number = sink.create_ticket(request("CA\x00nul", description="https://api.twilio.com/rec\x00ord\x1b[2J", caller="+86\x00139"))
        assert sink.depth() == 0 and sink.set_aside() == 0
        ticket = store.find(number)
        assert ticket is not None
        assert (ticket.call_id, ticket.caller, ticket.description) == ("CAnul", "+86139", "https://api.twilio.com/record[2J")
        store.close()


class TestDraining:
    """The spool drains in the background, one drainer per folder, never in a caller's request."""

    def _spool(self, folder: Path, store: TicketStore, count: int) -> list[str]:
        sink = SpoolingTicketSink(store, folder, reserve=BLOCK_SIZE)
        store.db.breaker = Breaker(pause=600.0)  # an outage for as long as the spooling takes
        store.db.breaker.failed()
        numbers = [sink.create_ticket(request(f"CA{n:032x}")) for n in range(count)]
        store.db.breaker = Breaker()
        return numbers

    def test_two_drainers_on_one_folder_store_each_ticket_once(self, tmp_path: Path) -> None:
        """Two processes' drainers at once: every ticket stored, none twice, no error (one waits for the lock)."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        numbers = self._spool(tmp_path / "spool", store, 300)
        sinks = [SpoolingTicketSink(TicketStore(sqlite_url(tmp_path / "t.sqlite3")), tmp_path / "spool") for _ in range(2)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda s: s.drain_report(), sinks))
        assert sum(r.stored for r in results) == 300 and sum(r.set_aside for r in results) == 0
        assert sorted(t.number for t in store.list_tickets()) == sorted(numbers)
        for s in sinks:
            s.store.close()
        store.close()

    def test_the_operator_command_drains_and_reports(self, tmp_path: Path) -> None:
        """`ivr tickets drain` stores what waits and says how many; with the database away it says so and fails."""
        db = tmp_path / "ivr.sqlite3"
        store = TicketStore(sqlite_url(db))
        numbers = self._spool(tmp_path / "spool", store, 5)
        env = ivr_env({"IVR_SQLITE_PATH": str(db), "IVR_SPOOL_DIR": str(tmp_path / "spool")})
        done = subprocess.run([*ivr_command(), "tickets", "drain"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "stored 5 spooled ticket(s)" in done.stdout and "0 still waiting" in done.stdout
        assert sorted(t.number for t in store.list_tickets()) == sorted(numbers)
        store.close()

    def test_the_drain_command_fails_when_the_database_is_unreachable(self, tmp_path: Path) -> None:
        """Tickets that cannot be stored stay spooled and the command exits 1."""
        with postgres_schema() as url, Proxy.before(url) as (proxy, proxied):
            store = TicketStore(proxied)
            self._spool(tmp_path / "spool", store, 3)
            store.close()
            proxy.down()
            env = ivr_env({"IVR_DATABASE_URL": proxied, "IVR_SPOOL_DIR": str(tmp_path / "spool")})
            done = subprocess.run([*ivr_command(), "tickets", "drain"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 1
        assert "3 still waiting" in done.stdout + done.stderr
        assert len(list((tmp_path / "spool").glob("*.json"))) == 3


class TestBoundedWaits:
    """No wait on the database is unbounded."""

    def test_a_black_holed_database_costs_one_statement_timeout_then_nothing(self, postgres: str) -> None:
        """The first request pays the watchdog's timeout, the next ones are refused at once by the breaker."""
        with Proxy.before(postgres) as (proxy, proxied):
            store = Store(proxied, statement_timeout=1.0)
            with budget(3.0):
                assert store.calls.load("CA" + "0" * 32) is None
            proxy.blackhole()
            started = time.monotonic()
            with budget(3.0), pytest.raises(Unavailable, match=r"no answer within 1\.0 s"):
                store.calls.load("CA" + "0" * 32)
            first = time.monotonic() - started
            started = time.monotonic()
            with budget(3.0), pytest.raises(Unavailable, match="breaker open"):
                store.calls.load("CA" + "0" * 32)
            second = time.monotonic() - started
            proxy.up()
            time.sleep(1.1)
            with budget(3.0):
                assert store.db.probe() and not store.db.breaker.is_open
            store.close()
        assert 0.9 < first < 2.5 and second < 0.1

    def test_a_late_watchdog_never_cuts_the_socket_that_took_its_connections_number(self, postgres: str) -> None:
        """The driver closes a broken connection before its watch ends; the kernel reuses the number: that socket lives on."""
        store = Store(postgres, statement_timeout=0.2)
        with budget(3.0), store.db.connect() as conn:
            raw = conn.connection.dbapi_connection
            number = raw.pgconn.socket
            raw.close()  # what the driver does when the server goes away mid-statement
            ours, theirs = socket.socketpair()  # a caller's connection, say: the kernel gives it the lowest free number
            assert number in (ours.fileno(), theirs.fileno())
            time.sleep(0.5)  # the watchdog's time runs out while the number belongs to the pair
        with ours, theirs:
            ours.sendall(b"answer")
            theirs.sendall(b"request")
            assert theirs.recv(16) == b"answer" and ours.recv(16) == b"request"
        store.close()

    def test_the_budget_bounds_a_request_that_makes_many_statements(self, tmp_path: Path) -> None:
        """Database work spends the budget; once spent, further work is refused at once instead of waiting again."""
        db = Database(Store(sqlite_url(tmp_path / "t.sqlite3")).engine, breaker=Breaker())
        with budget(1e-6):
            with db.connect() as conn:
                conn.exec_driver_sql("select 1")
            with pytest.raises(Unavailable, match="budget is spent"), db.connect():
                pass
        assert not db.breaker.is_open  # a spent budget says nothing about the database

    def test_time_outside_the_database_does_not_spend_the_budget(self, tmp_path: Path) -> None:
        """A slow named action before the step is stored leaves the step its time to be stored."""
        db = Database(Store(sqlite_url(tmp_path / "t.sqlite3")).engine, breaker=Breaker())
        with budget(0.05):
            time.sleep(0.1)  # the behaviour under test: time spent elsewhere (an order lookup), not on the database
            with db.connect() as conn:
                assert conn.exec_driver_sql("select 1").scalar() == 1

    def test_the_breaker_lets_one_trial_through_after_its_pause(self) -> None:
        """Open: refuse; after the pause one trial, failures double the pause, a success closes it."""
        breaker = Breaker(pause=0.05, max_pause=0.2)
        breaker.failed()
        assert not breaker.allow()
        time.sleep(0.06)
        assert breaker.allow() and not breaker.allow()  # one trial at a time
        breaker.failed()
        time.sleep(0.06)
        assert not breaker.allow()  # the pause doubled
        time.sleep(0.05)
        assert breaker.allow()
        breaker.succeeded()
        assert breaker.allow() and breaker.allow() and not breaker.is_open

    def test_a_refused_statement_does_not_open_the_breaker(self, tmp_path: Path) -> None:
        """A constraint the database enforces is an answer, not an outage."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        number = store.create_ticket(request("CAone"))
        with pytest.raises(ServiceError, match="taken by another call"):
            store.insert(request("CAtwo"), number)
        assert not store.db.breaker.is_open
        store.close()


def test_spool_files_keep_the_format_earlier_releases_wrote(tmp_path: Path) -> None:
    """A spool left by an earlier release (numbers starting with 9) drains with its numbers."""
    store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
    spool = tmp_path / "spool"
    spool.mkdir()
    data = {**request("CAlegacy").__dict__, "number": "91234567", "created_at": "2026-11-30T14:00:00+00:00"}
    (spool / "0123456789abcdef0123456789abcdef.json").write_text(json.dumps(data), encoding="utf-8")
    sink = SpoolingTicketSink(store, spool, reserve=BLOCK_SIZE)
    assert sink.drain() == 1
    ticket = store.find("91234567")
    assert ticket is not None and ticket.call_id == "CAlegacy"
    store.close()


class TestWebhooks:
    """What the webhooks do with the store's guarantees."""

    def test_a_replayed_old_step_gets_that_steps_answer_not_the_latest(self, tmp_path: Path) -> None:
        """Step 1 replayed after step 2: the answer step 1 got, never what the call was told since (a ticket number, say)."""
        hotline = make_hotline(tmp_path, IVR_DRAIN_INTERVAL="0")
        app = hotline.apps[0]
        form = {"CallSid": call_sid(), "AccountSid": "AC" + "0" * 32, "From": "+8613900000000", "To": "+864008500030"}
        signed_post(app, "/voice/incoming", {**form, "CallStatus": "ringing"})
        first = signed_post(app, "/voice/gather?seq=1", {**form, "Digits": "1"}).get_data(as_text=True)
        second = signed_post(app, "/voice/gather?seq=2", {**form, "Digits": "1"}).get_data(as_text=True)
        assert first != second
        replayed = signed_post(app, "/voice/gather?seq=1", {**form, "Digits": "1"}).get_data(as_text=True)
        assert replayed == first

    def test_health_counts_the_spool_without_draining_it(self, tmp_path: Path) -> None:
        """/healthz says how many tickets wait and leaves them to the drainer."""
        spool = tmp_path / "spool"
        hotline = make_hotline(tmp_path, IVR_SPOOL_DIR=str(spool), IVR_DRAIN_INTERVAL="0")
        sink = SpoolingTicketSink(hotline.store.tickets, spool, reserve=BLOCK_SIZE)
        hotline.store.db.breaker = Breaker(pause=600.0)
        hotline.store.db.breaker.failed()
        for n in range(3):
            sink.create_ticket(request(f"CA{n:032x}"))
        hotline.store.db.breaker = Breaker()
        body = hotline.apps[0].test_client().get("/healthz").get_json()
        assert (body["spool"]["waiting"], body["spool"]["set_aside"], body["database"]) == (3, 0, "ok")
        assert sink.depth() == 3

    def test_health_hides_the_drivers_words(self, postgres: str, tmp_path: Path) -> None:
        """An unreachable database is reported as such, without the driver's message (hosts, ports, users)."""
        with Proxy.before(postgres) as (proxy, proxied):
            hotline = make_hotline(tmp_path, IVR_DATABASE_URL=proxied, IVR_DRAIN_INTERVAL="0", IVR_RELOAD_INTERVAL="0")
            proxy.down()
            response = hotline.apps[0].test_client().get("/healthz")
            body = response.get_json()
            hotline.store.close()
        # Degraded, not down: with numbers in reserve the host still takes messages, so a load balancer keeps it.
        assert response.status_code == 200 and body["status"] == "degraded" and body["database"] == "unreachable"
        assert body["spool"]["numbers"] > 0
        assert "127.0.0.1" not in response.get_data(as_text=True) and "connection" not in response.get_data(as_text=True)


class TestServingThroughAnOutage:
    """A server keeps answering, and can start, while its database is away."""

    def test_a_server_starts_and_replaces_a_killed_worker_while_the_database_refuses(self, postgres: str, tmp_path: Path) -> None:
        """Started during an outage, a worker killed mid-outage: callers still hear their numbers, stored once it is back."""
        spool = tmp_path / "spool"
        with Proxy.before(postgres) as (proxy, proxied):
            leased = TicketStore(proxied)
            SpoolingTicketSink(leased, spool, reserve=BLOCK_SIZE)  # the host leased its numbers while the database was up
            leased.close()
            proxy.down()
            env = {"IVR_DATABASE_URL": proxied, "IVR_TEST_CLOCK": "1", "IVR_SPOOL_DIR": str(spool)}
            with running_server(tmp_path, workers=2, **env) as server:
                assert health(server)["status"] == "degraded"
                first = PhoneCall(HttpTransport(server.url), server.url, TOKEN, extra=CLOCK, voicemail="开机时数据库就断了")
                heard = {first.call_sid: spoken_numbers(first.run(["1"]))}
                workers = wait_until(lambda: pids if len(pids := _worker_pids(server)) >= 2 else None, 15, message="2 workers")
                os.kill(workers[0], signal.SIGKILL)
                wait_until(lambda: len(set(_worker_pids(server)) - {workers[0]}) >= 2, 30, message="the worker to be replaced")
                for n in range(4):
                    call = PhoneCall(HttpTransport(server.url), server.url, TOKEN, extra=CLOCK, voicemail=f"换了工人 {n}")
                    heard[call.call_sid] = spoken_numbers(call.run(["1"]))
                assert all(len(numbers) == 1 for numbers in heard.values()), heard
                proxy.up()
                wait_until(lambda: not list(spool.glob("*.json")), 30, 0.2, message="the spool to drain")
        numbers = stored_numbers(postgres)
        assert {sid: {n for n, c in numbers.items() if c == sid} for sid in heard} == heard

    def test_a_number_another_call_holds_is_never_told(self, tmp_path: Path) -> None:
        """A copied spool folder hands out a number the database has on another call: another number is chosen first."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        original = SpoolingTicketSink(store, tmp_path / "a", reserve=BLOCK_SIZE)
        shutil.copytree(tmp_path / "a", tmp_path / "b")  # a cloned disk: the same reserve on two hosts
        clone = SpoolingTicketSink(store, tmp_path / "b", reserve=BLOCK_SIZE)
        told = [original.create_ticket(request("CAfirst")), clone.create_ticket(request("CAsecond"))]
        assert told[0] != told[1]
        assert [store.find(n).call_id for n in told] == ["CAfirst", "CAsecond"]  # type: ignore[union-attr]
        store.close()

    def test_a_spooled_file_with_values_out_of_range_is_set_aside_and_the_rest_drain(self, tmp_path: Path) -> None:
        """One spool file that parses but cannot be a ticket never blocks the others."""
        store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
        spool = tmp_path / "spool"
        spool.mkdir()
        good = {**request("CAgood").__dict__, "number": "91234567", "created_at": "2026-11-30T14:00:00+00:00"}
        bad = [
            {**good, "call_id": "CAminutes", "number": "91234568", "first_response_minutes": 10**12},
            {**good, "call_id": "CAyear", "number": "91234569", "created_at": "9999-12-31T23:59:00+00:00"},
            {**good, "call_id": "CAlist", "number": [1, 2]},
        ]
        for n, data in enumerate([good, *bad]):
            (spool / f"{n:032x}.json").write_text(json.dumps(data), encoding="utf-8")
        result = SpoolingTicketSink(store, spool, reserve=BLOCK_SIZE).drain_report()
        assert (result.stored, result.waiting, result.set_aside) == (1, 0, 3)
        assert store.find("91234567") is not None
        store.close()


def test_a_blip_that_drops_pooled_connections_costs_no_caller_anything(postgres: str) -> None:
    """Every pooled connection cut at once, the database back a moment later: the next steps are read and stored, breaker shut."""
    with Proxy.before(postgres) as (proxy, proxied):
        store = Store(proxied)
        from ivr.engine.snapshot import CallSnapshot

        sid = call_sid()
        snapshot = CallSnapshot.from_dict({"call_id": sid, "caller": "+86", "menu_version": "v1", "node": "main", "lang": "zh-CN"})
        with budget(3.0):
            store.calls.begin(sid, "+86", "+864008500030", snapshot, "<Response/>", datetime.now(UTC))
            with ThreadPoolExecutor(max_workers=4) as pool:  # several connections in the pool
                list(pool.map(lambda _: store.calls.load(sid), range(8)))
        proxy.down()
        proxy.up()
        with budget(3.0):
            record = store.calls.load(sid)
            assert record is not None and record.seq == 1
        with budget(3.0):
            assert store.calls.advance(sid, 1, snapshot, "<Response><Say>2</Say></Response>")
        assert not store.db.breaker.is_open
        store.close()
