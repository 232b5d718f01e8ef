"""/healthz says what is wrong: `degraded` with its problems, and 503 on `?strict=1` for a load balancer."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from ivr.engine.services import TicketRequest
from ivr.store.guard import Breaker
from ivr.store.numbers import BLOCK_SIZE
from ivr.store.spool import SpoolingTicketSink
from tests.databases import postgres_schema
from tests.proxy import Proxy
from tests.server import running_server
from tests.waiting import wait_until
from tests.webhooks import make_hotline
from tests.workspace import copy_workspace

RELOAD_INTERVAL = "0.05"  # IVR_RELOAD_INTERVAL: the app looks at its menu files this often


def health(app: Flask, strict: bool = False) -> tuple[int, dict[str, Any]]:
    """The status code and body of /healthz (strict or not)."""
    response = app.test_client().get("/healthz?strict=1" if strict else "/healthz")
    body: dict[str, Any] = response.get_json()
    return response.status_code, body


def test_all_well_is_ok_even_when_strict(tmp_path: Path) -> None:
    """Every queue has an address, the menu loaded, the spool is empty, the database answers: ok, no problems."""
    app = make_hotline(tmp_path).apps[0]
    assert health(app) == health(app, strict=True)
    status, body = health(app, strict=True)
    assert (status, body["status"], body["problems"]) == (200, "ok", [])


def test_a_queue_without_address_is_degraded(tmp_path: Path) -> None:
    """IVR_QUEUE_GENERAL set empty: every transfer to it would be an apology, so degraded (200), strict 503."""
    app = make_hotline(tmp_path, IVR_QUEUE_GENERAL="").apps[0]
    status, body = health(app)
    assert (status, body["status"], body["database"]) == (200, "degraded", "ok")
    assert body["problems"] == ["queue general has no address: set IVR_QUEUE_GENERAL or queues.general.address in the menu"]
    strict, strict_body = health(app, strict=True)
    assert (strict, strict_body["status"]) == (503, "degraded")


def test_a_refused_menu_edit_is_degraded_until_fixed(tmp_path: Path) -> None:
    """An invalid edit keeps the last good version in service and says so; fixing the file makes it ok again."""
    menu = copy_workspace(tmp_path)
    app = make_hotline(tmp_path, IVR_MENU=str(menu), IVR_RELOAD_INTERVAL=RELOAD_INTERVAL).apps[0]
    good = health(app)[1]["menu"]["version"]
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("      1: business\n", "      1: busines\n", 1), encoding="utf-8")
    status, body = wait_until(lambda: (h := health(app))[1]["status"] != "ok" and h, message="/healthz to see the refused edit")
    assert (status, body["status"], body["menu"]["version"]) == (200, "degraded", good)
    assert "unknown target 'busines'" in body["menu"]["reload_error"]
    assert body["problems"] == [f"a menu edit was refused; still serving version {good} (menu.reload_error says why)"]
    assert health(app, strict=True)[0] == 503
    menu.write_text(text, encoding="utf-8")
    wait_until(lambda: health(app, strict=True)[0] == 200, message="/healthz to be ok after the fix")


def test_a_spool_with_tickets_is_degraded(tmp_path: Path) -> None:
    """Tickets waiting for the database (and set aside for a person) are problems until drained."""
    spool = tmp_path / "spool"
    hotline = make_hotline(tmp_path, IVR_SPOOL_DIR=str(spool), IVR_DRAIN_INTERVAL="0")
    sink = SpoolingTicketSink(hotline.store.tickets, spool, reserve=BLOCK_SIZE)
    hotline.store.db.breaker = Breaker(pause=600.0)
    hotline.store.db.breaker.failed()  # the database counts as away: tickets go to the spool
    for n in range(2):
        sink.create_ticket(
            TicketRequest(f"CA{n:032x}", "+8613900000000", "zh-CN", "voicemail", "磁盘满了", datetime(2026, 11, 30, 14, 0, tzinfo=UTC), 10)
        )
    hotline.store.db.breaker = Breaker()
    (spool / "unreadable.bad").write_text("{", encoding="utf-8")
    status, body = health(hotline.apps[0])
    assert (status, body["status"], body["database"], body["spool"]["waiting"]) == (200, "degraded", "ok", 2)
    assert body["problems"] == [
        "2 ticket(s) wait in the spool for the database",
        "1 spooled ticket(s) set aside for a person to look at (*.bad in the spool folder)",
    ]
    assert health(hotline.apps[0], strict=True)[0] == 503


def test_an_unreachable_database_is_degraded_while_the_spool_has_numbers(tmp_path: Path) -> None:
    """The database away, numbers in reserve: degraded (200) with the reason, 503 when strict."""
    with postgres_schema() as url, Proxy.before(url) as (proxy, proxied):
        hotline = make_hotline(tmp_path, IVR_DATABASE_URL=proxied, IVR_DRAIN_INTERVAL="0", IVR_RELOAD_INTERVAL="0")
        proxy.down()
        try:
            status, body = health(hotline.apps[0])
            strict = health(hotline.apps[0], strict=True)[0]
        finally:
            hotline.store.close()
    assert (status, body["status"], body["database"], strict) == (200, "degraded", "unreachable", 503)
    assert "the database is unreachable; tickets go to the spool" in body["problems"]


def test_a_live_server_without_a_queue_address(tmp_path: Path) -> None:
    """A real `ivr serve` with IVR_QUEUE_GENERAL empty: every worker says degraded; strict=1 answers 503."""
    with running_server(tmp_path, workers=2, IVR_QUEUE_GENERAL="") as server:
        for _ in range(4):  # whichever worker answers
            with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
                body = json.loads(response.read())
                assert response.status == 200 and body["status"] == "degraded", body
                assert any("queue general has no address" in p for p in body["problems"])
            try:
                urllib.request.urlopen(server.url + "/healthz?strict=1", timeout=5).close()
                raise AssertionError("strict /healthz answered 200 while degraded")
            except urllib.error.HTTPError as exc:
                strict = json.loads(exc.read())
                assert exc.code == 503 and strict["status"] == "degraded"
