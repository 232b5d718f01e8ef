"""The ticket spool: files it cannot use are set aside without stopping the tickets behind them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ivr.engine.services import TicketRequest
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore, sqlite_url


def request(call_id: str) -> TicketRequest:
    """A ticket request for a call."""
    return TicketRequest(call_id, "+861", "zh-CN", "voicemail", "msg", datetime(2026, 11, 30, 14, 0, tzinfo=UTC), 10)


def test_corrupt_spool_file_is_set_aside_and_tickets_still_work(tmp_path: Path) -> None:
    """A half-written spool file is moved aside as .bad; tickets and draining carry on."""
    store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
    sink = SpoolingTicketSink(store, tmp_path / "spool")
    (tmp_path / "spool" / "broken.json").write_text('{"number": "9123", "call_id": "CAx"', encoding="utf-8")
    number = sink.create_ticket(request("CA-after-corruption"))
    assert store.find(number) is not None
    sink.drain()  # draining is background work now, off the caller's path
    assert sink.pending() == [] and (tmp_path / "spool" / "broken.bad").exists()
    store.close()


def test_refused_spooled_ticket_does_not_block_the_others(tmp_path: Path) -> None:
    """A spooled ticket the database refuses (its number is taken) is set aside; the next one still drains."""
    store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
    taken = store.create_ticket(request("CA-owner"))
    spool = tmp_path / "spool"
    spool.mkdir()
    for name, call_id, number in (("a.json", "CA-clash", taken), ("b.json", "CA-fine", "91234567")):
        data = {**request(call_id).__dict__, "number": number, "created_at": "2026-11-30T14:00:00+00:00"}
        (spool / name).write_text(json.dumps(data), encoding="utf-8")
    sink = SpoolingTicketSink(store, spool)
    assert sink.drain() == 1
    assert store.find("91234567") is not None and sink.pending() == []
    assert (spool / "a.bad").exists()
    store.close()
