"""The gunicorn worker `ivr serve` runs: gunicorn's threaded worker, with a deadline for reading each request.

gunicorn's gthread worker hands a connection to a pool thread once its first bytes arrive, and the
thread then reads the request with blocking recv() calls. A client that trickles its headers a byte at
a time would hold that thread for as long as it likes, and a few such clients would hold every thread.
Here all the reads of one request share a deadline, `read_timeout` seconds after its first read: a
client that has not sent its whole request (head and body) by then is closed and the thread is free
again. A timeout on each recv() alone would not do: a byte a second never trips it. Writes get
`read_timeout` each too, for a client that stops taking its answer.

A connection that is done with is closed in its pool thread, not on the worker's main loop, where
gthread would linger up to 2 s for what the client still sends; while it lingers no other
connection of the worker is accepted or handed on.

TLS is not handled here (`ivr serve` has no TLS options): it ends at the reverse proxy in front.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

__all__ = ["ReadTimeoutWorker", "worker_class"]


class _DeadlineSocket:
    """A client socket whose reads for one request share a deadline; everything else is the socket's own."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.sock = sock
        self.seconds = seconds
        self.deadline: float | None = None  # set by the first read of a request
        self.expired = False  # the deadline passed: the connection is done for

    def next_request(self) -> None:
        """Start the clock again at the next read (a kept-alive connection's next request)."""
        self.deadline = None

    def recv(self, size: int, flags: int = 0) -> bytes:
        """What has arrived, waiting at most until the deadline; after it, end of file."""
        # End of file rather than an exception: gunicorn's parser and the app then take the client for
        # one that went away (quietly), and the worker closes the connection when it sees `expired`.
        if self.expired:
            return b""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        remaining = self.deadline - now
        if remaining <= 0:
            self.expired = True
            return b""
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size, flags)
        except TimeoutError:
            self.expired = True
            return b""
        finally:
            self._bound_writes()

    def setblocking(self, flag: bool) -> None:
        """gthread's "blocking" means bounded here: a blocking socket would let a client that stops reading hold the thread."""
        if self.sock.fileno() == -1:
            return  # already closed; gunicorn still tidies up after it
        if flag:
            self._bound_writes()
        else:
            self.sock.setblocking(False)

    def _bound_writes(self) -> None:
        # Each write of the answer may wait `seconds` for the client to take it.
        if self.sock.fileno() != -1:
            self.sock.settimeout(self.seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class ReadTimeoutWorker(ThreadWorker):
    """gthread, with each request to be read within `read_timeout` seconds of its first byte."""

    read_timeout: float = 5.0

    def handle(self, conn: Any) -> Any:
        """Serve a connection's next request in a pool thread; close it if the request is not read in time."""
        if not isinstance(conn.sock, _DeadlineSocket):
            # Before gthread makes its parser, which then reads through the wrapper.
            conn.sock = _DeadlineSocket(conn.sock, self.read_timeout)
        sock: _DeadlineSocket = conn.sock
        sock.next_request()
        keep = super().handle(conn)
        if sock.expired:
            peer = f"{conn.client[0]}:{conn.client[1]}" if isinstance(conn.client, tuple) else conn.client
            self.log.info("closed a slow client (%s): its request was not read within %g s", peer, self.read_timeout)
            util.close(sock.sock)  # at once: no answer of ours is worth lingering for
            return False
        if not keep:
            # gthread would close the connection on its main loop, lingering up to 2 s to read what the
            # client still sends so that the last answer is not cut off by a reset. A client that keeps
            # sending would stall that loop, and with it every connection of the worker: linger here.
            util.close_graceful(sock.sock)
        return keep


def worker_class(read_timeout: float) -> type[ReadTimeoutWorker]:
    """The worker class to give gunicorn, reading each request within `read_timeout` seconds."""
    return type(ReadTimeoutWorker.__name__, (ReadTimeoutWorker,), {"read_timeout": read_timeout, "__module__": __name__})
