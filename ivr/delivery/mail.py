"""Channel `email`: the ticket as a plain-text e-mail to the support address, in the caller's language.

The server is a URL: `smtp://[user[:password]@]host[:port]` (port 25; STARTTLS whenever the server
offers it off loopback) or `smtps://…` (TLS from the start, port 465); user and password are
percent-decoded. A password never crosses a network in clear: credentials for a server off loopback
that offers no STARTTLS refuse the delivery. Every message of a ticket has the same Message-ID
(<ticket-NUMBER@ivr-hotline>), so a mailbox can drop the copies an at-least-once delivery may send.
What the caller supplied (the description, words said) goes only into the body, never into a header.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.delivery import Parcel, Refused, TryLater
from ivr.delivery.bounded import SocketDeadline
from ivr.terminal import shown

__all__ = ["MailServer", "SupportMail", "is_loopback", "message_for", "parse_server", "security_plan", "transcript_text"]

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]")  # what may not go into the Message-ID's local part


@dataclass(frozen=True)
class MailServer:
    """Where and how to hand mail over, read from the server URL."""

    host: str
    port: int
    implicit_tls: bool  # smtps: TLS from the first byte
    user: str = ""
    password: str = ""


def parse_server(url: str) -> MailServer:
    """The server an `smtp://` or `smtps://` URL names (ValueError for anything else); user and password percent-decoded."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("the mail server must be an smtp:// or smtps:// URL")
    if not parts.hostname:
        raise ValueError("the mail server URL names no host")
    port = parts.port  # ValueError for a port out of range
    implicit = parts.scheme == "smtps"
    return MailServer(
        host=parts.hostname,
        port=port if port is not None else (465 if implicit else 25),
        implicit_tls=implicit,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (localhost or a loopback address): there, plain SMTP crosses no network."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_plan(host: str, starttls_offered: bool, has_credentials: bool) -> str:
    """How a plain `smtp://` session goes on after EHLO: "starttls" or "plain"; Refused when a password would cross in clear."""
    loopback = is_loopback(host)
    if starttls_offered and not loopback:
        return "starttls"
    if has_credentials and not loopback:
        raise Refused(f"the mail server {host} offers no STARTTLS: the password is not sent in clear (use smtps:// or a server with TLS)")
    return "plain"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _long_time(moment: datetime) -> str:
    """A local time with its zone by name and offset ("2026-12-01 10:30 (Asia/Shanghai, UTC+08:00)"): "CST" alone reads as US Central."""
    offset = moment.strftime("%z")
    offset_text = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = getattr(moment.tzinfo, "key", "")
    return f"{moment:%Y-%m-%d %H:%M} ({name}, {offset_text})" if name and name != "UTC" else f"{moment:%Y-%m-%d %H:%M} {offset_text}"


def _line_text(line: Mapping[str, Any], chinese: bool) -> str:
    """One transcript line for people: what was said, what the caller keyed or said, and the few other events."""
    kind = str(line.get("type", ""))
    node = str(line.get("node", ""))
    if kind == "say":
        return f"[{node}] {line.get('text', '')}"
    if kind == "input":
        if "speech" in line:
            return ("  来电者说：" if chinese else "  caller said: ") + f"“{line.get('speech', '')}”"
        digits = str(line.get("digits") or "")
        if not digits:
            return "  来电者：（无输入）" if chinese else "  caller: (no input)"
        return ("  来电者按键：" if chinese else "  caller pressed: ") + digits
    if kind == "transfer":
        return f"  → 转接队列 {line.get('queue', '')}" if chinese else f"  → transfer to queue {line.get('queue', '')}"
    if kind == "record":
        return "  ● 录音留言" if chinese else "  ● recording a message"
    if kind == "ticket":
        what = "工单" if chinese else "ticket"
        return f"  ✔ {what} {line.get('number', '')} ({line.get('category', '')})"
    if kind == "hangup":
        return f"  ☎ 挂断（{line.get('reason', '')}）" if chinese else f"  ☎ hang up ({line.get('reason', '')})"
    if kind == "gather":
        return "  （等待按键）" if chinese else "  (waiting for keys)"
    return f"  · {kind}"


def transcript_text(lines: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]], chinese: bool = False) -> str:
    """The call's heard lines as readable text, one a line; hidden characters (controls, bidi overrides) escaped."""
    return "\n".join(shown(_line_text(line, chinese)) for line in lines)


def message_for(parcel: Parcel, to: str, sender: str) -> EmailMessage:
    """The e-mail for `parcel`: subject and body in the caller's language, times in the menu's zone."""
    chinese = parcel.language.lower().startswith("zh")
    zone = _zone(parcel.timezone)
    due = _local(parcel.first_response_due, zone)
    created = _local(parcel.created_at, zone)
    category = shown(parcel.category)
    number = shown(parcel.number)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = f"<ticket-{_NOT_IN_ID.sub('_', parcel.number)}@ivr-hotline>"
    message["X-IVR-Ticket"] = _NOT_IN_ID.sub("_", parcel.number)
    message["Date"] = format_datetime(datetime.now(UTC))  # when it is sent; the fixed Message-ID makes copies one mail
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the hotline
    # Only our own words go into the subject: the number, the menu's category and a time, never what the caller said.
    if chinese:
        message["Subject"] = f"【热线工单】{number} · {category}（首次响应截止 {due:%m-%d %H:%M}）"
    else:
        message["Subject"] = f"Hotline ticket {number} · {category} (first response due {due:%m-%d %H:%M})"
    path = " → ".join(parcel.path)
    description = "\n".join(shown(part) for part in parcel.description.splitlines())
    transcript = transcript_text(parcel.transcript, chinese)
    if chinese:
        rows = [
            f"工单号：{number}",
            f"类别：{category}",
            f"来电号码：{shown(parcel.caller)}",
            f"语言：{shown(parcel.language)}",
            f"创建时间：{_long_time(created)}",
            f"首次响应截止：{_long_time(due)}",
            f"通话：{shown(parcel.call_id)}",
            "",
            "问题描述：",
            description or "（无）",
            "",
            f"录音留言：{shown(parcel.recording_url) or '（无）'}",
            f"通话路径：{shown(path) or '（无）'}",
            "",
            "通话记录：",
            transcript or "（无）",
        ]
    else:
        rows = [
            f"Ticket: {number}",
            f"Category: {category}",
            f"Caller: {shown(parcel.caller)}",
            f"Language: {shown(parcel.language)}",
            f"Created: {_long_time(created)}",
            f"First response due: {_long_time(due)}",
            f"Call: {shown(parcel.call_id)}",
            "",
            "Description:",
            description or "(none)",
            "",
            f"Recorded message: {shown(parcel.recording_url) or '(none)'}",
            f"Path: {shown(path) or '(none)'}",
            "",
            "Transcript:",
            transcript or "(none)",
        ]
    message.set_content("\n".join(rows) + "\n", charset="utf-8")
    return message


def _by_code(code: int, what: str) -> TryLater | Refused:
    """An SMTP reply code as our outcome: 4xx is "not now", anything else that failed is "never"."""
    return TryLater(what) if 400 <= code < 500 else Refused(what)


def _outcome(exc: BaseException, where: str, to: str, timeout: float) -> TryLater | Refused:
    """What a failed exchange with the mail server means: try later (4xx, a dropped line) or never (5xx, bad settings)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, said = next(iter(exc.recipients.values()), (550, b""))
        return _by_code(code, f"the mail server refused the address {to}: {code} {_said(said)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, f"the mail server refused the login: {exc.smtp_code} {_said(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Refused(f"the mail server {where} does not offer what is needed: {_said(str(exc))}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TryLater(f"the mail server {where} hung up: {_said(str(exc))}")
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, HELO refused, a failed connect greeting
        return _by_code(exc.smtp_code, f"the mail server answered {exc.smtp_code} {_said(exc.smtp_error)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Refused(f"the mail server {where} has a certificate we do not trust: {_said(exc.verify_message or str(exc))}")
    if isinstance(exc, TimeoutError):
        return TryLater(f"the mail server {where} did not answer within {timeout:g} s")
    if isinstance(exc, UnicodeError):  # smtplib sends logins and addresses as ASCII only
        return Refused(f"the mail server login or an address is not ASCII: {type(exc).__name__}")
    return TryLater(f"could not hand the mail to {where}: {type(exc).__name__}")


def _said(error: bytes | str) -> str:
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return text[:200]  # stored cleaned of control characters, escaped where it is shown


def _time_left(sock: Any, deadline: float) -> Any:
    """`sock` with its timeout cut to what is left before `deadline` (connecting may have used some)."""
    left = deadline - time.monotonic()
    if left <= 0:
        sock.close()
        raise TimeoutError("out of time")
    sock.settimeout(left)
    return sock


class _BoundedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose greeting and replies are read within the send's deadline."""

    def __init__(self, deadline: float, watchdog: SocketDeadline, host: str, port: int, timeout: float) -> None:
        self.deadline = deadline
        self.watchdog = watchdog
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        sock = _time_left(super()._get_socket(host, port, timeout), self.deadline)  # type: ignore[misc]  # untyped in typeshed
        self.watchdog.watch(sock)  # smtplib reads a reply a line at a time: only this holds a trickled one to the deadline
        return sock

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """STARTTLS, the watchdog then watching the encrypted socket."""
        reply = super().starttls(*args, **kwargs)
        if self.sock is not None:
            self.watchdog.watch(self.sock)
        return reply


class _BoundedSMTPS(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL whose greeting and replies are read within the send's deadline."""

    def __init__(self, deadline: float, watchdog: SocketDeadline, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        self.deadline = deadline
        self.watchdog = watchdog
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        sock = _time_left(super()._get_socket(host, port, timeout), self.deadline)  # type: ignore[misc]  # untyped in typeshed
        self.watchdog.watch(sock)  # smtplib reads a reply a line at a time: only this holds a trickled one to the deadline
        return sock


class SupportMail:
    """Mails each ticket to the support address `to`, from `sender`, through the server `url`."""

    channel: ClassVar[str] = "email"

    def __init__(self, url: str, to: str, sender: str) -> None:
        self.server = parse_server(url)
        if not to or not sender:
            raise ValueError("the support mail needs a To address and a From address")
        self.to = to
        self.sender = sender

    def target(self, parcel: Parcel) -> str:
        """The support address the ticket goes to."""
        return self.to

    def send(self, parcel: Parcel, timeout: float) -> str:
        """Hand the ticket's e-mail to the server within `timeout` seconds; "250" when accepted, else TryLater or Refused."""
        deadline = time.monotonic() + timeout
        message = message_for(parcel, self.to, self.sender)
        server = self.server
        where = f"{server.host}:{server.port}"
        session: smtplib.SMTP | None = None
        watchdog = SocketDeadline(deadline)
        try:
            context = ssl.create_default_context()
            if server.implicit_tls:
                session = _BoundedSMTPS(deadline, watchdog, server.host, server.port, timeout=timeout, context=context)
            else:
                session = _BoundedSMTP(deadline, watchdog, server.host, server.port, timeout=timeout)
            self._rearm(session, deadline)
            session.ehlo()
            if not server.implicit_tls:
                plan = security_plan(server.host, session.has_extn("starttls"), bool(server.user or server.password))
                if plan == "starttls":
                    self._rearm(session, deadline)
                    session.starttls(context=context)
                    self._rearm(session, deadline)
                    session.ehlo()
            if server.user or server.password:
                self._rearm(session, deadline)
                session.login(server.user, server.password)
            self._rearm(session, deadline)
            session.send_message(message, from_addr=self.sender, to_addrs=[self.to])
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            if watchdog.expired:  # whatever smtplib made of a reply cut off at the deadline, the server was too slow
                raise TryLater(f"the mail server {where} did not answer within {timeout:g} s") from exc
            raise _outcome(exc, where, self.to, timeout) from exc
        finally:
            watchdog.cancel()
            if session is not None:
                self._close(session)
        return "250"

    @staticmethod
    def _rearm(session: smtplib.SMTP, deadline: float) -> None:
        """Give the next exchange only the time left of the whole send."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("out of time")
        if session.sock is not None:
            session.sock.settimeout(left)

    @staticmethod
    def _close(session: smtplib.SMTP) -> None:
        try:
            if session.sock is not None:
                session.sock.settimeout(1.0)  # a polite QUIT, but not one that holds the sender up
            session.quit()
        except (OSError, smtplib.SMTPException):
            session.close()
