"""A real support-desk webhook on 127.0.0.1 for tests: scripted answers, every request recorded, signatures checked.

    with DeskReceiver(plan=[500, 500, 200]) as desk:
        DeskWebhook(desk.url, desk.secret).send(parcel, timeout=2)   # TryLater, TryLater, then "200"
        desk.wait_accepted(1)
        assert desk.accepted == 1 and desk.received == 3

A planned answer is one of:
- a status (`200`, `500`, `404`…), or `Answer(status, headers, body)` for more (a `Retry-After`, a `Location`);
- "timeout": the receiver takes the ticket but answers 200 only after `stall` seconds (longer than the client
  waits): the lost answer after which a retry is a duplicate;
- "trickle": it takes the ticket and sends the headers of a 200, then a byte of body every `trickle_every` s for `stall` s;
- "down": it reads the request and drops the connection with a reset, as a server that died would.
Once the plan is used up every request is answered `then` (200). A request whose signature does not verify
is answered 401 and uses no planned answer. `go_down()` / `come_up()` stop and restart listening on the
same port, for a receiver that is truly not there for a while.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ivr.delivery.desk import verify

__all__ = ["Answer", "DeskReceiver", "Received"]


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status with headers and a body (a JSON acknowledgement when the body is empty)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Received:
    """One request the receiver got, and what it did with it."""

    method: str
    path: str
    headers: dict[str, str]  # names as sent; look up with `header()` for any case
    body: bytes
    at: float  # time.monotonic() when the request had been read
    verified: bool  # the signature checked out with the receiver's secret (True when it has none)
    answer: int | str  # the status answered, or "timeout" / "trickle" (both took the ticket) / "down"

    def header(self, name: str) -> str:
        """A request header's value, whatever its case ('' when absent)."""
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""

    def json(self) -> Any:
        """The body, decoded as JSON."""
        return json.loads(self.body)


class DeskReceiver:
    """A threaded HTTP receiver of desk webhooks on 127.0.0.1 (port 0 unless given); use it as a context manager."""

    def __init__(
        self,
        plan: Iterable[int | str | Answer] = (),
        *,
        secret: str | None = "desk-secret",
        stall: float = 3.0,
        trickle_every: float = 0.2,
        then: int | str | Answer = 200,
        path: str = "/hooks/ivr",
        tolerance: float = 300,
    ) -> None:
        self.secret = secret or ""
        self._check = secret is not None
        self.stall = stall
        self.trickle_every = trickle_every
        self.then = then
        self.path = path
        self.tolerance = tolerance
        self._plan: list[int | str | Answer] = list(plan)
        self._lock = threading.Condition()
        self._closing = threading.Event()
        self.requests: list[Received] = []
        self.tickets: dict[str, Any] = {}  # idempotency key → the JSON body first accepted for it
        self.duplicates = 0  # 2xx answers for a key already accepted
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- the scripting and what it recorded -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL to post to."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    def plan(self, *answers: int | str | Answer) -> None:
        """Add answers to the plan (used in order, one per signed request)."""
        with self._lock:
            self._plan.extend(answers)

    @property
    def received(self) -> int:
        """How many requests came in (any answer, duplicates and bad signatures included)."""
        with self._lock:
            return len(self.requests)

    @property
    def accepted(self) -> int:
        """How many distinct tickets (idempotency keys) were taken: answered 2xx, or "timeout"/"trickle"."""
        with self._lock:
            return len(self.tickets)

    def wait_accepted(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` distinct tickets were accepted; whether they were within `timeout` s."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.tickets) >= count, timeout)

    def wait_received(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` requests came in; whether they did within `timeout` s."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout)

    # --- running --------------------------------------------------------------------------------------

    def __enter__(self) -> DeskReceiver:
        self._listen()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._closing.set()  # wakes stalled and trickling answers
        self._stop()

    def go_down(self) -> None:
        """Stop listening: connections to the port are refused until `come_up()`."""
        self._stop()

    def come_up(self) -> None:
        """Listen again on the same port."""
        self._listen()

    def _listen(self) -> None:
        receiver = self

        class Handler(_Handler):
            owner = receiver

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- answering ------------------------------------------------------------------------------------

    def _verified(self, headers: dict[str, str], body: bytes) -> bool:
        if not self._check:
            return True
        lower = {k.lower(): v for k, v in headers.items()}
        return verify(self.secret, lower.get("x-ivr-timestamp", ""), body, lower.get("x-ivr-signature", ""), tolerance=self.tolerance)

    def _next(self) -> int | str | Answer:
        with self._lock:
            return self._plan.pop(0) if self._plan else self.then

    def _record(self, received: Received, key: str) -> None:
        with self._lock:
            self.requests.append(received)
            taken = received.answer in ("timeout", "trickle") or (isinstance(received.answer, int) and 200 <= received.answer < 300)
            if taken and key:
                if key in self.tickets:
                    self.duplicates += 1
                else:
                    try:
                        self.tickets[key] = received.json()
                    except ValueError:
                        self.tickets[key] = None
            self._lock.notify_all()


class _Handler(BaseHTTPRequestHandler):
    owner: DeskReceiver
    protocol_version = "HTTP/1.0"  # one request a connection: `go_down()` leaves no kept-alive connection behind

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `requests`."""

    def do_GET(self) -> None:
        """Not a webhook: 405."""
        self._plain(405, b"POST only\n")

    def do_POST(self) -> None:
        """A webhook: check the signature, then answer as planned."""
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        key = self.headers.get("Idempotency-Key", "")
        verified = owner._verified(headers, body)
        planned: int | str | Answer = owner._next() if verified else 401
        answer = planned.status if isinstance(planned, Answer) else planned
        owner._record(Received("POST", self.path, headers, body, time.monotonic(), verified, answer), key)
        if planned == "down":
            self._reset()
        elif planned == "timeout":
            if not owner._closing.wait(owner.stall):
                self._answer(Answer(200), key)
        elif planned == "trickle":
            self._trickle()
        elif isinstance(planned, Answer):
            self._answer(planned, key)
        elif isinstance(planned, int):
            self._answer(Answer(planned, {}, b"bad signature\n" if planned == 401 and not verified else b""), key)
        else:
            raise ValueError(f"not a planned answer: {planned!r}")

    def _answer(self, answer: Answer, key: str) -> None:
        body = answer.body or json.dumps({"ok": 200 <= answer.status < 300, "ticket": key}).encode()
        self.send_response(answer.status)
        headers = {"Content-Type": "application/json", **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _plain(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self) -> None:
        owner = self.owner
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(1024 * 1024))
        self.end_headers()
        self.wfile.flush()
        ends = time.monotonic() + owner.stall
        try:
            while time.monotonic() < ends and not owner._closing.wait(owner.trickle_every):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass  # the client gave up, as it should

    def _reset(self) -> None:
        # SO_LINGER 0: close sends a reset, so the client sees a dropped connection, not an empty answer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
