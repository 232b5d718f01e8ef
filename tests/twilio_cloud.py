"""A stand-in for Twilio's REST Messages API on 127.0.0.1, real enough for the `twilio` client library.

    with TwilioCloud() as cloud:
        sms = CallerSms(cloud.account_sid, cloud.auth_token, "+15005550006", api_url=cloud.url)
        sid = sms.send(parcel, timeout=2)
        assert cloud.messages[0]["body"] == parcel.sms_text

It serves, under /2010-04-01/Accounts/{AccountSid}/:
- POST Messages.json (form To, From or MessagingServiceSid, Body): 201 and a Message resource shaped like
  Twilio's (sid "SM" + 32 hex, status "queued", RFC 2822 dates, `date_sent` empty until it is "sent");
- GET Messages.json: the account's messages newest first, filtered by To, From, DateSent, DateSent< and
  DateSent> (as the client sends them, "2026-11-30T10:00:00Z"), paged with Page and PageSize in Twilio's
  list format (`messages`, `next_page_uri`…), so the library's `list()` and `page()` work.
HTTP basic auth must be the account SID and auth token (401 and Twilio's error 20003 otherwise), and the
path's AccountSid must be the account's (404, 20404). Twilio's errors are JSON: code, message, more_info, status.
A message is "sent" (date_sent set) once it is listed: a look right after sending sees it queued or sent.

Scripting, per method ("POST" or "GET"), used in order, one per request:
- `fail_next(n, status=500, code=None, message=…)`: answer an error;
- `stall_next(n, seconds)`: wait that long, then handle the request as usual (a slow API: a message is still created);
- `lose_next(n)`: create the message, then drop the connection without answering (a lost answer).
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import threading
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["API_VERSION", "Planned", "TwilioCloud"]

API_VERSION = "2010-04-01"
ERRORS = {20003: "Authenticate", 20404: "The requested resource was not found", 21211: "The 'To' number is not a valid phone number."}


@dataclass(frozen=True)
class Planned:
    """One scripted behaviour for the next request of a method."""

    kind: str  # "fail", "stall" or "lose"
    status: int = 500
    code: int | None = None
    message: str = ""
    seconds: float = 0.0


class TwilioCloud:
    """Twilio's Messages API for one account, on 127.0.0.1; use it as a context manager."""

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.messages: list[dict[str, Any]] = []  # every message created, oldest first, as the API shows it
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path with query, headers) of each request
        self.creates = 0  # POSTs that created a message
        self._plans: dict[str, list[Planned]] = {"POST": [], "GET": []}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The API's base URL, for `CallerSms(api_url=…)` (Twilio's is https://api.twilio.com)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def messages_path(self) -> str:
        """The account's Messages list path."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    # --- scripting ------------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500, code: int | None = None, message: str = "", method: str = "POST") -> None:
        """The next `count` requests of `method` answer `status` with Twilio error `code` (default: the status)."""
        self._add(method, [Planned("fail", status, code, message)] * count)

    def stall_next(self, count: int = 1, seconds: float = 3.0, method: str = "POST") -> None:
        """The next `count` requests of `method` wait `seconds` before they are handled as usual."""
        self._add(method, [Planned("stall", seconds=seconds)] * count)

    def lose_next(self, count: int = 1) -> None:
        """The next `count` POSTs create their message, then drop the connection unanswered."""
        self._add("POST", [Planned("lose")] * count)

    def _add(self, method: str, planned: list[Planned]) -> None:
        with self._lock:
            self._plans[method.upper()].extend(planned)

    def _next(self, method: str) -> Planned | None:
        with self._lock:
            plan = self._plans.get(method, [])
            return plan.pop(0) if plan else None

    def sent_to(self, number: str) -> list[str]:
        """The bodies of the messages created to `number`, oldest first."""
        with self._lock:
            return [m["body"] for m in self.messages if m["to"] == number]

    # --- running --------------------------------------------------------------------------------------

    def __enter__(self) -> TwilioCloud:
        cloud = self

        class Handler(_Handler):
            owner = cloud

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- the API --------------------------------------------------------------------------------------

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(password, self.auth_token)

    def _create(self, form: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        to = (form.get("To") or [""])[0]
        sender = (form.get("From") or [""])[0]
        service = (form.get("MessagingServiceSid") or [""])[0]
        body = (form.get("Body") or [""])[0]
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not (sender or service):
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        if not body:
            return 400, _error(21602, "Message body is required.", 400)
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": format_datetime(now, usegmt=True),
            "date_sent": None,
            "date_updated": format_datetime(now, usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or "+15005550006",  # a service picks one of its numbers
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(body) // 70))),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages.append(message)
            self.creates += 1
            answer = dict(message)
        return 201, answer

    def _list(self, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        def one(name: str) -> str:
            return (query.get(name) or [""])[0]

        try:
            size = min(1000, max(1, int(one("PageSize") or 50)))
            page = max(0, int(one("Page") or 0))
            after, before, on = (_when(one(name)) for name in ("DateSent>", "DateSent<", "DateSent"))
        except ValueError:
            return 400, _error(20001, "Invalid parameter", 400)
        with self._lock:
            for m in self.messages:  # listed: as good as sent
                if m["status"] == "queued":
                    m["status"], m["date_sent"] = "sent", format_datetime(datetime.now(UTC), usegmt=True)
            found = [dict(m) for m in reversed(self.messages)]
        if one("To"):
            found = [m for m in found if m["to"] == one("To")]
        if one("From"):
            found = [m for m in found if m["from"] == one("From")]
        for bound, keep in ((after, lambda sent, b: sent >= b), (before, lambda sent, b: sent <= b)):
            if bound is not None:
                found = [m for m in found if m["date_sent"] and keep(_sent(m), bound)]
        if on is not None:
            found = [m for m in found if m["date_sent"] and _sent(m).date() == on.date()]
        chunk = found[page * size : (page + 1) * size]
        base = {k: v for k, v in ((n, one(n)) for n in ("To", "From", "DateSent>", "DateSent<", "DateSent")) if v}

        def uri(number: int) -> str:
            return f"{self.messages_path}?{urlencode({**base, 'PageSize': size, 'Page': number})}"

        more = (page + 1) * size < len(found)
        return 200, {
            "end": page * size + max(0, len(chunk) - 1),
            "first_page_uri": uri(0),
            "messages": chunk,
            "next_page_uri": uri(page + 1) if more else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "start": page * size,
            "uri": uri(page),
        }


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def _when(text: str) -> datetime | None:
    if not text:
        return None
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


def _sent(message: Mapping[str, Any]) -> datetime:
    return parsedate_to_datetime(str(message["date_sent"]))


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioCloud
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `messages` and `requests`."""

    def do_GET(self) -> None:
        """List the account's messages."""
        self._handle("GET", b"")

    def do_POST(self) -> None:
        """Create a message."""
        length = int(self.headers.get("Content-Length") or 0)
        self._handle("POST", self.rfile.read(length) if length else b"")

    def _handle(self, method: str, body: bytes) -> None:
        owner = self.owner
        with owner._lock:
            owner.requests.append((method, self.path, dict(self.headers.items())))
        planned = owner._next(method)
        if planned is not None and planned.kind == "stall" and owner._closing.wait(planned.seconds):
            return
        if not owner._authorised(self.headers.get("Authorization", "")):
            self._json(401, _error(20003, ERRORS[20003], 401))
            return
        parts = urlsplit(self.path)
        if parts.path != owner.messages_path:
            self._json(404, _error(20404, ERRORS[20404], 404))
            return
        if planned is not None and planned.kind == "fail":
            code = planned.code or planned.status
            self._json(planned.status, _error(code, planned.message or ERRORS.get(code, "Internal Server Error"), planned.status))
            return
        if method == "POST":
            status, answer = owner._create(parse_qs(body.decode(), keep_blank_values=True))
        else:
            status, answer = owner._list(parse_qs(parts.query, keep_blank_values=True))
        if planned is not None and planned.kind == "lose" and status == 201:
            self._reset()
            return
        self._json(status, answer)

    def _json(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
