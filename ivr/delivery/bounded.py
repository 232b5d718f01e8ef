"""HTTP for the transports: one deadline for a whole exchange, however slowly the far end answers.

urllib3's timeouts bound each socket operation, so a server that sends its status line and headers a
byte at a time could hold a request for hours. A `SocketDeadline` shuts every socket it watches down
at the deadline: whatever the exchange is blocked in (a header line, a TLS handshake, a body, an SMTP
reply) then fails at once, and `expired` tells the caller why. `WatchedSession` is a requests session
whose connections it watches; the mail transport watches smtplib's socket with one too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["SocketDeadline", "WatchedSession"]


class SocketDeadline:
    """Shuts every socket it watches down at the monotonic `deadline`; `cancel` when the exchange is over."""

    def __init__(self, deadline: float) -> None:
        self.expired = False  # the deadline shut the sockets: a failure now is "too slow", not "unreachable"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._sockets.append(sock)
            late = self.expired
        if late:
            _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        """The exchange is over: nothing is shut."""
        self._timer.cancel()


class WatchedSession(requests.Session):
    """A requests session whose connections are shut down at the monotonic `deadline`; close it when done."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.watchdog = SocketDeadline(deadline)
        adapter = _WatchedAdapter(self.watchdog)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @property
    def expired(self) -> bool:
        """Whether the deadline shut the connections."""
        return self.watchdog.expired

    def close(self) -> None:
        """Stop the watch and let go of the connections."""
        self.watchdog.cancel()
        super().close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedAdapter(HTTPAdapter):
    """Pools whose connections tell the session of each socket as soon as it is connected."""

    def __init__(self, watchdog: SocketDeadline) -> None:
        self._watchdog = watchdog
        super().__init__(max_retries=0)  # a retry is the sender's decision, with its backoff, never urllib3's

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """The usual pool manager, with watched connection classes."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        watch = self._watchdog.watch

        class Http(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                watch(sock)  # before TLS and before the request: a handshake trickled out is cut too
                return sock

        class Https(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                sock = super()._new_conn()
                watch(sock)
                return sock

        self.poolmanager.pool_classes_by_scheme = {
            "http": type("WatchedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": Http}),
            "https": type("WatchedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": Https}),
        }
