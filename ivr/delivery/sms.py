"""Channel `sms`: the caller's text message (their ticket number in it), sent with Twilio's Messages API.

The `twilio` client library does the talking; its HTTP goes through `DeadlineHttpClient`, which
gives every request only the time left of the whole send and reads answers with `read_bounded`.
A text reaches the caller once: before sending, the caller's recent messages are looked at, and
one that already carries the ticket number (an earlier attempt whose answer was lost) is the
receipt. The look is one page of the newest messages to that number, filtered here by creation
time: Twilio's `DateSent` filter would miss a message still queued, whose date_sent is empty.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import Any, ClassVar, cast

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.util import Timeout

from ivr.caller_number import can_call_back, masked
from ivr.delivery import Parcel, Refused, TryLater
from ivr.delivery.bounded import WatchedSession
from ivr.delivery.desk import read_bounded, retry_after

__all__ = ["LOOK_BACK", "MAX_ANSWER", "CallerSms", "DeadlineHttpClient"]

LOOK_BACK = timedelta(days=1)  # messages older than this before the ticket cannot be its text
MAX_ANSWER = 1024 * 1024  # bytes of an API answer read at most: a page of 50 messages with long bodies fits
RECENT = 50  # how many of the caller's newest messages are looked at before sending
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class DeadlineHttpClient(HttpClient):
    """twilio's HttpClient over `requests`, every request bounded by what is left before one monotonic deadline."""

    def __init__(self, deadline: float) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, None)
        self.deadline = deadline
        self.session = WatchedSession(deadline)  # the deadline holds even against an answer trickled a byte at a time
        self.retry_after: float | None = None  # the last answer's Retry-After, for a 429

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """One request to Twilio's API, within the time left (and within `timeout`, when smaller)."""
        left = self.deadline - time.monotonic()
        if timeout is not None:
            left = min(left, timeout)
        if left <= 0:
            raise TryLater("out of time before the request to Twilio")
        as_json = bool(headers) and (headers or {}).get("Content-Type") in ("application/json", "application/scim+json")
        with self.session.request(
            method.upper(),
            url,
            params=cast(Any, params),
            data=None if as_json else cast(Any, data),
            json=cast(Any, data) if as_json else None,
            headers=headers,
            auth=auth,
            timeout=cast(Any, Timeout(total=left)),  # connecting plus waiting for the answer; reading it checks the deadline
            stream=True,
            allow_redirects=allow_redirects,
        ) as answer:
            body = read_bounded(answer, self.deadline, MAX_ANSWER)
            self.retry_after = retry_after(answer.headers.get("Retry-After"))
            return Response(int(answer.status_code), body.decode("utf-8", "replace"), answer.headers)

    def close(self) -> None:
        """Let go of the connections."""
        self.session.close()


def _outcome(status: int, what: str, after: float | None) -> TryLater | Refused:
    """An HTTP status from Twilio as our outcome: throttled or broken is "not now", any other 4xx is "never"."""
    return TryLater(what, after=after if status == 429 else None) if status == 429 or status >= 500 else Refused(what)


class CallerSms:
    """Texts the caller their ticket through Twilio, from `sender` (a number, or a Messaging Service SID "MG…")."""

    channel: ClassVar[str] = "sms"

    def __init__(self, account_sid: str, auth_token: str, sender: str, api_url: str = "https://api.twilio.com") -> None:
        if not account_sid or not auth_token or not sender:
            raise ValueError("the caller SMS needs an account SID, an auth token and a sender")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.api_url = api_url.rstrip("/")

    def target(self, parcel: Parcel) -> str:
        """The caller's number, masked."""
        return masked(parcel.caller)

    def _client(self, http: DeadlineHttpClient) -> Client:
        client = Client(self.account_sid, self.auth_token, http_client=http)
        client.api.base_url = self.api_url  # the Api domain builds every URL from it: tests stand in for Twilio's cloud here
        return client

    def send(self, parcel: Parcel, timeout: float) -> str:
        """Text the caller within `timeout` seconds in all; the message SID (an earlier one of this ticket's), else TryLater or Refused."""
        if not parcel.sms_text.strip():
            raise Refused("there is no text to send")
        if not can_call_back(parcel.caller):
            raise Refused(f"the caller's number {masked(parcel.caller)} cannot take a text message")
        http = DeadlineHttpClient(time.monotonic() + timeout)
        try:
            client = self._client(http)
            earlier = self._already_sent(client, parcel)
            if earlier:
                return earlier
            if _SERVICE_SID.fullmatch(self.sender):
                message = client.messages.create(to=parcel.caller, body=parcel.sms_text, messaging_service_sid=self.sender)
            else:
                message = client.messages.create(to=parcel.caller, body=parcel.sms_text, from_=self.sender)
            if not message.sid:
                raise TryLater("Twilio's answer carried no message SID")
            return str(message.sid)
        except TwilioRestException as exc:
            said = str(exc.msg)[:200]
            raise _outcome(exc.status, f"Twilio answered {exc.status}, error {exc.code}: {said}", http.retry_after) from exc
        except TwilioServiceException as exc:
            said = str(exc.detail or exc.title)[:200]
            raise _outcome(exc.status, f"Twilio answered {exc.status}, error {exc.code}: {said}", http.retry_after) from exc
        except TwilioException as exc:  # a page that would not load carries the HTTP answer as its second argument
            answer = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Response) else None
            if answer is None:
                raise TryLater(f"Twilio's answer could not be read: {str(exc)[:200]}") from exc
            said = answer.text[:200]
            raise _outcome(answer.status_code, f"Twilio answered {answer.status_code}: {said}", http.retry_after) from exc
        except requests.Timeout as exc:
            raise TryLater(f"Twilio did not answer within {timeout:g} s") from exc
        except requests.RequestException as exc:
            if http.session.expired:
                raise TryLater(f"Twilio did not answer within {timeout:g} s") from exc
            raise TryLater(f"could not reach Twilio: {type(exc).__name__}") from exc
        except ValueError as exc:  # an answer that is not the JSON it should be
            raise TryLater(f"Twilio's answer could not be read: {type(exc).__name__}") from exc
        finally:
            http.close()

    def _already_sent(self, client: Client, parcel: Parcel) -> str:
        """The SID of a text already sent to the caller for this ticket ('' when there is none)."""
        number = re.compile(rf"(?<![0-9]){re.escape(parcel.number)}(?![0-9])")
        since = parcel.created_at - LOOK_BACK
        for message in client.messages.page(to=parcel.caller, page_size=RECENT):
            if message.status in ("failed", "undelivered") or not message.body or not number.search(message.body):
                continue  # a text that never reached the caller is sent again
            if message.date_created is not None and message.date_created < since:
                continue  # an older ticket's text that happens to carry the same digits
            return str(message.sid)
        return ""
