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
        try:
            data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            return None

    def pending(self) -> list[Path]:
        """Spooled tickets not yet in the database."""
        return sorted(self.folder.glob("*.json"))

    def drain(self) -> int:
        """Move spooled tickets into the database; returns how many were stored. Stops quietly if it is still down."""
        stored = 0
        for path in self.pending():
            data = self._read(path)
            if data is None:
                continue
            request = TicketRequest(
                call_id=str(data["call_id"]),
                caller=str(data["caller"]),
                lang=str(data["lang"]),
                category=str(data["category"]),
                description=str(data["description"]),
                created_at=datetime.fromisoformat(str(data["created_at"])),
                first_response_minutes=int(str(data["first_response_minutes"])),
            )
            try:
                number = self.store.create_ticket(request, number=str(data["number"]))
            except ServiceError as exc:
                if "taken by another call" in str(exc):
                    log.critical("spooled ticket %s clashes with a stored one; left in %s for a person", data["number"], path)
                    continue
                return stored
            if number != data["number"]:
                log.warning("call %s already had ticket %s; spooled %s dropped", request.call_id, number, data["number"])
            path.unlink(missing_ok=True)
            stored += 1
        return stored
