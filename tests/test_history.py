"""Call history: every call's story is kept (webhooks, console, QA in process), listed, replayed and aged out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.engine.story import heard
from ivr.store import Store, sqlite_url
from ivr.store.retention import Purger
from tests.conftest import IN_HOURS
from tests.webhooks import Hotline, make_hotline
from tests.workspace import run_ivr

AFTER_HOURS = "2026-11-30T22:00:00+08:00"


def as_heard(lines: Iterable[Mapping[str, Any]], speech: bool = True) -> list[tuple[str, ...]]:
    """What a caller heard and did, whoever wrote it down: the words of each run of prompts at a node (an adapter may
    split one prompt into a <Say> per language), keys and words given, queues, tickets and hang-ups, in order.

    `speech=False` leaves words out: where a gather takes keys only, a flow still notes what its caller said,
    but Twilio reports silence, and so does the server's story."""
    out: list[tuple[str, ...]] = []
    for line in lines:
        kind, node = line["type"], str(line.get("node", ""))
        if kind == "say":
            words = re.sub(r"\s+", "", line["text"])
            if out and out[-1][:2] == ("say", node):
                out[-1] = ("say", node, out[-1][2] + words)
            else:
                out.append(("say", node, words))
        elif kind == "input":
            # Twilio's recogniser ends what it heard with punctuation ("business partnership."): the same words.
            said = str(line.get("speech", "")).rstrip(".。!?！？") if speech else ""
            out.append(("input", node, str(line.get("digits", "")), said))
        elif kind == "transfer":
            out.append(("transfer", node, line["queue"]))
        elif kind == "ticket":
            out.append(("ticket", node, line["number"]))
        elif kind == "hangup":
            out.append(("hangup", node, line["reason"]))
        elif kind in ("gather", "record"):
            out.append((kind, node))
    return out


def story_types(hotline: Hotline, call_sid: str) -> list[str]:
    """The types of a call's stored lines, in order."""
    return [line.type for line in hotline.store.history.lines(call_sid)]


def test_webhook_call_keeps_what_the_caller_heard_and_did(tmp_path: Path, database_url: str) -> None:
    """A call over the webhooks stores, step by step, the same transcript the caller heard, and how it ended."""
    hotline = make_hotline(tmp_path, IVR_DATABASE_URL=database_url, IVR_TEST_CLOCK="1")  # the trace says what was said, as QA hears it
    phone = hotline.call("2 1 0")  # orders -> order entry -> a person
    stored = hotline.store.history.lines(phone.call_sid)
    assert as_heard(heard(line.line for line in stored)) == as_heard(phone.lines)
    assert [line.seq for line in stored] == sorted(line.seq for line in stored)
    moves = [line.line for line in stored if line.type == "move"]
    assert any(m["trigger"] == "answered" and m.get("queue") == "orders" for m in moves), moves
    assert "transfer_result" in story_types(hotline, phone.call_sid)
    call = hotline.store.history.call(phone.call_sid)
    assert call is not None and (call.channel, call.outcome) == ("twilio", "agent")


def test_caller_hanging_up_mid_menu_is_abandoned_where_they_were(tmp_path: Path) -> None:
    """The status callback of a call the menu had not ended adds the caller's hang-up at their node."""
    hotline = make_hotline(tmp_path)
    phone = hotline.call("3")  # into the account menu, then the caller hangs up
    stored = hotline.store.history.lines(phone.call_sid)
    last = stored[-1].line
    assert last == {"type": "hangup", "node": "account", "reason": "caller"}
    call = hotline.store.history.call(phone.call_sid)
    assert call is not None and call.outcome == "abandoned" and call.ended_at is not None
    # Twilio may repeat the callback: the story does not grow twice.
    phone.post_status()
    assert len(hotline.store.history.lines(phone.call_sid)) == len(stored)


def test_after_hours_message_is_a_ticket_outcome(tmp_path: Path) -> None:
    """A message left after hours ends the call as a ticket, with the ticket line in its story."""
    hotline = make_hotline(tmp_path)
    hotline.clock.now = IN_HOURS.replace(hour=23)
    phone = hotline.call("1")
    call = hotline.store.history.call(phone.call_sid)
    assert call is not None and call.outcome == "ticket"
    tickets = [line.line for line in hotline.store.history.lines(phone.call_sid) if line.type == "ticket"]
    assert len(tickets) == 1 and tickets[0]["category"]


def test_a_replayed_request_does_not_write_the_story_twice(tmp_path: Path) -> None:
    """Twilio retrying a step gets the same answer and leaves one copy of that step's lines."""
    from tests.webhooks import signed_post

    hotline = make_hotline(tmp_path)
    phone = hotline.call("3")
    before = len(hotline.store.history.lines(phone.call_sid))
    form = {"CallSid": phone.call_sid, "From": phone.caller, "To": "+864008500030", "Digits": "3", "AccountSid": phone.account_sid}
    signed_post(hotline.apps[0], "/voice/gather?seq=1", form)
    assert len(hotline.store.history.lines(phone.call_sid)) == before


def test_console_call_is_listed_and_replayed_as_it_was_heard(tmp_path: Path) -> None:
    """`ivr call` keeps the call; `ivr calls list` shows it with the number masked; `ivr calls show --json` replays it."""
    db = str(tmp_path / "var" / "hotline.sqlite3")
    call = run_ivr("call", "--db", db, "--at", "2026-11-30T10:00:00+08:00", "--keys", "2 1 0", "--json", "--caller", "+8613912345678")
    assert call.returncode == 0, call.stderr
    transcript = [json.loads(line) for line in call.stdout.splitlines()]
    listing = run_ivr("calls", "list", "--db", db, "--since", "2026-11-30", "--until", "2026-12-01", "--json")
    assert listing.returncode == 0, listing.stderr
    (row,) = json.loads(listing.stdout)
    assert row["caller"] == "+86139****5678" and "13912345678" not in listing.stdout
    assert (row["channel"], row["outcome"], row["started_at"]) == ("console", "agent", "2026-11-30T10:00:00+08:00")
    shown = run_ivr("calls", "show", row["call_sid"], "--db", db, "--json")
    assert [json.loads(line) for line in shown.stdout.splitlines()] == transcript
    text = run_ivr("calls", "show", row["call_sid"], "--db", db)
    assert "+86139****5678" in text.stdout and "13912345678" not in text.stdout
    assert "→ transfer to queue 'orders'" in text.stdout
    table = run_ivr("calls", "list", "--db", db, "--since", "2026-11-30", "--until", "2026-12-01")
    assert "STARTED (Asia/Shanghai)" in table.stdout and "2026-11-30 10:00:00" in table.stdout and "agent" in table.stdout


def test_calls_list_filters_by_outcome_and_period(tmp_path: Path) -> None:
    """--outcome and --since/--until (local midnight of a date) select calls; the clock of a console call is its --at."""
    db = str(tmp_path / "hotline.sqlite3")
    run_ivr("call", "--db", db, "--at", "2026-11-30T10:00:00+08:00", "--keys", "3")  # abandoned in the account menu
    run_ivr("call", "--db", db, "--at", AFTER_HOURS, "--keys", "1", "--voicemail", "发票开错了")  # a ticket
    run_ivr("call", "--db", db, "--at", "2026-12-01T00:30:00+08:00", "--keys", "1", "--voicemail", "再来一次")  # next local day

    def listed(*args: str) -> list[dict[str, object]]:
        result = run_ivr("calls", "list", "--db", db, "--json", *args)
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    assert [r["outcome"] for r in listed("--since", "2026-11-30", "--until", "2026-12-01")] == ["abandoned", "ticket"]
    assert [r["outcome"] for r in listed("--since", "2026-11-30", "--outcome", "ticket")] == ["ticket", "ticket"]
    assert [r["started_at"] for r in listed("--since", "2026-12-01")] == ["2026-12-01T00:30:00+08:00"]
    bad = run_ivr("calls", "list", "--db", db, "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr


def test_calls_show_refuses_unknown_call_and_missing_database(tmp_path: Path) -> None:
    """An unknown CallSid and a database folder that does not exist are clear errors, and nothing is created."""
    db = tmp_path / "hotline.sqlite3"
    Store(sqlite_url(db)).close()
    unknown = run_ivr("calls", "show", "CAnothere", "--db", str(db))
    assert unknown.returncode == 2 and "no call 'CAnothere'" in unknown.stderr
    missing = tmp_path / "nowhere" / "x.sqlite3"
    result = run_ivr("calls", "list", "--db", str(missing))
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not missing.parent.exists()


def test_words_said_are_shown_escaped(tmp_path: Path) -> None:
    """What a caller said (a recogniser's text) cannot drive the operator's terminal."""
    db = tmp_path / "speech.sqlite3"
    run_ivr("call", "--db", str(db), "--at", "2026-11-30T10:00:00+08:00", "--keys", '"查订单\x1b[2J\u202e"')
    listing = json.loads(run_ivr("calls", "list", "--db", str(db), "--since", "2026-11-30", "--json").stdout)
    shown = run_ivr("calls", "show", listing[0]["call_sid"], "--db", str(db))
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    assert "\\x1b[2J\\u202e" in shown.stdout


def test_purge_forgets_old_calls_and_keeps_recent_ones(tmp_path: Path, database_url: str) -> None:
    """Calls older than the retention period go with their answers and story; newer ones stay whole."""
    hotline = make_hotline(tmp_path, IVR_DATABASE_URL=database_url)
    now = datetime.now(UTC)
    hotline.clock.now = now - timedelta(days=100)
    old = hotline.call("3")
    hotline.clock.now = now - timedelta(days=10)
    recent = hotline.call("3")
    kept = len(hotline.store.history.lines(recent.call_sid))
    purged = Purger(hotline.store.history, 90).round(now)
    assert purged.calls == 1 and purged.lines > 0
    assert hotline.store.history.call(old.call_sid) is None and hotline.store.history.lines(old.call_sid) == []
    assert hotline.store.calls.answer(old.call_sid, 1) is None
    assert len(hotline.store.history.lines(recent.call_sid)) == kept
    assert Purger(hotline.store.history, 5).round(now).calls == 1


def test_ivr_calls_purge_uses_the_retention_setting(tmp_path: Path) -> None:
    """`ivr calls purge` forgets calls older than IVR_RETENTION_DAYS (or --days) and says how many."""
    db = str(tmp_path / "hotline.sqlite3")
    run_ivr("call", "--db", db, "--at", "2020-01-01T10:00:00+08:00", "--keys", "3")
    run_ivr("call", "--db", db, "--keys", "3")  # now
    kept = run_ivr("calls", "purge", "--db", db, env={"IVR_RETENTION_DAYS": "36500"})
    assert kept.returncode == 0 and "purged 0 call(s)" in kept.stdout
    purged = run_ivr("calls", "purge", "--db", db)
    assert purged.returncode == 0 and "purged 1 call(s)" in purged.stdout
    assert len(json.loads(run_ivr("calls", "list", "--db", db, "--since", "2000-01-01", "--json").stdout)) == 1
    bad = run_ivr("calls", "purge", "--db", db, env={"IVR_RETENTION_DAYS": "0"})
    assert bad.returncode == 2 and "IVR_RETENTION_DAYS" in bad.stderr


@pytest.mark.parametrize("entries", [["2", "1", "0"], ["9", "1"], ["", "", ""]])
def test_qa_in_process_keeps_the_story_as_the_console_does(tmp_path: Path, entries: list[str]) -> None:
    """A simulated call's story is the engine's: its heard lines are the call's transcript."""
    from ivr.hotline import Settings, open_hotline
    from ivr.simulator import SimulatedCall

    hotline = open_hotline(Settings(database_url=sqlite_url(tmp_path / "qa.sqlite3")), reload=False, spool=False)
    try:
        call = SimulatedCall(hotline.engine, at=IN_HOURS, on_end=hotline.keep_story("qa"))
        call.run(entries)
        stored = hotline.store.history.lines(call.call_id)
        assert heard(line.line for line in stored) == call.lines
        summary = hotline.store.history.call(call.call_id)
        assert summary is not None and summary.channel == "qa" and summary.outcome == call.outcome
        assert summary.ended_at is not None and summary.ended_at >= summary.started_at
    finally:
        hotline.close()


def test_a_backlog_is_purged_in_short_batches_over_rounds(tmp_path: Path) -> None:
    """Old calls go a batch at a time; a round that reaches its deadline stops between batches and says it is not done."""
    import time

    hotline = make_hotline(tmp_path)
    now = datetime.now(UTC)
    hotline.clock.now = now - timedelta(days=100)
    old = [hotline.call("3").call_sid for _ in range(5)]
    history = hotline.store.history
    stopped = history.purge(now - timedelta(days=90), batch=2, deadline=time.monotonic() - 1)
    assert (stopped.calls, stopped.done) == (0, False)
    purged = history.purge(now - timedelta(days=90), batch=2)
    assert (purged.calls, purged.done) == (5, True)
    assert all(history.call(sid) is None and history.lines(sid) == [] for sid in old)


def test_a_queue_without_an_address_is_a_failed_transfer_with_its_reason(tmp_path: Path) -> None:
    """With IVR_QUEUE_BUSINESS set empty, the story says the transfer failed because there was nothing to dial."""
    hotline = make_hotline(tmp_path, IVR_QUEUE_BUSINESS="")
    phone = hotline.call("1")
    moves = [line.line for line in hotline.store.history.lines(phone.call_sid) if line.type == "move"]
    failed = [m for m in moves if m["trigger"] == "transfer_failed"]
    assert failed == [
        {
            "type": "move",
            "node": "business",
            "trigger": "transfer_failed",
            "to": failed[0]["to"],
            "queue": "business",
            "reason": "no address",
        }
    ]
    (tmp_path / "dialled").mkdir()
    answered = make_hotline(tmp_path / "dialled", IVR_QUEUE_BUSINESS="sip:business@pbx.example.test")
    busy = answered.call("1", transfer_result="busy")
    moves = [line.line for line in answered.store.history.lines(busy.call_sid) if line.type == "move"]
    assert [m.get("reason") for m in moves if m["trigger"] == "transfer_failed"] == [None]


def test_history_commands_work_while_the_menu_is_broken(tmp_path: Path) -> None:
    """A refused edit must not hide the history: `ivr calls list` reads only the menu's time zone."""
    db = str(tmp_path / "hotline.sqlite3")
    run_ivr("call", "--db", db, "--at", "2026-11-30T10:00:00+08:00", "--keys", "3")
    broken = tmp_path / "menu.yaml"
    from tests.conftest import SHIPPED_MENU

    broken.write_text(SHIPPED_MENU.read_text(encoding="utf-8").replace("      1: business\n", "      1: busines\n"), encoding="utf-8")
    listing = run_ivr("calls", "list", "--db", db, "--menu", str(broken), "--since", "2026-11-30", "--json")
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout)[0]["started_at"] == "2026-11-30T10:00:00+08:00"
    missing = run_ivr("calls", "list", "--db", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 2 and "no database at" in missing.stderr and not (tmp_path / "none.sqlite3").exists()
    limited = run_ivr("calls", "list", "--db", db, "--since", "2026-11-30", "--limit", "0")
    assert limited.returncode == 2 and "whole number of calls" in limited.stderr
