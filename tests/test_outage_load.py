"""Load under a database outage: a real `ivr serve` on the real PostgreSQL, cut off through a proxy while callers keep calling.

What a caller must get, whatever the database does: an answer to every request within 5 s (from the
client's side), speech in every answer, a ticket number read back, and afterwards that number must
be their call's ticket in the database. The spool must drain by itself once the database is back.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import secrets
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ivr.engine.services import TicketRequest
from ivr.store import Store
from ivr.store.schema import ticket_aliases
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore
from ivr.testing.phone import FALLBACK, HttpTransport, PhoneCall, Reply, TwilioError
from tests.databases import postgres_schema
from tests.proxy import Proxy
from tests.server import Server, running_server
from tests.test_faults import CLOCK, spoken_numbers
from tests.waiting import wait_until
from tests.webhooks import TOKEN

LATENCY_LIMIT = 5.0  # seconds: every answer, measured by the caller, well inside Twilio's 15 s
STATUS = "/voice/status"  # Twilio's status callback: answered 204 without TwiML, so no speech is expected there


@dataclass(frozen=True)
class Exchange:
    """One request as the caller saw it."""

    call_sid: str
    path: str
    started: float  # time.monotonic() when it was sent
    seconds: float
    status: int
    body: str

    @property
    def spoken(self) -> bool:
        """Whether the answer gives the caller something to hear."""
        return self.status == 200 and ("<Say" in self.body or "<Play" in self.body)


class TimedTransport:
    """An HttpTransport that records every request's latency and answer (thread-safe, shared by all callers)."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.inner = HttpTransport(base_url, timeout=timeout)  # Twilio gives up on a webhook after 15 s
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST, and note how long it took and what came back (a refused or timed-out request too)."""
        started = time.monotonic()
        try:
            reply = self.inner.post(path, form, headers)
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, or cut off mid-answer
            self._note(form, path, started, 599, f"{type(exc).__name__}: {exc}")
            raise
        self._note(form, path, started, reply.status, reply.body)
        return reply

    def fetch(self, path: str) -> int:
        """GET what a <Play> names."""
        return self.inner.fetch(path)

    def _note(self, form: dict[str, str], path: str, started: float, status: int, body: str) -> None:
        exchange = Exchange(form.get("CallSid", ""), path, started, time.monotonic() - started, status, body)
        with self._lock:
            self.exchanges.append(exchange)

    def of(self, call_sid: str) -> list[Exchange]:
        """The requests of one call, in order."""
        return self.by_call().get(call_sid, [])

    def by_call(self) -> dict[str, list[Exchange]]:
        """Every call's requests, in order."""
        calls: dict[str, list[Exchange]] = {}
        with self._lock:
            for e in self.exchanges:
                calls.setdefault(e.call_sid, []).append(e)
        return calls

    def took_fallback(self) -> set[str]:
        """The calls that were sent down the fallback path (an apology, and a message that becomes a ticket)."""
        return {sid for sid, exchanges in self.by_call().items() if any(e.path.startswith(FALLBACK) for e in exchanges)}


@dataclass
class Placed:
    """One finished call: what it heard, and the 'application error' it met, if any."""

    call: PhoneCall
    started: float  # time.monotonic() before its first request
    ended: float = 0.0  # and after its last
    error: str = ""

    @property
    def numbers(self) -> set[str]:
        """The ticket numbers read out to this caller."""
        return spoken_numbers(self.call.lines)


@dataclass
class Callers:
    """Callers placing after-hours calls that leave a message (press 1, record), one after another until told to stop."""

    transport: TimedTransport
    url: str
    placed: list[Placed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, who: int) -> Placed:
        """Place one call; a failed request (Twilio's 'application error') is recorded, not raised."""
        phone = PhoneCall(self.transport, self.url, TOKEN, caller=f"+86139{who:08d}", extra=CLOCK, voicemail=f"message from {who}")
        placed = Placed(phone, time.monotonic())
        try:
            phone.run(["1"])
        except (TwilioError, OSError, http.client.HTTPException) as exc:
            placed.error = f"{type(exc).__name__}: {str(exc)[:300]}"
        placed.ended = time.monotonic()
        with self._lock:
            self.placed.append(placed)
        return placed

    def keep_calling(self, who: int, until: float) -> None:
        """Call again and again until `until` (time.monotonic()); the call in progress is finished."""
        n = 0
        while time.monotonic() < until:
            self.call(who * 1000 + n)
            n += 1


def _health(server: Server) -> dict[str, Any]:
    """/healthz of whichever worker answers, also while it reports the database unreachable (503)."""
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        data = json.loads(exc.read())
    return data


def _wait_drained(server: Server, spool: Path, timeout: float = 60.0) -> dict[str, Any]:
    """Poll /healthz until several answers in a row (so from both workers) report the database ok and no ticket waiting."""
    streak: list[dict[str, Any]] = []

    def drained() -> dict[str, Any] | None:
        body = _health(server)
        ok = body.get("database") == "ok" and body.get("spool", {}).get("waiting") == 0 and not list(spool.glob("*.json"))
        streak[:] = [*streak, body] if ok else [body]
        return body if ok and len(streak) >= 6 else None

    return wait_until(drained, timeout, interval=0.2, message=lambda: f"the spool to drain; last /healthz: {streak[-1:]}")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _assert_heard_numbers_are_their_tickets(url: str, placed: list[Placed]) -> tuple[set[str], int, int]:
    """Every number a caller heard finds a ticket of that caller's call, and no number was heard by two calls.

    Returns the numbers heard, how many tickets the database holds and how many second numbers (aliases) it knows.
    """
    heard_by: dict[str, str] = {}
    for p in placed:
        for number in p.numbers:
            other = heard_by.setdefault(number, p.call.call_sid)
            assert other == p.call.call_sid, f"ticket number {number} was read out to two calls: {other} and {p.call.call_sid}"
    store = Store(url)
    try:
        wrong = {}
        for number, sid in heard_by.items():
            ticket = store.tickets.find(number)
            if ticket is None or ticket.call_id != sid:
                wrong[number] = (sid, ticket.call_id if ticket else None)
        stored = len(store.tickets.list_tickets())
        with store.engine.connect() as conn:
            aliases = int(conn.execute(select(func.count()).select_from(ticket_aliases)).scalar_one())
    finally:
        store.close()
    assert not wrong, f"numbers heard that are not the hearing call's ticket (number: (call, ticket's call)): {wrong}"
    return set(heard_by), stored, aliases


def _assert_every_answer_in_time_and_spoken(exchanges: list[Exchange]) -> None:
    slow = [e for e in exchanges if e.seconds >= LATENCY_LIMIT]
    assert not slow, (
        f"{len(slow)} request(s) took {LATENCY_LIMIT} s or more: {[(e.path, round(e.seconds, 2), e.status) for e in slow[:10]]}"
    )
    silent = [e for e in exchanges if e.path != STATUS and not e.spoken]
    assert not silent, f"{len(silent)} answer(s) without speech: {[(e.path, e.status, e.body[:200]) for e in silent[:5]]}"


def _server_problems(server: Server) -> list[str]:
    """The server log's path and its worst lines (set-asides, a failed fallback, worker restarts), to show when a test fails."""
    worst = ("[CRITICAL]", "fallback failed", "WORKER TIMEOUT", "Booting worker", "Worker exiting")
    lines = server.log.read_text(errors="replace").splitlines()
    return [str(server.log), *[line[:300] for line in lines if any(w in line for w in worst)][:20]]


def test_thirty_callers_through_refused_then_hung_database(tmp_path: Path) -> None:
    """30 callers calling without pause through 5 s up, 10 s refused, 20 s black-holed, then up: no error, no silence, no lost number."""
    spool = tmp_path / "spool"
    with postgres_schema() as url, Proxy.before(url) as (proxy, proxied):
        # The reserve must cover every ticket of the outage: 30 callers for 30 s take several thousand on a fast machine.
        env = {"IVR_DATABASE_URL": proxied, "IVR_TEST_CLOCK": "1", "IVR_SPOOL_DIR": str(spool), "IVR_NUMBER_RESERVE": "20000"}
        with running_server(tmp_path, workers=2, **env) as server:
            transport = TimedTransport(server.url)
            callers = Callers(transport, server.url)
            t0 = time.monotonic()
            # The timeline is what is under test: each phase lasts its stated time while the callers keep calling.
            phases = [("up", t0, t0 + 5), ("refused", t0 + 5, t0 + 15), ("black-holed", t0 + 15, t0 + 35), ("up again", t0 + 35, t0 + 40)]
            with ThreadPoolExecutor(max_workers=30) as pool:
                futures = [pool.submit(callers.keep_calling, i, t0 + 40) for i in range(30)]
                for at, switch in ((t0 + 5, proxy.down), (t0 + 15, proxy.blackhole), (t0 + 35, proxy.up)):
                    time.sleep(max(0.0, at - time.monotonic()))
                    switch()
                for f in futures:
                    f.result(timeout=90)
            health = _wait_drained(server, spool)
            problems = _server_problems(server)
        placed = callers.placed
        exchanges = transport.exchanges
        heard, stored, aliases = _assert_heard_numbers_are_their_tickets(url, placed)

    per_phase = {name: sum(1 for p in placed if start <= p.started < end) for name, start, end in phases}
    took_fallback = transport.took_fallback()
    fallbacks = {
        name: sum(1 for p in placed if start <= p.started < end and p.call.call_sid in took_fallback) for name, start, end in phases
    }
    latencies = [e.seconds for e in exchanges]
    errors = [p.error for p in placed if p.error]
    print(
        f"\nLOAD: {len(placed)} calls ({per_phase}; of them on the fallback path {fallbacks}), {len(exchanges)} requests, "
        f"{len(heard)} ticket numbers heard, {stored} tickets stored ({aliases} aliases), {len(errors)} application errors, "
        f"latency max {max(latencies):.3f} s p99 {_p99(latencies):.3f} s median {sorted(latencies)[len(latencies) // 2]:.3f} s"
    )
    assert errors == [], f"{len(errors)} call(s) met Twilio's 'application error': {errors[:5]}\nserver log: {problems}"
    assert all(n > 0 for n in per_phase.values()), per_phase
    first_fault = phases[1][1]
    needless = [p.call.call_sid for p in placed if p.ended < first_fault and p.call.call_sid in took_fallback]
    assert not needless, f"calls over a sound database took the fallback path: {needless[:5]}"
    _assert_every_answer_in_time_and_spoken(exchanges)
    mute = [p.call.call_sid for p in placed if not p.numbers]
    assert not mute, f"{len(mute)} call(s) left a message but heard no ticket number: {mute[:5]}"
    assert stored == len(placed), f"{stored} tickets stored for {len(placed)} calls that each left one message"
    assert (health["spool"]["waiting"], health["spool"]["set_aside"]) == (0, 0), health
    assert not list(spool.glob("*.bad"))


def test_overlapping_callers_on_a_hung_database(tmp_path: Path) -> None:
    """24 callers starting within 2 s on a black-holed database each hear a number in time; the Fallback URL answers too."""
    spool = tmp_path / "spool"
    with postgres_schema() as url, Proxy.before(url) as (proxy, proxied):
        with running_server(tmp_path, workers=2, IVR_DATABASE_URL=proxied, IVR_TEST_CLOCK="1", IVR_SPOOL_DIR=str(spool)) as server:
            transport = TimedTransport(server.url)
            callers = Callers(transport, server.url)
            proxy.blackhole()
            t0 = time.monotonic()

            def staggered(i: int) -> Placed:
                time.sleep(max(0.0, t0 + i * 2.0 / 24 - time.monotonic()))  # the arrival pattern under test: 24 calls over 2 s
                return callers.call(i)

            def fallback_url(i: int) -> Exchange:
                # As Twilio calls the number's Fallback URL after an error on the primary handler.
                time.sleep(max(0.0, t0 + 0.5 + i - time.monotonic()))
                phone = PhoneCall(transport, server.url, TOKEN, extra=CLOCK)
                with contextlib.suppress(TwilioError):  # judged below from the recorded exchange
                    phone.post(FALLBACK, ErrorCode="11200", ErrorUrl="/voice/gather")
                return transport.of(phone.call_sid)[-1]

            with ThreadPoolExecutor(max_workers=27) as pool:
                calls = [pool.submit(staggered, i) for i in range(24)]
                fallback_hits = [pool.submit(fallback_url, i) for i in range(3)]
                placed = [f.result(timeout=60) for f in calls]
                hits = [f.result(timeout=60) for f in fallback_hits]
            during = time.monotonic() - t0
            proxy.up()
            health = _wait_drained(server, spool)
            problems = _server_problems(server)
        heard, stored, _aliases = _assert_heard_numbers_are_their_tickets(url, placed)

    latencies = [e.seconds for e in transport.exchanges]
    fallback_path = sum(1 for p in placed if p.call.call_sid in transport.took_fallback())
    print(
        f"\nHUNG: 24 calls over a black-holed database for {during:.1f} s ({fallback_path} on the fallback path), "
        f"{len(heard)} numbers heard; Fallback URL answered {[(h.status, round(h.seconds, 3)) for h in hits]}; "
        f"latency max {max(latencies):.3f} s p99 {_p99(latencies):.3f} s"
    )
    assert [p.error for p in placed if p.error] == [], f"server log: {problems}"
    _assert_every_answer_in_time_and_spoken(transport.exchanges)
    assert all(len(p.numbers) == 1 for p in placed), [(p.call.call_sid, p.numbers) for p in placed if len(p.numbers) != 1]
    assert stored == len(placed) == len(heard)
    assert all(h.path == FALLBACK and h.spoken and h.seconds < LATENCY_LIMIT for h in hits), hits
    assert (health["spool"]["waiting"], health["spool"]["set_aside"]) == (0, 0), health


@contextlib.contextmanager
def _fast_folder(fallback: Path) -> Iterator[Path]:
    """A folder in memory when the host has one: 4,400 spool files with four fsyncs each take ~35 s on this disk, ~5 s in /dev/shm."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield fallback
        return
    folder = Path(tempfile.mkdtemp(prefix="ivr-backlog-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _spool_backlog(url: str, spool: Path, count: int) -> dict[str, str]:
    """`count` tickets spooled through the real code path while the database refuses; their numbers by call."""
    spooled: dict[str, str] = {}
    with Proxy.before(url) as (proxy, proxied):
        store = TicketStore(proxied)
        try:
            sink = SpoolingTicketSink(store, spool, reserve=5000)  # leases its numbers now, while the database is up
            assert sink.numbers.remaining() >= count
            proxy.down()
            quiet = logging.getLogger("ivr.store.spool")
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)  # one "spooled, the database will get it later" line per ticket is noise here
            try:
                now = datetime.now(UTC)
                for i in range(count):
                    sid = "CA" + secrets.token_hex(16)
                    spooled[sid] = sink.create_ticket(TicketRequest(sid, f"+86138{i:08d}", "zh-CN", "voicemail", f"backlog {i}", now, 240))
            finally:
                quiet.setLevel(level)
            assert sink.depth() == count
        finally:
            store.close()
    return spooled


def test_first_caller_after_recovery_is_answered_while_a_backlog_drains(tmp_path: Path) -> None:
    """4,400 spooled tickets: the first caller after recovery is answered within 1 s a request, and the backlog reaches the database."""
    count = 4400
    with postgres_schema() as url, _fast_folder(tmp_path / "spool") as spool:
        built = time.monotonic()
        spooled = _spool_backlog(url, spool, count)
        built = time.monotonic() - built
        assert len(set(spooled.values())) == count
        with running_server(tmp_path, workers=2, IVR_DATABASE_URL=url, IVR_TEST_CLOCK="1", IVR_SPOOL_DIR=str(spool)) as server:
            transport = TimedTransport(server.url)
            # The call is placed once the background drainer is at work, so it is answered while the drainer works.
            waiting_before = wait_until(
                lambda: n if 0 < (n := len(list(spool.glob("*.json")))) < count else None, 15, 0.02, message="the drainer to start"
            )
            first = Callers(transport, server.url).call(1)
            waiting_after = len(list(spool.glob("*.json")))
            drain_started = time.monotonic()
            health = _wait_drained(server, spool, timeout=90)
            drained_in = time.monotonic() - drain_started
            problems = _server_problems(server)
        store = Store(url)
        try:
            stored = {t.call_id: t.number for t in store.tickets.list_tickets()}
        finally:
            store.close()

    latencies = [round(e.seconds, 3) for e in transport.exchanges]
    print(
        f"\nBACKLOG: {count} tickets spooled in {built:.1f} s; first call's requests {latencies} s with "
        f"{waiting_before} -> {waiting_after} waiting; the rest drained {drained_in:.1f} s later"
    )
    assert first.error == "", f"{first.error}\nserver log: {problems}"
    assert waiting_after > 0, "the backlog drained before the first call ended: nothing was measured under it"
    assert all(e.seconds < 1.0 for e in transport.exchanges), latencies
    assert all(e.spoken for e in transport.exchanges if e.path != STATUS)
    assert len(first.numbers) == 1
    assert (health["spool"]["waiting"], health["spool"]["set_aside"]) == (0, 0), health
    missing = {sid: n for sid, n in spooled.items() if stored.get(sid) != n}
    assert not missing, f"{len(missing)} spooled ticket(s) not in the database under their number, e.g. {list(missing.items())[:3]}"
    assert stored[first.call.call_sid] in first.numbers
