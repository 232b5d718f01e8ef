"""HTTP for the transports: one deadline for a whole exchange, however slowly the far end answers.

urllib3's timeouts bound each socket operation, so a server that sends its status line and headers a
byte at a time could hold a request for hours. `WatchedSession` also shuts every socket it opened
down at the deadline: whatever the request is blocked in (a header line, a TLS handshake, the body)
then fails at once, and `expired` tells the caller why.
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

__all__ = ["WatchedSession"]


class WatchedSession(requests.Session):
    """A requests session whose connections are shut down at the monotonic `deadline`; close it when done."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.expired = False  # the deadline shut the sockets: a failure now is "too slow", not "unreachable"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        adapter = _WatchedAdapter(self)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
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

    def close(self) -> None:
        """Stop the watch and let go of the connections."""
        self._timer.cancel()
        super().close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedAdapter(HTTPAdapter):
    """Pools whose connections tell the session of each socket as soon as it is connected."""

    def __init__(self, session: WatchedSession) -> None:
        self._session = session
        super().__init__(max_retries=0)  # a retry is the sender's decision, with its backoff, never urllib3's

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """The usual pool manager, with watched connection classes."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        watch = self._session.watch

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
