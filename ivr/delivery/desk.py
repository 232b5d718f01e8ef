"""Channel `desk`: the ticket posted as signed JSON to the support desk's webhook.

The body is `Parcel.to_json()` in a fixed encoding (sorted keys, no spaces, UTF-8), so a receiver
can check `X-IVR-Signature` = "sha256=" + hex HMAC-SHA256(secret, "<X-IVR-Timestamp>." + body) with
`verify`. `Idempotency-Key` is the ticket number: delivery is at least once, the desk de-duplicates.
The whole send is bounded by its timeout: connecting, sending, waiting for the answer and reading at
most `MAX_ANSWER` bytes of it against one monotonic deadline, so a server that trickles cannot hold it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import Timeout

from ivr.delivery import Parcel, Refused, TryLater
from ivr.delivery.bounded import WatchedSession
from ivr.terminal import url_shown

__all__ = ["MAX_ANSWER", "DeskWebhook", "body_of", "read_bounded", "retry_after", "sign", "verify"]

MAX_ANSWER = 64 * 1024  # bytes of the desk's answer read at most: only its first words go into a reason
MAX_RETRY_AFTER = 3600.0  # a receiver's Retry-After is honoured up to an hour; the sender's own backoff takes over beyond
RETRY_STATUSES = frozenset({408, 425, 429})  # 4xx answers that mean "not now" rather than "never"; every 5xx is too


def body_of(parcel: Parcel) -> bytes:
    """The exact bytes the desk receives (and the signature covers) for `parcel`."""
    return json.dumps(parcel.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-IVR-Signature` value: "sha256=" + hex HMAC-SHA256 with `secret` over b"<timestamp>." + body."""
    mac = hmac.new(secret.encode(), str(int(timestamp)).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None, tolerance: float = 300) -> bool:
    """Whether `signature` is ours over `body` at `timestamp` (header text) and the timestamp is within `tolerance` s of `now`.

    The comparison takes constant time; a timestamp that is not a whole number, or is stale or in the
    future beyond the tolerance (a replay), fails.
    """
    text = timestamp.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return False
    moment = int(text)
    if abs((time.time() if now is None else now) - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body).encode(), signature.strip().encode("utf-8", "replace"))


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """A `Retry-After` header (seconds, or an HTTP date) as seconds from now, capped at an hour; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return min(max(0.0, when.timestamp() - current), MAX_RETRY_AFTER)


def _socket_of(raw: Any) -> Any:
    """The socket a streamed urllib3 response reads from, or None when it cannot be found (then each read waits its own timeout).

    The connection holds it while it may be kept alive; when the server closes after answering, http.client
    lets go of it there and only the response's file (a buffered SocketIO) still has it.
    """
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        sock = getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
    return sock if hasattr(sock, "settimeout") else None


def read_bounded(response: requests.Response, deadline: float, limit: int) -> bytes:
    """Up to `limit` bytes of a streamed `response`'s body, read before the monotonic `deadline`, else TryLater.

    Each read takes what has arrived (`read1`) and the socket's timeout is re-armed with the time left,
    so a server sending a byte now and then cannot stretch the read past the deadline.
    """
    raw = response.raw
    sock = _socket_of(raw)
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TryLater("the answer was still arriving when the time was up")
        if sock is not None and sock.fileno() != -1:  # -1: the whole body came and http.client closed it
            sock.settimeout(left)
        try:
            chunk = raw.read1(limit - size)
        except (requests.RequestException, Urllib3Error, OSError, ValueError) as exc:  # urllib3 wraps a socket timeout
            if time.monotonic() >= deadline:
                raise TryLater("the answer was still arriving when the time was up") from exc
            raise TryLater(f"the answer broke off: {type(exc).__name__}") from exc
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class DeskWebhook:
    """Posts each ticket, signed, to the support desk's webhook `url`."""

    channel: ClassVar[str] = "desk"

    def __init__(self, url: str, secret: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the desk webhook must be an http(s) URL with a host, not {url_shown(url)!r}")
        if not secret:
            raise ValueError("the desk webhook needs a signing secret")
        self.url = url
        self.secret = secret

    def target(self, parcel: Parcel) -> str:
        """The webhook's scheme, host and port: its user, path and query may hold a token, so they are never shown."""
        return url_shown(self.url)

    def send(self, parcel: Parcel, timeout: float) -> str:
        """Post `parcel` within `timeout` seconds in all; the status ("200") when the desk took it, else TryLater or Refused."""
        # urllib3's `total` bounds connecting plus waiting for the answer (requests' own types know only numbers and pairs);
        # reading the body checks the same deadline.
        deadline = time.monotonic() + timeout
        body = body_of(parcel)
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "ivr-hotline",
            "Idempotency-Key": parcel.number,
            "X-IVR-Timestamp": str(stamp),
            "X-IVR-Signature": sign(self.secret, stamp, body),
        }
        session = WatchedSession(deadline)  # shuts the connection at the deadline, even in the middle of a header line
        try:
            with session.post(
                self.url, data=body, headers=headers, timeout=cast(Any, Timeout(total=timeout)), stream=True, allow_redirects=False
            ) as response:
                if session.expired:  # the deadline cut the answer short: what was read of it is not an answer
                    raise TryLater(f"the desk did not answer within {timeout:g} s")
                if time.monotonic() >= deadline:
                    raise TryLater(f"the desk answered {response.status_code} only after the time was up")
                answer = read_bounded(response, deadline, MAX_ANSWER)
                status = response.status_code
                wait = retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
                location = response.headers.get("Location", "") if 300 <= status < 400 else ""
        except requests.Timeout as exc:
            raise TryLater(f"the desk did not answer within {timeout:g} s") from exc
        except requests.RequestException as exc:
            if session.expired:
                raise TryLater(f"the desk did not answer within {timeout:g} s") from exc
            if isinstance(exc, requests.ConnectionError):
                raise TryLater(f"could not reach the desk at {self.target(parcel)}: {type(exc).__name__}") from exc
            raise TryLater(f"the request to the desk failed: {type(exc).__name__}") from exc
        finally:
            session.close()
        if 200 <= status < 300:
            return str(status)
        said = answer[:200].decode("utf-8", "replace")[:200]
        if status in RETRY_STATUSES or status >= 500:
            raise TryLater(f"the desk answered {status}: {said}", after=wait)
        if location:  # redirects are not followed (the signature is for this URL): the operator moves IVR_TICKET_WEBHOOK_URL
            raise Refused(f"the desk answered {status}, moved to {location[:200]}: set IVR_TICKET_WEBHOOK_URL to it")
        raise Refused(f"the desk answered {status}: {said}")
