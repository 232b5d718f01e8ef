"""Slow clients against a real `ivr serve`: sockets that trickle their requests a byte at a time are
closed after the read timeout, and meanwhile a caller's webhooks are answered as quickly as ever."""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.testing.phone import HttpTransport, PhoneCall, Reply, TwilioError
from tests.server import Server, running_server
from tests.waiting import wait_until
from tests.webhooks import TOKEN

FAULT_SECONDS = 30.0  # how long the slow clients keep at it while the caller calls
SLOW_CLIENTS = 4
BYTE_EVERY = 0.5  # seconds between the bytes a slow client sends
DEFAULT_READ_TIMEOUT = 5.0  # `ivr serve`'s default --read-timeout
SHORT_READ_TIMEOUT = 2.0  # for the test of the timeout itself, to keep it short
# A request that never ends: a head whose last header grows forever (far below gunicorn's size limits at 2 bytes/s).
ENDLESS_HEAD = b"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
# A head that arrives whole, for a body that does not (the signature check makes the app read the form).
FORM_HEAD = (
    b"POST /voice/incoming HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 1000\r\nX-Twilio-Signature: c2xvdw==\r\n\r\nCallSid=CAslow"
)
WHOLE_REQUEST = b"GET /healthz HTTP/1.0\r\n\r\n"


def port_of(server: Server) -> int:
    """The port a test server listens on."""
    return int(server.url.rsplit(":", 1)[1])


def closed_after(port: int, first: bytes, then: bytes, limit: float, sent: Callable[[], object] = lambda: None) -> float | None:
    """Send `first`, then a byte of `then` every BYTE_EVERY seconds: how long after `first` the server closed (None: not within `limit`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(first)
        sent()
        position = 0
        while time.monotonic() - start < limit:
            readable, _, _ = select.select([sock], [], [], BYTE_EVERY)
            try:
                if readable and not sock.recv(4096):
                    return time.monotonic() - start  # the server closed the connection
                if not readable:
                    sock.send(then[position % len(then) : position % len(then) + 1])
                    position += 1
            except OSError:  # reset: the server closed while bytes it had not read were still arriving
                return time.monotonic() - start
    return None


def reset_after(port: int, limit: float, sent: Callable[[], object]) -> float | None:
    """Send a whole request, then a byte every BYTE_EVERY seconds whatever comes back: how long until the server reset it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(WHOLE_REQUEST)
        sent()
        try:
            while time.monotonic() - start < limit:
                time.sleep(BYTE_EVERY)  # the client's pace, not synchronisation
                sock.send(b"x")
        except OSError:
            return time.monotonic() - start
    return None


@dataclass
class SlowClient:
    """Keeps one slow connection going until `stop`, connecting again whenever the server closes it."""

    port: int
    stop: threading.Event
    linger: bool = False  # send a whole request, then keep sending (else: never finish the request's head)
    started: threading.Event = field(default_factory=threading.Event)  # its first bytes are in
    held: list[float] = field(default_factory=list)  # how long each connection lasted before the server closed it

    def run(self) -> None:
        """Keep at it until `stop` is set."""
        while not self.stop.is_set():
            if self.linger:
                held = reset_after(self.port, FAULT_SECONDS + 5, self.started.set)
            else:
                held = closed_after(self.port, ENDLESS_HEAD[:1], ENDLESS_HEAD[1:] + b"a" * 10_000, FAULT_SECONDS + 5, self.started.set)
            if held is not None:
                self.held.append(held)


class TimedTransport(HttpTransport):
    """An HTTP transport that notes how long each webhook request took, as the carrier would see it."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        super().__init__(base_url, timeout)
        self.latencies: list[float] = []

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST, timed."""
        start = time.monotonic()
        try:
            return super().post(path, form, headers)
        finally:
            self.latencies.append(time.monotonic() - start)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Load:
    """What a caller calling without a pause saw while the slow clients were at it."""

    calls: int
    failures: int
    latencies: list[float]

    @property
    def p99(self) -> float:
        """The 99th percentile of its request latencies, in seconds."""
        return percentile(self.latencies, 99)

    def __str__(self) -> str:
        ms = {p: f"{percentile(self.latencies, p) * 1000:.1f} ms" for p in (50, 99, 100)}
        return f"{self.calls} calls, {len(self.latencies)} requests, {self.failures} failed; p50/p99/max {ms}"


def call_during(server: Server, slow: list[SlowClient], seconds: float) -> Load:
    """Place calls one after another for `seconds` while `slow` keep their connections going; then stop them."""
    threads = [threading.Thread(target=client.run, name="slow-client", daemon=True) for client in slow]
    for thread in threads:
        thread.start()
    transport = TimedTransport(server.url)
    calls = failures = 0
    try:
        wait_until(lambda: all(client.started.is_set() for client in slow), 10, 0.01, message="the slow clients to connect")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                PhoneCall(transport, server.url, TOKEN).run(["1"])
                calls += 1
            except TwilioError:
                failures += 1
    finally:
        for client in slow:
            client.stop.set()
        for thread in threads:
            thread.join(timeout=DEFAULT_READ_TIMEOUT + 10)
    assert not any(thread.is_alive() for thread in threads)
    return Load(calls, failures, transport.latencies)


def assert_log_clean(server: Server) -> None:
    """No traceback in the server's log, and no worker died and was replaced."""
    log = server.log.read_text(errors="replace")
    assert "Using worker: ReadTimeoutWorker" in log
    assert "Traceback" not in log and "Socket error" not in log
    assert log.count("Booting worker") == 2


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """`ivr serve` with its default flags (2 workers of 8 threads, 5 s read timeout), forced open."""
    with running_server(tmp_path, IVR_HOURS_OVERRIDE="open") as server:
        yield server


@pytest.fixture(scope="module")
def short_timeout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ivr serve --read-timeout 2`."""
    with running_server(tmp_path_factory.mktemp("short"), serve_args=["--read-timeout", str(SHORT_READ_TIMEOUT)]) as server:
        yield server


def test_sockets_trickling_headers_cannot_starve_a_caller(server: Server) -> None:
    """4 sockets trickling headers for 30 s: the caller's requests keep a p99 under 1 s, and each slow socket is closed in time."""
    stop = threading.Event()
    slow = [SlowClient(port_of(server), stop) for _ in range(SLOW_CLIENTS)]
    load = call_during(server, slow, FAULT_SECONDS)
    held = [h for client in slow for h in client.held]
    print(
        f"\ntrickling headers for {FAULT_SECONDS:g} s: {load}; closed {len(held)} slow connections after {min(held):.2f}-{max(held):.2f} s"
    )
    assert load.failures == 0
    assert load.p99 < 1.0, load
    assert len(load.latencies) >= 200, load  # sync workers held by 4 such sockets answered 2 requests in 30 s
    # The slow clients were there the whole time, and each of their connections was closed after the read timeout.
    for client in slow:
        assert len(client.held) >= 4, client.held
        assert all(DEFAULT_READ_TIMEOUT - 0.1 <= h <= DEFAULT_READ_TIMEOUT + 3 for h in client.held), client.held
    assert server.log.read_text(errors="replace").count("closed a slow client") >= len(held)
    assert_log_clean(server)


def test_clients_that_keep_sending_after_their_answer_cannot_stall_a_worker(server: Server) -> None:
    """4 sockets that send a request and then keep sending, never closing: the caller's p99 stays under 1 s.

    Closing such a connection lingers up to 2 s for what the client still sends; gthread did that on
    a worker's main loop, which then accepted nothing else (p99 2.5 s under this load).
    """
    stop = threading.Event()
    slow = [SlowClient(port_of(server), stop, linger=True) for _ in range(SLOW_CLIENTS)]
    load = call_during(server, slow, 10.0)
    print(f"\nsending after the answer for 10 s: {load}; {sum(len(c.held) for c in slow)} connections reset")
    assert load.failures == 0
    assert load.p99 < 1.0, load
    assert all(client.held for client in slow)  # the server does let go of them
    assert_log_clean(server)


@pytest.mark.parametrize(
    ("first", "then"),
    [(ENDLESS_HEAD[:1], ENDLESS_HEAD[1:] + b"a" * 100), (FORM_HEAD, b"a" * 100)],
    ids=["headers-never-finished", "body-never-finished"],
)
def test_a_request_that_never_arrives_is_closed_after_the_read_timeout(short_timeout_server: Server, first: bytes, then: bytes) -> None:
    """A client still sending its request `--read-timeout` s after its first byte is disconnected and logged; the server carries on."""
    held = closed_after(port_of(short_timeout_server), first, then, SHORT_READ_TIMEOUT + 5)
    assert held is not None, f"still connected {SHORT_READ_TIMEOUT + 5:g} s later"
    assert SHORT_READ_TIMEOUT - 0.1 <= held <= SHORT_READ_TIMEOUT + 3, held
    with socket.create_connection(("127.0.0.1", port_of(short_timeout_server)), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
    assert f"its request was not read within {SHORT_READ_TIMEOUT:g} s" in short_timeout_server.log.read_text(errors="replace")
    assert_log_clean(short_timeout_server)
