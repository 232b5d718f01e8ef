"""The sender: a background thread that works off the outbox, with retries, backoff and a dead letter.

One sender per host works at a time (a lock file in the spool folder); hosts sharing a database never
try one delivery at once (each attempt is claimed in the database, with a lease that outlives the
attempt's timeout). An attempt is counted when it is claimed, so a sender killed mid-send has used
it, and the delivery is tried again once the lease is over: delivery is at least once, and receivers
de-duplicate by the ticket number.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ivr.delivery import Parcel, Refused, Transport, TryLater
from ivr.errors import ServiceError
from ivr.store.background import BackgroundLoop
from ivr.store.outbox import Claim, Outbox, StoredDelivery
from ivr.terminal import shown

__all__ = ["MAX_BACKOFF", "SendResult", "Sender", "backoff"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0  # seconds: however often it failed, a delivery is tried at least hourly until its last attempt
BATCH = 50  # deliveries looked at per round
LEASE_SLACK = 30.0  # seconds a claim outlives an attempt's timeout: a slow attempt is never taken over while it runs


def backoff(attempt: int, base: float, wish: float | None = None, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the attempt after `attempt` (1-based): base * 2^(attempt-1), capped, half of it jittered; a receiver's wish wins."""
    ceiling = min(MAX_BACKOFF, base * 2 ** min(attempt - 1, 30))
    delay = ceiling / 2 + rand() * ceiling / 2  # jitter spreads retries of many tickets failed at once
    return max(delay, min(wish, MAX_BACKOFF)) if wish is not None else delay


@dataclass(frozen=True)
class SendResult:
    """What one round did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0  # dead-lettered
    busy: bool = False  # another sender of this host holds the lock

    def __add__(self, other: SendResult) -> SendResult:
        return SendResult(self.delivered + other.delivered, self.retried + other.retried, self.failed + other.failed, self.busy)


class Sender(BackgroundLoop):
    """Delivers due outbox entries through their channel's transport."""

    name = "ivr-ticket-sender"

    def __init__(
        self,
        outbox: Outbox,
        transports: Mapping[str, Transport],
        parcel_for: Callable[[str], Parcel | None],
        *,
        attempts: int = 10,
        base: float = 10.0,
        interval: float = 1.0,
        timeout: float = 10.0,
        lock: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.outbox = outbox
        self.transports = dict(transports)
        self.parcel_for = parcel_for
        self.attempts = attempts
        self.base = base
        self.interval = interval
        self.timeout = timeout
        self.lock = lock
        self.clock = clock
        # Told of each attempt's end as (channel, "delivered" | "retry" | "failed"): metrics count them.
        self.on_attempt: Callable[[str, str], None] | None = None

    def wanted(self) -> bool:
        """Only with an interval and something to send through."""
        return self.interval > 0 and bool(self.transports)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                db = self.outbox.db
                if db.waiting and not db.probe(force=True):
                    continue  # the database is away: nothing to read, and nothing a delivery could be marked in
                self.round()
            except ServiceError as exc:  # the database went away mid-round: the breaker opens, the next round waits for it
                log.warning("ticket delivery round stopped: %s", exc)
            except Exception:  # the sender must outlive any one bad round; the next one retries
                log.exception("ticket delivery round failed")

    @contextlib.contextmanager
    def _host_lock(self) -> Iterator[bool]:
        """Hold this host's sender lock (True), or learn another process of the host holds it (False)."""
        if self.lock is None:
            yield True
            return
        with open(self.lock, "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def round(self, limit: int = BATCH) -> SendResult:
        """Try every due delivery once (up to `limit`); a channel whose receiver just failed waits for the next round.

        So a desk that hangs costs each round one timeout, and the callers' texts behind it still go.
        """
        with self._host_lock() as mine:
            if not mine:
                return SendResult(busy=True)
            result = SendResult()
            resting: set[str] = set()
            for delivery in self.outbox.due(self.clock(), limit):
                if self._stop.is_set():
                    break
                if delivery.channel in resting:
                    continue
                outcome = self.attempt(delivery)
                if outcome.retried:
                    resting.add(delivery.channel)
                result += outcome
            return result

    def attempt(self, delivery: StoredDelivery) -> SendResult:
        """One attempt at one delivery, if this sender can claim it."""
        now = self.clock()
        token = self.outbox.claim(delivery, now, self.timeout + LEASE_SLACK)
        if token is None:
            return SendResult()  # another host took it, or it changed meanwhile
        claim = (delivery.id, token)
        attempt = delivery.attempts + 1
        transport = self.transports.get(delivery.channel)
        target = ""
        try:
            if transport is None:
                raise TryLater(f"the {delivery.channel} channel is not configured on this host")
            parcel = self.parcel_for(delivery.call_id)
            if parcel is None:
                raise Refused(f"ticket {delivery.ticket} is not in the store")
            target = transport.target(parcel)[:256]
            receipt = transport.send(parcel, self.timeout)
        except Refused as exc:
            return self._dead(delivery, claim, target, f"refused: {exc.reason}")
        except Exception as exc:  # anything else a transport lets out is a failed attempt too: counted, retried, dead-lettered
            if not isinstance(exc, (TryLater, ServiceError, OSError)):
                log.exception("ticket %s by %s: the attempt failed unexpectedly", delivery.ticket, delivery.channel)
            reason = exc.reason if isinstance(exc, TryLater) else f"{type(exc).__name__}: {exc}"[:300]
            if attempt >= self.attempts:
                return self._dead(delivery, claim, target, f"{reason} (attempt {attempt} of {self.attempts})")
            wait = backoff(attempt, self.base, exc.after if isinstance(exc, TryLater) else None)
            if not self.outbox.retry_at(claim, self.clock(), target, reason, now + timedelta(seconds=wait)):
                return self._lost(delivery)
            log.warning(
                "ticket %s by %s: attempt %d failed (%s); next in %.0f s", delivery.ticket, delivery.channel, attempt, shown(reason), wait
            )
            self._tell(delivery.channel, "retry")
            return SendResult(retried=1)
        if not self.outbox.delivered(claim, self.clock(), target, receipt):
            return self._lost(delivery)
        self._tell(delivery.channel, "delivered")
        return SendResult(delivered=1)

    def _dead(self, delivery: StoredDelivery, claim: Claim, target: str, reason: str) -> SendResult:
        if not self.outbox.dead_letter(claim, self.clock(), target, reason):
            return self._lost(delivery)
        ticket = delivery.ticket
        log.error("ticket %s by %s dead-lettered: %s (ivr tickets redeliver %s)", ticket, delivery.channel, shown(reason), ticket)
        self._tell(delivery.channel, "failed")
        return SendResult(failed=1)

    @staticmethod
    def _lost(delivery: StoredDelivery) -> SendResult:
        """The attempt outlived its lease (or an operator reset it): whoever holds it now records the outcome."""
        log.warning("ticket %s by %s: the attempt outlived its claim; its outcome is not recorded", delivery.ticket, delivery.channel)
        return SendResult()

    def _tell(self, channel: str, result: str) -> None:
        if self.on_attempt is not None:
            try:
                self.on_attempt(channel, result)
            except Exception:
                log.exception("on_attempt failed")
