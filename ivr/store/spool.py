"""A durable local spool for tickets: the caller's number is written down before anything else happens.

Every ticket is first written as one JSON file named after its call, created exclusively (a second
delivery of the same request finds the first one's file and its number), with fsync. Only then is it
inserted into the database under that same number; once the database has it, the file goes. If the
insert fails, or its outcome is unknown (the connection dropped while it committed), the file stays
and the drainer stores it later under the same number: a committed insert then simply matches. So
every number a caller hears is the number of their call's ticket, whatever happened in between.

Draining runs in the background (one drainer per spool folder at a time, a lock file), in batches,
and on demand (`ivr tickets drain`), never inside a caller's request.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ivr.engine.services import CHANNELS, TicketRequest
from ivr.errors import ServiceError
from ivr.store.guard import Unavailable
from ivr.store.numbers import NUMBER_DIGITS, NumberLeases, NumberReserve, fsync_folder
from ivr.store.tickets import NumberTaken, TicketStore

__all__ = ["DrainResult", "SpoolingTicketSink"]

log = logging.getLogger(__name__)

BATCH = 200  # spooled tickets stored per transaction
MAX_TRIES = 5  # numbers tried for one ticket before giving up (each refused one is another call's)
MAX_MINUTES = 10 * 365 * 24 * 60  # a first-response time beyond ten years is not a spooled ticket's


@dataclass(frozen=True)
class DrainResult:
    """What one drain did."""

    stored: int  # spooled tickets now in the database
    waiting: int  # still spooled (the database went away, or the batch ended)
    set_aside: int  # refused by the database or unreadable: moved to *.bad for a person
    busy: bool = False  # another drainer holds the folder; nothing was done


class SpoolingTicketSink:
    """Writes each ticket to the spool, then to the database; the spool keeps what the database has not got yet."""

    def __init__(self, store: TicketStore, folder: str | Path, reserve: int = 5000) -> None:
        self.store = store
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.numbers = NumberReserve(NumberLeases(store.db), self.folder, target=reserve)
        # Told of each new ticket as (category, "database" or "spool"): metrics count them without the store knowing how.
        self.on_ticket: Callable[[str, str], None] | None = None
        # Numbers are leased while the database is up, so an outage later finds them ready. A host that has
        # never reached its database has none: the background drainer leases them once it answers.
        try:
            self.numbers.refill()
        except ServiceError as exc:
            log.error("no ticket numbers leased for %s yet (%s); %d in reserve", self.folder, exc, self.numbers.remaining())

    def _path(self, call_id: str) -> Path:
        safe = hashlib.sha256(call_id.encode()).hexdigest()[:32]
        return self.folder / f"{safe}.json"

    def create_ticket(self, request: TicketRequest) -> str:
        """The call's ticket number: the one already given to this call, else a new one, spooled before it is returned."""
        path = self._path(request.call_id)
        spooled = self._read(path)
        if spooled is not None:
            return str(spooled["number"])  # this call was told this number already
        with contextlib.suppress(Unavailable):
            stored = self.store.find_by_call(request.call_id)
            if stored is not None:
                return stored.number  # stored earlier and drained: the same number again
        for _ in range(MAX_TRIES):
            number = self.numbers.take()
            if not self._spool(path, number, request):
                theirs = self._read(path)  # a simultaneous delivery of this request spooled first: its number wins
                if theirs is not None:
                    return str(theirs["number"])
                with contextlib.suppress(Unavailable):
                    stored = self.store.find_by_call(request.call_id)
                    if stored is not None:
                        return stored.number  # …and stored it meanwhile
                continue  # its file came and went: spool again, so the number told is always on disk first
            try:
                kept = self.store.insert(request, number)
            except NumberTaken as exc:
                # The database is up and says the number is another call's (a copied spool folder, a restored
                # database). The caller has not heard it yet: drop it and choose another.
                log.critical("%s; choosing another for call %s", exc, request.call_id)
                path.unlink(missing_ok=True)
                continue
            except ServiceError as exc:
                log.error("ticket %s for call %s spooled in %s; the database gets it later (%s)", number, request.call_id, self.folder, exc)
                self._tell(request.category, "spool")
                return number
            path.unlink(missing_ok=True)
            self._tell(request.category, "database")
            return kept
        raise ServiceError(f"no ticket number could be given to call {request.call_id} after {MAX_TRIES} tries")

    def _tell(self, category: str, path: str) -> None:
        """Tell `on_ticket` of a new ticket; whatever it does, the caller still gets their number."""
        if self.on_ticket is not None:
            try:
                self.on_ticket(category, path)
            except Exception:
                log.exception("on_ticket failed for a %s ticket", category)

    def _spool(self, path: Path, number: str, request: TicketRequest) -> bool:
        """Write the ticket under `path` unless it exists: fsync, then an exclusive link (False if another got there first)."""
        # The ticket's deliveries are written down with it: an outage loses neither the ticket nor its hand-off.
        channels = list(self.store.channels_for(request))
        data = {"number": number, **asdict(request), "created_at": request.created_at.isoformat(), "deliveries": channels}
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".spool-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic and exclusive: the complete file appears, or nothing does
            except FileExistsError:
                return False
        finally:
            os.unlink(tmp)
        fsync_folder(self.folder)  # the new name itself must survive a power cut
        return True

    @staticmethod
    def _read(path: Path) -> dict[str, object] | None:
        """A spooled ticket; a file that cannot be read back is set aside for a person, never retried forever."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not {"number", "call_id"} <= data.keys():
                raise ValueError("not a spooled ticket")
            return data
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            bad = path.with_suffix(".bad")
            with contextlib.suppress(FileNotFoundError):
                path.replace(bad)
                log.critical("spooled ticket file %s cannot be read (%s); moved to %s for a person to look at", path, exc, bad)
            return None

    def depth(self) -> int:
        """How many tickets wait in the spool (cheap: one directory listing)."""
        with os.scandir(self.folder) as entries:
            return sum(1 for e in entries if e.name.endswith(".json") and not e.name.startswith("."))

    def set_aside(self) -> int:
        """How many spooled tickets were set aside for a person (*.bad)."""
        with os.scandir(self.folder) as entries:
            return sum(1 for e in entries if e.name.endswith(".bad") and not e.name.startswith("."))

    def pending(self, older_than: float = 0.0) -> list[Path]:
        """Spooled tickets not yet in the database, oldest first (`older_than` seconds old at least)."""
        newest = time.time_ns() - int(older_than * 1e9)
        found: list[tuple[int, str, Path]] = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    with contextlib.suppress(FileNotFoundError):  # stored and removed meanwhile
                        found.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
        return [path for mtime, _, path in sorted(found) if mtime <= newest]

    @contextlib.contextmanager
    def _drainer(self, wait: bool) -> Iterator[bool]:
        """Hold the folder's drain lock (True), or learn that another drainer holds it (False)."""
        with open(self.folder / ".drain.lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def drain(self, limit: int | None = None, wait: bool = False) -> int:
        """Move up to `limit` spooled tickets into the database; how many were stored. Stops quietly when it is unreachable."""
        return self.drain_report(limit, wait).stored

    def drain_report(self, limit: int | None = None, wait: bool = False, older_than: float = 0.0) -> DrainResult:
        """`drain`, telling what is left and what was set aside; `wait` waits for another drainer to finish first.

        `older_than` leaves younger files alone: the request that wrote one is storing it right now.
        """
        db = self.store.db
        if db.waiting and not db.probe(force=True):
            return DrainResult(0, self.depth(), 0)  # still down: the drainer, not a caller, paid for finding out
        with self._drainer(wait) as mine:
            if not mine:
                return DrainResult(0, self.depth(), 0, busy=True)
            stored = aside = 0
            paths = self.pending(older_than)[:limit]
            for start in range(0, len(paths), BATCH):
                outcome = self._drain_batch(paths[start : start + BATCH])
                if outcome is None:
                    break  # the database is unreachable: try again later
                stored += outcome[0]
                aside += outcome[1]
            return DrainResult(stored, self.depth(), aside)

    def _drain_batch(self, paths: list[Path]) -> tuple[int, int] | None:
        """Store a batch of spooled tickets in one transaction: (stored, set aside), or None when the database is unreachable."""
        batch: dict[str, tuple[Path, TicketRequest, str, tuple[str, ...] | None]] = {}
        aside = 0
        for path in paths:
            item = self._request(path)
            if item is None:
                aside += 1
            elif item[0].call_id in batch:  # two files for one call (a spool of an earlier release): one at a time
                continue
            else:
                batch[item[0].call_id] = (path, *item)
        if not batch:
            return 0, aside
        try:
            found = self.store.insert_many([(request, number, channels) for _, request, number, channels in batch.values()])
        except Unavailable:
            return None
        except ServiceError as exc:
            # The database answers but refuses the batch: store one by one, so only the culprit is set aside.
            log.warning("a batch of %d spooled tickets was refused (%s); storing them one by one", len(batch), exc)
            results = [self._drain_one(path) for path, *_ in batch.values()]
            if None in results:
                return None
            return sum(r for r in results if r), aside + results.count(0)
        stored = 0
        for call_id, (path, _, number, _) in batch.items():
            if call_id in found:
                path.unlink(missing_ok=True)
                stored += 1
            else:
                path.replace(path.with_suffix(".bad"))
                log.critical("spooled ticket %s refused: the number belongs to another call; set aside as .bad", number)
                aside += 1
        return stored, aside

    def _request(self, path: Path) -> tuple[TicketRequest, str, tuple[str, ...] | None] | None:
        """A spooled ticket as a request, its number and its deliveries (None: a spool of an earlier release, so the configured ones).

        An unreadable or incomplete one is set aside (None).
        """
        data = self._read(path)
        if data is None:
            return None
        try:
            number, minutes = data["number"], data["first_response_minutes"]
            if not (isinstance(number, str) and number.isascii() and number.isdigit() and len(number) == NUMBER_DIGITS):
                raise ValueError(f"number {number!r} is not {NUMBER_DIGITS} digits")
            if not isinstance(minutes, int) or not 0 <= minutes <= MAX_MINUTES:
                raise ValueError(f"first_response_minutes {minutes!r} is out of range")
            channels = data.get("deliveries")
            if channels is not None and not (isinstance(channels, list) and all(c in CHANNELS for c in channels)):
                raise ValueError(f"deliveries {channels!r} are not a list of {', '.join(CHANNELS)}")
            request = TicketRequest(
                call_id=str(data["call_id"]),
                caller=str(data["caller"]),
                lang=str(data["lang"]),
                category=str(data["category"]),
                description=str(data["description"]),
                created_at=datetime.fromisoformat(str(data["created_at"])),
                first_response_minutes=minutes,
                sms=data.get("sms") is True,
            )
            _due = request.created_at + timedelta(minutes=minutes)  # a date out of range fails here, not in the whole batch
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            with contextlib.suppress(FileNotFoundError):
                path.replace(path.with_suffix(".bad"))
            log.critical("spooled ticket %s is incomplete (%s); set aside as .bad", path, exc)
            return None
        return request, number, tuple(channels) if channels is not None else None

    def _drain_one(self, path: Path) -> int | None:
        """Store one spooled ticket: 1 stored, 0 set aside, None when the database cannot be reached."""
        item = self._request(path)
        if item is None:
            return 0
        request, number, channels = item
        try:
            # The caller heard this number: if their call has a ticket already, the number becomes its alias.
            self.store.insert(request, number, alias=True, channels=channels)
        except Unavailable:
            return None
        except ServiceError as exc:
            # The database answers but refuses this one ticket: set it aside, keep draining the rest.
            path.replace(path.with_suffix(".bad"))
            log.critical("spooled ticket %s refused by the database (%s); set aside as .bad", number, exc)
            return 0
        path.unlink(missing_ok=True)
        return 1
