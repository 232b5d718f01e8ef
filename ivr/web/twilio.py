"""Twilio's side of the wire: the one place that reads what Twilio posts to a voice webhook.

Every field is trimmed and bounded; numbers are ASCII digits only (str.isdigit() would let a
superscript or full-width digit through). An odd value becomes "nothing there", never an exception.

Twilio's signature does not fix where one parameter ends and the next begins (names and values are
signed run together), nor the order of a repeated key. So before anything is read, `refusal` checks
that a request has the shape Twilio gives every voice webhook: a form of distinct alphanumeric
names, a CallSid of Twilio's form (a captured request cannot be re-split into another call's), and
the account's AccountSid when one is configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import unquote_plus

from flask import Request

from ivr.engine.events import Entry, RecordingDone, Speech, TransferResult
from ivr.hotline import CLOCK_FIELD, LANG_FIELD, YEARS

__all__ = ["ACCOUNT_SID", "CALL_SID", "FORM", "MAX_FIELD", "PARAMETER_NAME", "VoiceRequest", "parse", "refusal"]

MAX_FIELD = 256  # no Twilio field we read is longer; anything longer is cut, not trusted
DIGITS = re.compile(r"[0-9*#]*")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: never in a field we read; a NUL cannot even be stored
FORM = "application/x-www-form-urlencoded"  # how Twilio posts every voice webhook
# Twilio's published pattern for its SIDs takes either case of hex (it issues lowercase); the signature binds the exact text.
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Twilio's names (CallSid, RecordingUrl, ...; ours, IvrTestClock, too), and the X- headers of a SIP call (SipHeader_<name>)
# or of the final response to a <Dial><Sip> (DialSipHeader_<name>), whose <name> is a SIP token.
PARAMETER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}|(?:Dial)?SipHeader_[A-Za-z0-9.!%*_+`'~-]{1,64}")
SHOWN = 40  # characters of a refused value that a log line shows, escaped
ASCII_NUMBER = re.compile(r"[0-9]{1,8}")
CONFIDENCE = re.compile(r"[01](\.[0-9]+)?|\.[0-9]+")
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

    @property
    def speech_result(self) -> str:
        """SpeechResult: what the recogniser heard the caller say ('' when they pressed keys)."""
        return self.field("SpeechResult")

    @property
    def confidence(self) -> float | None:
        """Confidence of the speech result, 0-1; None when Twilio sent none (it is optional) or sent something odd."""
        text = self.field("Confidence")
        try:
            value = float(text) if CONFIDENCE.fullmatch(text) else None
        except ValueError:
            return None
        return value if value is not None and 0.0 <= value <= 1.0 else None

    def entry(self) -> Entry | Speech:
        """The caller's keys, or what they said; letters or other junk are passed on as they are, for the engine to call invalid."""
        if self.silence:
            return Entry("")
        if self.speech_result and not self.digits:
            return Speech(self.speech_result, self.confidence)
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
    form = request.form if request.mimetype == FORM else {}
    return VoiceRequest(form, request.args)


def refusal(body: bytes, mimetype: str, form: Mapping[str, str], account_sid: str = "") -> str | None:
    """Why a webhook request is not shaped as Twilio sends one, or None when it is.

    `body` is the raw request body and `form` the parameters parsed from it (a MultiDict: repeated
    keys keep every value). `account_sid`, when set, is the only AccountSid accepted.
    """
    if mimetype != FORM:
        return f"the body is not a form (Content-Type {_shown(mimetype or 'missing')})"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    names = [unquote_plus(pair.partition("=")[0]) for pair in text.split("&")] if text else []
    seen: set[str] = set()
    for name in names:
        if not PARAMETER_NAME.fullmatch(name):
            return f"parameter name {_shown(name)} is not one Twilio sends (a letter, then letters or digits, at most 64)"
        if name in seen:
            return f"parameter {name} is repeated"
        seen.add(name)
    getlist = getattr(form, "getlist", None)
    if set(form) != seen or (getlist is not None and any(len(getlist(name)) > 1 for name in form)):
        return "the parsed form does not match the body"  # a parser that reads the body otherwise than we do
    early = _before_call_sid(form)
    if early:
        return early
    call_sid = form.get("CallSid")
    if call_sid is None:
        return "no CallSid"
    if not CALL_SID.fullmatch(call_sid):
        return f"CallSid {_shown(call_sid)} is not CA and 32 hex digits"
    given = form.get("AccountSid")
    if given is not None and not ACCOUNT_SID.fullmatch(given):
        return f"AccountSid {_shown(given)} is not AC and 32 hex digits"
    if account_sid and (given is None or given.lower() != account_sid.lower()):
        return "no AccountSid" if given is None else f"AccountSid {given} is not this account's (TWILIO_ACCOUNT_SID)"
    return None


# Names sort before "CallSid" in the signed text. The signature cannot tell where one name ends and its value
# begins, so a name of the attacker's choosing there could swallow the real CallSid and let a later value (a
# SIP caller's From, say) become a CallSid. Only these names, each with a value of fixed shape, may come first.
API_VERSION = "2010-04-01"
ANSWERED_BY = frozenset({"human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax", "unknown"})


def _before_call_sid(form: Mapping[str, str]) -> str | None:
    """Why a parameter that sorts before CallSid could move where CallSid begins, or None."""
    for name, value in form.items():
        if name >= "CallSid":
            continue
        if name == "AccountSid":
            continue  # checked as AC + 32 hex below
        if name == "ApiVersion" and value == API_VERSION:
            continue
        if name == "ApplicationSid" and re.fullmatch(r"AP[0-9a-fA-F]{32}", value):
            continue
        if name == "CallDuration" and not re.search("[A-Za-z]", value):
            continue  # a value that holds no letters cannot hold the next name (an odd one is read as nothing)
        if name == "AnsweredBy" and value in ANSWERED_BY:
            continue
        if name == "AddOns" and _is_json(value):
            continue
        return f"parameter {_shown(name)} with value {_shown(value)} is not what Twilio sends before CallSid"
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    """An untrusted value for a log line: escaped to printable ASCII and bounded."""
    return ascii(text[:SHOWN]) + ("..." if len(text) > SHOWN else "")
