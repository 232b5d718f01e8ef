"""The `voice` blueprint: Twilio's Voice URL, action URLs, status and fallback callbacks. Views are thin:
parse the request (twilio.py), call the service, answer its TwiML.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from pathlib import Path

from flask import Blueprint, Request, Response, abort, current_app, g, request, send_from_directory
from flask.blueprints import BlueprintSetupState

from ivr.engine.events import Event
from ivr.hotline import TRACE_HEADER, Hotline, Settings
from ivr.web.service import TRACE, VoiceService
from ivr.web.signature import is_signed
from ivr.web.twilio import CALL_SID, FORM, VoiceRequest, parse, refusal

__all__ = ["bp", "service", "twiml", "voice_request"]

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")
# The CallSid of the request being served, for its log lines (`ivr serve` hands it to ivr.logs.CallSidFilter).
CURRENT_CALL: ContextVar[str | None] = ContextVar("ivr_current_call", default=None)


def service() -> VoiceService:
    """The app's voice service."""
    svc: VoiceService = current_app.extensions["ivr.voice"]
    return svc


def voice_request() -> VoiceRequest:
    """This request as Twilio meant it (parsed once)."""
    if "ivr_request" not in g:
        g.ivr_request = parse(request)
    parsed: VoiceRequest = g.ivr_request
    return parsed


def twiml(body: str) -> Response:
    """A TwiML response (always 200: Twilio must get instructions, never an error page)."""
    return Response(body, status=200, mimetype="text/xml", content_type="text/xml; charset=utf-8")


@bp.before_request
def require_twilio() -> None:
    """Refuse, before anything is read or written, a request that is not signed or not shaped as Twilio sends it."""
    settings: Settings = current_app.config["IVR_SETTINGS"]
    req: Request = request._get_current_object()  # type: ignore[attr-defined]  # once: every proxy access costs a lookup
    if req.endpoint == "voice.audio":
        return  # Twilio fetches <Play> audio with plain GETs; the files are public prompts
    # Read (and cached) first, so the form is parsed from the very bytes the shape check reads; over MAX_CONTENT_LENGTH: 413.
    body = req.get_data(cache=True)
    if not settings.skip_signature_check and not is_signed(req, settings.twilio_auth_token, settings.public_url):
        log.warning("rejected %s %s: missing or invalid X-Twilio-Signature", req.method, req.path)
        abort(403)
    mimetype = req.mimetype
    form = req.form if mimetype == FORM else {}  # any other body is refused unparsed
    reason = refusal(body, mimetype, form, settings.twilio_account_sid)
    if reason is not None:
        log.warning("rejected %s %s: %s", req.method, req.path, reason)
        abort(403)
    if settings.test_clock:
        g.ivr_trace_token = TRACE.set({"actions": [], "edges": []})
    # Only now, signed and well formed: a forged request's lines must not appear under a real call.
    call_sid = form.get("CallSid", "")
    if CALL_SID.fullmatch(call_sid):
        g.ivr_log_token = CURRENT_CALL.set(call_sid)


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


def _step(event: Event) -> Response:
    return twiml(service().step(voice_request(), event))  # every request that gets here has a CallSid (require_twilio)


class TelephoneAudio:
    """The 8 kHz renditions the audio index holds: the only files <Play> URLs name, so the only ones served."""

    def __init__(self, hotline: Hotline) -> None:
        self.index = hotline.audio
        self._generation: int | None = None
        self._names: frozenset[str] = frozenset()

    def names(self) -> frozenset[str]:
        """The servable names (paths under the audio folder), rebuilt only when the index has read a new manifest."""
        generation = self.index.generation  # the index looks at the manifest at most once per interval, and reads it on change
        if generation != self._generation:
            self._names = self.index.telephone_names()  # the entries the index already read: no second read of the manifest
            self._generation = generation
        return self._names


@bp.record
def _serve_telephone_audio(state: BlueprintSetupState) -> None:
    state.app.extensions["ivr.audio"] = TelephoneAudio(state.app.extensions["ivr.voice"].hotline)


@bp.get("/audio/<path:name>")
def audio(name: str) -> Response:
    """A rendered prompt for <Play>: only a telephone rendition the manifest lists."""
    telephone: TelephoneAudio = current_app.extensions["ivr.audio"]
    if not name.endswith(".wav") or name not in telephone.names():
        abort(404)
    folder = Path(service().settings.audio_dir).resolve()
    return send_from_directory(folder, name, mimetype="audio/wav", max_age=3600)


@bp.post("/incoming")
def incoming() -> Response:
    """The number's Voice URL: a call starts."""
    return twiml(service().start(voice_request()))


@bp.post("/gather")
def gather() -> Response:
    """Keys from a Gather, or the Redirect after it when the caller was silent."""
    return _step(voice_request().entry())


@bp.post("/record")
def record() -> Response:
    """A finished recording (or the Redirect after a Record that heard nothing)."""
    return _step(voice_request().recording())


@bp.post("/dial")
def dial() -> Response:
    """How a transfer ended."""
    return _step(voice_request().transfer_result())


@bp.post("/status")
def status() -> Response:
    """Twilio's call status callback: a finished call closes its record with its duration."""
    req = voice_request()
    if req.finished:
        service().finish(req)
    return Response("", status=204)


@bp.post("/fallback")
def fallback() -> Response:
    """The number's Fallback URL: the main path failed; apologise and offer a ticket."""
    req = voice_request()
    log.error("fallback URL called for call %s (ErrorCode %s)", req.call_sid, req.error_code or "-")
    return twiml(service().fallback())


@bp.post("/fallback/recorded")
def fallback_recorded() -> Response:
    """The message left on the fallback path becomes a ticket whose number is read back."""
    return twiml(service().fallback_ticket(voice_request()))
