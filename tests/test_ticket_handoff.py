"""A ticket reaches the support desk and the caller: the outbox, the sender's retries and dead letter, faults on the way."""

from __future__ import annotations

import contextlib
import re
import signal
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.cli import main
from ivr.store import Store
from ivr.testing.phone import HttpTransport, PhoneCall
from tests.conftest import AFTER_HOURS
from tests.databases import postgres_schema
from tests.desk_receiver import DeskReceiver
from tests.proxy import Proxy
from tests.server import running_server
from tests.test_delivery_transports import Mailbox, smtp_server
from tests.twilio_cloud import TwilioCloud
from tests.waiting import wait_until
from tests.webhooks import TOKEN, Hotline, make_hotline, said

SPOKEN_TICKET = re.compile(r"(?:工单号是|ticket number is) ((?:\d ){7}\d)")
CLOCK = {"IvrTestClock": AFTER_HOURS.isoformat()}
SECRET = "desk-secret-0123456789"
FAST = {"IVR_DELIVERY_BACKOFF": "0.05", "IVR_DELIVERY_TIMEOUT": "2", "IVR_DELIVERY_INTERVAL": "0"}  # rounds driven by the test


def desk_settings(desk: DeskReceiver, **more: str) -> dict[str, str]:
    """Settings that hand tickets to `desk`, with fast retries."""
    return {"IVR_TICKET_WEBHOOK_URL": desk.url, "IVR_TICKET_WEBHOOK_SECRET": desk.secret, **FAST, **more}


def leave_message(hotline: Hotline, caller: str = "+8613800000000", message: str = "控制台打不开") -> str:
    """An after-hours caller leaves a message; the ticket number they heard."""
    hotline.clock.now = AFTER_HOURS
    call = hotline.call("1", caller=caller, voicemail=message)
    numbers = {m.replace(" ", "") for m in SPOKEN_TICKET.findall(said(call.lines))}
    assert len(numbers) == 1, said(call.lines)
    return numbers.pop()


def run_rounds(hotline: Hotline, until: Any, rounds: int = 200) -> None:
    """Let the host's sender work the outbox, round after round, until `until()` holds."""
    sender = hotline.apps[0].extensions["ivr.voice"].hotline.ticket_sender()

    def done() -> bool:
        sender.round()
        return bool(until())

    wait_until(done, timeout=20, interval=0.05, message="the outbox to be worked off")


def deliveries(store: Store, number: str) -> list[Any]:
    """The outbox rows of ticket `number`."""
    ticket = store.tickets.find(number)
    assert ticket is not None
    return store.outbox.of_call(ticket.call_id)


def test_a_desk_answering_500_twice_gets_the_ticket_once(tmp_path: Path) -> None:
    """500, 500, then 200: three posts with one idempotency key, one accepted ticket, the outbox says delivered after 3 attempts."""
    with DeskReceiver(plan=[500, 500, 200], secret=SECRET) as desk:
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        number = leave_message(hotline)
        (row,) = deliveries(hotline.store, number)
        assert (row.channel, row.status, row.attempts) == ("desk", "pending", 0)  # recorded with the ticket
        run_rounds(hotline, lambda: desk.accepted == 1 and deliveries(hotline.store, number)[0].status == "delivered")
        assert desk.received == 3
        assert {r.header("Idempotency-Key") for r in desk.requests} == {number}
        assert all(r.verified for r in desk.requests)
        (row,) = deliveries(hotline.store, number)
        assert (row.status, row.attempts, row.receipt) == ("delivered", 3, "200")
        body = desk.tickets[number]
        assert body["ticket"]["number"] == number and body["call"]["caller"] == "+8613800000000"
        assert body["ticket"]["language"] == "zh-CN" and body["ticket"]["category"] == "voicemail"
        assert body["call"]["recording_url"].startswith("https://api.twilio.com/")
        assert body["call"]["path"][0] == "welcome" and "message_ticket" in body["call"]["path"]
        assert any(line["type"] == "say" for line in body["call"]["transcript"])
        for _ in range(5):  # nothing more is sent for a delivered ticket
            hotline.apps[0].extensions["ivr.voice"].hotline.ticket_sender().round()
        assert desk.received == 3


def test_a_desk_that_times_out_then_answers_takes_the_ticket_once(tmp_path: Path) -> None:
    """The desk takes the ticket but answers too late: the retry carries the same key, and the desk keeps one ticket."""
    with DeskReceiver(plan=["timeout", 200], secret=SECRET, stall=3.0) as desk:
        hotline = make_hotline(tmp_path, **desk_settings(desk, IVR_DELIVERY_TIMEOUT="1"))
        number = leave_message(hotline)
        run_rounds(hotline, lambda: deliveries(hotline.store, number)[0].status == "delivered")
        (row,) = deliveries(hotline.store, number)
        assert row.attempts == 2 and desk.received == 2
        assert desk.accepted == 1 and desk.duplicates == 1
        assert {r.header("Idempotency-Key") for r in desk.requests} == {number}


def test_the_desk_and_the_support_address_both_get_it(tmp_path: Path) -> None:
    """Webhook and e-mail configured: two deliveries, both delivered; the mail is in the caller's language, in Beijing time."""
    box = Mailbox()
    with DeskReceiver(secret=SECRET) as desk, smtp_server(box) as port:
        mail = {"IVR_SMTP_URL": f"smtp://127.0.0.1:{port}", "IVR_TICKET_EMAIL_TO": "support@example.com"}
        hotline = make_hotline(tmp_path, **desk_settings(desk, **mail))
        number = leave_message(hotline)
        run_rounds(hotline, lambda: {d.status for d in deliveries(hotline.store, number)} == {"delivered"})
        assert sorted(d.channel for d in deliveries(hotline.store, number)) == ["desk", "email"]
        (message,) = box.messages()
        assert number in message["Subject"] and "首次响应截止 11-30 22:40" in message["Subject"]
        assert message["To"] == "support@example.com" and message["From"] == "hotline@[127.0.0.1]"
        assert "控制台打不开" not in message["Subject"]  # what the caller said stays in the body
        assert desk.accepted == 1


def test_a_desk_down_for_good_dead_letters_the_delivery(tmp_path: Path) -> None:
    """Every attempt refused at the socket: after IVR_DELIVERY_ATTEMPTS the delivery is failed, with the reason, and healthz says so."""
    with DeskReceiver(secret=SECRET) as desk:
        desk.go_down()
        hotline = make_hotline(tmp_path, **desk_settings(desk, IVR_DELIVERY_ATTEMPTS="3"))
        number = leave_message(hotline)
        run_rounds(hotline, lambda: deliveries(hotline.store, number)[0].status == "failed")
        (row,) = deliveries(hotline.store, number)
        assert row.attempts == 3 and "attempt 3 of 3" in row.last_error
        assert desk.received == 0
        health = hotline.apps[0].test_client().get("/healthz").get_json()
        assert health["status"] == "degraded" and health["deliveries"]["failed"] == 1
        assert any("redeliver" in problem for problem in health["problems"])
        failed = hotline.store.outbox.listing("failed")
        assert [d.ticket for d in failed] == [number]
        desk.come_up()
        assert hotline.store.outbox.redeliver(row.call_id, AFTER_HOURS) == 1
        run_rounds(hotline, lambda: desk.accepted == 1)
        assert deliveries(hotline.store, number)[0].status == "delivered"


def test_a_refusing_desk_dead_letters_at_once(tmp_path: Path) -> None:
    """A 4xx will not get better by retrying: one attempt, then a person looks (the status in the reason)."""
    with DeskReceiver(plan=[422], secret=SECRET) as desk:
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        number = leave_message(hotline)
        run_rounds(hotline, lambda: deliveries(hotline.store, number)[0].status == "failed")
        (row,) = deliveries(hotline.store, number)
        assert row.attempts == 1 and "422" in row.last_error and desk.received == 1


def test_spooled_during_an_outage_then_delivered_once(tmp_path: Path) -> None:
    """The database is gone when the ticket is made: the spool file carries its deliveries; drained twice, delivered once."""
    with DeskReceiver(secret=SECRET) as desk:
        folder = tmp_path / "db"
        folder.mkdir()
        spool = tmp_path / "spool"
        hotline = make_hotline(
            tmp_path, IVR_DATABASE_URL=f"sqlite:///{folder / 'hotline.sqlite3'}", IVR_SPOOL_DIR=str(spool), **desk_settings(desk)
        )
        service = hotline.apps[0].extensions["ivr.voice"].hotline
        hotline.store.engine.dispose()
        folder.rename(tmp_path / "db-gone")
        number = leave_message(hotline, message="数据库断了")
        (spooled,) = spool.glob("*.json")
        assert '"deliveries": ["desk"]' in spooled.read_text(encoding="utf-8")
        (tmp_path / "db-gone").rename(folder)
        service.store.db.probe(force=True)
        assert service.spool is not None and service.spool.drain() == 1
        service.spool.drain()
        run_rounds(hotline, lambda: desk.accepted == 1)
        for _ in range(3):
            service.ticket_sender().round()
        assert desk.received == 1 and list(desk.tickets) == [number]
        assert [(d.channel, d.status) for d in deliveries(hotline.store, number)] == [("desk", "delivered")]


def sms_settings(cloud: TwilioCloud) -> dict[str, str]:
    """Settings that text callers through the stand-in of Twilio's cloud."""
    return {
        "TWILIO_ACCOUNT_SID": cloud.account_sid,
        "IVR_SMS_FROM": "+15005550006",
        "IVR_TWILIO_API_URL": cloud.url,
        **FAST,
    }


def test_one_text_per_ticket_and_only_to_mobiles(tmp_path: Path) -> None:
    """A China mobile gets exactly one text with its number (and hears it is coming); anonymous and a landline get none."""
    with TwilioCloud(auth_token="test-auth-token-0123456789abcdef") as cloud:
        hotline = make_hotline(tmp_path, **sms_settings(cloud))
        hotline.clock.now = AFTER_HOURS
        account = {"account_sid": cloud.account_sid}
        mobile = hotline.call("1", caller="+8613912345678", voicemail="发票", **account)
        landline = hotline.call("1", caller="+861088886666", voicemail="发票", **account)
        hidden = hotline.call("1", caller="anonymous", voicemail="发票", **account)
        mobile_number = {m.replace(" ", "") for m in SPOKEN_TICKET.findall(said(mobile.lines))}.pop()
        assert "短信" in said(mobile.lines)
        assert "短信" not in said(landline.lines) and "短信" not in said(hidden.lines)
        cloud.fail_next(1, status=500)  # the first try fails: it is retried, still one text
        run_rounds(hotline, lambda: len(cloud.messages) >= 1 and not hotline.store.outbox.listing("pending"))
        for _ in range(3):
            hotline.apps[0].extensions["ivr.voice"].hotline.ticket_sender().round()
        assert len(cloud.messages) == 1
        (text,) = cloud.sent_to("+8613912345678")
        assert mobile_number in text and "控制台" in text
        assert cloud.messages[0]["from"] == "+15005550006"
        (row,) = deliveries(hotline.store, mobile_number)
        assert (row.channel, row.status, row.attempts) == ("sms", "delivered", 2) and row.receipt.startswith("SM")
        assert row.target == "+86139****5678"


def test_an_english_caller_gets_the_english_text(tmp_path: Path) -> None:
    """The text is in the caller's language, as their prompts were."""
    with TwilioCloud(auth_token="test-auth-token-0123456789abcdef") as cloud:
        hotline = make_hotline(tmp_path, **sms_settings(cloud))
        hotline.clock.now = AFTER_HOURS
        call = hotline.call("9 1", caller="+8613912345678", voicemail="invoice", account_sid=cloud.account_sid)
        assert "text the ticket number" in said(call.lines)
        run_rounds(hotline, lambda: len(cloud.messages) == 1)
        assert "Volcengine" in cloud.messages[0]["body"] and "Console" in cloud.messages[0]["body"]


def _ticket_call(server_url: str, message: str) -> str:
    call = PhoneCall(HttpTransport(server_url), server_url, TOKEN, extra=CLOCK, voicemail=message)
    numbers = {m.replace(" ", "") for m in SPOKEN_TICKET.findall(said(call.run(["1"])))}
    assert len(numbers) == 1
    return numbers.pop()


def test_a_server_killed_before_delivery_delivers_after_restart(tmp_path: Path) -> None:
    """`ivr serve` killed (SIGKILL) after the ticket and before its delivery: the next server delivers it, once."""
    with DeskReceiver(secret=SECRET) as desk:
        db = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
        env = {"IVR_TEST_CLOCK": "1", "IVR_DATABASE_URL": db, "IVR_SPOOL_DIR": str(tmp_path / "spool"), **desk_settings(desk)}
        with running_server(tmp_path, **{**env, "IVR_DELIVERY_INTERVAL": "3600"}) as server:  # its sender would wait an hour
            number = _ticket_call(server.url, "重启之前")
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)
        assert desk.received == 0
        with running_server(tmp_path, **{**env, "IVR_DELIVERY_INTERVAL": "0.1"}) as server:
            with contextlib.suppress(OSError):  # a first request starts the workers' background work
                urllib.request.urlopen(server.url + "/healthz", timeout=5).read()
            assert desk.wait_accepted(1, timeout=20), "the ticket was not delivered after the restart"
        assert desk.received == 1 and list(desk.tickets) == [number]


def test_postgres_outage_behind_a_live_server_delivers_once(tmp_path: Path) -> None:
    """A live server on PostgreSQL cut off: the spooled ticket is stored after recovery and reaches the desk once."""
    with postgres_schema() as url, DeskReceiver(secret=SECRET) as desk:
        match = re.match(r"(postgresql\+psycopg://[^@]+@)([^:/]+):(\d+)(/.*)", url)
        assert match is not None
        proxy = Proxy(match[2], int(match[3]))
        proxy.up()
        proxied = f"{match[1]}127.0.0.1:{proxy.port}{match[4]}"
        spool = tmp_path / "spool"
        env = {"IVR_DATABASE_URL": proxied, "IVR_TEST_CLOCK": "1", "IVR_SPOOL_DIR": str(spool), **desk_settings(desk)}
        with running_server(tmp_path, **{**env, "IVR_DELIVERY_INTERVAL": "0.1"}) as server:
            proxy.down()
            number = _ticket_call(server.url, "数据库断了")
            assert list(spool.glob("*.json"))
            proxy.up()
            assert desk.wait_accepted(1, timeout=30), "the spooled ticket did not reach the desk"
            desk.wait_received(2, timeout=2)  # a second post would come now if any
        proxy.down()
        assert desk.received == 1 and list(desk.tickets) == [number]
        store = Store(url)
        try:
            assert [(d.channel, d.status) for d in deliveries(store, number)] == [("desk", "delivered")]
        finally:
            store.close()


def test_an_attempt_that_outlived_its_claim_records_nothing(tmp_path: Path) -> None:
    """Host A's claim runs out, host B delivers; A's late failure must not put the delivered ticket back to pending."""
    with DeskReceiver(secret=SECRET) as desk:
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        number = leave_message(hotline)
        outbox = hotline.store.outbox
        (due,) = outbox.due(AFTER_HOURS.replace(year=2030))
        late = outbox.claim(due, datetime.now(UTC), lease=0.0)  # host A: a lease that is over at once
        assert late is not None
        (again,) = outbox.due(datetime.now(UTC) + timedelta(seconds=1))
        fresh = outbox.claim(again, datetime.now(UTC) + timedelta(seconds=1), lease=60)  # host B takes it over
        assert fresh is not None and fresh != late
        assert outbox.delivered((due.id, fresh), datetime.now(UTC), "desk", "200")
        assert not outbox.retry_at((due.id, late), datetime.now(UTC), "desk", "timed out", datetime.now(UTC))
        assert not outbox.dead_letter((due.id, late), datetime.now(UTC), "desk", "gave up")
        (row,) = deliveries(hotline.store, number)
        assert (row.status, row.attempts, row.receipt) == ("delivered", 2, "200")


def test_redeliver_leaves_an_attempt_in_flight_alone(tmp_path: Path) -> None:
    """An operator's redeliver while a sender holds the delivery resets nothing: no second post runs beside the first."""
    with DeskReceiver(secret=SECRET) as desk:
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        number = leave_message(hotline)
        outbox = hotline.store.outbox
        (due,) = outbox.due(datetime.now(UTC))
        token = outbox.claim(due, datetime.now(UTC), lease=60)
        assert token is not None
        assert outbox.redeliver(due.call_id, datetime.now(UTC)) == 0
        assert outbox.claim(deliveries(hotline.store, number)[0], datetime.now(UTC), lease=60) is None
        assert outbox.dead_letter((due.id, token), datetime.now(UTC), "desk", "gave up")
        assert outbox.redeliver(due.call_id, datetime.now(UTC)) == 1  # a dead letter is the operator's to retry
        (row,) = deliveries(hotline.store, number)
        assert (row.status, row.attempts) == ("pending", 0)


def test_a_hanging_desk_does_not_hold_up_the_callers_texts(tmp_path: Path) -> None:
    """Three tickets, a desk that never answers in time: one round tries the desk once and texts all three callers."""
    with DeskReceiver(plan=["timeout"] * 3, secret=SECRET, stall=3.0) as desk, TwilioCloud(auth_token=TOKEN) as cloud:
        settings = {**desk_settings(desk, IVR_DELIVERY_TIMEOUT="1"), **sms_settings(cloud)}
        hotline = make_hotline(tmp_path, **settings)
        hotline.clock.now = AFTER_HOURS
        for i in range(3):
            hotline.call("1", caller=f"+861391234567{i}", voicemail="发票", account_sid=cloud.account_sid)
        started = time.monotonic()
        result = hotline.apps[0].extensions["ivr.voice"].hotline.ticket_sender().round()
        took = time.monotonic() - started
        assert (result.delivered, result.retried) == (3, 1), result
        assert len(cloud.messages) == 3 and desk.received == 1
        assert took < 1.0 + 1.5, took  # one desk timeout, not three


def test_healthz_says_when_a_delivery_waits_past_the_first_response_time(tmp_path: Path) -> None:
    """A desk down for longer than engineers have to answer: degraded long before the delivery is dead-lettered."""
    with DeskReceiver(secret=SECRET) as desk:
        desk.go_down()
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        leave_message(hotline)
        client = hotline.apps[0].test_client()
        assert not any("waited" in p for p in client.get("/healthz").get_json()["problems"])
        with hotline.store.engine.begin() as conn:  # the ticket and its delivery were made half an hour ago
            conn.exec_driver_sql("UPDATE deliveries SET created_at = ?", (datetime.now(UTC) - timedelta(minutes=30),))
        health = client.get("/healthz").get_json()
        assert health["status"] == "degraded" and health["deliveries"]["pending"] == 1
        assert any("waited 30 min, past the 10 min first response" in p for p in health["problems"]), health["problems"]


def test_closing_a_ticket_cancels_what_has_not_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The desk is down; an engineer closes the ticket: its delivery is cancelled, and the desk never gets it afterwards."""
    with DeskReceiver(secret=SECRET) as desk:
        desk.go_down()
        hotline = make_hotline(tmp_path, **desk_settings(desk))
        number = leave_message(hotline)
        db = tmp_path / "hotline.sqlite3"
        assert main(["tickets", "close", number, "--note", "rang back", "--db", str(db)]) == 0
        assert "1 delivery not sent yet cancelled" in capsys.readouterr().out
        (row,) = deliveries(hotline.store, number)
        assert row.status == "cancelled" and hotline.store.outbox.counts()["cancelled"] == 1
        desk.come_up()
        for _ in range(3):
            hotline.apps[0].extensions["ivr.voice"].hotline.ticket_sender().round()
        assert desk.received == 0
