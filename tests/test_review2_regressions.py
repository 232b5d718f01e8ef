"""Regressions from the second review: spool robustness, long SIP callers, menu eviction, signatures, QA verdicts."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from junitparser import JUnitXml
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from ivr.engine.services import TicketRequest
from ivr.ir import Menu
from ivr.library import KEEP_VERSIONS, MenuLibrary
from ivr.loading.menu_loader import load_menu
from ivr.qa.report import write_junit
from ivr.qa.runner import FlowResult, RunOptions, run_flows
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore, sqlite_url
from tests.conftest import ROOT, SHIPPED_MENU
from tests.server import ivr_command
from tests.webhooks import PUBLIC_URL, TOKEN, Hotline, make_hotline


def request(call_id: str) -> TicketRequest:
    """A ticket request for a call."""
    return TicketRequest(call_id, "+861", "zh-CN", "voicemail", "msg", datetime(2026, 11, 30, 14, 0, tzinfo=UTC), 10)


def test_corrupt_spool_file_is_set_aside_and_tickets_still_work(tmp_path: Path) -> None:
    """A half-written spool file is moved aside as .bad; tickets and draining carry on."""
    store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
    sink = SpoolingTicketSink(store, tmp_path / "spool")
    (tmp_path / "spool" / "broken.json").write_text('{"number": "9123", "call_id": "CAx"', encoding="utf-8")
    number = sink.create_ticket(request("CA-after-corruption"))
    assert store.find(number) is not None
    assert sink.pending() == [] and (tmp_path / "spool" / "broken.bad").exists()
    store.close()


def test_refused_spooled_ticket_does_not_block_the_others(tmp_path: Path) -> None:
    """A spooled ticket the database refuses (its number is taken) is set aside; the next one still drains."""
    store = TicketStore(sqlite_url(tmp_path / "t.sqlite3"))
    taken = store.create_ticket(request("CA-owner"))
    spool = tmp_path / "spool"
    spool.mkdir()
    for name, call_id, number in (("a.json", "CA-clash", taken), ("b.json", "CA-fine", "91234567")):
        data = {**request(call_id).__dict__, "number": number, "created_at": "2026-11-30T14:00:00+00:00"}
        (spool / name).write_text(json.dumps(data), encoding="utf-8")
    sink = SpoolingTicketSink(store, spool)
    assert sink.drain() == 1
    assert store.find("91234567") is not None and sink.pending() == []
    assert (spool / "a.bad").exists()
    store.close()


def test_long_sip_caller_is_served(tmp_path: Path, database_url: str) -> None:
    """A caller whose From is a long SIP URI gets the menu and a stored call record on every backend."""
    hotline: Hotline = make_hotline(tmp_path, IVR_DATABASE_URL=database_url)
    sip = "sip:+8613911112222@volcengine-aftersales-hotline.sip.ap-southeast-1.twilio.com"
    call = hotline.call("3", caller=sip)
    assert "账号登录问题" in "\n".join(line.get("text", "") for line in call.lines)
    record = hotline.store.calls.load(call.call_sid)
    assert record is not None and record.caller == sip and record.seq == 2


def test_repeated_form_keys_are_signed_like_twilio_signs_them(tmp_path: Path) -> None:
    """A request whose form repeats a key is accepted when signed over every value, as Twilio signs it."""
    hotline = make_hotline(tmp_path)
    form = MultiDict([("CallSid", "CAmulti"), ("From", "+861"), ("X", "a"), ("X", "b")])
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", form)
    response = hotline.apps[0].test_client().post("/voice/incoming", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


def test_current_menu_version_is_never_evicted(tmp_path: Path, menu: Menu) -> None:
    """However many versions a worker loads, the one in service stays loaded."""

    class Built:
        def __init__(self, m: Menu) -> None:
            self.menu = m

    library = MenuLibrary(str(SHIPPED_MENU), Built, interval=0)  # type: ignore[arg-type]
    current = library.current_version
    for i in range(KEEP_VERSIONS + 5):
        fake = Menu(**{**menu.__dict__, "version": f"v{i:03d}"})
        library._add(Built(fake))  # type: ignore[arg-type]
    assert current in library.engines and library.current().menu.version == current
    assert len(library.engines) <= KEEP_VERSIONS


def test_steps_after_the_call_ended_fail_in_process_too(tmp_path: Path) -> None:
    """A press written after the call has ended fails the flow in process, as it does against a server."""
    flow = tmp_path / "late.yaml"
    flow.write_text(
        f'menu: {SHIPPED_MENU}\nat: "2026-11-30T10:00:00+08:00"\nsteps:\n  - press: "0"\n  - expect_hangup\n  - press: "1"\n',
        encoding="utf-8",
    )
    [result] = run_flows([flow], RunOptions(SHIPPED_MENU))
    assert result.status == "failed" and "the call had already ended" in result.message


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    """Flow names and messages with control characters still give a JUnit file a standard reader parses."""
    results = [FlowResult("flows/a.yaml", "bell \x07 flow", "failed", 0.1, "heard \x1b[31m red")]
    write_junit(results, tmp_path / "j.xml", 0.1)
    assert sum(s.failures for s in JUnitXml.fromfile(str(tmp_path / "j.xml"))) == 1


def test_bad_database_url_is_a_clear_error() -> None:
    """An unusable IVR_DATABASE_URL gives a one-line error and exit status 2, not a traceback."""
    env = {"IVR_DATABASE_URL": "foo://x", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([*ivr_command(), "menu", "versions"], env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 2 and result.stderr.startswith("ivr: ") and "Traceback" not in result.stderr


def test_unknown_flow_language_is_an_error(tmp_path: Path) -> None:
    """A flow asking for a language the menu does not have is reported, not silently run in another."""
    flow = tmp_path / "fr.yaml"
    flow.write_text(f"menu: {SHIPPED_MENU}\nlang: fr-FR\nsteps:\n  - hangup\n", encoding="utf-8")
    [result] = run_flows([flow], RunOptions(SHIPPED_MENU))
    assert result.status == "error" and "fr-FR" in result.message
    assert load_menu(SHIPPED_MENU).languages == ("zh-CN", "en-US")
