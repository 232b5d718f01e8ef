"""The `voice` blueprint: Twilio's Voice URL, action URLs, status and fallback callbacks."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, has_request_context, request, send_from_directory

from ivr.engine.events import Entry, Event, RecordingDone, TransferResult
from ivr.testmode import CLOCK_FIELD, LANG_FIELD, TRACE_HEADER
from ivr.web.service import TRACE, VoiceService
from ivr.web.signature import is_signed

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

MAX_FIELD = 256  # no Twilio field we read is longer; anything longer is cut, not trusted
DIGITS = re.compile(r"[0-9*#]*")
ASCII_NUMBER = re.compile(r"[0-9]{1,8}")


def service() -> VoiceService:
    """The app's voice service."""
    svc: VoiceService = current_app.extensions["ivr.voice"]
    return svc


def twiml(body: str) -> Response:
    """A TwiML response (always 200: Twilio must get instructions, never an error page)."""
    return Response(body, status=200, mimetype="text/xml", content_type="text/xml; charset=utf-8")


def field(name: str) -> str:
    """A form field, trimmed and bounded."""
    return (request.form.get(name) or "").strip()[:MAX_FIELD]


def call_sid() -> str:
    """The request's CallSid ('' when missing)."""
    return field("CallSid")


def step_number() -> int | None:
    """The `seq` the action URL carries, or None when missing or garbled."""
    raw = request.args.get("seq", "")
    return int(raw) if ASCII_NUMBER.fullmatch(raw) else None  # str.isdigit() would let '¹' or '１' through


@bp.before_request
def require_signature() -> None:
    """Refuse unsigned or wrongly signed requests before anything is read or written."""
    settings = current_app.config["IVR_SETTINGS"]
    if request.method == "GET" and request.path.startswith(f"{bp.url_prefix}/audio/"):
        return  # Twilio fetches <Play> audio with plain GETs; the files are public prompts
    if not settings.skip_signature_check and not is_signed(request, settings.twilio_auth_token, settings.public_url):
        log.warning("rejected %s %s: missing or invalid X-Twilio-Signature", request.method, request.path)
        abort(403)
    if settings.test_clock:
        g.ivr_trace_token = TRACE.set({"actions": [], "edges": []})


@bp.after_request
def add_trace(response: Response) -> Response:
    """In test mode, tell the QA runner what the engine did (nodes, queues, tickets, transitions)."""
    token = g.pop("ivr_trace_token", None)
    if token is not None:
        trace = TRACE.get()
        TRACE.reset(token)
        if trace is not None and (trace["actions"] or trace["edges"]):
            response.headers[TRACE_HEADER] = json.dumps(trace, ensure_ascii=True, separators=(",", ":"))
    return response


def request_clock(fallback: Callable[[], datetime]) -> Callable[[], datetime]:
    """A clock that takes the call's time from the signed request's IvrTestClock field (test mode)."""

    def now() -> datetime:
        raw = request.form.get(CLOCK_FIELD, "") if has_request_context() else ""
        if raw:
            try:
                at = datetime.fromisoformat(raw)
            except ValueError:
                at = None
            if at is not None and at.tzinfo is not None:
                return at
            log.warning("ignoring a malformed %s=%r", CLOCK_FIELD, raw[:40])
        return fallback()

    return now


def _step(event: Event) -> Response:
    sid = call_sid()
    if not sid:
        return twiml(service().fallback())
    return twiml(service().step(sid, step_number(), event))


@bp.get("/audio/<path:name>")
def audio(name: str) -> Response:
    """A rendered prompt for <Play> (only files the manifest lists)."""
    svc = service()
    folder = Path(svc.settings.audio_dir).resolve()
    if not name.endswith(".wav") or ".." in name.split("/"):
        abort(404)
    return send_from_directory(folder, name, mimetype="audio/wav", max_age=3600)


@bp.post("/incoming")
def incoming() -> Response:
    """The number's Voice URL: a call starts."""
    sid = call_sid()
    if not sid:
        return twiml(service().fallback())
    settings = current_app.config["IVR_SETTINGS"]
    lang = field(LANG_FIELD) or None if settings.test_clock else None
    return twiml(service().start(sid, field("From"), field("To"), lang))


@bp.post("/gather")
def gather() -> Response:
    """Keys from a Gather, or the Redirect after it when the caller was silent."""
    if request.args.get("silence"):
        return _step(Entry(""))
    digits = field("Digits")
    # Letters or other junk are passed on as they are: the engine treats them as an invalid entry.
    return _step(Entry(digits if DIGITS.fullmatch(digits) else digits[:64]))


@bp.post("/record")
def record() -> Response:
    """A finished recording (or the Redirect after a Record that heard nothing)."""
    if request.args.get("empty"):
        return _step(RecordingDone())
    return _step(RecordingDone(text=field("TranscriptionText"), url=field("RecordingUrl")))


@bp.post("/dial")
def dial() -> Response:
    """How a transfer ended."""
    return _step(TransferResult(field("DialCallStatus") or "failed"))


@bp.post("/status")
def status() -> Response:
    """Twilio's call status callback: a finished call closes its record with its duration."""
    sid = call_sid()
    state = field("CallStatus")
    duration = field("CallDuration")
    if sid and state in ("completed", "busy", "failed", "no-answer", "canceled"):
        service().finish(sid, state, int(duration) if ASCII_NUMBER.fullmatch(duration) else None)
    return Response("", status=204)


@bp.post("/fallback")
def fallback() -> Response:
    """The number's Fallback URL: the main path failed; apologise and offer a ticket."""
    log.error("fallback URL called for call %s (ErrorCode %s)", call_sid() or "?", field("ErrorCode") or "-")
    return twiml(service().fallback())


@bp.post("/fallback/recorded")
def fallback_recorded() -> Response:
    """The message left on the fallback path becomes a ticket whose number is read back."""
    url = "" if request.args.get("empty") else field("RecordingUrl")
    return twiml(service().fallback_ticket(call_sid() or "unknown", field("From"), url))
