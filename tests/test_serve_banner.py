"""What `ivr serve` says at start: the URLs for the Twilio console, the queues, the database, the spool, the voices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from ivr.serve import _banner
from ivr.store.outbox import delivery_rows
from ivr.store.schema import deliveries
from tests.server import running_server
from tests.webhooks import Clock, make_app


def banner(log: Path) -> list[str]:
    """The master's `ivr serve:` lines, prefix removed."""
    prefix = "ivr serve: "
    return [line.removeprefix(prefix) for line in log.read_text(errors="replace").splitlines() if line.startswith(prefix)]


def test_the_banner_has_the_twilio_urls_queues_database_spool_and_voices(tmp_path: Path) -> None:
    """A real `ivr serve`: the three URLs on its public address, a queue without address called out, where data goes."""
    spool = tmp_path / "spool"
    with running_server(tmp_path, workers=1, IVR_QUEUE_GENERAL="", IVR_SPOOL_DIR=str(spool)) as server:
        lines = banner(server.log)
    assert f"  Voice URL (A call comes in, HTTP POST): {server.url}/voice/incoming" in lines
    assert f"  Fallback URL (Primary handler fails, HTTP POST): {server.url}/voice/fallback" in lines
    assert f"  Status callback URL (Call status changes, HTTP POST): {server.url}/voice/status" in lines
    assert any(line.startswith("queue general: NO ADDRESS (from IVR_QUEUE_GENERAL)") for line in lines), lines
    assert "queue business: sip:business@pbx.example.test (from IVR_QUEUE_BUSINESS)" in lines
    assert f"database: {server.db_url}" in lines
    assert f"spool: {spool} (0 ticket(s) waiting, 0 set aside)" in lines
    assert any(line.startswith(("zh-CN:", "zh-CN ")) for line in lines), lines  # the prompt source per language, as before


def test_without_a_public_url_it_says_how_to_set_one(tmp_path: Path) -> None:
    """Local development (no IVR_PUBLIC_URL): no URLs to paste, but the variable to set and the paths; queues from the menu."""
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock(), IVR_PUBLIC_URL="", IVR_SKIP_SIGNATURE_CHECK="1", IVR_QUEUE_ORDERS="")
    lines = _banner(app, app.extensions["ivr.voice"].hotline)
    [advice] = [line for line in lines if "IVR_PUBLIC_URL" in line]
    assert advice.startswith("no IVR_PUBLIC_URL, so no URLs for the Twilio console: set it") and "/voice/incoming (Voice URL)" in advice
    assert not any(line.startswith("  Voice URL") for line in lines)
    assert any(line.startswith("queue orders: NO ADDRESS (from IVR_QUEUE_ORDERS)") for line in lines), lines


def test_the_database_password_is_never_printed(tmp_path: Path) -> None:
    """A database URL with a password is shown with the password hidden."""
    url = "postgresql+psycopg://ivr:s3cret-pass@127.0.0.1:1/ivr"  # nothing listens on port 1: the app starts in outage mode
    app = make_app(url, Clock(), IVR_SPOOL_DIR=str(tmp_path / "spool"), IVR_RELOAD_INTERVAL="0")
    try:
        lines = _banner(app, app.extensions["ivr.voice"].hotline)
    finally:
        app.extensions["ivr.store"].close()
    assert "database: postgresql+psycopg://ivr:***@127.0.0.1:1/ivr" in lines
    assert not any("s3cret" in line for line in lines)


def test_the_banner_says_where_tickets_go_and_what_waits_for_a_channel_not_set_here(tmp_path: Path) -> None:
    """Deliveries recorded by a host with a desk, read by one without: start-up names them, and the way to end them."""
    desk = {"IVR_TICKET_WEBHOOK_URL": "https://desk.example.com/hooks/SECRET?token=x", "IVR_TICKET_WEBHOOK_SECRET": "0" * 16}
    with_desk = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock(), **desk)
    lines = _banner(with_desk, with_desk.extensions["ivr.voice"].hotline)
    assert "tickets: handed on to the desk webhook at https://desk.example.com (signed); 10 attempts each" in lines, lines
    assert not any("SECRET" in line or "token" in line for line in lines)
    with with_desk.extensions["ivr.store"].engine.begin() as conn:
        conn.execute(insert(deliveries), delivery_rows("10000001", "CA1", ["desk"], datetime.now(UTC)))
    plain = make_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", Clock())
    lines = _banner(plain, plain.extensions["ivr.voice"].hotline)
    assert any(line.startswith("tickets: kept in the database only") for line in lines), lines
    assert any(line.startswith("tickets: deliveries wait for channels not configured here: desk (1)") for line in lines), lines
