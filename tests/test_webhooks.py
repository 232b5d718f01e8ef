"""The Twilio webhooks, driven in process by a Twilio stand-in that signs requests and follows TwiML."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.errors import ConfigError
from ivr.testing.phone import FlaskTransport, PhoneCall, Reply, TwilioError
from tests.conftest import AFTER_HOURS
from tests.webhooks import PUBLIC_URL, TOKEN, Hotline, make_hotline, said, sid


@pytest.fixture
def hotline(tmp_path: Path, database_url: str) -> Hotline:
    """One app on a fresh database (SQLite, and PostgreSQL when reachable)."""
    return make_hotline(tmp_path, IVR_DATABASE_URL=database_url)


def signed_post(hotline: Hotline, path: str, form: dict[str, str], token: str = TOKEN) -> TestResponse:
    """A raw POST signed with `token` for the public URL."""
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, form)
    return hotline.apps[0].test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})


class TestCallPaths:
    """Whole calls through the webhooks."""

    def test_in_hours_key_1_dials_the_business_queue(self, hotline: Hotline) -> None:
        """Key 1 in hours answers a <Dial> to the business queue's address, then hangs up when the agent is done."""
        call = hotline.call("1")
        transfers = [line for line in call.lines if line["type"] == "transfer"]
        assert transfers == [{"type": "transfer", "address": "sip:business@pbx.example.test"}]
        assert call.lines[-1] == {"type": "hangup", "reason": "hangup"}

    def test_after_hours_message_becomes_a_ticket(self, hotline: Hotline) -> None:
        """After hours, 1 records a message; the recording becomes a ticket whose number is read digit by digit."""
        hotline.clock.now = AFTER_HOURS
        call = hotline.call("1", voicemail="服务器无法登录", caller="+8613911112222")
        tickets = hotline.store.tickets.list_tickets()
        assert len(tickets) == 1
        ticket = tickets[0]
        assert ticket.call_id == call.call_sid and ticket.caller == "+8613911112222"
        assert ticket.description.startswith("https://api.twilio.com/")
        assert " ".join(ticket.number) in said(call.lines)

    def test_after_hours_silent_recording_still_makes_a_callback_ticket(self, hotline: Hotline) -> None:
        """A caller who records nothing still gets a ticket: Twilio skips the action, the Redirect reports it."""
        hotline.clock.now = AFTER_HOURS
        call = hotline.call("1")
        ticket = hotline.store.tickets.find_by_call(call.call_sid)
        assert ticket is not None and "callback requested" in ticket.description

    def test_invalid_keys_end_in_general_queue(self, hotline: Hotline) -> None:
        """Three invalid keys in hours: three apologies, then a transfer to the general queue."""
        call = hotline.call("7 8 5")
        assert said(call.lines).count("输入有误") == 3
        assert [line["address"] for line in call.lines if line["type"] == "transfer"] == ["sip:general@pbx.example.test"]

    def test_silence_goes_through_the_redirect(self, hotline: Hotline) -> None:
        """Silence falls through the Gather to the Redirect, which counts as no input; three end with an agent."""
        call = hotline.call("- - -")
        assert said(call.lines).count("没有收到您的按键") == 3
        assert any(line["type"] == "transfer" for line in call.lines)

    def test_unanswered_transfer_becomes_a_callback_ticket(self, hotline: Hotline) -> None:
        """A Dial that ends no-answer reaches the engine, which asks the caller; 1 (call back) makes the ticket."""
        call = hotline.call("0 1", transfer_result="no-answer")
        ticket = hotline.store.tickets.find_by_call(call.call_sid)
        assert ticket is not None and ticket.category == "callback"
        assert " ".join(ticket.number) in said(call.lines)

    def test_queue_without_address_takes_the_failure_path_at_once(self, tmp_path: Path) -> None:
        """A queue with no number or SIP address is treated as a failed transfer, not dialled."""
        hotline = make_hotline(tmp_path, IVR_QUEUE_BUSINESS="")
        call = hotline.call("1 1")
        assert not [line for line in call.lines if line["type"] == "transfer"]
        assert hotline.store.tickets.find_by_call(call.call_sid) is not None

    def test_order_lookup_over_the_phone(self, hotline: Hotline) -> None:
        """An order number ended with # is gathered with finishOnKey and its status read back."""
        call = hotline.call("2 202611280001#")
        assert "已支付，云服务器资源已开通" in said(call.lines)

    def test_status_callback_closes_the_call_record(self, hotline: Hotline) -> None:
        """The completed status callback stores the end status and duration of the call."""
        call = hotline.call("1")
        record = hotline.store.calls.load(call.call_sid)
        assert record is not None and record.status == "completed" and record.duration == 10 + call.requests - 0
        assert record.ended_at is not None


class TestTwiml:
    """The documents themselves."""

    def test_every_gather_has_an_action_and_nested_prompts(self, hotline: Hotline) -> None:
        """No <Gather> lacks an action; prompts sit inside it (barge-in) and a <Redirect> follows it."""
        call = hotline.call("4 3 1 1 # 2 202611280001# 0 -")
        gathers = 0
        for body in call.responses:
            root = ET.fromstring(body.encode())
            verbs = list(root)
            for i, verb in enumerate(verbs):
                if verb.tag == "Gather":
                    gathers += 1
                    assert verb.get("action", "").startswith("/voice/gather?seq=")
                    assert verb.get("input") in ("dtmf", "dtmf speech") and [c.tag for c in verb] and all(c.tag == "Say" for c in verb)
                    assert verbs[i + 1].tag == "Redirect"
        assert gathers >= 4

    def test_chinese_is_utf8_with_the_configured_voices(self, hotline: Hotline) -> None:
        """Chinese prompts travel as UTF-8 with Polly.Zhiyu/cmn-CN; English uses an English Polly voice."""
        response = signed_post(hotline, "/voice/incoming", {"CallSid": sid("utf8"), "From": "+861"})
        assert response.headers["Content-Type"].startswith("text/xml") and "charset=utf-8" in response.headers["Content-Type"]
        body = response.get_data()
        assert "您好，欢迎致电".encode() in body
        say = ET.fromstring(body).find(".//Say")
        assert say is not None and (say.get("voice"), say.get("language")) == ("Polly.Zhiyu", "cmn-CN")
        english = hotline.call("9").lines
        switched = next(i for i, line in enumerate(english) if line["type"] == "input")
        voices = {(line["voice"], line["lang"]) for line in english[switched:] if line["type"] == "say"}
        assert voices == {("Polly.Joanna", "en-US")}


class TestSecurity:
    """Signatures, limits and the switch for local development."""

    def test_unsigned_request_is_refused_and_records_nothing(self, hotline: Hotline) -> None:
        """A request without X-Twilio-Signature gets 403 and leaves no call record."""
        response = hotline.apps[0].test_client().post("/voice/incoming", data={"CallSid": sid("forged"), "From": "+861"})
        assert response.status_code == 403
        assert hotline.store.calls.load(sid("forged")) is None

    def test_wrongly_signed_recording_creates_no_ticket(self, hotline: Hotline) -> None:
        """A recording callback signed with the wrong token is refused: no ticket, no call record."""
        hotline.clock.now = AFTER_HOURS
        response = signed_post(hotline, "/voice/record?seq=2", {"CallSid": sid("evil"), "RecordingUrl": "x"}, token="wrong")
        assert response.status_code == 403
        assert hotline.store.tickets.list_tickets() == [] and hotline.store.calls.count() == 0

    def test_signature_covers_the_parameters(self, hotline: Hotline) -> None:
        """A valid signature for other parameters does not pass (tampered Digits)."""
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", {"CallSid": sid("1")})
        response = (
            hotline.apps[0]
            .test_client()
            .post("/voice/incoming", data={"CallSid": sid("1"), "From": "+86evil"}, headers={"X-Twilio-Signature": signature})
        )
        assert response.status_code == 403

    def test_url_is_rebuilt_from_the_public_url(self, hotline: Hotline) -> None:
        """Behind a proxy the request arrives at localhost, yet the signature for the public URL is accepted."""
        form = {"CallSid": sid("proxy"), "From": "+861"}
        signature = RequestValidator(TOKEN).compute_signature("http://localhost/voice/incoming", form)
        refused = hotline.apps[0].test_client().post("/voice/incoming", data=form, headers={"X-Twilio-Signature": signature})
        assert refused.status_code == 403
        assert signed_post(hotline, "/voice/incoming", form).status_code == 200

    def test_without_public_url_the_app_does_not_start(self, tmp_path: Path) -> None:
        """With IVR_PUBLIC_URL unset the app refuses to start: the Host a request names is no evidence of what Twilio called."""
        with pytest.raises(ConfigError, match="IVR_PUBLIC_URL is not set"):
            make_hotline(tmp_path, IVR_PUBLIC_URL="")

    def test_oversized_body_is_refused(self, hotline: Hotline) -> None:
        """A body over the size limit is refused before it is parsed."""
        response = signed_post(hotline, "/voice/incoming", {"CallSid": sid("big"), "Junk": "x" * 100_000})
        assert response.status_code == 413
        assert hotline.store.calls.load(sid("big")) is None

    def test_missing_token_refuses_to_start(self, tmp_path: Path) -> None:
        """Without TWILIO_AUTH_TOKEN (and without the development switch) the app does not start."""
        with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
            make_hotline(tmp_path, TWILIO_AUTH_TOKEN="")

    def test_development_switch_warns_and_accepts_unsigned(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """IVR_SKIP_SIGNATURE_CHECK=1 is loud at start and lets unsigned requests through."""
        hotline = make_hotline(tmp_path, TWILIO_AUTH_TOKEN="", IVR_SKIP_SIGNATURE_CHECK="1")
        assert "NOT checked" in capsys.readouterr().err
        response = hotline.apps[0].test_client().post("/voice/incoming", data={"CallSid": sid("dev"), "From": "+861"})
        assert response.status_code == 200


class TestBadInput:
    """Whatever arrives, Twilio gets valid TwiML, never a 500."""

    @pytest.mark.parametrize(
        ("path", "form"),
        [
            ("/voice/gather?seq=1", {"CallSid": sid("nobody"), "Digits": "1"}),
            ("/voice/gather", {"CallSid": sid("nobody")}),
            ("/voice/record?seq=x", {"CallSid": sid("nobody")}),
            ("/voice/dial?seq=99999999999999", {"CallSid": sid("nobody"), "DialCallStatus": "weird"}),
            ("/voice/fallback", {"CallSid": sid("nobody"), "ErrorCode": "11200"}),
        ],
    )
    def test_unknown_calls_and_missing_fields_get_an_apology(self, hotline: Hotline, path: str, form: dict[str, str]) -> None:
        """Unknown calls, missing fields and garbled step numbers are answered with spoken TwiML (no CallSid at all: 403)."""
        response = signed_post(hotline, path, form)
        assert response.status_code == 200
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response" and root.find("Say") is not None

    @pytest.mark.parametrize("digits", ["abc", "1" * 500, "１", "<Say>hi</Say>", "", "#*#*"])
    def test_odd_digits_take_the_invalid_input_path(self, hotline: Hotline, digits: str) -> None:
        """Letters, overlong or odd Digits never break the call: the caller hears the menu again or moves on."""
        start = signed_post(hotline, "/voice/incoming", {"CallSid": sid("odd"), "From": "+861"})
        assert start.status_code == 200
        response = signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("odd"), "Digits": digits})
        assert response.status_code == 200
        assert ET.fromstring(response.get_data()).tag == "Response"

    def test_internal_failure_is_logged_and_still_answered(self, hotline: Hotline, caplog: pytest.LogCaptureFixture) -> None:
        """An exception inside a webhook is logged with the CallSid and answered with an apology and a ticket offer."""
        signed_post(hotline, "/voice/incoming", {"CallSid": sid("boom"), "From": "+861"})
        service = hotline.apps[0].extensions["ivr.voice"]

        def explode(*args: object) -> None:
            raise RuntimeError("disk on fire")

        service.engine.handle = explode
        with caplog.at_level(logging.ERROR):
            response = signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("boom"), "Digits": "1"})
        assert response.status_code == 200
        root = ET.fromstring(response.get_data())
        assert root.find("Say") is not None and root.find("Record") is not None
        assert any(sid("boom") in record.getMessage() for record in caplog.records)

    def test_fallback_message_becomes_a_ticket(self, hotline: Hotline) -> None:
        """The Fallback URL's recording becomes a ticket whose number is read back."""
        form = {"CallSid": sid("fallback"), "From": "+8613500000000", "RecordingUrl": "https://api.twilio.com/r/RE1"}
        response = signed_post(hotline, "/voice/fallback/recorded", form)
        ticket = hotline.store.tickets.find_by_call(sid("fallback"))
        assert ticket is not None and ticket.category == "fallback" and ticket.description.endswith("RE1")
        assert " ".join(ticket.number) in response.get_data(as_text=True)


class TestIdempotency:
    """Twilio may deliver a request twice."""

    def test_replayed_gather_does_not_advance_twice(self, hotline: Hotline) -> None:
        """The same gather request twice gets the same answer, and the call moved one step."""
        signed_post(hotline, "/voice/incoming", {"CallSid": sid("rep"), "From": "+861"})
        first = signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("rep"), "Digits": "3"})
        second = signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("rep"), "Digits": "3"})
        assert first.get_data() == second.get_data()
        record = hotline.store.calls.load(sid("rep"))
        assert record is not None and record.seq == 2 and record.snapshot.node == "account"

    def test_repeated_recording_callback_makes_one_ticket(self, hotline: Hotline) -> None:
        """A recording callback delivered twice creates one ticket and reads the same number both times."""
        hotline.clock.now = AFTER_HOURS
        signed_post(hotline, "/voice/incoming", {"CallSid": sid("rec"), "From": "+861"})
        signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("rec"), "Digits": "1"})
        form = {"CallSid": sid("rec"), "RecordingUrl": "https://api.twilio.com/r/RE2", "RecordingDuration": "5"}
        first = signed_post(hotline, "/voice/record?seq=2", form)
        second = signed_post(hotline, "/voice/record?seq=2", form)
        assert first.get_data() == second.get_data()
        assert len(hotline.store.tickets.list_tickets()) == 1

    def test_repeated_incoming_does_not_restart_the_call(self, hotline: Hotline) -> None:
        """A second /incoming for a call in progress repeats the first answer and keeps its state."""
        signed_post(hotline, "/voice/incoming", {"CallSid": sid("twice"), "From": "+861"})
        signed_post(hotline, "/voice/gather?seq=1", {"CallSid": sid("twice"), "Digits": "3"})
        signed_post(hotline, "/voice/incoming", {"CallSid": sid("twice"), "From": "+861"})
        record = hotline.store.calls.load(sid("twice"))
        assert record is not None and record.snapshot.node == "account"


class Alternating:
    """Sends each request of a call to the next of several app instances in turn."""

    def __init__(self, apps: list[object]) -> None:
        self.transports = [FlaskTransport(app) for app in apps]
        self.sent = [0] * len(apps)
        self.turn = 0

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """Send to the next instance."""
        i = self.turn % len(self.transports)
        self.turn += 1
        self.sent[i] += 1
        return self.transports[i].post(path, form, headers)


def test_two_instances_serve_one_call_alternately(tmp_path: Path, database_url: str) -> None:
    """Two app instances sharing one database serve alternating requests of one call correctly."""
    hotline = make_hotline(tmp_path, instances=2, IVR_DATABASE_URL=database_url)
    hotline.clock.now = AFTER_HOURS
    transport = Alternating(list(hotline.apps))
    call = hotline.call("* 2 4 # # 1", transport=transport, voicemail="发票问题")
    assert min(transport.sent) >= 3
    assert "火山引擎技术、产品、解决方案使用咨询" in said(call.lines)
    assert len(hotline.store.tickets.list_tickets()) == 1


def test_healthz_reports_menu_and_database(hotline: Hotline) -> None:
    """/healthz says ok with the menu's id and version when the database answers."""
    response = hotline.apps[0].test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["menu"]["id"] == "volcengine-aftersales" and body["database"] == "ok"


def test_twilio_error_is_raised_on_a_non_twiml_answer(hotline: Hotline) -> None:
    """The Twilio stand-in fails loudly when an answer would make Twilio say 'application error'."""
    call = PhoneCall(FlaskTransport(hotline.apps[0]), PUBLIC_URL, "not-the-token")
    with pytest.raises(TwilioError, match="403"):
        call.run(["1"])


def test_no_answer_ever_has_a_500(hotline: Hotline) -> None:
    """A long call through many branches never receives anything but 200 TwiML."""
    call = hotline.call("7 - 4 1 2 3 2 1 # # # 3 1 * # # 2 1# 202611280001# * #")
    assert call.requests > 15
    assert re.search(r"<Response", call.responses[-1])
