"""Requests that are what they claim: the shape checks that close what Twilio's signature leaves open.

Twilio signs the URL plus every form parameter as name+value, sorted by name, run together. A captured
request can therefore be re-split (a CallSid absorbing the next name and value, a name taking the
first characters of its value, two names sharing a prefix turned into one repeated key) and still
carry a valid signature. The attacks below are checked to validate with twilio's own RequestValidator
before they are sent, so each proves the hole is real; the server must refuse every one that could
reach another call or ticket, and record nothing for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from ivr.audio.manifest import AudioManifest, Entry
from ivr.engine.services import TicketRequest
from ivr.errors import ConfigError
from ivr.store import Store
from ivr.store.schema import calls
from ivr.store.tickets import TicketStore, sqlite_url
from ivr.testing.phone import ACCOUNT_SID, HttpTransport, PhoneCall, Reply
from ivr.web.signature import is_signed
from tests.conftest import AFTER_HOURS, SHIPPED_MENU
from tests.server import Server, free_port, running_server
from tests.waiting import wait_until
from tests.webhooks import PUBLIC_URL, TOKEN, Clock, Hotline, make_app, make_hotline, sid
from tests.workspace import run_ivr

Pairs = list[tuple[str, str]]
FORM = "application/x-www-form-urlencoded"
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE{'0a1b2c3d' * 4}"
OUR_ACCOUNT = "AC" + "7c0d" * 8  # the account the account-bound server belongs to
ROUTES = ("/voice/incoming", "/voice/gather?seq=1", "/voice/record?seq=2", "/voice/dial?seq=1", "/voice/status", "/voice/fallback")
NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True)


# ---- capturing and re-splitting signed requests ---------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """One signed request as it went over the wire."""

    path: str
    form: dict[str, str]
    signature: str

    @property
    def tokens(self) -> list[str]:
        """Names and values in the order the signature runs them together."""
        return [text for name in sorted(self.form) for text in (name, self.form[name])]

    def validates(self, pairs: Pairs, base_url: str) -> bool:
        """Whether `pairs` (in any order, keys maybe repeated) carry this request's signature, by twilio's own check."""
        return bool(RequestValidator(TOKEN).validate(base_url + self.path, MultiDict(pairs), self.signature))


@dataclass
class Recorder:
    """A transport that keeps every request it sends."""

    inner: HttpTransport
    sent: list[Captured] = field(default_factory=list)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """Send and keep."""
        self.sent.append(Captured(path, dict(form), headers["X-Twilio-Signature"]))
        return self.inner.post(path, form, headers)

    def fetch(self, path: str) -> int:
        """Fetch audio."""
        return self.inner.fetch(path)


def _pairs(tokens: list[str]) -> Pairs:
    return list(zip(tokens[::2], tokens[1::2], strict=True))


def absorbed(captured: Captured, name: str, pairs: int = 1) -> Pairs:
    """The value of `name` absorbs the next `pairs` names and values (they disappear as parameters)."""
    tokens = captured.tokens
    at = tokens.index(name) + 1
    return _pairs([*tokens[:at], "".join(tokens[at : at + 1 + 2 * pairs]), *tokens[at + 1 + 2 * pairs :]])


def name_takes(captured: Captured, name: str, count: int) -> Pairs:
    """The name `name` takes the first `count` characters of its own value."""
    tokens = captured.tokens
    at = tokens.index(name)
    tokens[at : at + 2] = [tokens[at] + tokens[at + 1][:count], tokens[at + 1][count:]]
    return _pairs(tokens)


def shared_prefix(captured: Captured, first: str, second: str, prefix: str) -> Pairs:
    """Two neighbouring names that start with `prefix` become that one name, repeated, with the rest in its values."""
    return [
        (prefix, name.removeprefix(prefix) + value) if name in (first, second) else (name, value) for name, value in captured.form.items()
    ]


def re_splits(captured: Captured) -> Iterator[Pairs]:
    """Every way to move the boundary between two neighbouring tokens, and every run of whole parameters one value absorbs."""
    tokens = captured.tokens
    for i in range(len(tokens) - 1):
        left, right = tokens[i], tokens[i + 1]
        for k in range(1, len(left) + 1):
            yield _pairs([*tokens[:i], left[:-k], left[-k:] + right, *tokens[i + 2 :]])
        for k in range(1, len(right) + 1):
            yield _pairs([*tokens[:i], left + right[:k], right[k:], *tokens[i + 2 :]])
    for value in range(1, len(tokens), 2):
        for end in range(value + 2, len(tokens), 2):
            yield _pairs([*tokens[:value], "".join(tokens[value : end + 1]), *tokens[end + 1 :]])


def send(server: Server, path: str, pairs: Pairs, signature: str, content_type: str = FORM) -> int:
    """POST `pairs` in this order (repeated keys kept) with `signature`; the HTTP status."""
    body = urlencode(pairs).encode()
    headers = {"X-Twilio-Signature": signature, "Content-Type": content_type}
    request = urllib.request.Request(server.url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def recorded(server: Server) -> tuple[int, int]:
    """(tickets, calls) in the server's database."""
    store = Store(server.db_url)
    try:
        return len(store.tickets.list_tickets()), store.calls.count()
    finally:
        store.close()


def refused_lines(server: Server) -> list[str]:
    """The log lines of refused requests."""
    return [line for line in server.log.read_text(errors="replace").splitlines() if "rejected POST" in line]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `ivr serve`, closed (so key 1 records a message), signing for its own URL."""
    with running_server(tmp_path_factory.mktemp("shapes"), IVR_HOURS_OVERRIDE="closed") as running:
        yield running


def captured_fallback(server: Server, label: str) -> Captured:
    """A message left on the Fallback URL, delivered as Twilio delivers it: one ticket."""
    recorder = Recorder(HttpTransport(server.url))
    phone = PhoneCall(recorder, server.url, TOKEN, call_sid=sid(label))
    phone.post("/voice/fallback/recorded", RecordingUrl=RECORDING, RecordingDuration="7", Digits="#")
    return recorder.sent[-1]


def captured_call(server: Server, label: str) -> list[Captured]:
    """The four requests of one after-hours call that leaves a message: one call, one ticket."""
    recorder = Recorder(HttpTransport(server.url))
    phone = PhoneCall(recorder, server.url, TOKEN, call_sid=sid(label))
    phone.post("/voice/incoming", CallStatus="ringing")
    record = phone.post("/voice/gather?seq=1", Digits="1", FinishedOnKey="").find("Record")
    assert record is not None and record.get("action") == "/voice/record?seq=2"
    phone.post("/voice/record?seq=2", RecordingUrl=RECORDING, RecordingDuration="7", Digits="#")
    phone.post_status()
    assert [c.path for c in recorder.sent] == ["/voice/incoming", "/voice/gather?seq=1", "/voice/record?seq=2", "/voice/status"]
    return recorder.sent


# ---- the attacks, against a real server -----------------------------------------------------------------


def test_a_captured_fallback_message_cannot_be_replayed_as_other_tickets(server: Server) -> None:
    """Re-splits of one captured /voice/fallback/recorded that keep its signature are all refused: no ticket but the first."""
    before = recorded(server)
    captured = captured_fallback(server, "fallback capture")
    assert recorded(server) == (before[0] + 1, before[1])
    attacks = {
        "CallSid absorbs CallStatus and its value": absorbed(captured, "CallSid"),
        "CallSid absorbs everything after it": absorbed(captured, "CallSid", pairs=len(captured.form) - 2),
        "the CallSid name takes 'CA' from its value": name_takes(captured, "CallSid", 2),
        "AccountSid absorbs the CallSid": absorbed(captured, "AccountSid"),
        "RecordingDuration and RecordingUrl as one repeated key": shared_prefix(captured, "RecordingDuration", "RecordingUrl", "Recording"),
        "the same, other order": shared_prefix(captured, "RecordingDuration", "RecordingUrl", "Recording")[::-1],
        "CallSid and CallStatus as one repeated key": shared_prefix(captured, "CallSid", "CallStatus", "Call"),
        "the CallSid pair twice": [*captured.form.items(), ("CallSid", captured.form["CallSid"])],
        "the last name takes the recording's path": _pairs([*captured.tokens[:-3], RECORDING[:8], RECORDING[8:] + "To", "+864008500030"]),
    }
    statuses = {}
    for label, pairs in attacks.items():
        assert captured.validates(pairs, server.url), f"{label}: not an attack, the signature does not validate"
        statuses[label] = send(server, captured.path, pairs, captured.signature)
    assert statuses == dict.fromkeys(attacks, 403)
    assert recorded(server) == (before[0] + 1, before[1])


def test_captured_requests_of_a_call_cannot_start_phantom_calls(server: Server) -> None:
    """The four signed requests of one call, re-split so the CallSid changes or keys repeat, are refused: no phantom call."""
    before = recorded(server)
    requests = captured_call(server, "call capture")
    assert recorded(server) == (before[0] + 1, before[1] + 1)
    sent = 0
    for captured in requests:
        names = sorted(captured.form)
        after_sid = names[names.index("CallSid") + 1 :]
        attacks = [absorbed(captured, "CallSid", pairs=n) for n in range(1, len(after_sid) + 1)]  # a new CallSid each
        attacks += [name_takes(captured, "CallSid", n) for n in (1, 2, 5)]  # no CallSid at all
        # CallSid and its neighbour in the signed order that also starts with "Call", as one repeated key "Call"
        neighbour = names[names.index("CallSid") - 1] if names[names.index("CallSid") - 1].startswith("Call") else after_sid[0]
        repeated = shared_prefix(captured, "CallSid", neighbour, "Call")
        attacks += [repeated, repeated[::-1]]
        attacks.append([*captured.form.items(), ("CallSid", captured.form["CallSid"])])
        for pairs in attacks:
            assert captured.validates(pairs, server.url), pairs
            assert send(server, captured.path, pairs, captured.signature) == 403, (captured.path, pairs)
            sent += 1
    assert sent >= 40
    assert recorded(server) == (before[0] + 1, before[1] + 1)


def test_every_re_split_of_a_captured_request_is_refused_or_changes_nothing(server: Server) -> None:
    """Every re-split that keeps the signature: refused when it names another call or a name Twilio never sends, otherwise
    a replay of the same call, which changes nothing (its step, its status, its one ticket)."""
    requests = [captured_fallback(server, "sweep fallback"), *captured_call(server, "sweep call")]
    before = recorded(server)
    store = Store(server.db_url)
    try:
        call_before = store.calls.load(sid("sweep call"))
        tickets_before = {t.call_id: t for t in store.tickets.list_tickets()}
    finally:
        store.close()
    refused = accepted = 0
    for captured in requests:
        variants = {tuple(p) for p in re_splits(captured)} - {tuple(captured.form.items()), tuple(_pairs(captured.tokens))}
        for variant in sorted(variants):
            pairs = list(variant)
            if not captured.validates(pairs, server.url):
                continue  # the sort order moved: the signature does not survive this one
            names = [name for name, _ in pairs]
            other_call = dict(pairs).get("CallSid") != captured.form["CallSid"]
            account = dict(pairs).get("AccountSid")
            odd = len(set(names)) < len(names) or not all(_twilio_name(n) for n in names)
            odd = odd or (account is not None and not _of_form(account, "AC")) or not _early_names_pinned(pairs)
            status = send(server, captured.path, pairs, captured.signature)
            if other_call or odd:
                assert status == 403, (captured.path, pairs)
                refused += 1
            else:
                assert status in (200, 204), (captured.path, pairs, status)
                accepted += 1
    assert refused >= 500 and accepted >= 300  # 774 and 540 with these captures: most re-splits are refused
    assert recorded(server) == before
    store = Store(server.db_url)
    try:
        call_after = store.calls.load(sid("sweep call"))
        assert call_before is not None and call_after is not None
        assert (call_after.seq, call_after.status, call_after.duration, call_after.last_response) == (
            call_before.seq,
            call_before.status,
            call_before.duration,
            call_before.last_response,
        )
        assert {t.call_id: t for t in store.tickets.list_tickets()} == tickets_before
    finally:
        store.close()
    assert "Traceback" not in server.log.read_text(errors="replace")


def test_a_request_for_another_account_is_refused(tmp_path: Path) -> None:
    """With TWILIO_ACCOUNT_SID set, a request signed for the right URL but for another account, or for none, is refused."""
    with running_server(tmp_path, IVR_HOURS_OVERRIDE="closed", TWILIO_ACCOUNT_SID=OUR_ACCOUNT) as bound:
        ours = PhoneCall(HttpTransport(bound.url), bound.url, TOKEN, account_sid=OUR_ACCOUNT)
        assert ours.post("/voice/incoming", CallStatus="ringing").tag == "Response"
        assert recorded(bound) == (0, 1)
        statuses = []
        for account in (ACCOUNT_SID, "AC" + "7c0d" * 7, OUR_ACCOUNT + "0", "ac" + OUR_ACCOUNT[2:], None):
            form = {"CallSid": sid(f"account {account}"), "From": "+8613800000000", "To": "+864008500030", "CallStatus": "ringing"}
            if account is not None:
                form["AccountSid"] = account
            signature = RequestValidator(TOKEN).compute_signature(bound.url + "/voice/incoming", form)
            statuses.append(send(bound, "/voice/incoming", list(form.items()), signature))
        captured = Recorder(HttpTransport(bound.url))
        PhoneCall(captured, bound.url, TOKEN, account_sid=OUR_ACCOUNT).post("/voice/fallback/recorded", RecordingUrl=RECORDING)
        shifted = absorbed(captured.sent[0], "AccountSid")  # its AccountSid absorbs the CallSid
        assert captured.sent[0].validates(shifted, bound.url)
        statuses.append(send(bound, "/voice/fallback/recorded", shifted, captured.sent[0].signature))
        assert statuses == [403] * 6
        assert recorded(bound) == (1, 1)
        assert sum("AccountSid" in line for line in refused_lines(bound)) == 5


# ---- the same rules, in process ------------------------------------------------------------------------


def _post(hotline: Hotline, path: str, pairs: Pairs, content_type: str = FORM, body: bytes | None = None, signature: str = "") -> int:
    """A raw POST to the first app, signed over `pairs` unless a signature is given."""
    signature = signature or RequestValidator(TOKEN).compute_signature(PUBLIC_URL + path, MultiDict(pairs))
    data = urlencode(pairs).encode() if body is None else body
    response = hotline.apps[0].test_client().post(path, data=data, content_type=content_type, headers={"X-Twilio-Signature": signature})
    return int(response.status_code)


@pytest.fixture
def hotline(tmp_path: Path) -> Hotline:
    """One app on a fresh SQLite database."""
    return make_hotline(tmp_path)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    """One app shared by the tests of requests it must refuse: its database stays empty throughout."""
    shared = make_hotline(tmp_path_factory.mktemp("refusing"))
    shared.clock.now = AFTER_HOURS
    yield shared
    assert nothing_stored(shared)
    shared.store.close()


def nothing_stored(hotline: Hotline) -> bool:
    """Whether the app's database holds no call and no ticket."""
    return hotline.store.calls.count() == 0 and hotline.store.tickets.list_tickets() == []


BAD_SIDS = {
    "missing": None,
    "empty": "",
    "31 digits": "CA" + "a" * 31,
    "33 digits": "CA" + "a" * 33,
    "not hex": "CA" + "g" * 32,
    "lowercase prefix": "ca" + "a" * 32,
    "a message sid": "SM" + "a" * 32,
    "padded": " CA" + "a" * 32,
    "a NUL inside": "CA" + "a" * 16 + "\x00" + "a" * 16,
    "full-width digits": "CA" + "１" * 32,
    "the next parameter absorbed": "CA" + "a" * 32 + "CallStatusringing",
}


@pytest.mark.parametrize("label", BAD_SIDS)
def test_a_call_sid_not_of_twilios_form_is_refused(refusing: Hotline, label: str, caplog: pytest.LogCaptureFixture) -> None:
    """A correctly signed request whose CallSid is missing or not CA + 32 hex gets 403 on every route, and nothing is stored.

    Without a CallSid the fallback message used to be stored under call 'unknown', one ticket shared by every such request.
    """
    value = BAD_SIDS[label]
    pairs = [("From", "+8613800000000"), ("RecordingUrl", RECORDING), *([("CallSid", value)] if value is not None else [])]
    paths = (*ROUTES, "/voice/fallback/recorded")
    with caplog.at_level(logging.WARNING, logger="ivr"):
        assert {path: _post(refusing, path, pairs) for path in paths} == dict.fromkeys(paths, 403)
    assert nothing_stored(refusing)
    reasons = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(reasons) == len(paths) and all("CallSid" in reason and reason.isprintable() for reason in reasons)


def test_a_call_sid_in_either_case_of_hex_is_served(hotline: Hotline) -> None:
    """Twilio's SID pattern takes either case of hex (it issues lowercase): both are served, as the calls they name."""
    for value in ("CA" + "0123456789abcdef" * 2, "CA" + "0123456789ABCDEF" * 2):
        assert _post(hotline, "/voice/incoming", [("CallSid", value), ("AccountSid", "AC" + "AB12" * 8)]) == 200
        assert hotline.store.calls.load(value) is not None


@pytest.mark.parametrize(
    "name", ["", "1Digits", "Call-Sid", "Call Sid", "Call.Sid", "Call_Sid", "名字", "Ｄigits", "X" * 65, "Digits\n", "\x1b[31mX", "From[]"]
)
def test_a_parameter_name_twilio_never_sends_is_refused(refusing: Hotline, name: str, caplog: pytest.LogCaptureFixture) -> None:
    """A name that is not ASCII letters and digits starting with a letter (at most 64) is refused; the log shows it escaped."""
    with caplog.at_level(logging.WARNING, logger="ivr"):
        assert _post(refusing, "/voice/incoming", [("CallSid", sid("names")), (name, "x")]) == 403
    assert nothing_stored(refusing)
    (reason,) = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert "parameter name" in reason and reason.isprintable() and reason.isascii() and len(reason) < 200


def test_a_sixty_four_letter_name_is_still_twilios(hotline: Hotline) -> None:
    """The bound on names is 64 characters: a name of exactly that length passes."""
    assert _post(hotline, "/voice/incoming", [("CallSid", sid("long name")), ("X" * 64, "x")]) == 200


def test_the_x_headers_of_a_sip_call_pass_by_twilios_names(hotline: Hotline) -> None:
    """Twilio passes a SIP call's X- headers as SipHeader_<name>, and those of a <Dial><Sip> answer as DialSipHeader_<name>:
    both are served; the same prefix before a name that is no SIP token is not."""
    hotline.clock.now = AFTER_HOURS
    start = [("CallSid", sid("sip")), ("From", "sip:caller@pbx.example.test"), ("SipHeader_X-Customer-Id", "42"), ("SipCallId", "abc")]
    assert _post(hotline, "/voice/incoming", start) == 200
    assert _post(hotline, "/voice/gather?seq=1", [("CallSid", sid("sip")), ("Digits", "0")]) == 200
    record = hotline.store.calls.load(sid("sip"))
    assert record is not None and record.seq == 2
    answer = [("CallSid", sid("sip")), ("DialCallStatus", "completed"), ("DialSipResponseCode", "200"), ("DialSipHeader_X-Pbx.Queue", "a")]
    assert _post(hotline, "/voice/dial?seq=2", answer) == 200
    assert hotline.store.calls.load(sid("sip")).seq == 3  # type: ignore[union-attr]
    for name in ("SipHeader_", "SipHeader_X Customer", "SipHeader_X-名", "OtherHeader_X-Id", "DialSipHeader_" + "x" * 65):
        assert _post(hotline, "/voice/incoming", [("CallSid", sid(name)), (name, "1")]) == 403, name
        assert hotline.store.calls.load(sid(name)) is None


def test_a_sip_transfer_answered_with_x_headers_goes_on(hotline: Hotline) -> None:
    """A whole call whose SIP transfer answers with X- headers (as DialSipHeader_ fields, Twilio's way) is served to the end."""
    call = hotline.call("1", sip_headers={"DialSipHeader_X-Agent-Id": "7", "DialSipHeader_X-Queue": "business"})
    assert [line["address"] for line in call.lines if line["type"] == "transfer"] == ["sip:business@pbx.example.test"]
    assert call.lines[-1] == {"type": "hangup", "reason": "hangup"}


@pytest.mark.parametrize(
    "body",
    [
        "CallSid={sid}&From=%2B861&X=a&X=b",
        "CallSid={sid}&From=%2B861&X=b&X=a",
        "CallSid={sid}&CallSid={sid}",
        "CallSid={sid}&Call%53id={sid}",  # the same name, spelt with an escape
        "CallSid={sid}&&From=%2B861",  # an empty piece: a parameter without a name
    ],
)
def test_a_repeated_key_is_refused_in_either_order(refusing: Hotline, body: str) -> None:
    """A body that carries a key twice (in either order, or spelt two ways), or a piece without a name, is refused although
    its signature is valid."""
    raw = body.format(sid=sid("repeat")).encode()
    parsed = MultiDict(pair.split("=", 1) for pair in raw.decode().replace("%2B", "+").replace("%53", "S").split("&") if pair)
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", parsed)
    assert _post(refusing, "/voice/incoming", [], body=raw, signature=signature) == 403
    assert nothing_stored(refusing)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"CallSid": "CA00000000000000000000000000000000"}'),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="CallSid"\r\n\r\nCA' + b"0" * 32 + b"\r\n--b--\r\n",
        ),
        ("text/plain", b"CallSid=CA" + b"0" * 32),
    ],
)
def test_a_body_that_is_not_a_form_is_refused(refusing: Hotline, content_type: str, body: bytes) -> None:
    """Twilio posts every voice webhook as application/x-www-form-urlencoded: another body is refused unread."""
    form = {"CallSid": "CA" + "0" * 32} if content_type.startswith("multipart") else {}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", form)
    assert _post(refusing, "/voice/incoming", [], content_type=content_type, body=body, signature=signature) == 403
    assert nothing_stored(refusing)


def test_a_body_that_is_not_utf8_is_refused(refusing: Hotline, caplog: pytest.LogCaptureFixture) -> None:
    """A form body that is not UTF-8 is refused, not handed to a parser that would fail on it."""
    body = f"CallSid={sid('latin')}&From=\xe9".encode("latin-1")
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", {})  # what a lenient parser reads: nothing
    with caplog.at_level(logging.WARNING, logger="ivr"):
        assert _post(refusing, "/voice/incoming", [], body=body, signature=signature) == 403
    assert [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()] == [
        "rejected POST /voice/incoming: the body is not UTF-8"
    ]


# ---- Twilio's JSON-body variant: bodySHA256 ------------------------------------------------------------


def _body_signed(path: str, body: bytes, digest: str | None = None) -> tuple[str, str]:
    """The URL with bodySHA256 of `body` (or `digest`) and its signature, which covers the URL only."""
    url = f"{path}?bodySHA256={digest or hashlib.sha256(body).hexdigest()}"
    return url, RequestValidator(TOKEN).compute_signature(PUBLIC_URL + url, {})


def test_body_sha256_is_checked_against_the_raw_body() -> None:
    """With bodySHA256 in the URL the signature covers the URL and the raw body must hash to it, byte for byte."""
    app = Flask(__name__)
    body = b'{"CallSid": "CA00000000000000000000000000000000"}'
    digest = hashlib.sha256(body).hexdigest()

    def signed(url: str) -> tuple[str, str]:
        return url, RequestValidator(TOKEN).compute_signature(PUBLIC_URL + url, {})

    cases = {
        "right": (*signed(f"/voice/incoming?bodySHA256={digest}"), body, True),
        "other body": (*signed(f"/voice/incoming?bodySHA256={digest}"), body.replace(b"CA0", b"CA1"), False),
        "other hash": (*signed(f"/voice/incoming?bodySHA256={hashlib.sha256(b'{}').hexdigest()}"), body, False),
        "uppercase hash": (*signed(f"/voice/incoming?bodySHA256={digest.upper()}"), body, False),
        "hash twice": (*signed(f"/voice/incoming?bodySHA256={digest}&bodySHA256={digest}"), body, False),
        "empty hash": (*signed("/voice/incoming?bodySHA256="), body, False),
        "URL not signed": (f"/voice/incoming?bodySHA256={digest}", signed("/voice/incoming")[1], body, False),
    }
    for label, (path, signature, data, expected) in cases.items():
        with app.test_request_context(
            path, method="POST", data=data, content_type="application/json", headers={"X-Twilio-Signature": signature}
        ):
            from flask import request

            assert is_signed(request, TOKEN, PUBLIC_URL) is expected, label


def test_a_json_body_passes_the_signature_and_is_then_refused_as_no_form(refusing: Hotline, caplog: pytest.LogCaptureFixture) -> None:
    """A JSON body with the right bodySHA256 passes the signature check; our webhooks read forms, so it is then refused.
    With a wrong hash it is refused as unsigned."""
    body = b'{"CallSid": "CA00000000000000000000000000000000"}'
    url, signature = _body_signed("/voice/incoming", body)
    wrong_url, wrong_signature = _body_signed("/voice/incoming", body, digest="0" * 64)
    with caplog.at_level(logging.WARNING, logger="ivr"):
        assert _post(refusing, url, [], content_type="application/json", body=body, signature=signature) == 403
        assert _post(refusing, wrong_url, [], content_type="application/json", body=body, signature=wrong_signature) == 403
    reasons = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(reasons) == 2
    assert "not a form" in reasons[0] and "Signature" not in reasons[0]
    assert "invalid X-Twilio-Signature" in reasons[1]
    assert nothing_stored(refusing)


def test_a_form_body_under_body_sha256_is_served_and_bound_to_its_hash(hotline: Hotline) -> None:
    """A form whose raw body is bound by bodySHA256 is served; the same URL and signature with another body is refused."""
    body = urlencode({"CallSid": sid("hashed"), "From": "+8613800000000"}).encode()
    url, signature = _body_signed("/voice/incoming", body)
    assert _post(hotline, url, [], body=body, signature=signature) == 200
    assert hotline.store.calls.load(sid("hashed")) is not None
    tampered = urlencode({"CallSid": sid("tampered"), "From": "+8613800000000"}).encode()
    assert _post(hotline, url, [], body=tampered, signature=signature) == 403
    assert hotline.store.calls.load(sid("tampered")) is None


# ---- settings ------------------------------------------------------------------------------------------


def test_signature_checks_need_the_public_url(tmp_path: Path) -> None:
    """With signatures checked and no IVR_PUBLIC_URL the app does not start; with checks off (development) it does."""
    with pytest.raises(ConfigError, match=r"^IVR_PUBLIC_URL is not set: "):
        make_hotline(tmp_path, IVR_PUBLIC_URL="")
    make_hotline(tmp_path, IVR_PUBLIC_URL="", TWILIO_AUTH_TOKEN="", IVR_SKIP_SIGNATURE_CHECK="1")
    with pytest.raises(ConfigError, match="IVR_PUBLIC_URL must start with https://"):
        make_hotline(tmp_path, IVR_PUBLIC_URL="ivr.example.test")
    for bad in ("AC123", "AC" + "z" * 32, sid("not an account")):
        with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID must be AC"):
            make_hotline(tmp_path, TWILIO_ACCOUNT_SID=bad)


def test_serve_refuses_to_start_without_the_public_url(tmp_path: Path) -> None:
    """`ivr serve` with a token but no IVR_PUBLIC_URL exits non-zero at once with the reason on standard error."""
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "IVR_MENU": str(SHIPPED_MENU), "IVR_DATABASE_URL": sqlite_url(tmp_path / "db.sqlite3")}
    result = run_ivr("serve", "--host", "127.0.0.1", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("ivr: IVR_PUBLIC_URL is not set: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# ---- audio: only what the manifest lists -----------------------------------------------------------------


def test_audio_serves_only_the_telephone_renditions_the_manifest_lists(tmp_path: Path) -> None:
    """/voice/audio/ serves the 8 kHz files the manifest lists; the full-quality files, strays, the manifest: 404."""
    out = tmp_path / "audio"
    (out / "zh-CN").mkdir(parents=True)
    for name in ("a.wav", "a.8k.wav", "stray.wav", "stray.8k.wav"):
        (out / "zh-CN" / name).write_bytes(b"RIFF" + name.encode())
    manifest = AudioManifest(out)
    manifest.add(Entry("k1", "welcome", "zh-CN", "您好", "zh-CN/a.wav", "zh-CN/a.8k.wav", 1.0, "tts"))
    manifest.save()
    app = make_app(sqlite_url(tmp_path / "db.sqlite3"), Clock(), IVR_AUDIO_DIR=str(out))
    client = app.test_client()

    def status(path: str) -> int:
        response = client.get(path)
        response.close()
        return int(response.status_code)

    assert status("/voice/audio/zh-CN/a.8k.wav") == 200
    assert status("/voice/audio/zh-CN/a.8k.wav?part=2") == 200
    for path in ("zh-CN/a.wav", "zh-CN/stray.8k.wav", "zh-CN/stray.wav", "manifest.json", "zh-CN/../zh-CN/a.8k.wav", "zh-CN/A.8K.WAV"):
        assert status(f"/voice/audio/{path}") == 404, path
    manifest.add(Entry("k2", "bye", "zh-CN", "再见", "zh-CN/stray.wav", "zh-CN/stray.8k.wav", 1.0, "tts"))
    manifest.save()
    wait_until(lambda: status("/voice/audio/zh-CN/stray.8k.wav") == 200, 10, message="the new manifest entry to be served")
    assert status("/voice/audio/zh-CN/a.8k.wav") == 200 and status("/voice/audio/zh-CN/stray.wav") == 404


# ---- control characters never reach the store ------------------------------------------------------------


BYTES = "\x00\x01\x07\x08\t\n\r\x1b\x7f\x85\x9b"  # NUL, other C0 controls, DEL and C1 controls
CONTROLS = BYTES + "[31m"  # an escape sequence: its printable tail is all that remains


def _clean(text: str) -> bool:
    return not any(unicodedata.category(ch) == "Cc" for ch in text)


def test_control_characters_in_every_field_are_stored_sanitised(tmp_path: Path, database_url: str) -> None:
    """NUL and other control bytes in From, To, Digits, RecordingUrl and the rest are dropped before the store:
    the call and its ticket are stored (PostgreSQL would refuse a NUL) with clean text."""
    hotline = make_hotline(tmp_path, IVR_DATABASE_URL=database_url)
    hotline.clock.now = AFTER_HOURS
    call, fallback = sid("controls"), sid("controls fallback")
    noisy = {"From": f"+86{CONTROLS}13900000000", "To": f"+86{CONTROLS}4008500030", "Direction": f"in{CONTROLS}bound"}

    def post(path: str, **fields: str) -> None:
        pairs = [("CallSid", call), ("AccountSid", ACCOUNT_SID), *noisy.items(), *fields.items()]
        assert _post(hotline, path, pairs) == 200, path

    post("/voice/incoming", CallStatus=f"ring{CONTROLS}ing")
    post("/voice/gather?seq=1", Digits=f"1{BYTES}", FinishedOnKey=BYTES)
    post("/voice/record?seq=2", RecordingUrl=f"https://api.twilio.com/{CONTROLS}RE1", RecordingDuration=f"7{BYTES}", Digits=f"#{BYTES}")
    pairs = [
        ("CallSid", fallback),
        *noisy.items(),
        ("RecordingUrl", f"https://api.twilio.com/{CONTROLS}RE2"),
        ("ErrorCode", f"11200{CONTROLS}"),
    ]
    assert _post(hotline, "/voice/fallback/recorded", pairs) == 200
    record = hotline.store.calls.load(call)
    assert record is not None and record.seq == 3  # Digits "1" with its noise is still key 1: the message was recorded
    tickets = {t.call_id: t for t in hotline.store.tickets.list_tickets()}
    assert set(tickets) == {call, fallback}
    assert tickets[call].description == "https://api.twilio.com/[31mRE1" and tickets[fallback].description.endswith("[31mRE2")
    for ticket in tickets.values():
        assert "13900000000" in ticket.caller
        assert all(_clean(text) for text in (ticket.caller, ticket.description, ticket.category, ticket.language))
    with hotline.store.tickets.engine.connect() as conn:  # every text column of the call as stored, not as read back
        row = conn.execute(select(calls).where(calls.c.call_sid == call)).mappings().one()
    assert "13900000000" in row["caller"] and "4008500030" in row["called"]
    for column in ("caller", "called", "snapshot"):
        assert _clean(row[column]) and "\\u00" not in row[column], (column, row[column])  # nor escaped inside the snapshot's JSON


# ---- what the operator's terminal is shown ---------------------------------------------------------------


def test_tickets_list_escapes_what_callers_supplied(tmp_path: Path) -> None:
    """`ivr tickets list` prints escape sequences and other control or format characters as visible escapes (Chinese as is);
    --json stays valid JSON that decodes to the stored text."""
    db = tmp_path / "tickets.sqlite3"
    store = TicketStore(sqlite_url(db))
    try:
        description = "服务器无法登录\x1b[2J\x1b]0;owned\x07 \x9b31m\u202eevil\nfake line\t\\x1b"
        request = TicketRequest(
            sid("terminal"), "+86\x1b[31m139", "zh-CN", "voicemail", description, datetime(2026, 11, 30, tzinfo=UTC), 60
        )
        number = store.create_ticket(request)
    finally:
        store.close()
    with sqlite3.connect(db) as conn:  # as a row written by a release that stored control characters
        conn.execute("UPDATE tickets SET description = ?, caller = ? WHERE number = ?", (description, "+86\x1b[31m139", number))
    listed = run_ivr("tickets", "list", "--db", str(db), timeout=60)
    assert listed.returncode == 0, listed.stderr
    header, line, footer = listed.stdout.removesuffix("\n").split("\n")  # a header and a footer since issue 15; one line per ticket
    assert all(part.isprintable() for part in (header, line, footer)), repr(listed.stdout)
    assert "服务器无法登录\\x1b[2J\\x1b]0;owned\\x07 \\x9b31m\\u202eevil\\x0afake line\\x09\\\\x1b" in line
    assert "+86\\x1b[31m139" in line
    as_json = run_ivr("tickets", "list", "--json", "--db", str(db), timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    assert all(unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\n" for ch in as_json.stdout)
    assert "\x1b" not in as_json.stdout and "\x9b" not in as_json.stdout and "\u202e" not in as_json.stdout
    (ticket,) = json.loads(as_json.stdout)
    assert ticket["description"] == description and ticket["caller"] == "+86\x1b[31m139"


# ---- any form at all: 403 exactly when it is not Twilio's shape, never a 5xx ----------------------------


def _twilio_name(name: str) -> bool:
    for prefix in ("SipHeader_", "DialSipHeader_"):  # a SIP call's X- headers: a SIP token after the prefix
        rest = name.removeprefix(prefix)
        if rest != name and 1 <= len(rest) <= 64 and all(ch.isascii() and (ch.isalnum() or ch in ".!%*_+`'~-") for ch in rest):
            return True
    return name.isascii() and name.isalnum() and name[:1].isalpha() and len(name) <= 64


def _of_form(value: str | None, prefix: str) -> bool:
    """Whether `value` is `prefix` and 32 hex digits (either case)."""
    return value is not None and len(value) == 34 and value.startswith(prefix) and all(ch in "0123456789abcdefABCDEF" for ch in value[2:])


def _early_names_pinned(pairs: Pairs) -> bool:
    """Whether every name that sorts before CallSid is one Twilio sends there, with a value of its fixed shape."""
    for name, value in pairs:
        if name >= "CallSid" or name == "AccountSid":
            continue
        if name == "CallDuration" and not any(c.isascii() and c.isalpha() for c in value):
            continue
        if name == "ApiVersion" and value == "2010-04-01":
            continue
        return False
    return True


def _twilio_shaped(pairs: Pairs) -> bool:
    names = [name for name, _ in pairs]
    values = dict(pairs)
    account_ok = "AccountSid" not in values or _of_form(values["AccountSid"], "AC")
    shaped = all(_twilio_name(n) for n in names) and len(set(names)) == len(names) and _of_form(values.get("CallSid"), "CA")
    return shaped and account_ok and _early_names_pinned(pairs)


def test_random_signed_forms_are_refused_exactly_when_not_of_twilios_shape(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Signed forms with random names, repeats, CallSids and AccountSids get 403 exactly when they are not shaped as Twilio's,
    never a 5xx; a refused one stores nothing."""
    hotline = make_hotline(tmp_path_factory.mktemp("shapes"))
    hex_sid = st.text("0123456789abcdefABCDEF", min_size=32, max_size=32)
    sids = st.one_of(hex_sid.map(lambda h: "CA" + h), st.text(max_size=40), st.just(sid("shape")), hex_sid.map(lambda h: "CA" + h + "0"))
    names = st.one_of(NAME, st.text(max_size=12), st.sampled_from(("From", "To", "Digits", "CallStatus")))
    pair = st.tuples(names, st.text(max_size=20))

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(
        pairs=st.lists(pair, max_size=6),
        call_sid=st.none() | sids,
        account=st.none() | hex_sid.map(lambda h: "AC" + h) | st.text(max_size=36),
        path=st.sampled_from(ROUTES),
    )
    def post(pairs: Pairs, call_sid: str | None, account: str | None, path: str) -> None:
        pairs = [p for p in pairs if p[0] not in ("CallSid", "AccountSid")]
        pairs += [("CallSid", call_sid)] if call_sid is not None else []
        pairs += [("AccountSid", account)] if account is not None else []
        before = (hotline.store.calls.count(), len(hotline.store.tickets.list_tickets()))
        status = _post(hotline, path, pairs)
        assert status < 500
        if _twilio_shaped(pairs):
            assert status in (200, 204), (pairs, status)
        else:
            assert status == 403, pairs
            assert (hotline.store.calls.count(), len(hotline.store.tickets.list_tickets())) == before

    try:
        post()
    finally:
        hotline.store.close()
