"""Keeping call history no longer than IVR_RETENTION_DAYS: a daily purge in each serving process."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from ivr.errors import ServiceError
from ivr.store.guard import budget
from ivr.store.history import CallHistory, Purged

__all__ = ["DAY", "Purger"]

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
FIRST_DELAY = 60.0  # seconds after start: a restarting fleet does not purge while it warms up
ROUND_BUDGET = 60.0  # seconds of database work a purge may take


class Purger:
    """A daemon thread that forgets calls older than `days`, once soon after start and then every `interval` seconds.

    Every worker runs one; a purge is a delete by age, so two at once only find less to delete.
    """

    def __init__(self, history: CallHistory, days: int, interval: float = DAY, first: float = FIRST_DELAY) -> None:
        self.history = history
        self.days = days
        self.interval = interval
        self.first = first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread once (later calls do nothing)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ivr-history-purge", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end."""
        self._stop.set()

    def _run(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                self.round(datetime.now(UTC))
            except ServiceError as exc:  # the database is away: the next day's purge catches up
                log.warning("call history purge skipped: %s", exc)
            except Exception:
                log.exception("call history purge failed")

    def round(self, now: datetime) -> Purged:
        """Purge once: calls that started more than `days` before `now`."""
        with budget(ROUND_BUDGET):
            purged = self.history.purge(now - timedelta(days=self.days))
        if purged.calls or purged.lines:
            log.info("purged %d call(s) and %d story line(s) older than %d day(s)", purged.calls, purged.lines, self.days)
        return purged
