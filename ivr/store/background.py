"""Background work of a serving process: a daemon thread started once, asked to stop between rounds."""

from __future__ import annotations

import threading

__all__ = ["BackgroundLoop"]


class BackgroundLoop:
    """A daemon thread per process running `_run`; `start` is cheap to ask on every request."""

    name = "ivr-background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wanted(self) -> bool:
        """Whether the thread should run at all (settings may turn it off)."""
        return True

    def start(self) -> None:
        """Start the thread once (later calls do nothing)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and self.wanted():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after its current round."""
        self._stop.set()

    def _run(self) -> None:
        raise NotImplementedError
