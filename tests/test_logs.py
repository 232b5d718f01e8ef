"""The hotline's log lines: JSON when not on a terminal, text on one, each naming the call it was written for."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.errors import ConfigError
from ivr.logs import CallSidFilter, JsonFormatter, log_format
from ivr.testing.phone import FlaskTransport, HttpTransport, PhoneCall
from ivr.web import CURRENT_CALL
from tests.server import running_server
from tests.webhooks import PUBLIC_URL, TOKEN, make_hotline, sid


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def records(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in `text` (gunicorn's own lines stay text and are left out)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The "ivr" logger's lines as the server writes them (JSON, with the call filter), into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(CallSidFilter(CURRENT_CALL))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ivr")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_format_follows_the_terminal_unless_chosen() -> None:
    """Text for a person at a terminal, JSON for a file or a collector; IVR_LOG_FORMAT decides when set."""
    assert log_format(Terminal(), {}) == "text"
    assert log_format(io.StringIO(), {}) == "json"
    assert log_format(Terminal(), {"IVR_LOG_FORMAT": "JSON"}) == "json"
    assert log_format(io.StringIO(), {"IVR_LOG_FORMAT": "text"}) == "text"
    with pytest.raises(ConfigError, match="IVR_LOG_FORMAT must be json or text"):
        log_format(io.StringIO(), {"IVR_LOG_FORMAT": "xml"})


def test_a_record_is_one_line_of_json_with_its_call(captured: io.StringIO) -> None:
    """Time, level, logger, message (newlines and Chinese kept as such), process, the bound CallSid and a traceback."""
    log = logging.getLogger("ivr.test")
    token = CURRENT_CALL.set(sid("bound"))
    try:
        log.warning("第一行\nsecond line")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        CURRENT_CALL.reset(token)
    log.info("after the call")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 3 and "第一行" in lines[0]
    first, failed, after = (json.loads(line) for line in lines)
    assert first["message"] == "第一行\nsecond line" and first["level"] == "WARNING" and first["logger"] == "ivr.test"
    assert first["call_sid"] == sid("bound") and isinstance(first["process"], int) and first["time"].endswith("+00:00")
    assert failed["call_sid"] == sid("bound") and "ValueError: boom" in failed["exc_info"]
    assert "call_sid" not in after


def test_a_request_names_its_call_and_only_while_it_is_served(tmp_path: Path, captured: io.StringIO) -> None:
    """A webhook's log lines carry its CallSid; once answered, the next lines carry none."""
    app = make_hotline(tmp_path).apps[0]
    phone = PhoneCall(FlaskTransport(app), PUBLIC_URL, TOKEN, call_sid=sid("in process"))
    phone.post("/voice/fallback", ErrorCode="11200")
    logging.getLogger("ivr.test").info("between requests")
    lines = records(captured.getvalue())
    [fallback] = [r for r in lines if "fallback URL called" in r["message"]]
    assert fallback["call_sid"] == sid("in process") and fallback["level"] == "ERROR" and fallback["logger"] == "ivr.web.voice"
    assert "call_sid" not in lines[-1] and lines[-1]["message"] == "between requests"


def test_a_forged_call_sid_is_not_taken_for_one(tmp_path: Path, captured: io.StringIO) -> None:
    """Only a CallSid of Twilio's form is put on the lines: anything else a client sends is not copied into the log."""
    app = make_hotline(tmp_path).apps[0]
    app.test_client().post("/voice/incoming", data={"CallSid": 'CA"}\n{"level":"CRITICAL"'})
    [rejected] = [r for r in records(captured.getvalue()) if "rejected POST" in r["message"]]
    assert "call_sid" not in rejected


def test_a_live_server_writes_json_lines_with_the_call_sid(tmp_path: Path) -> None:
    """`ivr serve` with its log in a file: the hotline's lines are JSON and a signed request's lines carry its CallSid."""
    with running_server(tmp_path, workers=2) as server:
        phone = PhoneCall(HttpTransport(server.url), server.url, TOKEN, call_sid=sid("live json"))
        phone.post("/voice/fallback", ErrorCode="11200")
        text = server.log.read_text(errors="replace")
    [fallback] = [r for r in records(text) if "fallback URL called" in r["message"]]
    assert fallback["call_sid"] == sid("live json") and fallback["level"] == "ERROR" and fallback["logger"] == "ivr.web.voice"
    assert set(fallback) >= {"time", "level", "logger", "message", "process"}
    ours = [line for line in text.splitlines() if " ivr." in line and "] [" in line]
    assert ours == [], f"hotline lines in text format: {ours[:3]}"


def test_ivr_log_format_text_keeps_the_text_lines(tmp_path: Path) -> None:
    """IVR_LOG_FORMAT=text: the same lines as on a terminal, no JSON."""
    with running_server(tmp_path, workers=1, IVR_LOG_FORMAT="text") as server:
        phone = PhoneCall(HttpTransport(server.url), server.url, TOKEN, call_sid=sid("live text"))
        phone.post("/voice/fallback", ErrorCode="11200")
        text = server.log.read_text(errors="replace")
    assert records(text) == []
    assert any(f"[ERROR] ivr.web.voice: fallback URL called for call {sid('live text')}" in line for line in text.splitlines()), text[
        -2000:
    ]


def test_an_unsigned_request_does_not_speak_for_a_real_call(tmp_path: Path, captured: io.StringIO) -> None:
    """A well-formed CallSid on a request without a valid signature is not put on its log lines: anyone could send it."""
    app = make_hotline(tmp_path).apps[0]
    app.test_client().post("/voice/incoming", data={"CallSid": sid("a real call"), "From": "+8613800000000"})
    [rejected] = [r for r in records(captured.getvalue()) if "rejected POST" in r["message"]]
    assert "call_sid" not in rejected
