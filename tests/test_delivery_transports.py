"""The three ticket transports against real local servers: a desk webhook, an SMTP server and Twilio's Messages API."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from ivr.delivery import Parcel, Refused, TryLater
from ivr.delivery.desk import DeskWebhook, body_of, retry_after, sign, verify
from ivr.delivery.mail import SupportMail, is_loopback, parse_server, security_plan
from ivr.delivery.sms import CallerSms
from tests.desk_receiver import Answer, DeskReceiver
from tests.twilio_cloud import TwilioCloud

SLACK = 1.0  # how much longer than its timeout a send may take, here
CALLER = "+8613800138000"
SHOP_NUMBER = "+15005550006"
SERVICE = "MG" + "0123456789abcdef" * 2


def parcel(**changes: Any) -> Parcel:
    """A ticket of a Chinese-speaking caller, due at 10:30 Beijing time on 1 December."""
    base = Parcel(
        number="12345678",
        call_id="CA" + "1" * 32,
        caller=CALLER,
        language="zh-CN",
        category="account",
        description="登录不了\n换了手机以后验证码收不到",
        created_at=datetime(2026, 12, 1, 0, 30, tzinfo=UTC),
        first_response_due=datetime(2026, 12, 1, 2, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        path=("welcome", "main", "account", "ticket"),
        transcript=(
            {"type": "say", "node": "welcome", "lang": "zh-CN", "text": "您好，欢迎致电售后热线。"},
            {"type": "gather", "node": "main", "max_digits": 1, "finish_on_key": "", "timeout": 5},
            {"type": "input", "node": "main", "digits": "2"},
            {"type": "input", "node": "account", "digits": "", "speech": "账号登录", "confidence": 0.9},
            {"type": "ticket", "node": "ticket", "number": "12345678", "category": "account"},
        ),
        sms_text="您的工单号是 12345678，工程师会尽快联系您。",
    )
    return replace(base, **changes)


def timed(call: Any, *args: Any) -> tuple[Any, float]:
    """What `call(*args)` returned or raised, and how long it took."""
    started = time.monotonic()
    try:
        result: Any = call(*args)
    except (TryLater, Refused) as exc:
        result = exc
    return result, time.monotonic() - started


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts connections and never says a word: a server that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# --- desk: signatures -----------------------------------------------------------------------------------


def test_signature_verifies_and_tampering_does_not() -> None:
    body = body_of(parcel())
    signature = sign("s3cret", 1_800_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret", "1800000000", body, signature, now=1_800_000_010)
    assert not verify("s3cret", "1800000000", body + b" ", signature, now=1_800_000_010)  # body changed
    assert not verify("s3cret", "1800000001", body, signature, now=1_800_000_010)  # timestamp changed
    assert not verify("other", "1800000000", body, signature, now=1_800_000_010)  # another secret
    assert not verify("s3cret", "1800000000", body, signature, now=1_800_000_301)  # stale: a replay
    assert not verify("s3cret", "1800000000", body, signature, now=1_799_999_699)  # from the future
    assert not verify("s3cret", "1.8e9", body, signature, now=1_800_000_010)
    assert not verify("s3cret", "1800000000", body, "sha256=" + "0" * 64, now=1_800_000_010)


def test_body_is_the_parcel_json_in_a_fixed_encoding() -> None:
    body = body_of(parcel())
    assert "登录不了".encode() in body  # UTF-8, not \\u escapes
    assert b", " not in body and b": " not in body
    assert body.index(b'"call":{') < body.index(b'"idempotency_key":') < body.index(b'"ticket":{')  # sorted keys


def test_desk_gets_a_signed_post_with_the_ticket_number_as_idempotency_key() -> None:
    with DeskReceiver() as desk:
        receipt = DeskWebhook(desk.url + "?token=abc", desk.secret).send(parcel(), timeout=2)
        [got] = desk.requests
    assert receipt == "200"
    assert got.verified and got.answer == 200
    assert got.header("Idempotency-Key") == "12345678"
    assert got.header("Content-Type") == "application/json; charset=utf-8"
    assert got.header("User-Agent") == "ivr-hotline"
    assert verify(desk.secret, got.header("X-IVR-Timestamp"), got.body, got.header("X-IVR-Signature"))
    assert got.json() == parcel().to_json()
    assert desk.accepted == 1 and desk.tickets["12345678"]["ticket"]["number"] == "12345678"


def test_a_wrong_secret_is_answered_401_and_refused() -> None:
    with DeskReceiver(plan=[200]) as desk:
        outcome, _ = timed(DeskWebhook(desk.url, "not-the-secret").send, parcel(), 2)
        assert isinstance(outcome, Refused) and "401" in outcome.reason
        assert desk.accepted == 0 and not desk.requests[0].verified


def test_target_shows_scheme_host_and_port_only() -> None:
    hook = DeskWebhook("https://user:pw@desk.example.com:8443/hooks/ivr?token=very-secret", "s")
    assert hook.target(parcel()) == "https://desk.example.com:8443"
    assert DeskWebhook("http://desk.example.com/x?t=1", "s").target(parcel()) == "http://desk.example.com"
    with pytest.raises(ValueError):
        DeskWebhook("ftp://desk.example.com/", "s")


# --- desk: outcomes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
def test_desk_busy_or_broken_means_try_later(status: int) -> None:
    with DeskReceiver(plan=[status]) as desk:
        outcome, _ = timed(DeskWebhook(desk.url, desk.secret).send, parcel(), 2)
    assert isinstance(outcome, TryLater) and str(status) in outcome.reason and outcome.after is None


def test_retry_after_is_honoured_on_429_and_503_and_capped() -> None:
    with DeskReceiver(
        plan=[Answer(429, {"Retry-After": "7"}), Answer(503, {"Retry-After": "99999"}), Answer(500, {"Retry-After": "7"})]
    ) as desk:
        hook = DeskWebhook(desk.url, desk.secret)
        outcomes = [timed(hook.send, parcel(), 2)[0] for _ in range(3)]
    assert [type(o) for o in outcomes] == [TryLater, TryLater, TryLater]
    assert [o.after for o in outcomes] == [7.0, 3600.0, None]  # a 500's Retry-After is not a promise
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC).timestamp()) == 30.0
    assert retry_after("soon") is None


def test_desk_4xx_is_refused_with_status_and_the_start_of_the_body() -> None:
    with DeskReceiver(plan=[Answer(404, {}, b"no such hook " + b"x" * 100_000)]) as desk:
        outcome, _ = timed(DeskWebhook(desk.url, desk.secret).send, parcel(), 2)
    assert isinstance(outcome, Refused)
    assert "404" in outcome.reason and "no such hook" in outcome.reason and len(outcome.reason) < 260


def test_redirects_are_not_followed() -> None:
    with DeskReceiver() as elsewhere, DeskReceiver(plan=[Answer(307, {"Location": elsewhere.url})]) as desk:
        outcome, _ = timed(DeskWebhook(desk.url, desk.secret).send, parcel(), 2)
        assert isinstance(outcome, Refused) and "307" in outcome.reason
        assert elsewhere.received == 0


def test_a_desk_that_takes_too_long_is_given_up_on_in_time_and_the_retry_is_a_duplicate() -> None:
    with DeskReceiver(plan=["timeout"], stall=5) as desk:
        hook = DeskWebhook(desk.url, desk.secret)
        outcome, took = timed(hook.send, parcel(), 1.0)
        assert isinstance(outcome, TryLater) and took < 1.0 + SLACK
        assert hook.send(parcel(), timeout=2) == "200"
        assert desk.received == 2 and desk.accepted == 1 and desk.duplicates == 1


@pytest.mark.parametrize("every", [0.05, 0.8])
def test_a_trickling_answer_cannot_hold_the_send(every: float) -> None:
    # A byte every 0.8 s: each read must wait only for what is left of the second, not for a whole new timeout.
    with DeskReceiver(plan=["trickle"], stall=5, trickle_every=every) as desk:
        outcome, took = timed(DeskWebhook(desk.url, desk.secret).send, parcel(), 1.0)
    assert isinstance(outcome, TryLater) and took < 1.3


@contextmanager
def trickler(first: bytes, then: bytes, *, read_before: bool = True, read_after: bool = False, seconds: float = 20.0) -> Iterator[int]:
    """A server that, for each connection, sends `first` (reading what comes `read_before` or `read_after` it), then `then`
    a byte every 0.1 s for `seconds`."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        done = threading.Event()

        def serve() -> None:
            while not done.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(1)
                    try:
                        if read_before:
                            conn.recv(65536)
                        conn.sendall(first)
                        if read_after:
                            conn.recv(65536)
                        until = time.monotonic() + seconds
                        while time.monotonic() < until and not done.is_set():
                            conn.sendall(then)
                            time.sleep(0.1)
                    except OSError:
                        pass  # the client gave up: what it should do

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield int(listener.getsockname()[1])
        finally:
            done.set()
            thread.join(timeout=5)


def header_trickler() -> Any:
    """An HTTP server that sends its status line, then its headers a byte every 0.1 s."""
    return trickler(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a")


def test_headers_trickled_a_byte_at_a_time_cannot_hold_the_send() -> None:
    """Each header byte comes well within any read timeout; the send still ends at its deadline."""
    with header_trickler() as port:
        outcome, took = timed(DeskWebhook(f"http://127.0.0.1:{port}/hook", "desk-secret").send, parcel(), 1.0)
    assert isinstance(outcome, TryLater) and took < 1.0 + SLACK
    assert "time was up" in outcome.reason or "within 1 s" in outcome.reason


def test_twilio_trickling_its_headers_cannot_hold_a_text() -> None:
    """The same deadline holds for Twilio's API."""
    with header_trickler() as port:
        sms = CallerSms("AC" + "0" * 32, "token", "+15005550006", api_url=f"http://127.0.0.1:{port}")
        outcome, took = timed(sms.send, parcel(), 1.0)
    assert isinstance(outcome, TryLater) and took < 1.0 + SLACK


def test_a_desk_that_is_down_or_drops_the_connection_means_try_later() -> None:
    with DeskReceiver(plan=["down"]) as desk:
        hook = DeskWebhook(desk.url, desk.secret)
        dropped, _ = timed(hook.send, parcel(), 2)
        desk.go_down()
        refused, took = timed(hook.send, parcel(), 2)
        desk.come_up()
        assert isinstance(dropped, TryLater) and isinstance(refused, TryLater) and took < 1
        assert hook.send(parcel(), timeout=2) == "200"
        assert desk.accepted == 1


def test_a_desk_that_hangs_before_answering_is_bounded() -> None:
    with silent_listener() as port:
        outcome, took = timed(DeskWebhook(f"http://127.0.0.1:{port}/hook", "s").send, parcel(), 1.0)
    assert isinstance(outcome, TryLater) and took < 1.0 + SLACK


# --- email -----------------------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler keeping what it was handed; `rcpt_answer` / `data_answer` script refusals."""

    def __init__(self, rcpt_answer: str = "", data_answer: str = "") -> None:
        self.rcpt_answer = rcpt_answer
        self.data_answer = data_answer
        self.envelopes: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        """Take the recipient, or answer as scripted."""
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        """Keep the message, or answer as scripted."""
        if self.data_answer:
            return self.data_answer
        content = envelope.original_content or b""
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """What was handed over, parsed."""
        return [email.message_from_bytes(raw, policy=default_policy) for _, _, raw in self.envelopes]


@contextmanager
def smtp_server(box: Mailbox, **options: Any) -> Iterator[int]:
    """A real aiosmtpd server on 127.0.0.1 handing its mail to `box`; yields its port."""
    port = free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # aiosmtpd warns about AUTH without TLS: on loopback that is what we test
        controller = Controller(box, hostname="127.0.0.1", port=port, **options)
        controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_trickler(after_greeting: bool) -> Any:
    """A mail server that trickles a byte every 0.1 s: its greeting, or (`after_greeting`) its answer to EHLO."""
    if after_greeting:
        return trickler(b"220 slow.example ESMTP\r\n", b"2", read_before=False, read_after=True)
    return trickler(b"", b"2", read_before=False)


@pytest.mark.parametrize("after_greeting", [False, True])
def test_a_mail_server_trickling_its_replies_cannot_hold_the_send(after_greeting: bool) -> None:
    """smtplib reads a line at a time and each byte restarts a socket timeout: the send still ends at its deadline."""
    with smtp_trickler(after_greeting) as port:
        mail = SupportMail(f"smtp://127.0.0.1:{port}", "support@example.com", "hotline@example.com")
        outcome, took = timed(mail.send, parcel(), 1.0)
    assert isinstance(outcome, TryLater) and "within 1 s" in outcome.reason and took < 1.0 + SLACK


def test_a_login_that_is_not_ascii_is_refused_not_raised() -> None:
    """smtplib cannot send a non-ASCII password: a person must change it, retrying will not help."""
    box = Mailbox()
    with smtp_server(box, auth_require_tls=False, authenticator=lambda *a: AuthResult(success=True)) as port:
        outcome, _ = timed(SupportMail(f"smtp://ops:p%C3%A4ss@127.0.0.1:{port}", "support@example.com", "h@example.com").send, parcel(), 3)
    assert isinstance(outcome, Refused) and "ASCII" in outcome.reason


def test_the_mail_is_in_chinese_with_beijing_times_and_a_fixed_message_id() -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        mail = SupportMail(f"smtp://127.0.0.1:{port}", "support@example.com", "hotline@example.com")
        assert mail.send(parcel(), timeout=3) == "250"
        assert mail.send(parcel(), timeout=3) == "250"
    assert [(sender, to) for sender, to, _ in box.envelopes] == [("hotline@example.com", ["support@example.com"])] * 2
    first, again = box.messages()
    assert first["Subject"] == "【热线工单】12345678 · account（首次响应截止 12-01 10:30）"
    assert first["Message-ID"] == again["Message-ID"] == "<ticket-12345678@ivr-hotline>"
    assert first["X-IVR-Ticket"] == "12345678" and first["Auto-Submitted"] == "auto-generated"
    assert abs((first["Date"].datetime - datetime.now(UTC)).total_seconds()) < 60  # when it was sent
    assert first["From"] == "hotline@example.com" and first["To"] == "support@example.com"
    text = first.get_content().replace("\r\n", "\n")
    assert "首次响应截止：2026-12-01 10:30 (Asia/Shanghai, UTC+08:00)" in text
    assert "创建时间：2026-12-01 08:30 (Asia/Shanghai, UTC+08:00)" in text
    assert "登录不了\n换了手机以后验证码收不到" in text
    assert "welcome → main → account → ticket" in text
    assert "[welcome] 您好，欢迎致电售后热线。" in text and "来电者按键：2" in text and "来电者说：“账号登录”" in text
    assert "Recordings/RE1" in text and CALLER in text


def test_the_mail_is_in_english_for_other_callers() -> None:
    box = Mailbox()
    with smtp_server(box) as port:
        SupportMail(f"smtp://127.0.0.1:{port}", "support@example.com", "hotline@example.com").send(parcel(language="en-US"), timeout=3)
    [message] = box.messages()
    assert message["Subject"] == "Hotline ticket 12345678 · account (first response due 12-01 10:30)"
    text = message.get_content().replace("\r\n", "\n")
    assert "First response due: 2026-12-01 10:30 (Asia/Shanghai, UTC+08:00)" in text
    assert "caller pressed: 2" in text and "caller said: “账号登录”" in text and "Path: welcome → main → account → ticket" in text


def test_what_the_caller_said_cannot_add_headers() -> None:
    box = Mailbox()
    sneaky = parcel(
        description="hi\r\nBcc: evil@example.com\r\n\r\nSubject: free",
        transcript=({"type": "input", "node": "m", "digits": "", "speech": "x\r\nBcc: evil@example.com"},),
    )
    with smtp_server(box) as port:
        SupportMail(f"smtp://127.0.0.1:{port}", "support@example.com", "hotline@example.com").send(sneaky, timeout=3)
    [(_, to, raw)] = box.envelopes
    [message] = box.messages()
    assert to == ["support@example.com"]
    assert message["Bcc"] is None and message["Subject"].startswith("【热线工单】12345678")
    assert b"\nBcc:" not in raw.split(b"\r\n\r\n", 1)[0]


@pytest.mark.parametrize(
    ("where", "answer", "outcome"),
    [
        ("rcpt", "451 4.3.0 try again later", TryLater),
        ("rcpt", "550 5.1.1 no such user", Refused),
        ("data", "452 4.3.1 out of storage", TryLater),
        ("data", "554 5.7.1 rejected as spam", Refused),
    ],
)
def test_smtp_4xx_means_try_later_and_5xx_refused(where: str, answer: str, outcome: type[Exception]) -> None:
    box = Mailbox(**{f"{where}_answer": answer})
    with smtp_server(box) as port:
        result, _ = timed(SupportMail(f"smtp://127.0.0.1:{port}", "support@example.com", "hotline@example.com").send, parcel(), 3)
    assert isinstance(result, outcome) and answer.split(maxsplit=1)[0] in str(result)
    assert box.envelopes == []


def test_no_mail_server_or_a_silent_one_means_try_later_in_time() -> None:
    nobody, took = timed(SupportMail(f"smtp://127.0.0.1:{free_port()}", "s@example.com", "h@example.com").send, parcel(), 1.0)
    assert isinstance(nobody, TryLater) and took < 1.0
    with silent_listener() as port:
        silent, took = timed(SupportMail(f"smtp://127.0.0.1:{port}", "s@example.com", "h@example.com").send, parcel(), 1.0)
    assert isinstance(silent, TryLater) and took < 1.0 + SLACK


def test_credentials_are_percent_decoded_and_a_wrong_password_is_refused() -> None:
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"p@ss:word/1", handled=False)  # not handled: aiosmtpd answers 535

    box = Mailbox()
    with smtp_server(box, authenticator=authenticator, auth_require_tls=False) as port:
        good = SupportMail(f"smtp://hot%40line:p%40ss%3Aword%2F1@127.0.0.1:{port}", "s@example.com", "h@example.com")
        assert good.send(parcel(), timeout=3) == "250"
        bad, _ = timed(SupportMail(f"smtp://hot%40line:wrong@127.0.0.1:{port}", "s@example.com", "h@example.com").send, parcel(), 3)
    assert logins[0] == ("hot@line", "p@ss:word/1")
    assert isinstance(bad, Refused) and "535" in bad.reason
    assert len(box.envelopes) == 1


def test_a_password_never_crosses_a_network_in_clear() -> None:
    with pytest.raises(Refused, match="STARTTLS"):
        security_plan("mail.example.com", starttls_offered=False, has_credentials=True)
    assert security_plan("mail.example.com", starttls_offered=True, has_credentials=True) == "starttls"
    assert security_plan("mail.example.com", starttls_offered=True, has_credentials=False) == "starttls"
    assert security_plan("mail.example.com", starttls_offered=False, has_credentials=False) == "plain"
    assert security_plan("127.0.0.1", starttls_offered=False, has_credentials=True) == "plain"
    assert security_plan("localhost", starttls_offered=True, has_credentials=True) == "plain"
    assert is_loopback("::1") and is_loopback("127.8.9.1") and not is_loopback("10.0.0.1") and not is_loopback("localhost.example.com")


def test_server_urls() -> None:
    assert parse_server("smtp://mail.example.com") == parse_server("smtp://mail.example.com:25")
    server = parse_server("smtps://u%20ser:pa%25ss@mail.example.com")
    assert (server.port, server.implicit_tls, server.user, server.password) == (465, True, "u ser", "pa%ss")
    for wrong in ("http://mail.example.com", "smtp://", "smtp://mail.example.com:99999"):
        with pytest.raises(ValueError):
            parse_server(wrong)


def test_smtps_checks_the_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("openssl could not make a certificate")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox()
    with smtp_server(box, ssl_context=context) as port:
        outcome, took = timed(SupportMail(f"smtps://127.0.0.1:{port}", "s@example.com", "h@example.com").send, parcel(), 3)
    assert isinstance(outcome, Refused) and "certificate" in outcome.reason and took < 3 + SLACK
    assert box.envelopes == []


# --- sms -------------------------------------------------------------------------------------------------


def recent(**changes: Any) -> Parcel:
    """A ticket created just now (the look for an earlier text goes a day back from the ticket)."""
    now = datetime.now(UTC)
    return parcel(created_at=now, first_response_due=now + timedelta(hours=2), **changes)


def test_the_real_twilio_client_texts_the_caller_through_the_stand_in() -> None:
    with TwilioCloud() as cloud:
        sms = CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url)
        sid = sms.send(recent(), timeout=3)
        [message] = cloud.messages
        methods = [(method, path.split("?")[0]) for method, path, _ in cloud.requests]
        looked = cloud.requests[0][1]
    assert sid == message["sid"] and sid.startswith("SM") and len(sid) == 34
    assert (message["to"], message["from"], message["body"]) == (CALLER, SHOP_NUMBER, recent().sms_text)
    assert methods == [("GET", cloud.messages_path), ("POST", cloud.messages_path)]  # looked first, then sent
    assert "To=%2B8613800138000" in looked
    assert sms.target(recent()) == "+86138****8000"


def test_a_messaging_service_sends_in_place_of_a_number() -> None:
    with TwilioCloud() as cloud:
        CallerSms(cloud.account_sid, cloud.auth_token, SERVICE, api_url=cloud.url).send(recent(), timeout=3)
        [message] = cloud.messages
    assert message["messaging_service_sid"] == SERVICE


def test_a_wrong_auth_token_is_refused() -> None:
    with TwilioCloud() as cloud:
        outcome, _ = timed(CallerSms(cloud.account_sid, "wrong", SHOP_NUMBER, api_url=cloud.url).send, recent(), 3)
        assert cloud.messages == []
    assert isinstance(outcome, Refused) and "401" in outcome.reason


def test_after_a_lost_answer_the_retry_finds_the_text_and_does_not_send_again() -> None:
    with TwilioCloud() as cloud:
        sms = CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url)
        cloud.lose_next()
        lost, _ = timed(sms.send, recent(), 3)
        assert isinstance(lost, TryLater) and cloud.creates == 1
        again = sms.send(recent(), timeout=3)
        assert again == cloud.messages[0]["sid"] and cloud.creates == 1
        other = sms.send(recent(number="87654321", sms_text="您的工单号是 87654321。"), timeout=3)
        assert other != again and cloud.creates == 2


def test_a_text_of_a_longer_number_is_not_taken_for_this_ticket() -> None:
    with TwilioCloud() as cloud:
        sms = CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url)
        sms.send(recent(number="123456789", sms_text="您的工单号是 123456789。"), timeout=3)
        sms.send(recent(), timeout=3)
        assert cloud.creates == 2 and cloud.sent_to(CALLER)[1] == recent().sms_text


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(500, None, TryLater), (503, None, TryLater), (429, 20429, TryLater), (400, 21211, Refused), (400, 21610, Refused)],
)
def test_twilio_errors(status: int, code: int | None, outcome: type[Exception]) -> None:
    with TwilioCloud() as cloud:
        cloud.fail_next(status=status, code=code, message="scripted failure")
        result, _ = timed(CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url).send, recent(), 3)
        assert cloud.messages == []
    assert isinstance(result, outcome) and str(status) in str(result)
    if code is not None:
        assert str(code) in str(result) and "scripted failure" in str(result)


def test_a_failing_look_for_earlier_texts_fails_the_send() -> None:
    with TwilioCloud() as cloud:
        cloud.fail_next(status=500, method="GET")
        result, _ = timed(CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url).send, recent(), 3)
        assert isinstance(result, TryLater) and cloud.messages == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_slow_twilio_is_given_up_on_in_time(method: str) -> None:
    with TwilioCloud() as cloud:
        cloud.stall_next(seconds=5, method=method)
        result, took = timed(CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url).send, recent(), 1.0)
    assert isinstance(result, TryLater) and took < 1.0 + SLACK


def test_no_twilio_means_try_later_and_no_caller_number_is_refused() -> None:
    sms = CallerSms("AC" + "0" * 32, "token", SHOP_NUMBER, api_url=f"http://127.0.0.1:{free_port()}")
    down, took = timed(sms.send, recent(), 1.0)
    assert isinstance(down, TryLater) and took < 1.0
    withheld, _ = timed(sms.send, recent(caller="anonymous"), 1.0)
    assert isinstance(withheld, Refused)
    empty, _ = timed(sms.send, recent(sms_text=""), 1.0)
    assert isinstance(empty, Refused)


def test_stand_in_lists_pages_and_date_filters_as_the_client_sends_them() -> None:
    from twilio.rest import Client

    with TwilioCloud() as cloud:
        sms = CallerSms(cloud.account_sid, cloud.auth_token, SHOP_NUMBER, api_url=cloud.url)
        for n in range(5):
            sms.send(recent(number=f"1000000{n}", sms_text=f"ticket 1000000{n}"), timeout=3)
        client = Client(cloud.account_sid, cloud.auth_token)
        client.api.base_url = cloud.url
        listed = client.messages.list(to=CALLER, page_size=2)
        since = client.messages.list(to=CALLER, date_sent_after=datetime.now(UTC) - timedelta(minutes=5), limit=3)
        later = client.messages.list(date_sent_after=datetime.now(UTC) + timedelta(minutes=5))
    assert [m.body for m in listed] == [f"ticket 1000000{n}" for n in (4, 3, 2, 1, 0)]  # newest first, over three pages
    assert len(since) == 3 and later == []


def test_stand_ins_stop_promptly() -> None:
    started = time.monotonic()
    with DeskReceiver(plan=["timeout"], stall=30) as desk:
        thread = threading.Thread(target=timed, args=(DeskWebhook(desk.url, desk.secret).send, parcel(), 0.5), daemon=True)
        thread.start()
        desk.wait_received(1)
    thread.join(timeout=5)
    assert time.monotonic() - started < 5
