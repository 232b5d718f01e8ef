"""End to end against a real `ivr serve` (gunicorn, several workers) on 127.0.0.1, with signed requests."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.store import Store
from ivr.testing.phone import HttpTransport, PhoneCall
from tests.server import Server, running_server
from tests.webhooks import TOKEN, said, sid


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server forced open with IVR_HOURS_OVERRIDE."""
    with running_server(tmp_path_factory.mktemp("open"), IVR_HOURS_OVERRIDE="open") as server:
        yield server


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server forced closed with IVR_HOURS_OVERRIDE."""
    with running_server(tmp_path_factory.mktemp("closed"), IVR_HOURS_OVERRIDE="closed") as server:
        yield server


def phone(server: Server, **options: object) -> PhoneCall:
    """A Twilio stand-in calling the server over HTTP."""
    return PhoneCall(HttpTransport(server.url), server.url, TOKEN, **options)  # type: ignore[arg-type]


def test_in_hours_transfer(open_server: Server) -> None:
    """Key 1 is dialled to the business queue, over real HTTP to gunicorn workers."""
    call = phone(open_server)
    lines = call.run(["1"])
    assert [line["address"] for line in lines if line["type"] == "transfer"] == ["sip:business@pbx.example.test"]


def test_after_hours_ticket(closed_server: Server) -> None:
    """After hours a message is recorded and becomes a ticket that is stored and read back."""
    call = phone(closed_server, voicemail="控制台打不开")
    lines = call.run(["1"])
    store = Store(closed_server.db_url)
    try:
        ticket = store.tickets.find_by_call(call.call_sid)
        assert ticket is not None
        assert " ".join(ticket.number) in said(lines)
        record = store.calls.load(call.call_sid)
        assert record is not None and record.status == "completed"
    finally:
        store.close()


def test_invalid_keys_and_silence(open_server: Server) -> None:
    """Invalid keys and silence each get their prompt; the third failure reaches an agent."""
    lines = phone(open_server).run(["7", "", "8", "", "5"])
    text = said(lines)
    assert text.count("输入有误") == 3 and text.count("没有收到您的按键") == 2
    assert [line["address"] for line in lines if line["type"] == "transfer"] == ["sip:general@pbx.example.test"]


def test_unsigned_and_wrongly_signed_requests_get_403_and_leave_nothing(closed_server: Server) -> None:
    """Forged requests are refused with 403 and leave neither a call record nor a ticket."""
    data = urllib.parse.urlencode({"CallSid": sid("forged-http"), "From": "+861"}).encode()
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
        request = urllib.request.Request(closed_server.url + "/voice/incoming", data=data, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        info.value.close()  # the error holds the connection open
        assert info.value.code == 403
    forged = PhoneCall(HttpTransport(closed_server.url), closed_server.url, "wrong-token", call_sid=sid("forged-rec"))
    status = forged.transport.post(
        "/voice/record?seq=2", {"CallSid": sid("forged-rec")}, forged.sign("/voice/record?seq=2", {"CallSid": sid("forged-rec")})
    )
    assert status.status == 403
    store = Store(closed_server.db_url)
    try:
        assert store.calls.load(sid("forged-http")) is None
        assert store.tickets.find_by_call(sid("forged-rec")) is None
    finally:
        store.close()


def test_healthz_over_http(open_server: Server) -> None:
    """/healthz answers 200 with the menu version."""
    with urllib.request.urlopen(open_server.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert b'"version"' in response.read()


def test_log_names_no_server_errors(open_server: Server, closed_server: Server) -> None:
    """Calls of every kind this module places (transfer, failures, message, forged request) leave no unhandled exception in either log."""
    # The test places its own calls, so it checks something when run alone or first; the servers are shared
    # with the tests above, so in a whole-module run their calls are checked too.
    phone(open_server).run(["1"])
    phone(open_server).run(["7", "", "8", "", "5"])
    phone(closed_server, voicemail="控制台打不开").run(["1"])
    forged = urllib.request.Request(closed_server.url + "/voice/incoming", data=f"CallSid={sid('forged-log')}".encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(forged, timeout=10)
    info.value.close()
    for server in (open_server, closed_server):
        text = Path(server.log).read_text(errors="replace")
        assert "Traceback" not in text, text[-2000:]
