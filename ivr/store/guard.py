"""Bounded waits on the database: a time budget per request, a watchdog per statement, a circuit breaker.

A PostgreSQL server that stops answering (a black-holed network) leaves a client waiting forever:
the server-side statement_timeout never reaches it, and TCP keepalives only help an idle socket. So
every use of a connection inside a budget is watched: when its time is up the watchdog shuts the
connection's socket (PostgreSQL) or interrupts the statement (SQLite), the driver raises, and the
caller gets a ServiceError it already knows how to survive (the ticket spools, the call goes on).
After a failure the breaker opens, and for a while requests do not pay the timeout at all.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.errors import ServiceError

__all__ = ["Breaker", "Database", "Unavailable", "budget", "end_budget", "remaining", "start_budget"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds of database work the current request may still spend (None: no budget, e.g. a CLI command). Only time
# spent on the database counts: a slow named action (with its own deadline) does not eat the time to store the step.
_BUDGET: ContextVar[list[float] | None] = ContextVar("ivr_db_budget", default=None)


class Unavailable(ServiceError):
    """The database cannot be used right now (unreachable, too slow, breaker open): try again later."""


def start_budget(seconds: float | None) -> Token[list[float] | None]:
    """Begin a budget that ends with `end_budget` (for frameworks that give a before and an after hook)."""
    return _BUDGET.set([seconds] if seconds else None)


def end_budget(token: Token[list[float] | None]) -> None:
    """End a budget begun with `start_budget`."""
    _BUDGET.reset(token)


@contextlib.contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Run the block with at most `seconds` of database work in all (None or 0: unbounded)."""
    token = start_budget(seconds)
    try:
        yield
    finally:
        end_budget(token)


def remaining() -> float | None:
    """Seconds of database work left in the current budget (None when there is none)."""
    left = _BUDGET.get()
    return None if left is None else left[0]


def _spend(seconds: float) -> None:
    left = _BUDGET.get()
    if left is not None:
        left[0] -= seconds


@dataclass
class Breaker:
    """Opens after a failure so a long outage costs each request nothing; one trial at a time when it may be over.

    The pause doubles with each failed trial, up to `max_pause`, and a success closes it again.
    """

    pause: float = 1.0
    max_pause: float = 8.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._current = self.pause
        self._failures = 0
        self._strikes = 0  # dropped connections in a row: the first may be one stale pooled connection
        self._trial = False

    @property
    def is_open(self) -> bool:
        """Whether calls are being refused without trying the database."""
        return self._failures > 0

    def allow(self) -> bool:
        """Whether this call may try the database now (closed, or the one trial after a pause)."""
        with self._lock:
            if self._failures == 0:
                return True
            if self._trial or time.monotonic() < self._open_until:
                return False
            self._trial = True
            return True

    def succeeded(self) -> None:
        """The database answered."""
        with self._lock:
            if self._failures:
                log.warning("database answers again after %d failure(s); breaker closed", self._failures)
            self._failures, self._strikes, self._trial, self._current = 0, 0, False, self.pause

    def settle(self) -> None:
        """A trial ended without a verdict on the database: let the next one through."""
        with self._lock:
            self._trial = False

    def failed(self, dropped: bool = False) -> None:
        """The database could not be reached or did not answer in time.

        `dropped`: a connection already open broke. Once is a stale connection (the pool then renews every
        connection); a second time in a row, the database is away.
        """
        with self._lock:
            if dropped and self._failures == 0 and self._strikes == 0:
                self._strikes = 1
                return
            if self._failures == 0:
                log.error("database unreachable; breaker open, retrying in %.1f s", self._current)
            elif self._trial:
                self._current = min(self._current * 2, self.max_pause)
            self._failures += 1
            self._trial = False
            self._open_until = time.monotonic() + self._current


class Database:
    """An engine whose connections are bounded by the request's budget and guarded by a breaker."""

    def __init__(self, engine: Engine, statement_timeout: float = 2.0, breaker: Breaker | None = None) -> None:
        from ivr.store.db import SCHEMA_PENDING  # the engine was opened while its database was away

        self.engine = engine
        self.statement_timeout = statement_timeout  # the longest any one use of a connection may take inside a budget
        self.breaker = breaker or Breaker()
        self._schema_pending = engine in SCHEMA_PENDING
        self._schema_lock = threading.Lock()

    @property
    def waiting(self) -> bool:
        """Whether requests are being refused until a background probe finds the database back (breaker, unchecked schema)."""
        return self.breaker.is_open or self._schema_pending

    def _check_schema(self) -> None:
        """Bring the schema to head once the database answers (background work only: it may take a while)."""
        from ivr.store.migrate import upgrade

        with self._schema_lock:
            if self._schema_pending:
                try:
                    upgrade(self.engine)
                except ServiceError as exc:
                    raise Unavailable(f"database schema not checked yet: {exc}") from exc
                self._schema_pending = False
                log.warning("database reachable again: schema checked")

    @contextlib.contextmanager
    def connect(self, *, transaction: bool = False, force: bool = False, lazy_sync: bool | None = False) -> Iterator[Connection]:
        """A connection for one unit of work (autocommit, or one transaction); ServiceError when unusable.

        `force` tries even while the breaker is open (background work asking whether the outage is over).
        `lazy_sync`: the commit does not wait for the disk (it survives a killed worker, not a power cut;
        see `_synchronous`); any other work commits to disk, tickets and what a spool file's removal relies on above all.
        None: the work writes nothing, so the connection keeps whichever setting it has.
        """
        left = remaining()
        if left is not None and left <= 0:
            raise Unavailable("database: the request's time budget is spent")
        if self._schema_pending:
            if not force:
                raise Unavailable("database unavailable since start (the background drainer checks when it is back)")
            self._check_schema()
        if not force and not self.breaker.allow():
            raise Unavailable("database unavailable (breaker open after recent failures)")
        limit = self.statement_timeout if left is None else min(left, self.statement_timeout)
        watchdog: _Watchdog | None = None
        connected = False
        started = time.monotonic()
        try:
            with self.engine.connect() as conn:
                connected = True
                # Disarmed before the connection goes back to the pool, so it can never cut another request's work.
                watchdog = _Watchdog.arm(conn, limit) if left is not None else None
                if lazy_sync is not None:
                    _synchronous(conn, "NORMAL" if lazy_sync else "FULL")  # watched: it may be a round trip
                try:
                    if transaction:
                        level = "SERIALIZABLE" if conn.dialect.name == "sqlite" else "READ COMMITTED"
                        with conn.execution_options(isolation_level=level).begin():
                            yield conn
                    else:
                        yield conn
                finally:
                    if watchdog is not None:
                        watchdog.cancel()
        except IntegrityError:
            self.breaker.succeeded()  # the database answered: the statement broke a constraint
            raise
        except (DBAPIError, PoolTimeout) as exc:
            if _is_unavailable(exc):
                fired = watchdog is not None and watchdog.fired
                if not (fired and limit < self.statement_timeout):
                    self.breaker.failed(dropped=connected and not fired)
                else:
                    self.breaker.settle()  # cut because the request's budget ran out: says nothing about the database
                raise Unavailable(f"database unavailable: {f'no answer within {limit:.1f} s' if fired else _first_line(exc)}") from exc
            self.breaker.succeeded()
            raise ServiceError(f"database refused the statement: {_first_line(exc)}") from exc
        except SQLAlchemyError as exc:
            self.breaker.settle()
            raise ServiceError(f"database error: {_first_line(exc)}") from exc
        except BaseException:
            self.breaker.settle()  # the caller's own code failed inside the block: no verdict on the database
            raise
        finally:
            _spend(time.monotonic() - started)
        self.breaker.succeeded()

    def write_wait(self) -> float:
        """How long work may wait for its turn to write: the statement timeout, or less if the request's budget has less."""
        left = remaining()
        return self.statement_timeout if left is None else max(0.0, min(left, self.statement_timeout))

    def read(self, query: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Rows of a read-only query (as mappings), tried once more on a fresh connection if a pooled one had broken."""

        def run() -> list[Any]:
            with self.connect(lazy_sync=None) as conn:
                return list(conn.execute(query, params or {}).mappings())

        return self.retrying(run)

    def retrying(self, work: Callable[[], T]) -> T:
        """Run `work`, and once more if a pooled connection broke (safe only for work that may run twice: reads, compare-and-set)."""
        try:
            return work()
        except Unavailable:
            if self.breaker.is_open:
                raise  # the database is away, not one connection: the breaker answers from here on
            return work()

    def probe(self, force: bool = False) -> bool:
        """Whether the database answers now; `force` asks even while the breaker is open, and closes it on success."""
        try:
            with self.connect(force=force) as conn:
                conn.exec_driver_sql("select 1")
            return True
        except ServiceError:
            return False


# What a commit waits for, by database: the disk, or only the database's own log in memory or the OS.
_SETTINGS = {
    "sqlite": {"FULL": "PRAGMA synchronous=FULL", "NORMAL": "PRAGMA synchronous=NORMAL"},
    "postgresql": {"FULL": "SET synchronous_commit = on", "NORMAL": "SET synchronous_commit = off"},
}


def _synchronous(conn: Connection, level: str) -> None:
    """Give a connection the commit durability this work needs (FULL or NORMAL), switching only when it differs.

    SQLite in WAL mode: FULL syncs the log at every commit, NORMAL only at checkpoints, so a commit
    costs no fsync and survives a killed process, not a power cut. PostgreSQL: synchronous_commit off
    answers before the log is flushed (within a fraction of a second), so a crash of the database
    server or the host may lose the last commits, never a killed worker. A durable commit syncs
    everything committed before it too.
    """
    settings = _SETTINGS.get(conn.dialect.name)
    if settings is None or conn.info.get("synchronous") == level:
        return
    conn.exec_driver_sql(settings[level])
    conn.commit()  # ends the transaction SQLAlchemy began for it (a no-op on the connection), so one can begin
    conn.info["synchronous"] = level  # the pooled connection's own record: it outlives this checkout


def _is_unavailable(exc: DBAPIError | PoolTimeout) -> bool:
    """A connection problem or a timeout (the breaker's business), not a statement the database rejected."""
    return isinstance(exc, PoolTimeout | OperationalError | InterfaceError) or exc.connection_invalidated


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


class _Alarms:
    """One thread per process that fires armed watchdogs when their time is up, a tick at a time.

    A timer thread per statement cost a thread start on every database use of every step; this thread
    wakes TICK seconds apart, whatever the load, and a watchdog fires at most a tick late.
    """

    TICK = 0.05

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked worker has its own thread, heap and lock

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, _Watchdog]] = []
        self._order = itertools.count()
        self._started = False

    def add(self, due: float, watchdog: _Watchdog) -> None:
        """Fire `watchdog` at the monotonic time `due` unless it is cancelled first."""
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._order), watchdog))
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="ivr-db-watchdog", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            with self._lock:
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
            for watchdog in due:
                watchdog.fire()


_ALARMS = _Alarms()


class _Watchdog:
    """Breaks one connection's current wait when its time is up (fired by the process's one alarm thread)."""

    def __init__(self, interrupter: _Interrupter, seconds: float) -> None:
        self.fired = False
        self._interrupter = interrupter
        self._lock = threading.Lock()
        self._cancelled = False
        _ALARMS.add(time.monotonic() + max(seconds, 0.01), self)

    @classmethod
    def arm(cls, conn: Connection, seconds: float) -> _Watchdog | None:
        """Watch `conn` for `seconds` (None when the driver offers no way to interrupt it)."""
        raw: Any = conn.connection.dbapi_connection
        interrupter = _interrupter(raw) if raw is not None else None
        return cls(interrupter, seconds) if interrupter is not None else None

    def fire(self) -> None:
        """Time is up: interrupt the connection, unless the work finished first."""
        with self._lock:
            if self._cancelled:
                return
            self.fired = True
            with contextlib.suppress(Exception):  # the connection may have gone already; nothing to stop then
                self._interrupter.interrupt()

    def cancel(self) -> None:
        """The work finished (or failed): once this returns, the connection is never touched."""
        with self._lock:
            if not self._cancelled:
                self._cancelled = True
                self._interrupter.release()


class _Interrupter:
    """A way to stop what one DBAPI connection is waiting for, held while it is watched."""

    def interrupt(self) -> None:
        """Stop the wait (the driver then raises in the connection's own thread)."""
        raise NotImplementedError

    def release(self) -> None:
        """The watch is over: let go of whatever was held for it."""


class _SqliteInterrupt(_Interrupter):
    """sqlite3 aborts the running statement from another thread."""

    def __init__(self, interrupt: Callable[[], None]) -> None:
        self._interrupt = interrupt

    def interrupt(self) -> None:
        """Abort the statement."""
        self._interrupt()


class _SocketCut(_Interrupter):
    """Shuts a PostgreSQL connection's socket down, through a descriptor of its own.

    Not through the connection's descriptor number: the driver closes that one as soon as the
    connection breaks, before the watch is cancelled, and the kernel hands the number straight to the
    next socket the process opens (a caller's HTTP connection, another database connection). A cut
    by number would then end someone else's exchange mid-answer. The duplicate names the database
    connection's own socket for as long as the watch lasts, whatever becomes of the number.
    """

    def __init__(self, fd: int) -> None:
        self._fd = os.dup(fd)

    def interrupt(self) -> None:
        """Shutting the socket down wakes the driver's wait with an error; the pool then discards the connection."""
        log.warning("database did not answer in time; cutting the connection")
        with socket.socket(fileno=os.dup(self._fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Close the duplicate (the connection's own descriptor is the driver's business)."""
        os.close(self._fd)


def _interrupter(raw: Any) -> _Interrupter | None:
    """How to stop whatever this DBAPI connection is waiting for."""
    interrupt = getattr(raw, "interrupt", None)
    if callable(interrupt):
        return _SqliteInterrupt(interrupt)
    pgconn = getattr(raw, "pgconn", None)
    if pgconn is None:
        return None
    try:
        fd = pgconn.socket
    except Exception:  # already lost: the driver will say so itself at the first statement
        return None
    return _SocketCut(fd)
