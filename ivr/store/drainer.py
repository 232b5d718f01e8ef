"""The background drainer: moves spooled tickets into the database and keeps the host's number reserve full."""

from __future__ import annotations

import logging

from ivr.errors import ServiceError
from ivr.store.background import BackgroundLoop
from ivr.store.guard import budget
from ivr.store.spool import SpoolingTicketSink

__all__ = ["Drainer"]

log = logging.getLogger(__name__)

ROUND_BUDGET = 30.0  # seconds of database work per round at most
BATCH = 1000  # tickets per drain call: a long backlog drains steadily, the lock released between calls


class Drainer(BackgroundLoop):
    """A daemon thread per process; the spool folder's lock lets one drainer per host work at a time."""

    name = "ivr-spool-drainer"

    def __init__(self, sink: SpoolingTicketSink, interval: float = 1.0, settle: float = 5.0) -> None:
        super().__init__()
        self.sink = sink
        self.interval = interval
        self.settle = settle  # a spool file younger than this belongs to a request that is storing it now

    def wanted(self) -> bool:
        """Only with an interval (0 leaves draining to operators)."""
        return self.interval > 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.round()
            except Exception:  # the drainer must outlive any one bad round; the next one retries
                log.exception("spool drain round failed")

    def round(self) -> int:
        """One round: drain a batch while the database answers, then top up the number reserve; how many were stored."""
        stored = 0
        with budget(ROUND_BUDGET):  # every statement of a round is bounded too: a hung database cannot stall the thread
            db = self.sink.store.db
            if db.waiting and not db.probe(force=True):
                return 0  # still down: the drainer, not a caller, pays for finding out
            while not self._stop.is_set():  # each drain lists the folder once; an empty or busy one ends the round
                result = self.sink.drain_report(limit=BATCH, older_than=self.settle)
                stored += result.stored
                if result.busy or result.stored + result.set_aside == 0:
                    break
            try:
                self.sink.numbers.refill()
            except ServiceError as exc:
                log.warning("could not top up the ticket number reserve: %s", exc)
        if stored:
            log.info("moved %d spooled ticket(s) into the database; %d waiting", stored, self.sink.depth())
        return stored
