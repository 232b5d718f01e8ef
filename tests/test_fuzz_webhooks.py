"""Property-based tests of the Twilio webhooks: correctly signed but random requests never get a 5xx or broken TwiML."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import count
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from tests.conftest import AFTER_HOURS, IN_HOURS
from tests.webhooks import PUBLIC_URL, TOKEN, Hotline, make_hotline, sid

FUZZ = settings(max_examples=150, deadline=None, derandomize=True)
ROUTES = (
    "/voice/incoming",
    "/voice/gather",
    "/voice/record",
    "/voice/dial",
    "/voice/status",
    "/voice/fallback",
    "/voice/fallback/recorded",
)
CALL_ROUTES = ROUTES[:5]  # the ones that act on a call in progress
FIELDS = (
    "CallSid",
    "From",
    "To",
    "Digits",
    "RecordingUrl",
    "RecordingDuration",
    "TranscriptionText",
    "DialCallStatus",
    "CallStatus",
    "CallDuration",
    "ErrorCode",
)
MAX_BODY = 64 * 1024  # the app's MAX_CONTENT_LENGTH: bigger bodies are refused with 413 before parsing
SIDS = count(1)
KNOWN = sid("known")  # the one call in progress the first fuzz test may hit
NODES = ("main", "welcome", "closed", "order_entry", "leave_message", "agent", "runaway", "../etc", "")

huge = st.builds(lambda chunk, times: chunk * times, st.text(min_size=1, max_size=3), st.integers(1000, 3400))  # up to ~10 KB
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789*#", max_size=30),
    st.sampled_from(("", "1", "#", "*", "202611280001#", "answered", "no-answer", "completed", "busy", "https://api.twilio.com/r/RE1")),
    st.integers(-(10**12), 10**12).map(str),
    huge,
)
# Names of Twilio's form (a letter, then letters and digits); any other name is refused with 403 (test_request_validation.py).
names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,19}", fullmatch=True).filter(lambda name: name not in ("CallSid", "AccountSid"))


def _twilio_ordered(form: dict[str, str]) -> dict[str, str]:
    """Only names Twilio sends before CallSid stay before it (others could move where the signed CallSid begins: 403)."""
    return {k: v for k, v in form.items() if k >= "CallSid" or (k == "CallDuration" and not any(c.isascii() and c.isalpha() for c in v))}


forms = st.dictionaries(st.sampled_from(FIELDS) | names, values, max_size=8).map(_twilio_ordered)
call_sids = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda digits: "CA" + digits)  # Twilio's form
flags = st.sampled_from(("1", "", "0", "true", "no"))
seqs = st.one_of(  # step numbers: small, negative, huge, garbled
    st.integers(-3, 10).map(str),
    st.integers(10**8, 10**20).map(str),
    st.text(max_size=12),
    st.sampled_from(("", "1.0", "+1", " 1", "１")),
)
queries = st.lists(
    st.tuples(st.just("seq"), seqs)
    | st.tuples(st.sampled_from(("silence", "empty")), flags)
    | st.tuples(st.sampled_from(("node", "lang", "seq")), st.sampled_from(NODES))
    | st.tuples(st.text(max_size=8), st.text(max_size=16)),
    max_size=4,
)


def signed_post(hotline: Hotline, path: str, form: dict[str, str], query: list[tuple[str, str]] | None = None) -> TestResponse:
    """A POST signed with the test token for the public URL, exactly as Twilio signs (query string included)."""
    url = f"{path}?{urlencode(query)}" if query else path
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + url, form)
    return hotline.apps[0].test_client().post(url, data=form, headers={"X-Twilio-Signature": signature})


class Tracebacks(logging.Handler):
    """Collects log records that carry a traceback: an exception the app had to swallow to answer."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def fuzzed_hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hotline, Tracebacks]]:
    """One app on a fresh database for a whole fuzz test (built once, outside @given), and its swallowed tracebacks."""
    hotline = make_hotline(tmp_path_factory.mktemp("fuzz"))
    tracebacks = Tracebacks()
    logger = logging.getLogger("ivr")
    logger.addHandler(tracebacks)
    try:
        yield hotline, tracebacks
    finally:
        logger.removeHandler(tracebacks)
        hotline.store.close()


def check_answer(path: str, response: TestResponse, form: dict[str, str], tracebacks: Tracebacks) -> None:
    """A signed request's answer: never a 5xx, 204 for status callbacks, <Response> TwiML for the rest (413 only for
    oversized bodies), and no exception swallowed behind it (the app's error handler turns those into a 200 apology)."""
    swallowed, tracebacks.seen[:] = list(tracebacks.seen), []  # this request's only, so one failure does not taint the next
    body_size = len(urlencode(form).encode())
    assert response.status_code < 500, f"{path}: {response.status_code}"
    assert response.status_code != 403, f"{path}: a correctly signed request was refused"
    if response.status_code == 413:
        assert body_size > MAX_BODY
        return
    if path == "/voice/status":
        assert response.status_code == 204
    else:
        assert response.status_code == 200 and response.mimetype == "text/xml", f"{path}: {response.status_code} {response.mimetype}"
    if response.status_code == 200 and response.mimetype == "text/xml":
        assert ET.fromstring(response.get_data()).tag == "Response"
    assert swallowed == [], f"{path}: the app swallowed an exception: {swallowed}"


def test_random_signed_requests_get_twiml_never_a_5xx(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Correctly signed requests with random fields and query strings to every webhook get 204 or <Response> TwiML, never a 5xx."""
    with fuzzed_hotline(tmp_path_factory) as (hotline, tracebacks):

        @FUZZ
        # Found by fuzzing (fixed): a superscript digit passed str.isdigit() but not int() in step_number.
        @example(path="/voice/gather", form={"Digits": "1"}, query=[("seq", "¹")], call_sid=KNOWN, at=IN_HOURS)
        # Found by fuzzing (fixed): the same for CallDuration in the status callback.
        @example(path="/voice/status", form={"CallStatus": "completed", "CallDuration": "²"}, query=[], call_sid=KNOWN, at=IN_HOURS)
        @given(
            path=st.sampled_from(ROUTES),
            form=forms,
            query=queries,
            call_sid=st.just(KNOWN) | call_sids,
            at=st.sampled_from((IN_HOURS, AFTER_HOURS)),
        )
        def post_anything(path: str, form: dict[str, str], query: list[tuple[str, str]], call_sid: str, at: datetime) -> None:
            hotline.clock.now = at
            form = {**form, "CallSid": call_sid}
            check_answer(path, signed_post(hotline, path, form, query), form, tracebacks)

        signed_post(hotline, "/voice/incoming", {"CallSid": KNOWN, "From": "+8613800000000"})  # one call the fuzz may hit
        post_anything()


def test_random_events_for_a_live_call_never_move_it_backwards(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random events with random step numbers for a call in progress never get a 5xx, and its stored step never goes back."""
    with fuzzed_hotline(tmp_path_factory) as (hotline, tracebacks):

        @FUZZ
        @given(data=st.data(), at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.timezones()))
        def live_call(data: st.DataObject, at: datetime) -> None:
            hotline.clock.now = at
            call = sid(f"live{next(SIDS)}")
            start = {"CallSid": call, "From": "+8613800000000", "To": "+864008500030"}
            check_answer("/voice/incoming", signed_post(hotline, "/voice/incoming", start), start, tracebacks)
            record = hotline.store.calls.load(call)
            assert record is not None and record.seq == 1
            for _ in range(data.draw(st.integers(1, 15), label="events")):
                # Mostly the right step at the gather, so that calls get somewhere; the rest is stale, early or garbled.
                path = data.draw(st.one_of(st.just("/voice/gather"), st.sampled_from(CALL_ROUTES)), label="path")
                current = st.just(str(record.seq))
                near = st.sampled_from((str(record.seq - 1), str(record.seq + 1)))
                seq = data.draw(st.one_of(current, current, current, near, seqs), label="seq")
                query = [("seq", seq), *data.draw(st.lists(st.tuples(st.sampled_from(("silence", "empty")), flags), max_size=1))]
                fields = {
                    "Digits": st.sampled_from(("1", "2", "3", "4", "9", "0", "*", "#", "", "202611280001#")) | values,
                    "DialCallStatus": st.sampled_from(("answered", "completed", "no-answer", "busy", "failed", "canceled")) | values,
                    "RecordingUrl": values,
                    "TranscriptionText": values,
                    "CallStatus": st.sampled_from(("completed", "in-progress", "busy")) | values,
                    "CallDuration": values,
                }
                extra = _twilio_ordered(data.draw(st.fixed_dictionaries({}, optional=fields), label="fields"))
                form = {**extra, "CallSid": call}
                check_answer(path, signed_post(hotline, path, form, query), form, tracebacks)
                later = hotline.store.calls.load(call)
                assert later is not None
                assert record.seq <= later.seq <= record.seq + 1, f"step went from {record.seq} to {later.seq}"
                record = later

        live_call()
