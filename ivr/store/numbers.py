"""Ticket numbers that cannot collide: blocks leased from the database, handed out by one host at a time.

The number space (8 digits, 10000000-89999999) is cut into blocks of 1,000. While the database is
up, a host leases whole blocks for itself (a row per block in `number_blocks`, whose primary key makes
a block one host's only) and keeps them in a small file in its spool folder. Every ticket number the
host gives a caller comes from that file, taken and written back under a file lock before the number
is used anywhere: no two tickets of one host share a number, no two hosts share a block, and an
outage changes nothing, because choosing a number never needs the database. 9xxxxxxx is left to
numbers spooled by earlier releases. Capacity: 80,000 blocks, 80 million tickets; a lost spool folder
loses at most its unused reserve.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ivr.errors import ServiceError
from ivr.store.guard import Database
from ivr.store.schema import number_blocks, tickets

__all__ = ["BLOCKS", "BLOCK_SIZE", "FIRST_NUMBER", "NumberLeases", "NumberReserve", "block_of", "host_name"]

log = logging.getLogger(__name__)

NUMBER_DIGITS = 8
BLOCK_SIZE = 1000
FIRST_NUMBER = 10_000_000
BLOCKS = 80_000  # up to 89999999
CHUNK = 20  # numbers a process writes off the shared reserve at once
LEGACY = "legacy"  # a block holding numbers handed out before blocks existed: never leased


def block_of(number: int) -> int:
    """The block a number belongs to."""
    return (number - FIRST_NUMBER) // BLOCK_SIZE


def _bounds(block: int) -> tuple[int, int]:
    low = FIRST_NUMBER + block * BLOCK_SIZE
    return low, low + BLOCK_SIZE


def host_name(folder: Path | None) -> str:
    """Who holds a lease: this machine and the spool folder its numbers are kept in."""
    where = str(folder.resolve()) if folder is not None else f"memory:{os.getpid()}"
    return f"{socket.gethostname()}:{where}"[:255]


class NumberLeases:
    """Leases blocks of numbers from the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def lease(self, host: str, count: int) -> list[int]:
        """Claim `count` unused blocks for `host` (ServiceError when the database is unreachable or the space is full)."""
        claimed: list[int] = []
        with self.db.connect() as conn:
            top = conn.execute(select(func.max(number_blocks.c.block))).scalar()
        block = 0 if top is None else int(top) + 1
        while len(claimed) < count:
            if block >= BLOCKS:
                raise ServiceError("every block of ticket numbers is leased: the number space is full")
            low, high = _bounds(block)
            with self.db.connect() as conn:
                # A block that holds a number given out before blocks existed (random numbers) is never leased.
                old = conn.execute(
                    select(tickets.c.number).where(tickets.c.number >= f"{low:08d}", tickets.c.number < f"{high:08d}").limit(1)
                ).first()
            try:
                with self.db.connect() as conn:
                    conn.execute(insert(number_blocks).values(block=block, host=LEGACY if old else host, leased_at=datetime.now(UTC)))
            except IntegrityError:
                block += 1  # another host leased it first
                continue
            if not old:
                claimed.append(block)
            block += 1
        return claimed


class NumberReserve:
    """The numbers this host may hand out: its leased blocks, kept in `ticket-numbers.reserve` in its folder.

    `take()` never touches the database unless the reserve is empty; `refill()` (run in the
    background while the database is up) keeps it at `target`. Without a folder the reserve lives in
    memory (a store without a spool, as QA's in-memory database).
    """

    def __init__(self, leases: NumberLeases, folder: Path | None = None, target: int = 5000) -> None:
        self.leases = leases
        self.folder = folder
        self.target = max(target, BLOCK_SIZE)
        self.host = host_name(folder)
        self._memory: list[list[int]] = []
        self._chunk: list[int] = []  # written off the reserve by this process, not yet handed out
        self._thread_lock = threading.RLock()

    @property
    def file(self) -> Path | None:
        """Where the reserve is kept (None in memory)."""
        return self.folder / "ticket-numbers.reserve" if self.folder is not None else None

    def take(self) -> str:
        """The next number of this host, written off before it is returned (ServiceError when none can be had).

        A process writes numbers off the shared reserve a few at a time and hands them out from memory:
        one durable write per CHUNK tickets. Numbers a process had written off and not used when it
        ends are skipped, never reused.
        """
        with self._thread_lock:
            if not self._chunk:
                self._chunk = self._write_off(CHUNK)
            return f"{self._chunk.pop(0):0{NUMBER_DIGITS}d}"

    def _write_off(self, count: int) -> list[int]:
        """Take up to `count` numbers (of one block) off the reserve, durably."""
        with self._locked() as blocks:
            if not blocks:
                log.info("no ticket numbers in reserve for %s; leasing from the database", self.host)
                blocks.extend([low, high] for low, high in map(_bounds, self.leases.lease(self.host, 1)))
            low, high = blocks[0]
            taken = list(range(low, min(low + count, high)))
            blocks[0][0] = taken[-1] + 1
            if blocks[0][0] >= high:
                blocks.pop(0)
        return taken

    def remaining(self) -> int:
        """How many numbers are left (this process's written-off ones included)."""
        with self._locked(write=False) as blocks:
            return sum(high - low for low, high in blocks) + len(self._chunk)

    def refill(self) -> int:
        """Lease blocks until the reserve holds `target` numbers again (half empty is the trigger); how many were added."""
        have = self.remaining()
        if have >= self.target // 2:
            return 0
        wanted = -(-(self.target - have) // BLOCK_SIZE)
        leased = self.leases.lease(self.host, wanted)  # committed first: a crash before the write only wastes a block
        with self._locked() as blocks:
            blocks.extend([low, high] for low, high in map(_bounds, leased))
        log.info("leased %d block(s) of ticket numbers for %s", len(leased), self.host)
        return len(leased) * BLOCK_SIZE

    @contextlib.contextmanager
    def _locked(self, write: bool = True) -> Iterator[list[list[int]]]:
        """The blocks, under a lock shared by every process and thread using this folder; written back durably."""
        file = self.file
        with self._thread_lock:
            if file is None:
                yield self._memory
                return
            assert self.folder is not None
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.folder / ".numbers.lock", "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                blocks = _read(file)
                before = json.dumps(blocks)
                yield blocks
                if write and json.dumps(blocks) != before:
                    _write(file, {"host": self.host, "blocks": blocks})


def _read(file: Path) -> list[list[int]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        blocks = [[int(low), int(high)] for low, high in data.get("blocks", []) if int(low) < int(high)]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        # Never guess: handing out numbers from a damaged reserve could repeat one. Lease fresh blocks instead.
        damaged = file.with_suffix(".damaged")
        file.replace(damaged)
        log.critical("ticket number reserve %s is damaged (%s); set aside as %s, leasing new blocks", file, exc, damaged)
        return []
    return blocks


def _write(file: Path, data: object) -> None:
    """Replace `file` atomically and durably: a number is used only once the write-off is on disk."""
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".numbers-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, file)
    fsync_folder(file.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename or unlink in `folder` survive a power cut."""
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
