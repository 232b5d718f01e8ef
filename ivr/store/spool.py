"""A durable local spool for tickets: when the database is down, the caller still gets a real number.

Each spooled ticket is one JSON file named after its call, written with fsync and an atomic
rename, so a crash loses nothing and a retried request finds the number it already gave. Spooled
numbers start with 9, a range the database never hands out, so they cannot clash. The spool is
drained into the database whenever a ticket is stored and on demand (`drain`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.store.tickets import NUMBER_DIGITS, TicketStore

log = logging.getLogger(__name__)


class SpoolingTicketSink:
    """Stores tickets in the database, or in the spool folder while the database cannot be reached."""

    def __init__(self, store: TicketStore, folder: str | Path) -> None:
        self.store = store
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, call_id: str) -> Path:
        safe = hashlib.sha256(call_id.encode()).hexdigest()[:32]
        return self.folder / f"{safe}.json"

    def create_ticket(self, request: TicketRequest) -> str:
        """The call's ticket number: from the database, else from the spool (written before it is returned)."""
        spooled = self._read(self._path(request.call_id))
        if spooled is not None:
            self.drain()
            return str(spooled["number"])
        try:
            number = self.store.create_ticket(request)
        except ServiceError as exc:
            number = self._spool(request)
            log.error("ticket store unavailable (%s); ticket %s for call %s spooled in %s", exc, number, request.call_id, self.folder)
            return number
        self.drain()
        return number

    def _spool(self, request: TicketRequest) -> str:
        number = "9" + str(secrets.randbelow(10 ** (NUMBER_DIGITS - 1))).zfill(NUMBER_DIGITS - 1)
        data = {"number": number, **asdict(request), "created_at": request.created_at.isoformat()}
        path = self._path(request.call_id)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".spool-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself must survive a power cut
        finally:
            os.close(directory)
        return number

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
            path.replace(bad)
            log.critical("spooled ticket file %s cannot be read (%s); moved to %s for a person to look at", path, exc, bad)
            return None

    def pending(self) -> list[Path]:
        """Spooled tickets not yet in the database, oldest first."""
        return sorted(self.folder.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))

    def drain(self) -> int:
        """Move spooled tickets into the database; returns how many were stored. Stops quietly if it is still down."""
        stored = 0
        for path in self.pending():
            data = self._read(path)
            if data is None:
                continue
            try:
                request = TicketRequest(
                    call_id=str(data["call_id"]),
                    caller=str(data["caller"]),
                    lang=str(data["lang"]),
                    category=str(data["category"]),
                    description=str(data["description"]),
                    created_at=datetime.fromisoformat(str(data["created_at"])),
                    first_response_minutes=int(str(data["first_response_minutes"])),
                )
            except (KeyError, ValueError) as exc:
                path.replace(path.with_suffix(".bad"))
                log.critical("spooled ticket %s is incomplete (%s); set aside as .bad", path, exc)
                continue
            if not self.store.reachable():
                return stored  # still down: try again later
            try:
                number = self.store.create_ticket(request, number=str(data["number"]))
            except ServiceError as exc:
                if not self.store.reachable():
                    return stored  # it went away again mid-drain
                # The database answers but refuses this one ticket: set it aside, keep draining the rest.
                path.replace(path.with_suffix(".bad"))
                log.critical("spooled ticket %s refused by the database (%s); set aside as .bad", data["number"], exc)
                continue
            if number != data["number"]:
                log.warning("call %s already had ticket %s; spooled %s dropped", request.call_id, number, data["number"])
            path.unlink(missing_ok=True)
            stored += 1
        return stored
