"""A stand-in for Twilio's side of a call: signs requests as Twilio does and interprets the TwiML.

It follows Gather, Redirect, Record, Dial and Hangup as Twilio would, so a test or a QA flow can
drive the webhooks of an app in process, or of a live `ivr serve` over HTTP, and get transcript
lines shaped like the console simulator's (say, gather, input, transfer, record, hangup). A server
in test mode (IVR_TEST_CLOCK=1) also sends a trace of its engine actions in `X-IVR-Trace`; with it
the lines carry node names, queues and tickets as well.
"""

from __future__ import annotations

import http.client
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from twilio.request_validator import RequestValidator

from ivr.engine.actions import Gather
from ivr.engine.events import Speech
from ivr.simulator import CallerEntry, delivered_digits
from ivr.testmode import TRACE_HEADER

Line = dict[str, Any]
MAX_REQUESTS = 400  # a call that needs more has looped; stop rather than spin
FALLBACK = "/voice/fallback"
ACCOUNT_SID = "AC" + "5e1f" * 8  # the account the stand-in calls for unless told another (Twilio's form: AC + 32 hex)
SIP_RESPONSES = {"completed": "200", "busy": "486", "no-answer": "480", "canceled": "487"}  # a <Dial><Sip>'s final response


def recognised(text: str) -> str:
    """Words as Twilio's recogniser writes them: ending in a full stop ("。" after Chinese) unless they end in punctuation."""
    text = text.strip()
    if not text or not text[-1].isalnum():
        return text
    return text + ("。" if "\u4e00" <= text[-1] <= "\u9fff" else ".")


def call_sid() -> str:
    """A fresh CallSid of Twilio's form: CA and 32 lowercase hex digits."""
    return "CA" + secrets.token_hex(16)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer."""

    status: int
    body: str
    headers: Mapping[str, str]

    @property
    def content_type(self) -> str:
        """The Content-Type header."""
        return self.headers.get("Content-Type", "")


class Transport(Protocol):
    """Sends one form POST, and fetches what a <Play> names."""

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply: ...

    def fetch(self, path: str) -> int: ...


class FlaskTransport:
    """Posts to a Flask app in process through its test client."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST through the test client."""
        response = self.client.post(path, data=form, headers=headers)
        return Reply(response.status_code, response.get_data(as_text=True), dict(response.headers))

    def fetch(self, path: str) -> int:
        """The status of a GET of the first byte of `path` (as Twilio fetches <Play> audio)."""
        response = self.client.get(path, headers={"Range": "bytes=0-0"})
        response.close()
        return int(response.status_code)


class HttpTransport:
    """Posts to a live server over HTTP."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST over HTTP; HTTP errors come back as their status, not as exceptions."""
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return Reply(resp.status, resp.read().decode("utf-8"), dict(resp.headers.items()))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode("utf-8", "replace"), dict(exc.headers.items()))

    def fetch(self, path: str) -> int:
        """The status of a GET of the first byte of `path` (as Twilio fetches <Play> audio)."""
        req = urllib.request.Request(self.base_url + path, headers={"Range": "bytes=0-0"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)


class TwilioError(AssertionError):
    """The service answered something Twilio could not use (an error status or invalid TwiML)."""


class _CallerHungUp(Exception):
    """The scripted caller ran out of entries."""


@dataclass
class _Trace:
    """The engine actions behind one TwiML document, consumed as its verbs are played."""

    actions: list[dict[str, Any]]
    position: int = 0

    def take(self, kind: str, emit: Callable[[Line], None]) -> dict[str, Any]:
        """The next action of `kind`; tickets passed on the way are emitted as lines."""
        while self.position < len(self.actions):
            action = self.actions[self.position]
            self.position += 1
            if action["type"] == kind:
                return action
            if action["type"] == "ticket":
                emit(dict(action))
        return {}


@dataclass
class PhoneCall:
    """One inbound call placed through `transport`; `lines` is its transcript."""

    transport: Transport
    public_url: str  # the base URL Twilio would call, which requests are signed for
    auth_token: str
    caller: str = "+8613800000000"
    called: str = "+864008500030"
    voicemail: str = ""
    transfer_result: str = "answered"
    sip_headers: dict[str, str] = field(default_factory=dict)  # DialSipHeader_<name> fields a SIP transfer's answer carries
    extra: dict[str, str] = field(default_factory=dict)  # fields added to every request (e.g. the test clock)
    first: dict[str, str] = field(default_factory=dict)  # fields added to the first request only (e.g. the test language)
    call_sid: str = field(default_factory=call_sid)
    account_sid: str = ACCOUNT_SID  # sent as AccountSid on every request; a server with TWILIO_ACCOUNT_SID wants its own
    ask_voicemail: Callable[[], str] | None = None  # asked for the message when a recording starts
    lines: list[Line] = field(default_factory=list)
    requests: int = 0
    responses: list[str] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # transitions reported by a test-mode server
    traced: bool = False  # whether the server sent traces
    use_fallback: bool = False  # on a failed request, call the Fallback URL as Twilio does (else fail loudly)
    fallbacks: int = 0
    _trace: _Trace = field(default_factory=lambda: _Trace([]))
    _say_action: dict[str, Any] = field(default_factory=dict)  # the traced prompt being said, part by part
    _say_left: str = ""  # its words not yet heard (spaces left out)

    def sign(self, path: str, form: dict[str, str]) -> dict[str, str]:
        """Headers with X-Twilio-Signature computed exactly as Twilio computes it."""
        url = self.public_url.rstrip("/") + path
        return {"X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, form)}

    def post(self, path: str, **fields: str) -> ET.Element:
        """Send a signed webhook request and parse the TwiML answer."""
        self.requests += 1
        if self.requests > MAX_REQUESTS:
            raise TwilioError(f"more than {MAX_REQUESTS} requests in one call")
        form = {**self._call_fields(), "CallStatus": "in-progress", **self.extra, **fields}
        try:
            reply = self.transport.post(path, form, self.sign(path, form))
        except (OSError, http.client.HTTPException) as exc:  # refused, reset or cut short: the worker died mid-request
            reply = Reply(599, f"{type(exc).__name__}: {exc}", {})
        if (reply.status >= 500 or reply.status == 599) and self.use_fallback and path != FALLBACK:
            # Twilio calls the number's Fallback URL when the primary handler fails.
            self.fallbacks += 1
            return self.post(FALLBACK, ErrorCode="11200", ErrorUrl=path)
        if reply.status != 200 or "xml" not in reply.content_type:
            problem = f"POST {path} answered {reply.status} {reply.content_type!r}: Twilio would say 'application error'"
            raise TwilioError(f"{problem}\n{reply.body[:500]}")
        self.responses.append(reply.body)
        trace = reply.headers.get(TRACE_HEADER)
        if trace:
            data = json.loads(trace)
            self.traced = True
            self._trace = _Trace(list(data.get("actions", [])))
            self.edges.extend(tuple(edge) for edge in data.get("edges", []))
        else:
            self._trace = _Trace([])
        try:
            root = ET.fromstring(reply.body.encode("utf-8"))
        except ET.ParseError as exc:
            raise TwilioError(f"POST {path} answered invalid XML: {exc}\n{reply.body[:500]}") from exc
        if root.tag != "Response":
            raise TwilioError(f"POST {path} answered <{root.tag}>, not <Response>")
        return root

    def run(self, entries: Iterable[CallerEntry]) -> list[Line]:
        """Place the call and answer each Gather with the next entry; hang up when they run out."""
        keys = iter(entries)
        document: ET.Element | None = self.post("/voice/incoming", CallStatus="ringing", **self.first)
        try:
            while document is not None:
                document = self._execute(list(document), keys)
        except _CallerHungUp:
            pass
        self.post_status()
        return self.lines

    def post_status(self) -> None:
        """Twilio's status callback at the end of the call."""
        form = {**self._call_fields(), "CallStatus": "completed", "CallDuration": str(10 + self.requests), **self.extra}
        try:
            reply = self.transport.post("/voice/status", form, self.sign("/voice/status", form))
        except (OSError, http.client.HTTPException):
            if self.use_fallback:
                return  # Twilio does not retry status callbacks either
            raise
        if reply.status >= 400 and not self.use_fallback:
            raise TwilioError(f"status callback answered {reply.status}: {reply.body[:200]}")

    def _call_fields(self) -> dict[str, str]:
        """What Twilio sends about the call with every request, status callbacks included."""
        return {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.caller,
            "To": self.called,
            "Direction": "inbound",
        }

    def _emit(self, line: Line) -> None:
        self.lines.append(line)

    def _say(self, verb: ET.Element) -> None:
        text = verb.text or ""
        words = "".join(text.split())
        at = self._say_left.find(words) if verb.tag == "Say" and words else -1
        if verb.tag == "Play":
            status = self.transport.fetch(self._path(text.strip()))
            if status not in (200, 206):
                raise TwilioError(f"<Play> {text.strip()} answered {status}: the caller would hear nothing there")
        if verb.tag == "Play" and "part=" in text:
            return  # the next rendered piece of the prompt already heard (its line names the whole prompt)
        if at >= 0:
            # The next part of the prompt being said: a segment in another language has a <Say> of its own.
            action, self._say_left = self._say_action, self._say_left[at + len(words) :]
        else:
            action = self._trace.take("say", self._emit)
            self._say_action = action
            whole = "".join(str(action.get("text", "")).split())
            at = whole.find(words) if verb.tag == "Say" else -1
            self._say_left = whole[at + len(words) :] if at >= 0 else whole
        if verb.tag == "Play":
            # A rendered prompt: the caller hears its text, which the test-mode trace names (or nothing is known).
            url = (verb.text or "").strip()
            line = {"type": "say", "lang": action.get("lang", ""), "voice": "", "text": action.get("text", ""), "audio": url}
        else:
            line = {"type": "say", "lang": verb.get("language", ""), "voice": verb.get("voice", ""), "text": verb.text or ""}
        if action:
            line["node"] = action.get("node", "")
        self._emit(line)

    def _hangup(self, reason: str) -> None:
        action = self._trace.take("hangup", self._emit)
        line: Line = {"type": "hangup", "reason": action.get("reason", reason) if action else reason}
        if action:
            line["node"] = action.get("node", "")
        self._emit(line)

    def _execute(self, verbs: list[ET.Element], keys: Iterator[CallerEntry]) -> ET.Element | None:
        """Run a document's verbs; return the next document, or None when the call is over."""
        for i, verb in enumerate(verbs):
            if verb.tag in ("Say", "Play"):
                self._say(verb)
            elif verb.tag == "Gather":
                answer = self._gather(verb, keys)
                if answer is not None:
                    return answer
                # No digits: Twilio goes on with the verbs after the Gather.
                if verbs[i + 1 :]:
                    return self._execute(verbs[i + 1 :], keys)
                self._hangup("end of document")
                return None
            elif verb.tag == "Redirect":
                return self.post(self._path(verb.text or ""))
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Record":
                action = self._trace.take("record", self._emit)
                self._emit({"type": "record", **({"node": action["node"]} if action else {})})
                said = self.ask_voicemail() if self.ask_voicemail is not None else self.voicemail
                if said:
                    url = f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/RE{secrets.token_hex(16)}"
                    return self.post(self._path(verb.get("action", "")), RecordingUrl=url, RecordingDuration="7", Digits="#")
                # Twilio skips the action when nothing was recorded and goes on with the next verb.
            elif verb.tag == "Hangup":
                self._hangup("hangup")
                return None
            elif verb.tag != "Pause":
                raise TwilioError(f"unexpected TwiML verb <{verb.tag}>")
        self._hangup("end of document")
        return None

    def _gather(self, verb: ET.Element, keys: Iterator[CallerEntry]) -> ET.Element | None:
        """Play nested prompts, take the next entry and post it; None means no digits were entered."""
        if not verb.get("action"):
            raise TwilioError("a <Gather> without an action would re-request the current URL")
        for child in verb:
            if child.tag in ("Say", "Play"):
                self._say(child)
        traced = self._trace.take("gather", self._emit)
        node = traced.get("node", "")
        gather = Gather(node, int(verb.get("numDigits", "64")), verb.get("finishOnKey", "#"), int(verb.get("timeout", "5")))
        line: Line = {"type": "gather", "max_digits": gather.max_digits, "finish_on_key": gather.finish_on_key, "timeout": gather.timeout}
        if traced:
            line["node"] = gather.node
        listens = "speech" in verb.get("input", "dtmf").split()
        self._emit(line)
        entry = next(keys, None)
        if entry is None:
            self._emit({"type": "hangup", "reason": "caller", **({"node": gather.node} if traced else {})})
            raise _CallerHungUp
        if isinstance(entry, Speech):
            return self._speak(verb, entry, listens, gather.node if traced else None)
        digits = delivered_digits(entry, gather)
        self._emit({"type": "input", "digits": digits, **({"node": gather.node} if traced else {})})
        if not digits:
            return None
        finished = gather.finish_on_key if gather.finish_on_key and entry.startswith(digits + gather.finish_on_key) else ""
        return self.post(self._path(verb.get("action", "")), Digits=digits, FinishedOnKey=finished)

    def _speak(self, verb: ET.Element, speech: Speech, listens: bool, node: str | None) -> ET.Element | None:
        """The caller speaks: a Gather listening for speech posts what the recogniser wrote (with punctuation, as
        Twilio's does, and Confidence only when one is given); one that takes keys only hears nothing."""
        line: Line = {"type": "input", "digits": "", "speech": speech.text, **({"node": node} if node is not None else {})}
        if speech.confidence is not None:
            line["confidence"] = speech.confidence
        self._emit(line)
        if not listens or not speech.text.strip():
            return None  # no keys and no speech result: Twilio goes on with the next verb (the silence redirect)
        fields = {"SpeechResult": recognised(speech.text)}
        if speech.confidence is not None:
            fields["Confidence"] = f"{speech.confidence:.8f}".rstrip("0").rstrip(".") if speech.confidence else "0"
        return self.post(self._path(verb.get("action", "")), **fields)

    def _dial(self, verb: ET.Element) -> ET.Element | None:
        target = next(iter(verb), None)
        address = (target.text or "").strip() if target is not None else (verb.text or "").strip()
        action = self._trace.take("transfer", self._emit)
        line: Line = {"type": "transfer", "address": address}
        if action:
            line.update(node=action.get("node", ""), queue=action.get("queue", ""))
        self._emit(line)
        status = "completed" if self.transfer_result == "answered" else self.transfer_result
        if not verb.get("action"):
            self._hangup("end of document")
            return None
        fields = {"DialCallStatus": status, "DialCallDuration": "42" if status == "completed" else "0"}
        if target is not None and target.tag == "Sip":
            # Twilio adds the SIP leg's Call-ID, its final response code and that response's X- headers.
            fields.update(DialSipCallId=secrets.token_hex(16), DialSipResponseCode=SIP_RESPONSES.get(status, "503"), **self.sip_headers)
        return self.post(self._path(verb.get("action", "")), **fields)

    def _path(self, url: str) -> str:
        """Action URLs are relative to the service; absolute ones must point at it."""
        if url.startswith(("http://", "https://")):
            parsed = urllib.parse.urlsplit(url)
            return parsed.path + (f"?{parsed.query}" if parsed.query else "")
        return url
