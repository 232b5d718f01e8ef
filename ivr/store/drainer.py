"""The background drainer: moves spooled tickets into the database and keeps the host's number reserve full."""

from __future__ import annotations

import logging
import threading

from ivr.errors import ServiceError
from ivr.store.guard import budget
from ivr.store.spool import SpoolingTicketSink

__all__ = ["Drainer"]

log = logging.getLogger(__name__)

ROUND_BUDGET = 30.0  # seconds of database work per round at most
BATCH = 1000  # tickets per drain call: a long backlog drains steadily, the lock released between calls


class Drainer:
    """A daemon thread per process; the spool folder's lock lets one drainer per host work at a time."""

    def __init__(self, sink: SpoolingTicketSink, interval: float = 1.0, settle: float = 5.0) -> None:
        self.sink = sink
        self.interval = interval
        self.settle = settle  # a spool file younger than this belongs to a request that is storing it now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread once (later calls do nothing: it is asked on every request)."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None and self.interval > 0:
                self._thread = threading.Thread(target=self._run, name="ivr-spool-drainer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after its current round."""
        self._stop.set()

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
