"""Twilio's side of the wire: the one place that reads what Twilio posts to a voice webhook.

Every field is trimmed and bounded; numbers are ASCII digits only (str.isdigit() would let a
superscript or full-width digit through). An odd value becomes "nothing there", never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from flask import Request

from ivr.engine.events import Entry, RecordingDone, TransferResult
from ivr.hotline import CLOCK_FIELD, LANG_FIELD, YEARS

__all__ = ["MAX_FIELD", "VoiceRequest", "parse"]

MAX_FIELD = 256  # no Twilio field we read is longer; anything longer is cut, not trusted
DIGITS = re.compile(r"[0-9*#]*")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # never in a real Twilio field; a NUL cannot even be stored
ASCII_NUMBER = re.compile(r"[0-9]{1,8}")
FINISHED_STATES = ("completed", "busy", "failed", "no-answer", "canceled")


class VoiceRequest:
    """What one webhook request says, by Twilio's names; each field is read when asked for (a view needs a few)."""

    __slots__ = ("_args", "_form")

    def __init__(self, form: Mapping[str, str], args: Mapping[str, str]) -> None:
        self._form = form
        self._args = args

    def field(self, name: str) -> str:
        """A posted field, trimmed and bounded ('' when missing)."""
        return CONTROL.sub("", (self._form.get(name) or "")).strip()[:MAX_FIELD]

    @property
    def call_sid(self) -> str:
        """CallSid."""
        return self.field("CallSid")

    @property
    def caller(self) -> str:
        """From: the caller's number."""
        return self.field("From")

    @property
    def called(self) -> str:
        """To: the number called."""
        return self.field("To")

    @property
    def digits(self) -> str:
        """Digits of a Gather (or the key that ended a Record)."""
        return self.field("Digits")

    @property
    def recording_url(self) -> str:
        """RecordingUrl: where Twilio keeps a message."""
        return self.field("RecordingUrl")

    @property
    def recording_seconds(self) -> int | None:
        """RecordingDuration."""
        return _number(self.field("RecordingDuration"))

    @property
    def dial_status(self) -> str:
        """DialCallStatus: how a Dial ended."""
        return self.field("DialCallStatus")

    @property
    def call_status(self) -> str:
        """CallStatus."""
        return self.field("CallStatus")

    @property
    def call_duration(self) -> int | None:
        """CallDuration, in seconds."""
        return _number(self.field("CallDuration"))

    @property
    def error_code(self) -> str:
        """ErrorCode, on the Fallback URL."""
        return self.field("ErrorCode")

    @property
    def seq(self) -> int | None:
        """The step number the action URL carries."""
        return _number(self._args.get("seq", ""))

    @property
    def silence(self) -> bool:
        """The Redirect after a Gather that heard nothing."""
        return bool(self._args.get("silence"))

    @property
    def empty(self) -> bool:
        """The Redirect after a Record that heard nothing."""
        return bool(self._args.get("empty"))

    @property
    def test_clock(self) -> str:
        """Test mode only: the call's time (a signed field)."""
        return self.field(CLOCK_FIELD)

    @property
    def test_lang(self) -> str:
        """Test mode only: the call's first language (a signed field)."""
        return self.field(LANG_FIELD)

    def entry(self) -> Entry:
        """The caller's keys; letters or other junk are passed on as they are, for the engine to call invalid."""
        if self.silence:
            return Entry("")
        digits = self.digits
        return Entry(digits if DIGITS.fullmatch(digits) else digits[:64])

    def recording(self) -> RecordingDone:
        """A finished message: where Twilio keeps the audio, how long it is and how it ended (the key, or 'hangup').

        Transcripts come only to a transcribeCallback, if at all, never here.
        """
        if self.empty:
            return RecordingDone()
        return RecordingDone(url=self.recording_url, seconds=self.recording_seconds, ended_by=self.digits)

    def transfer_result(self) -> TransferResult:
        """How a Dial ended."""
        return TransferResult(self.dial_status or "failed")

    @property
    def finished(self) -> bool:
        """Whether a status callback reports the call over."""
        return self.call_status in FINISHED_STATES

    def test_time(self) -> datetime | None:
        """The call's time from the signed test field, if it is a time with an offset."""
        raw = self.test_clock
        try:
            at = datetime.fromisoformat(raw) if raw else None
        except ValueError:
            return None
        return at if at is not None and at.tzinfo is not None and at.year in YEARS else None


def _number(text: str) -> int | None:
    return int(text) if ASCII_NUMBER.fullmatch(text) else None


def parse(request: Request) -> VoiceRequest:
    """Read a webhook request (form fields of a POST, flags of the action URL)."""
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    return VoiceRequest(form, request.args)
