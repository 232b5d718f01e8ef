"""Twilio's side of the wire: the one place that reads what Twilio posts to a voice webhook.

Every field is trimmed and bounded; numbers are ASCII digits only (str.isdigit() would let a
superscript or full-width digit through). An odd value becomes "nothing there", never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import Request

from ivr.engine.events import Entry, RecordingDone, TransferResult
from ivr.hotline import CLOCK_FIELD, LANG_FIELD

__all__ = ["MAX_FIELD", "VoiceRequest", "parse"]

MAX_FIELD = 256  # no Twilio field we read is longer; anything longer is cut, not trusted
DIGITS = re.compile(r"[0-9*#]*")
ASCII_NUMBER = re.compile(r"[0-9]{1,8}")
FINISHED_STATES = ("completed", "busy", "failed", "no-answer", "canceled")


@dataclass(frozen=True)
class VoiceRequest:
    """What one webhook request says, by Twilio's names."""

    call_sid: str
    caller: str  # From
    called: str  # To
    digits: str  # Digits of a Gather (or the key that ended a Record)
    recording_url: str
    recording_seconds: int | None
    dial_status: str  # DialCallStatus
    call_status: str  # CallStatus
    call_duration: int | None
    error_code: str
    seq: int | None  # the step number the action URL carries
    silence: bool  # the Redirect after a Gather that heard nothing
    empty: bool  # the Redirect after a Record that heard nothing
    test_clock: str  # test mode only: the call's time (signed)
    test_lang: str  # test mode only: the call's first language (signed)

    def entry(self) -> Entry:
        """The caller's keys; letters or other junk are passed on as they are, for the engine to call invalid."""
        if self.silence:
            return Entry("")
        return Entry(self.digits if DIGITS.fullmatch(self.digits) else self.digits[:64])

    def recording(self) -> RecordingDone:
        """A finished message: where Twilio keeps the audio and how long it is (transcripts come elsewhere, if at all)."""
        if self.empty:
            return RecordingDone()
        return RecordingDone(url=self.recording_url, seconds=self.recording_seconds)

    def transfer_result(self) -> TransferResult:
        """How a Dial ended."""
        return TransferResult(self.dial_status or "failed")

    @property
    def finished(self) -> bool:
        """Whether a status callback reports the call over."""
        return self.call_status in FINISHED_STATES

    def test_time(self) -> datetime | None:
        """The call's time from the signed test field, if it is a time with an offset."""
        try:
            at = datetime.fromisoformat(self.test_clock) if self.test_clock else None
        except ValueError:
            return None
        return at if at is not None and at.tzinfo is not None else None


def _number(text: str) -> int | None:
    return int(text) if ASCII_NUMBER.fullmatch(text) else None


def parse(request: Request) -> VoiceRequest:
    """Read a webhook request (form fields of a POST, flags of the action URL)."""
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}

    def field(name: str) -> str:
        return (form.get(name) or "").strip()[:MAX_FIELD]

    return VoiceRequest(
        call_sid=field("CallSid"),
        caller=field("From"),
        called=field("To"),
        digits=field("Digits"),
        recording_url=field("RecordingUrl"),
        recording_seconds=_number(field("RecordingDuration")),
        dial_status=field("DialCallStatus"),
        call_status=field("CallStatus"),
        call_duration=_number(field("CallDuration")),
        error_code=field("ErrorCode"),
        seq=_number(request.args.get("seq", "")),
        silence=bool(request.args.get("silence")),
        empty=bool(request.args.get("empty")),
        test_clock=field(CLOCK_FIELD),
        test_lang=field(LANG_FIELD),
    )
