"""`ivr tickets …` as engineers use it: real SQLite files, a real desk webhook on 127.0.0.1, the shipped menu's time zone."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from ivr.cli import main
from ivr.engine.services import TicketRequest
from ivr.store import Store, sqlite_url
from ivr.store.outbox import Claim, StoredDelivery, delivery_rows
from ivr.store.schema import deliveries
from ivr.tickets_cli import CSV_FIELDS
from tests.conftest import ROOT
from tests.desk_receiver import DeskReceiver
from tests.workspace import copy_workspace, run_ivr

SECRET = "desk-secret-for-the-cli-tests"
OLD = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, long past any first response
CALLER = "+8613912345678"
JSON_KEYS = {
    "number",
    "call_id",
    "caller",
    "language",
    "category",
    "description",
    "created_at",
    "first_response_due",
    "status",
    "closed_at",
    "close_note",
    "overdue",
}


def claimed(store: Store, delivery: StoredDelivery) -> Claim:
    """Take `delivery` as a sender would, to record how an attempt ended."""
    token = store.outbox.claim(delivery, datetime.now(UTC), 60)
    assert token is not None
    return delivery.id, token


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's IVR_*, TWILIO_* and COLUMNS settings stay out; the shipped menu is found from the project folder."""
    for name in list(os.environ):
        if name.startswith(("IVR_", "TWILIO_")) or name == "COLUMNS":
            monkeypatch.delenv(name)
    monkeypatch.chdir(ROOT)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database file with the current schema and no tickets."""
    file = tmp_path / "tickets.sqlite3"
    Store(sqlite_url(file)).close()
    return file


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeskReceiver]:
    """A desk webhook on 127.0.0.1, configured as the commands' desk channel."""
    with DeskReceiver(secret=SECRET) as receiver:
        monkeypatch.setenv("IVR_TICKET_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("IVR_TICKET_WEBHOOK_SECRET", SECRET)
        yield receiver


def ivr(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `ivr ARGS` in this process: exit status, standard output, standard error."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def add(
    db: Path,
    number: str,
    created: datetime = OLD,
    *,
    caller: str = CALLER,
    category: str = "voicemail",
    description: str = "服务器无法登录",
    minutes: int = 60,
    channels: tuple[str, ...] = (),
) -> str:
    """Store a ticket through the real store; its call id."""
    store = Store(sqlite_url(db))
    try:
        request = TicketRequest(f"CA{number}", caller, "zh-CN", category, description, created, minutes)
        store.tickets.insert(request, number, channels=channels)
    finally:
        store.close()
    return f"CA{number}"


def listed(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> list[str]:
    """The numbers `ivr tickets list --json ARGS` gives, in order."""
    code, out, err = ivr(capsys, "tickets", "list", "--db", str(db), "--json", *args)
    assert code == 0, err
    return [t["number"] for t in json.loads(out)]


def width(text: str) -> int:
    """Terminal columns of `text` (wide characters two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---- list ------------------------------------------------------------------------------------------------------


def test_list_has_a_header_local_times_and_says_the_zone(db: Path) -> None:
    """A ticket stored at 02:00Z is listed at 10:00 Beijing time under a header, the caller's number in full."""
    add(db, "10000001")
    add(db, "10000002", OLD + timedelta(hours=1), description="发票抬头写错了")
    done = run_ivr("tickets", "list", "--db", str(db), timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NUMBER", "CREATED", "(Asia/Shanghai)", "CATEGORY", "STATUS", "CALLER", "LANGUAGE", "DESCRIPTION"]
    assert lines[1].split() == ["10000002", "2026-11-30", "11:00", "voicemail", "overdue", CALLER, "zh-CN", "发票抬头写错了"]
    assert lines[2].split() == ["10000001", "2026-11-30", "10:00", "voicemail", "overdue", CALLER, "zh-CN", "服务器无法登录"]
    assert lines[3] == "2 ticket(s), 2 overdue, newest first; times in Asia/Shanghai"
    assert len(lines) == 4


def test_list_times_follow_the_menus_zone(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zone is the menu's (IVR_MENU), not the process's nor UTC."""
    menu = copy_workspace(tmp_path / "workspace")
    menu.write_text(menu.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai", "timezone: America/New_York"), encoding="utf-8")
    monkeypatch.setenv("IVR_MENU", str(menu))
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    add(db, "10000001")
    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db))
    assert code == 0
    assert "CREATED (America/New_York)" in out.splitlines()[0]
    assert "2026-11-29 21:00" in out.splitlines()[1]
    assert out.rstrip().endswith("times in America/New_York")


def test_status_shows_overdue_open_and_closed(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An open ticket past its first response shows `overdue`; one still in time `open`; a closed one `closed`."""
    add(db, "10000001")
    add(db, "10000002", datetime.now(UTC), minutes=600)
    add(db, "10000003", OLD - timedelta(days=1))
    store = Store(sqlite_url(db))
    store.tickets.close_ticket("10000003", "called back", datetime.now(UTC))
    store.close()
    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db))
    assert code == 0
    status = {line.split()[0]: line.split()[4] for line in out.splitlines()[1:-1]}
    assert status == {"10000001": "overdue", "10000002": "open", "10000003": "closed"}
    assert "1 overdue" in out.splitlines()[-1]


def test_filters_each_and_combined(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--status, --category, --since (a local date or a span) and --caller (digits as people write them) combine."""
    add(db, "10000001")  # 2026-11-30 10:00 local, overdue
    add(db, "10000002", datetime.now(UTC) - timedelta(minutes=1), minutes=600)  # open, in time
    add(db, "10000003", OLD - timedelta(days=1), caller="+8613700000000")  # closed below
    add(db, "10000004", datetime(2026, 11, 30, 16, 30, tzinfo=UTC), caller="+8613800001111", category="billing")  # 2026-12-01 00:30 local
    store = Store(sqlite_url(db))
    store.tickets.close_ticket("10000003", "done", datetime.now(UTC))
    store.close()
    assert listed(capsys, db) == ["10000002", "10000004", "10000001", "10000003"]
    assert listed(capsys, db, "--status", "overdue") == ["10000004", "10000001"]
    assert listed(capsys, db, "--status", "open") == ["10000002", "10000004", "10000001"]
    assert listed(capsys, db, "--status", "closed") == ["10000003"]
    assert listed(capsys, db, "--category", "billing") == ["10000004"]
    assert listed(capsys, db, "--since", "2026-12-01") == ["10000002", "10000004"]  # local midnight: 16:00Z the day before
    assert listed(capsys, db, "--since", "2026-12-01T01:00") == ["10000002"]
    assert listed(capsys, db, "--since", "24h") == ["10000002"]
    assert listed(capsys, db, "--caller", "139 1234-5678") == ["10000002", "10000001"]
    assert listed(capsys, db, "--caller", "+86138") == ["10000004"]
    assert listed(capsys, db, "--status", "overdue", "--caller", "13912345678") == ["10000001"]
    assert listed(capsys, db, "--status", "overdue", "--since", "2026-12-01", "--category", "billing") == ["10000004"]
    assert listed(capsys, db, "--limit", "1") == ["10000002"]

    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db), "--status", "overdue")
    assert out.splitlines()[-1] == "2 ticket(s) matching --status overdue, 2 overdue, newest first; times in Asia/Shanghai"
    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db), "--category", "nothing", "--status", "open")
    assert (code, out) == (0, "no tickets match --status open --category nothing\n")
    code, _, err = ivr(capsys, "tickets", "list", "--db", str(db), "--caller", "abc")
    assert code == 2 and "--caller 'abc' is not digits" in err
    code, _, err = ivr(capsys, "tickets", "list", "--db", str(db), "--since", "yesterday")
    assert code == 2 and "--since 'yesterday' is not a date" in err


def test_json_keeps_its_keys_and_adds_overdue(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json: the keys it always had (times in UTC), plus `overdue`."""
    add(db, "10000001")
    add(db, "10000002", datetime.now(UTC), minutes=600)
    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db), "--json")
    rows = json.loads(out)
    assert code == 0 and all(set(row) == JSON_KEYS for row in rows)
    assert [(r["number"], r["overdue"], r["closed_at"], r["close_note"]) for r in rows] == [
        ("10000002", False, None, ""),
        ("10000001", True, None, ""),
    ]
    assert rows[1]["created_at"] == "2026-11-30T02:00:00+00:00"


def test_csv_parses_back_with_local_times_and_no_formulas(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--csv is RFC 4180 (CRLF, quoted commas, quotes and line breaks), times local with their offset, every field,
    and a cell that starts like a formula (= + - @) is made text with a leading apostrophe."""
    add(db, "10000001", description='=HYPERLINK("http://evil.example","click")', category="@SUM(A1)")
    add(db, "10000002", OLD + timedelta(hours=1), caller="13912345678", description='第一行, "引号"\nsecond line')
    store = Store(sqlite_url(db))
    store.tickets.close_ticket("10000002", "-called back, fixed", datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    store.close()
    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db), "--csv")
    assert code == 0 and out.startswith(",".join(CSV_FIELDS) + "\r\n") and out.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert tuple(rows[0]) == CSV_FIELDS
    closed, formula = (dict(zip(CSV_FIELDS, row, strict=True)) for row in rows[1:])
    assert formula["description"] == '\'=HYPERLINK("http://evil.example","click")'
    assert formula["category"] == "'@SUM(A1)" and formula["caller"] == CALLER  # a phone number is a number, not a formula
    assert formula["created_at"] == "2026-11-30T10:00:00+08:00" and formula["first_response_due"] == "2026-11-30T11:00:00+08:00"
    assert (formula["status"], formula["overdue"], formula["closed_at"], formula["close_note"]) == ("open", "true", "", "")
    assert formula["call_id"] == "CA10000001"
    assert closed["description"] == '第一行, "引号"\nsecond line' and closed["caller"] == "13912345678"
    assert (closed["status"], closed["overdue"]) == ("closed", "false")
    assert closed["closed_at"] == "2026-12-01T09:00:00+08:00" and closed["close_note"] == "'-called back, fixed"
    assert len(rows) == 3

    code, out, _ = ivr(capsys, "tickets", "list", "--db", str(db), "--csv", "--category", "none")
    assert list(csv.reader(io.StringIO(out, newline=""))) == [list(CSV_FIELDS)]


def test_descriptions_are_cut_to_the_terminal_and_escaped(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With $COLUMNS every line fits (wide characters count two) and a cut ends in …; to a pipe nothing is cut."""
    long = "服务器无法登录，" * 12 + "END"
    add(db, "10000001", description=long)
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = ivr(capsys, "tickets", "list", "--db", str(db))
    row = out.splitlines()[1]
    assert width(row) <= 100 and row.endswith("…") and "END" not in row
    monkeypatch.delenv("COLUMNS")
    _, out, _ = ivr(capsys, "tickets", "list", "--db", str(db))
    assert out.splitlines()[1].endswith(long)

    with sqlite3.connect(db) as conn:  # as a row an older release stored, control characters and all
        conn.execute("UPDATE tickets SET description = ? WHERE number = '10000001'", ("a\x1b[2J\u202eb\nc",))
    conn.close()
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = ivr(capsys, "tickets", "list", "--db", str(db))
    assert out.splitlines()[1].endswith("a\\x1b[2J\\u202eb\\x0ac") and "\x1b" not in out


def test_reading_a_database_that_is_not_there_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No file yet: no tickets (and no deliveries) to list, no ticket to show, close or redeliver; the file is not created."""
    missing = tmp_path / "none.sqlite3"
    assert ivr(capsys, "tickets", "list", "--db", str(missing))[:2] == (0, "no tickets\n")
    assert ivr(capsys, "tickets", "list", "--db", str(missing), "--status", "open")[:2] == (0, "no tickets match --status open\n")
    assert json.loads(ivr(capsys, "tickets", "list", "--db", str(missing), "--json")[1]) == []
    assert ivr(capsys, "tickets", "deliveries", "--db", str(missing))[:2] == (0, "no deliveries\n")
    assert ivr(capsys, "tickets", "deliveries", "--db", str(missing), "--failed")[:2] == (0, "no failed deliveries\n")
    for args in (["show", "1"], ["close", "1", "--note", "x"], ["redeliver", "1"]):
        code, _, err = ivr(capsys, "tickets", *args, "--db", str(missing))
        assert code == 2 and err.startswith("ivr: no ticket '1': no database at"), err
    assert list(tmp_path.iterdir()) == []


def test_a_db_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command with --db refuses a path whose folder is missing (exit 2), instead of creating it."""
    missing = tmp_path / "nonexistent" / "dir" / "x.sqlite3"
    message = f"ivr: --db {missing}: the folder {missing.parent} does not exist\n"
    done = run_ivr("tickets", "list", "--db", str(missing), timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)
    commands = [
        ["tickets", "list"],
        ["tickets", "show", "1"],
        ["tickets", "close", "1", "--note", "x"],
        ["tickets", "deliveries"],
        ["tickets", "redeliver", "1"],
        ["tickets", "drain"],
        ["db", "upgrade"],
    ]
    for args in commands:
        assert ivr(capsys, *args, "--db", str(missing)) == (2, "", message), args
    assert not (tmp_path / "nonexistent").exists()
    # A console call makes its own store, folder and all, as it makes var/ by default (a file in the way is still refused).
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    blocked = tmp_path / "file" / "x.sqlite3"
    assert ivr(capsys, "call", "--keys", "1", "--db", str(blocked))[0] == 2


# ---- show ------------------------------------------------------------------------------------------------------


def test_show_tells_everything_and_redeliver_hands_it_to_the_desk(
    tmp_path: Path, desk: DeskReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    """A console call's ticket: its fields in local time, its desk delivery, the call as heard; redeliver sends it once."""
    db = tmp_path / "calls.sqlite3"
    env = {"IVR_TICKET_WEBHOOK_URL": desk.url, "IVR_TICKET_WEBHOOK_SECRET": SECRET}
    args = ["--at", "2026-11-30T22:00:00+08:00", "--keys", "1", "--voicemail", "服务器无法登录", "--caller", CALLER, "--json"]
    call = run_ivr("call", "--db", str(db), *args, env=env, timeout=60)
    assert call.returncode == 0, call.stderr
    number = next(json.loads(line) for line in call.stdout.splitlines() if '"ticket"' in line)["number"]
    store = Store(sqlite_url(db))
    try:  # a console call is a rehearsal and hands nothing on: its ticket gets the desk delivery a webhook call's would
        ticket = store.tickets.find(number)
        assert ticket is not None and store.outbox.of_call(ticket.call_id) == []
        with store.engine.begin() as conn:
            conn.execute(insert(deliveries), delivery_rows(number, ticket.call_id, ["desk"], datetime.now(UTC)))
    finally:
        store.close()

    code, out, err = ivr(capsys, "tickets", "show", number, "--db", str(db))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"ticket {number}: open, OVERDUE: its first response was due 2026-11-30 22:10:00"
    assert "  created:            2026-11-30 22:00:00" in lines
    assert f"  caller:             {CALLER}" in lines and "  description:        服务器无法登录" in lines
    assert lines[lines.index("deliveries (1):") + 1].startswith("  desk: pending, 0 attempts so far, next attempt 20")
    heard = lines[lines.index("transcript, as the caller heard it:") + 1 : -1]
    assert heard[0].startswith("  00:00 [welcome] ") and any(line.endswith("> 1") for line in heard)
    assert any(line.endswith(f"✔ ticket {number} (voicemail)") for line in heard) and heard[-1].endswith("☎ hang up (completed)")
    assert lines[-1] == "times in Asia/Shanghai"

    code, out, err = ivr(capsys, "tickets", "redeliver", number, "--db", str(db))
    assert code == 0, (out, err)
    assert out.splitlines() == [
        f"ticket {number}: 1 delivery back to pending with fresh attempts",
        f"desk: delivered to http://127.0.0.1:{desk.port} (receipt 200)",
        "times in Asia/Shanghai",
    ]
    assert desk.accepted == 1 and desk.tickets[number]["ticket"]["description"] == "服务器无法登录"
    code, out, _ = ivr(capsys, "tickets", "show", number, "--db", str(db))
    assert f"after 1 attempt, to http://127.0.0.1:{desk.port}, receipt 200" in out
    code, out, _ = ivr(capsys, "tickets", "redeliver", number, "--db", str(db))
    assert code == 0 and out.startswith(f"nothing to redeliver: ticket {number} has nothing left to send (desk delivered 20")
    assert desk.received == 1

    code, out, _ = ivr(capsys, "tickets", "show", number, "--db", str(db), "--json")
    document = json.loads(out)
    assert set(document) == {"ticket", "deliveries", "transcript", "timezone"} and document["timezone"] == "Asia/Shanghai"
    assert set(document["ticket"]) == JSON_KEYS and document["ticket"]["overdue"] is True
    assert [(d["channel"], d["status"], d["attempts"]) for d in document["deliveries"]] == [("desk", "delivered", 1)]
    assert [line["number"] for line in document["transcript"] if line["type"] == "ticket"] == [number]


def test_show_finds_an_alias_and_escapes_what_callers_supplied(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Another number the caller was told finds the ticket; a failed delivery says why; control characters are escaped."""
    call_id = add(db, "10000001", channels=("desk", "email"))
    store = Store(sqlite_url(db))
    store.tickets.add_alias("20000001", call_id)
    email = next(d for d in store.outbox.of_call(call_id) if d.channel == "email")
    store.outbox.dead_letter(
        claimed(store, email), datetime.now(UTC), "support@example.com", "refused: 550 no such mailbox (attempt 3 of 3)"
    )
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tickets SET description = ? WHERE number = '10000001'", ("登录\x1b[2J失败",))
    conn.close()
    code, out, _ = ivr(capsys, "tickets", "show", "20000001", "--db", str(db))
    assert code == 0
    assert out.splitlines()[0].startswith("ticket 10000001 (found by its other number 20000001): open, OVERDUE")
    assert "  description:        登录\\x1b[2J失败" in out.splitlines() and "\x1b" not in out
    assert "  email: failed after 1 attempt, to support@example.com; last error: refused: 550 no such mailbox (attempt 3 of 3)" in out
    assert "  (none kept: the ticket was stored during an outage or with call history off, or its story was purged)" in out
    code, _, err = ivr(capsys, "tickets", "show", "99999999", "--db", str(db))
    assert code == 2 and err == "ivr: no ticket '99999999' in the store (`ivr tickets list` shows the tickets kept)\n"


# ---- close -----------------------------------------------------------------------------------------------------


def test_close_then_close_again(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Closing stores the time and the note; closing again says when it was closed, changes nothing, exits 1."""
    add(db, "10000001")
    code, _, err = ivr(capsys, "tickets", "close", "10000001", "--note", "   ", "--db", str(db))
    assert code == 2 and "--note must say what was done" in err
    with pytest.raises(SystemExit) as exit_:
        main(["tickets", "close", "10000001", "--db", str(db)])
    assert exit_.value.code == 2 and "--note" in capsys.readouterr().err

    before = datetime.now(UTC)
    code, out, _ = ivr(capsys, "tickets", "close", "10000001", "--note", "  called back, password reset  ", "--db", str(db))
    assert code == 0 and out.startswith("closed ticket 10000001 at ") and out.endswith(" (Asia/Shanghai): called back, password reset\n")
    store = Store(sqlite_url(db))
    ticket = store.tickets.find("10000001")
    assert ticket is not None and ticket.status == "closed" and ticket.close_note == "called back, password reset"
    assert ticket.closed_at is not None and before - timedelta(seconds=1) <= ticket.closed_at <= datetime.now(UTC)
    local = ticket.closed_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"at {local} (Asia/Shanghai)" in out

    code, out, err = ivr(capsys, "tickets", "close", "10000001", "--note", "again", "--db", str(db))
    assert (code, out) == (1, "")
    assert err == (
        f"ivr: ticket 10000001 was already closed at {local} (Asia/Shanghai) with the note “called back, password reset”; left as it was\n"
    )
    assert store.tickets.find("10000001") == ticket
    store.close()
    code, _, err = ivr(capsys, "tickets", "close", "99999999", "--note", "x", "--db", str(db))
    assert code == 2 and "no ticket '99999999'" in err


# ---- deliveries and redeliver ----------------------------------------------------------------------------------


def test_deliveries_newest_first_and_the_failed_ones(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every delivery under a header, newest first; --failed only the dead-lettered, with their last error."""
    assert ivr(capsys, "tickets", "deliveries", "--db", str(db))[:2] == (0, "no deliveries\n")
    add(db, "10000001", channels=("desk", "email"))
    call_id = add(db, "10000002", channels=("desk", "email"))
    store = Store(sqlite_url(db))
    email = next(d for d in store.outbox.of_call(call_id) if d.channel == "email")
    store.outbox.dead_letter(
        claimed(store, email), datetime(2026, 11, 30, 2, 0, 5, tzinfo=UTC), "support@example.com", "refused: 550 no such mailbox"
    )
    store.close()
    code, out, _ = ivr(capsys, "tickets", "deliveries", "--db", str(db))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["TICKET", "CHANNEL", "STATUS", "ATTEMPTS", "TARGET", "UPDATED", "(Asia/Shanghai)", "LAST", "ERROR"]
    assert [line.split()[:4] for line in lines[1:5]] == [
        ["10000002", "email", "failed", "1"],
        ["10000002", "desk", "pending", "0"],
        ["10000001", "email", "pending", "0"],
        ["10000001", "desk", "pending", "0"],
    ]
    assert lines[1].split()[4:] == ["support@example.com", "2026-11-30", "10:00:05", "refused:", "550", "no", "such", "mailbox"]
    assert lines[5].startswith("4 deliveries shown, newest first (in all: 3 pending, 0 delivered, 1 failed, 0 cancelled)")
    code, out, _ = ivr(capsys, "tickets", "deliveries", "--db", str(db), "--failed")
    assert code == 0 and [line.split()[:3] for line in out.splitlines()[1:-1]] == [["10000002", "email", "failed"]]
    assert out.splitlines()[-1].startswith("1 failed delivery shown") and "`ivr tickets redeliver N`" in out
    rows = json.loads(ivr(capsys, "tickets", "deliveries", "--db", str(db), "--json", "--limit", "3")[1])
    assert [(r["ticket"], r["channel"], r["status"]) for r in rows] == [
        ("10000002", "email", "failed"),
        ("10000002", "desk", "pending"),
        ("10000001", "email", "pending"),
    ]


def test_redeliver_says_what_became_of_each_try(db: Path, desk: DeskReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    """A 500 will be retried, a 404 fails again, a 200 is delivered; a channel this command lacks is left to the hotline."""
    call_id = add(db, "10000001", channels=("desk", "email"))
    store = Store(sqlite_url(db))
    for d in store.outbox.of_call(call_id):
        store.outbox.dead_letter(claimed(store, d), datetime.now(UTC), "", "gave up (attempt 10 of 10)")
    desk.plan(500, 404)
    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db))
    lines = out.splitlines()
    assert code == 1 and lines[0] == "ticket 10000001: 2 deliveries back to pending with fresh attempts"
    assert (
        lines[1].startswith(f"desk: not delivered to http://127.0.0.1:{desk.port} (the desk answered 500") and " will retry at " in lines[1]
    )
    assert lines[2] == "email: not configured for this command; left pending for the hotline's sender"
    states = {d.channel: (d.status, d.attempts) for d in store.outbox.of_call(call_id)}
    assert states == {"desk": ("pending", 1), "email": ("pending", 0)}

    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db), "--channel", "desk")
    assert code == 1 and out.splitlines()[0] == "ticket 10000001: 1 delivery back to pending with fresh attempts"
    assert out.splitlines()[1].startswith(f"desk: failed again to http://127.0.0.1:{desk.port}: refused: the desk answered 404")
    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db), "--channel", "desk")
    assert code == 0 and out.splitlines()[1] == f"desk: delivered to http://127.0.0.1:{desk.port} (receipt 200)"
    assert desk.accepted == 1 and desk.received == 3
    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db))
    assert code == 1 and "email: not configured for this command" in out  # still undelivered: exit 1
    assert desk.received == 3

    code, _, err = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db), "--channel", "sms")
    assert code == 2 and "ticket 10000001 has no sms delivery (its deliveries: desk, email)" in err
    code, _, err = ivr(capsys, "tickets", "redeliver", "99999999", "--db", str(db))
    assert code == 2 and "no ticket '99999999'" in err
    add(db, "10000002")
    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000002", "--db", str(db))
    assert code == 0 and "has no deliveries" in out
    store.close()


def test_redeliver_waits_no_longer_than_the_delivery_timeout(
    db: Path, desk: DeskReceiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk that takes the ticket and never answers in time costs IVR_DELIVERY_TIMEOUT, then a retry is due."""
    monkeypatch.setenv("IVR_DELIVERY_TIMEOUT", "1")
    desk.stall = 10
    desk.plan("timeout")
    add(db, "10000001", channels=("desk",))
    started = time.monotonic()
    code, out, _ = ivr(capsys, "tickets", "redeliver", "10000001", "--db", str(db))
    assert time.monotonic() - started < 5
    assert code == 1 and "will retry at" in out.splitlines()[1]
