"""A stand-in for Twilio's side of a call: signs requests as Twilio does and interprets the TwiML.

It follows Gather, Redirect, Record, Dial and Hangup as Twilio would, so a test (or a QA flow)
can drive the webhooks of an app in process or of a live `ivr serve` over HTTP and get the same
transcript lines as the console simulator (say, gather, input, transfer, record, hangup).
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from twilio.request_validator import RequestValidator

from ivr.engine.actions import Gather
from ivr.simulator import delivered_digits

Line = dict[str, Any]
MAX_REQUESTS = 400  # a call that needs more has looped; stop rather than spin


class Transport(Protocol):
    """Sends one form POST; returns (status, body, content type)."""

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str, str]: ...


class FlaskTransport:
    """Posts to a Flask app in process through its test client."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str, str]:
        """POST through the test client."""
        response = self.client.post(path, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True), response.content_type or ""


class HttpTransport:
    """Posts to a live server over HTTP."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str, str]:
        """POST over HTTP; HTTP errors come back as their status, not as exceptions."""
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, resp.read().decode("utf-8"), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace"), exc.headers.get("Content-Type", "")


class TwilioError(AssertionError):
    """The service answered something Twilio could not use (an error status or invalid TwiML)."""


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
    extra: dict[str, str] = field(default_factory=dict)  # fields added to every request (e.g. a test clock)
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    lines: list[Line] = field(default_factory=list)
    requests: int = 0
    responses: list[str] = field(default_factory=list)

    def sign(self, path: str, form: dict[str, str]) -> dict[str, str]:
        """Headers with X-Twilio-Signature computed exactly as Twilio computes it."""
        url = self.public_url.rstrip("/") + path
        return {"X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, form)}

    def post(self, path: str, **fields: str) -> ET.Element:
        """Send a signed webhook request and parse the TwiML answer."""
        self.requests += 1
        if self.requests > MAX_REQUESTS:
            raise TwilioError(f"more than {MAX_REQUESTS} requests in one call")
        form = {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": self.called,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **self.extra,
            **fields,
        }
        status, body, content_type = self.transport.post(path, form, self.sign(path, form))
        if status != 200 or "xml" not in content_type:
            raise TwilioError(f"POST {path} answered {status} {content_type!r}: Twilio would say 'application error'\n{body[:500]}")
        self.responses.append(body)
        try:
            root = ET.fromstring(body.encode("utf-8"))
        except ET.ParseError as exc:
            raise TwilioError(f"POST {path} answered invalid XML: {exc}\n{body[:500]}") from exc
        if root.tag != "Response":
            raise TwilioError(f"POST {path} answered <{root.tag}>, not <Response>")
        return root

    def run(self, entries: Iterable[str]) -> list[Line]:
        """Place the call and answer each Gather with the next entry; hang up when they run out."""
        keys = iter(entries)
        document: ET.Element | None = self.post("/voice/incoming", CallStatus="ringing")
        try:
            while document is not None:
                document = self._execute(document, keys)
        except _CallerHungUp:
            pass
        self.post_status()
        return self.lines

    def post_status(self) -> None:
        """Twilio's status callback at the end of the call."""
        form = {"CallSid": self.call_sid, "CallStatus": "completed", "CallDuration": str(10 + self.requests), **self.extra}
        status, body, _ = self.transport.post("/voice/status", form, self.sign("/voice/status", form))
        if status >= 400:
            raise TwilioError(f"status callback answered {status}: {body[:200]}")

    def _emit(self, line: Line) -> None:
        self.lines.append(line)

    def _execute(self, document: ET.Element, keys: Iterator[str]) -> ET.Element | None:
        """Run one TwiML document; return the next document to run, or None when the call is over."""
        for verb in document:
            if verb.tag == "Say":
                self._emit({"type": "say", "lang": verb.get("language", ""), "voice": verb.get("voice", ""), "text": verb.text or ""})
            elif verb.tag == "Gather":
                return self._gather(verb, keys) or self._continue_after(document, verb, keys)
            elif verb.tag == "Redirect":
                return self.post(self._path(verb.text or ""))
            elif verb.tag == "Dial":
                return self._dial(verb)
            elif verb.tag == "Record":
                self._emit({"type": "record"})
                if self.voicemail:
                    url = f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE{secrets.token_hex(16)}"
                    return self.post(self._path(verb.get("action", "")), RecordingUrl=url, RecordingDuration="7", Digits="#")
                # Twilio skips the action when nothing was recorded and goes on with the next verb.
            elif verb.tag == "Hangup":
                self._emit({"type": "hangup", "reason": "hangup"})
                return None
            elif verb.tag in ("Pause", "Play"):
                continue
            else:
                raise TwilioError(f"unexpected TwiML verb <{verb.tag}>")
        self._emit({"type": "hangup", "reason": "end of document"})
        return None

    def _continue_after(self, document: ET.Element, gather: ET.Element, keys: Iterator[str]) -> ET.Element | None:
        """No digits: Twilio goes on with the verbs after the Gather."""
        rest = ET.Element("Response")
        seen = False
        for verb in document:
            if seen:
                rest.append(verb)
            seen = seen or verb is gather
        if len(rest):
            return self._execute(rest, keys)
        self._emit({"type": "hangup", "reason": "end of document"})
        return None

    def _gather(self, verb: ET.Element, keys: Iterator[str]) -> ET.Element | None:
        """Play nested prompts, take the next entry and post it; None means no digits were entered."""
        if not verb.get("action"):
            raise TwilioError("a <Gather> without an action would re-request the current URL")
        for child in verb:
            if child.tag == "Say":
                self._emit({"type": "say", "lang": child.get("language", ""), "voice": child.get("voice", ""), "text": child.text or ""})
        gather = Gather("", int(verb.get("numDigits", "64")), verb.get("finishOnKey", "#"), int(verb.get("timeout", "5")))
        self._emit({"type": "gather", "max_digits": gather.max_digits, "finish_on_key": gather.finish_on_key, "timeout": gather.timeout})
        entry = next(keys, None)
        if entry is None:
            self._emit({"type": "hangup", "reason": "caller"})
            raise _CallerHungUp
        digits = delivered_digits(entry, gather)
        self._emit({"type": "input", "digits": digits})
        if not digits:
            return None
        return self.post(self._path(verb.get("action", "")), Digits=digits, FinishedOnKey=gather.finish_on_key if entry != digits else "")

    def _dial(self, verb: ET.Element) -> ET.Element | None:
        target = next(iter(verb), None)
        address = (target.text or "").strip() if target is not None else (verb.text or "").strip()
        self._emit({"type": "transfer", "address": address})
        status = "completed" if self.transfer_result == "answered" else self.transfer_result
        if not verb.get("action"):
            self._emit({"type": "hangup", "reason": "end of document"})
            return None
        return self.post(self._path(verb.get("action", "")), DialCallStatus=status, DialCallDuration="42" if status == "completed" else "0")

    def _path(self, url: str) -> str:
        """Action URLs are relative to the service; absolute ones must point at it."""
        if url.startswith(("http://", "https://")):
            parsed = urllib.parse.urlsplit(url)
            return parsed.path + (f"?{parsed.query}" if parsed.query else "")
        return url


class _CallerHungUp(Exception):
    """The scripted caller ran out of entries."""
