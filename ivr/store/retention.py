"""Keeping call history no longer than IVR_RETENTION_DAYS: a daily purge in each serving process."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta

from ivr.errors import ServiceError
from ivr.store.background import BackgroundLoop
from ivr.store.guard import budget
from ivr.store.history import CallHistory, Purged

__all__ = ["DAY", "Purger"]

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
FIRST_DELAY = 60.0  # seconds after start: a restarting fleet does not purge while it warms up
ROUND_BUDGET = 60.0  # seconds of database work a purge round may take; what is left waits for the next round


class Purger(BackgroundLoop):
    """A daemon thread that forgets calls older than `days`, once soon after start and then every `interval` seconds.

    Every worker runs one; a purge is a delete by age, so two at once only find less to delete.
    """

    name = "ivr-history-purge"

    def __init__(self, history: CallHistory, days: int, interval: float = DAY, first: float = FIRST_DELAY) -> None:
        super().__init__()
        self.history = history
        self.days = days
        self.interval = interval
        self.first = first

    def _run(self) -> None:
        wait = self.first + random.uniform(0, self.first)  # workers started together do not purge together
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                if not self.round(datetime.now(UTC)).done:
                    wait = self.first  # a backlog: go on soon, a round at a time

            except ServiceError as exc:  # the database is away: the next day's purge catches up
                log.warning("call history purge skipped: %s", exc)
            except Exception:
                log.exception("call history purge failed")

    def round(self, now: datetime) -> Purged:
        """Purge once: calls that started more than `days` before `now` (a backlog over several rounds)."""
        with budget(ROUND_BUDGET):
            purged = self.history.purge(now - timedelta(days=self.days), deadline=time.monotonic() + ROUND_BUDGET - 5.0)
        if purged.calls or purged.lines:
            log.info("purged %d call(s) and %d story line(s) older than %d day(s)", purged.calls, purged.lines, self.days)
        return purged
