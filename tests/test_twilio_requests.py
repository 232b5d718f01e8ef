"""What Twilio posts is read in one place (ivr/web/twilio.py), by Twilio's names, and nothing else is trusted."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from flask import Flask
from twilio.request_validator import RequestValidator

from ivr.web.twilio import VoiceRequest, parse
from tests.conftest import AFTER_HOURS
from tests.webhooks import PUBLIC_URL, TOKEN, make_hotline

SID = "CA" + "1" * 32


def _parsed(query: str = "", **form: str) -> VoiceRequest:
    app = Flask(__name__)
    with app.test_request_context(f"/voice/record{query}", method="POST", data=form):
        from flask import request

        return parse(request)


def test_record_action_reads_what_twilio_posts_there() -> None:
    """At a Record action Twilio posts RecordingUrl, RecordingDuration and Digits; they become the recording event."""
    req = _parsed("?seq=3", CallSid=SID, RecordingUrl="https://api.twilio.com/RE1", RecordingDuration="7", Digits="#")
    event = req.recording()
    assert (event.url, event.seconds, event.text) == ("https://api.twilio.com/RE1", 7, "")
    assert req.seq == 3


def test_a_transcript_is_not_read_at_the_record_action() -> None:
    """Transcripts only ever arrive at a transcribeCallback: a TranscriptionText posted with the recording is ignored."""
    event = _parsed("?seq=3", CallSid=SID, RecordingUrl="https://api.twilio.com/RE1", TranscriptionText="not Twilio's").recording()
    assert event.text == "" and event.url == "https://api.twilio.com/RE1"


def test_odd_numbers_and_long_fields_are_bounded() -> None:
    """A non-ASCII digit is no number and a huge field is cut, instead of failing the request."""
    req = _parsed("?seq=%C2%B9", CallSid=SID, RecordingDuration="\u0661\u0662", From="x" * 10_000)
    assert req.seq is None and req.recording_seconds is None and len(req.caller) == 256


def test_the_ticket_of_a_message_is_the_recording_twilio_reports(tmp_path: Path) -> None:
    """After hours, the ticket of a message recorded over the webhooks describes it by its recording URL, whatever else is posted."""
    hotline = make_hotline(tmp_path)
    hotline.clock.now = AFTER_HOURS
    client = hotline.apps[0].test_client()

    def post(path: str, **form: str) -> ET.Element:
        fields = {"CallSid": SID, "From": "+8613911112222", **form}
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, fields)
        response = client.post(path, data=fields, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        return ET.fromstring(response.get_data())

    post("/voice/incoming")
    record = post("/voice/gather?seq=1", Digits="1").find("Record")
    assert record is not None
    post(record.get("action", ""), RecordingUrl="https://api.twilio.com/RE9", RecordingDuration="12", Digits="#", TranscriptionText="x")
    ticket = hotline.store.tickets.find_by_call(SID)
    assert ticket is not None and ticket.category == "voicemail" and ticket.description == "https://api.twilio.com/RE9"
    snapshot = hotline.store.calls.load(SID)
    assert snapshot is not None and snapshot.snapshot.values["recording_seconds"] == "12"


def test_control_characters_never_reach_the_call() -> None:
    """A NUL or other control character in a Twilio field is dropped (PostgreSQL could not even store it)."""
    req = _parsed("?seq=1", CallSid=SID, From="+86\x00139\x1b[0m", RecordingUrl="https://r/\x00x")
    assert req.caller == "+86139[0m" and req.recording_url == "https://r/x"


def test_a_recording_ended_by_hanging_up_says_so() -> None:
    """Digits=hangup at a Record action means the caller hung up while recording: the event carries it."""
    event = _parsed("?seq=3", CallSid=SID, RecordingUrl="https://api.twilio.com/RE1", Digits="hangup").recording()
    assert event.ended_by == "hangup"
