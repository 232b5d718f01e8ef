"""Keeping call history no longer than IVR_RETENTION_DAYS: a daily purge in each serving process."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from ivr.errors import ServiceError
from ivr.store.background import BackgroundLoop
from ivr.store.guard import budget
from ivr.store.history import CallHistory, Purged

__all__ = ["DAY", "Purger"]

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
FIRST_DELAY = 60.0  # seconds after start: a restarting fleet does not purge while it warms up
ROUND_BUDGET = 60.0  # seconds of database work a purge may take


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
