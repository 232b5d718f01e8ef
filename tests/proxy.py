"""A TCP forwarder on 127.0.0.1 that a test controls, to make a database fail for real.

Modes: `up()` forwards; `down()` (or `refuse()`) closes every connection and refuses new ones;
`blackhole()` keeps every socket open but forwards nothing, as a network that drops packets;
`cut_after(pattern)` forwards a client's bytes that contain `pattern` to the server, then cuts the
connection before the server's answer gets back (the statement ran, the client never learns how).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


class Proxy:
    """Forwards 127.0.0.1:port to target, in the mode the test sets."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()  # cleared: black-holed
        self._flowing.set()
        self._cut: bytes | None = None
        self._cuts_left = 0
        self.cuts = 0  # connections cut after a matching statement

    @classmethod
    @contextlib.contextmanager
    def before(cls, url: str) -> Iterator[tuple[Proxy, str]]:
        """A proxy in front of a database URL's host and port, and the URL that goes through it."""
        parts = urlsplit(url)
        assert parts.hostname and parts.port, url
        proxy = cls(parts.hostname, parts.port)
        proxy.up()
        netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
        try:
            yield proxy, urlunsplit(parts._replace(netloc=netloc))
        finally:
            proxy.down()

    def up(self) -> None:
        """Accept and forward connections."""
        self._flowing.set()
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening and cut every open connection: the database refuses."""
        self._flowing.set()  # held bytes go nowhere: their sockets are cut below
        if self._listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the accept() blocked in the other thread
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        self._cut_all()

    refuse = down

    def blackhole(self) -> None:
        """Keep every connection, and accept new ones, but forward nothing in either direction."""
        if self._listener is None:
            self.up()
        self._flowing.clear()

    def cut_after(self, pattern: bytes, times: int = 1) -> None:
        """Cut the next `times` connections right after their client sends `pattern` (it still reaches the server)."""
        with self._lock:
            self._cut, self._cuts_left = pattern, times

    def _cut_all(self) -> None:
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _matches(self, data: bytes) -> bool:
        with self._lock:
            if self._cut is None or self._cuts_left <= 0 or not re.search(re.escape(self._cut), data, re.IGNORECASE):
                return False
            self._cuts_left -= 1
            self.cuts += 1
            return True

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()  # black-holed: the bytes wait, as on a network that stopped delivering
                sink.sendall(data)
                if from_client and self._matches(data):
                    return  # the statement is on its way to the server; its answer never comes back
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
