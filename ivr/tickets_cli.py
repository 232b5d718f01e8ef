"""`ivr tickets …`: the tickets callers left, for the engineers who call them back, and their hand-off to the desk.

Times are shown in the menu's local zone (read from the menu file alone, as `ivr calls` does); callers' numbers
are shown in full (engineers call them back); what callers supplied is printed with hidden characters escaped,
and `--csv` cells that a spreadsheet would run as a formula are made text. Commands that only read never create
a database: where there is none yet, there are no tickets.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr.caller_number import SEPARATORS
from ivr.config import Settings
from ivr.engine.services import CHANNELS
from ivr.errors import ConfigError, ServiceError
from ivr.history_cli import _local, _zone, parse_moment
from ivr.terminal import columns, json_safe, shown

if TYPE_CHECKING:
    # Only for annotations: the store pulls in SQLAlchemy, which `ivr --help` must not pay for.
    from ivr.ir import Menu
    from ivr.store import Store, StoredDelivery, StoredTicket

__all__ = [
    "CSV_FIELDS",
    "add_commands",
    "cmd_tickets_close",
    "cmd_tickets_deliveries",
    "cmd_tickets_drain",
    "cmd_tickets_list",
    "cmd_tickets_redeliver",
    "cmd_tickets_show",
    "csv_safe",
]

STATUSES = ("open", "closed", "overdue")
CSV_FIELDS = (
    "number",
    "created_at",
    "first_response_due",
    "category",
    "status",
    "overdue",
    "caller",
    "language",
    "description",
    "closed_at",
    "close_note",
    "call_id",
)
# A spreadsheet runs a cell that starts so as a formula (=HYPERLINK(…), +cmd|…, -2+3, @SUM(…)); tab and carriage
# return too (OWASP, "CSV Injection"). A leading apostrophe makes it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-][0-9]+(?:\.[0-9]+)?")  # +86…, -5: read as numbers, never as formulas
COMMAND_BUDGET = 60.0  # seconds of database work a command may take in all; each statement has its own timeout besides
DRAIN_BUDGET = 600.0  # seconds an operator's drain may run; every statement within it has its own timeout
MIN_DESCRIPTION = 12  # columns a description keeps on however narrow a terminal


# ---- settings, the store and the time zone --------------------------------------------------------------------


def _settings(db: str | None) -> Settings:
    """The environment's settings with `--db` applied (its folder must exist: Settings.with_database_file)."""
    return Settings.from_env().with_database_file(db)


def _no_database(settings: Settings) -> str | None:
    """Why there is nothing to read (no SQLite file there yet), or None when there is a database to open."""
    if settings.database_url:
        return None
    file = Path(settings.sqlite_path).expanduser()
    if file.is_file():
        return None
    if not file.parent.is_dir():
        return f"no database at {settings.sqlite_path}: its folder {file.parent} does not exist"
    return f"no database at {settings.sqlite_path} yet (no ticket has been stored there; --db names another)"


def _open(settings: Settings) -> Store | None:
    """The store, or None where there is no database yet (reading must never create one, nor its folder)."""
    from ivr.store import Store

    if _no_database(settings) is not None:
        return None
    return Store(settings.store_url(), statement_timeout=settings.db_timeout)


def _open_for(settings: Settings, number: str) -> Store:
    """The store that should hold ticket `number`; a clear error where there is no database at all."""
    store = _open(settings)
    if store is None:
        raise ConfigError(f"no ticket {number!r}: {_no_database(settings)}")
    return store


def _ticket(store: Store, number: str) -> StoredTicket:
    ticket = store.tickets.find(number.strip())
    if ticket is None:
        raise ConfigError(f"no ticket {number!r} in the store (`ivr tickets list` shows the tickets kept)")
    return ticket


def _when(at: datetime | None, zone: str, seconds: bool = True) -> str:
    """A time for people: the menu's local wall clock, without the offset (the zone is said once per output)."""
    text = _local(at, zone).replace("T", " ")
    return text[:19] if seconds else text[:16]


# ---- fitting text into a terminal ------------------------------------------------------------------------------


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - columns(text))


def _fit(text: str, room: int | None) -> str:
    """`text` escaped (`shown`) and cut to `room` columns with an ellipsis; an escape is never cut in half."""
    full = shown(text)
    if room is None or columns(full) <= room:
        return full
    out: list[str] = []
    used = 0
    for ch in text:
        piece = shown(ch)
        if used + columns(piece) > room - 1:
            break
        out.append(piece)
        used += columns(piece)
    return "".join(out) + "…"


def _columns() -> int | None:
    """Columns lines must fit in: $COLUMNS, else the terminal's; None to a pipe or a file (nothing is cut there)."""
    given = os.environ.get("COLUMNS", "")
    if given.isascii() and given.isdigit() and int(given) > 0:
        return int(given)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Aligned lines: every column as wide as its widest cell, the last one cut to what the line has left."""
    widths = [max([columns(header[i]), *(columns(r[i]) for r in rows)]) for i in range(len(header) - 1)]
    terminal = _columns()
    room = None if terminal is None else max(MIN_DESCRIPTION, terminal - sum(w + 2 for w in widths))

    def line(cells: Sequence[str], last: str) -> str:
        padded = [" " * (w - columns(c)) + c if i in right else _pad(c, w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
        return "  ".join([*padded, last]).rstrip()

    return [line(header, header[-1]), *(line(r[:-1], _fit(r[-1], room)) for r in rows)]


# ---- ivr tickets list ------------------------------------------------------------------------------------------


def csv_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula gets a leading apostrophe.

    A phone number or a plain number (+8613912345678, -5) is left alone: a spreadsheet reads it as the number it is.
    """
    if value[:1] in "+-" and PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value if value.startswith(FORMULA_START) else value


def _caller_digits(text: str) -> str:
    """--caller: the digits of a number (spaces, dashes, dots and brackets as people write them are dropped)."""
    compact = SEPARATORS.sub("", text)
    digits = compact.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ConfigError(f"--caller {text!r} is not digits of a phone number, such as 13912345678 or +8613912345678")
    return compact


def _filters(args: argparse.Namespace) -> list[str]:
    """The filters given, as the command line said them (for "no tickets match …" and the footer)."""
    given = [(flag, getattr(args, name)) for flag, name in (("--status", "status"), ("--category", "category"), ("--since", "since"))]
    given.append(("--caller", args.caller))
    return [f"{flag} {shown(value)}" for flag, value in given if value]


def _csv_row(ticket: StoredTicket, zone: str, now: datetime) -> list[str]:
    from ivr.store.db import clean  # here: `ivr --help` loads no database layer

    values = {
        **{name: str(value) for name, value in ticket.__dict__.items() if isinstance(value, str)},
        "created_at": _local(ticket.created_at, zone),
        "first_response_due": _local(ticket.first_response_due, zone),
        "closed_at": _local(ticket.closed_at, zone),
        "overdue": "true" if ticket.overdue(now) else "false",
    }
    # Control characters an older release stored (an ESC) are dropped first, as the store drops them from new tickets:
    # a cell that starts with one must not hide a formula behind it.
    return [csv_safe(clean(values[name])) for name in CSV_FIELDS]


def _write_csv(tickets: Sequence[StoredTicket], zone: str, now: datetime) -> None:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, fields with commas, quotes or line breaks quoted
    writer.writerow(CSV_FIELDS)
    writer.writerows(_csv_row(t, zone, now) for t in tickets)
    sys.stdout.write(out.getvalue())


def cmd_tickets_list(args: argparse.Namespace) -> int:
    """List stored tickets, newest first, in the menu's local time; what callers supplied is printed escaped."""
    settings = _settings(args.db)
    zone = _zone(settings)
    now = datetime.now(UTC)
    since = parse_moment(args.since, zone, now, "--since") if args.since else None
    caller = _caller_digits(args.caller) if args.caller else None
    store = _open(settings)
    if store is None:
        print(f"ivr: {_no_database(settings)}", file=sys.stderr)
        rows: list[StoredTicket] = []
    else:
        try:
            from ivr.store.guard import budget

            with budget(COMMAND_BUDGET):
                rows = store.tickets.list_tickets(
                    args.limit, status=args.status, category=args.category or None, since=since, caller=caller, now=now
                )
        finally:
            store.close()
    if args.json:
        print(json_safe(json.dumps([{**t.to_dict(), "overdue": t.overdue(now)} for t in rows], ensure_ascii=False, indent=2)))
        return 0
    if args.csv:
        _write_csv(rows, zone, now)
        return 0
    filters = _filters(args)
    if not rows:
        print(f"no tickets match {' '.join(filters)}" if filters else "no tickets")
        return 0
    header = ("NUMBER", f"CREATED ({zone})", "CATEGORY", "STATUS", "CALLER", "LANGUAGE", "DESCRIPTION")
    cells = [
        (
            shown(t.number),
            _when(t.created_at, zone, seconds=False),
            shown(t.category),
            "overdue" if t.overdue(now) else shown(t.status),
            shown(t.caller),
            shown(t.language),
            t.description,
        )
        for t in rows
    ]
    for line in _table(header, cells):
        print(line)
    overdue = sum(t.overdue(now) for t in rows)
    more = f" (--limit {args.limit}: there may be more)" if args.limit and len(rows) == args.limit else ""
    matching = f" matching {' '.join(filters)}" if filters else ""
    print(f"{len(rows)} ticket(s){matching}, {overdue} overdue, newest first{more}; times in {zone}")
    return 0


# ---- ivr tickets show ------------------------------------------------------------------------------------------


def _attempts(n: int) -> str:
    return f"{n} attempt{'' if n == 1 else 's'}"


def _deliveries(n: int, kind: str = "") -> str:
    return f"{n} {kind}{'delivery' if n == 1 else 'deliveries'}"


def _delivery_sentence(d: StoredDelivery, zone: str) -> str:
    """One delivery as a sentence: where it got, where it goes, what the receiver last said."""
    to = f", to {shown(d.target)}" if d.target else ""
    error = f"; last error: {shown(d.last_error)}" if d.last_error else ""
    if d.status == "delivered":
        receipt = f", receipt {shown(d.receipt)}" if d.receipt else ""
        return f"{d.channel}: delivered {_when(d.delivered_at, zone)} after {_attempts(d.attempts)}{to}{receipt}"
    if d.status == "failed":
        return f"{d.channel}: failed after {_attempts(d.attempts)}{to}{error} (`ivr tickets redeliver` tries again)"
    if d.status == "cancelled":
        return f"{d.channel}: cancelled {_when(d.updated_at, zone)}, the ticket was closed before it went"
    if d.claimed_until is not None and d.claimed_until > datetime.now(UTC):
        return f"{d.channel}: being tried now (attempt {d.attempts}){to}"
    return f"{d.channel}: pending, {_attempts(d.attempts)} so far, next attempt {_when(d.next_at, zone)}{to}{error}"


def cmd_tickets_show(args: argparse.Namespace) -> int:
    """Everything about one ticket: its fields, its deliveries and the call's transcript as the caller heard it."""
    from ivr.console import format_line
    from ivr.engine.story import HEARD
    from ivr.store.guard import budget

    settings = _settings(args.db)
    zone = _zone(settings)
    now = datetime.now(UTC)
    store = _open_for(settings, args.number)
    try:
        with budget(COMMAND_BUDGET):
            ticket = _ticket(store, args.number)
            deliveries = store.outbox.of_call(ticket.call_id)
            call = store.history.call(ticket.call_id)
            lines = [line for line in store.history.lines(ticket.call_id) if line.type in HEARD]
    finally:
        store.close()
    if args.json:
        document = {
            "ticket": {**ticket.to_dict(), "overdue": ticket.overdue(now)},
            "deliveries": [d.to_dict() for d in deliveries],
            "transcript": [line.line for line in lines],
            "timezone": zone,
        }
        print(json_safe(json.dumps(document, ensure_ascii=False, indent=2)))
        return 0
    alias = f" (found by its other number {shown(args.number.strip())})" if args.number.strip() != ticket.number else ""
    status = shown(ticket.status)
    if ticket.overdue(now):
        status = f"open, OVERDUE: its first response was due {_when(ticket.first_response_due, zone)}"
    print(f"ticket {shown(ticket.number)}{alias}: {status}")
    fields = [
        ("created", _when(ticket.created_at, zone)),
        ("first response due", _when(ticket.first_response_due, zone)),
        ("category", shown(ticket.category)),
        ("caller", shown(ticket.caller)),
        ("language", shown(ticket.language)),
        ("call", shown(ticket.call_id)),
        ("description", shown(ticket.description)),
    ]
    if ticket.status == "closed":
        fields += [("closed", _when(ticket.closed_at, zone)), ("note", shown(ticket.close_note))]
    for name, value in fields:
        print(f"  {name + ':':<20}{value}")
    print(f"deliveries ({len(deliveries)}):" if deliveries else "deliveries: none (no channel was configured when it was stored)")
    for d in deliveries:
        print(f"  {_delivery_sentence(d, zone)}")
    print("transcript, as the caller heard it:")
    start = call.started_at if call is not None else lines[0].at if lines else ticket.created_at
    for stored in lines:
        offset = max(0, int((stored.at - start).total_seconds()))
        print(f"  {offset // 60:02d}:{offset % 60:02d} {shown(format_line(stored.line))}")
    if not lines:
        print("  (none kept: the ticket was stored during an outage or with call history off, or its story was purged)")
    print(f"times in {zone}")
    return 0


# ---- ivr tickets close -----------------------------------------------------------------------------------------


def cmd_tickets_close(args: argparse.Namespace) -> int:
    """Close a ticket with what was done; a ticket closed already is left as it was (exit 1)."""
    from ivr.store.guard import budget

    note = args.note.strip()
    if not note:
        raise ConfigError("--note must say what was done for the caller; it is empty")
    settings = _settings(args.db)
    zone = _zone(settings)
    store = _open_for(settings, args.number)
    try:
        with budget(COMMAND_BUDGET):
            ticket = _ticket(store, args.number)
            changed = False
            cancelled = 0
            if ticket.status != "closed":
                found, changed = store.tickets.close_ticket(ticket.number, note, datetime.now(UTC))
                ticket = found or ticket
                if changed:  # what has not gone yet would tell the desk and the caller of a ticket already done
                    cancelled = store.outbox.cancel(ticket.call_id, datetime.now(UTC))
            if not changed:  # closed before, or by another engineer a moment ago: their note stays
                said = f" with the note “{shown(ticket.close_note)}”" if ticket.close_note else ""
                print(
                    f"ivr: ticket {shown(ticket.number)} was already closed at {_when(ticket.closed_at, zone)} ({zone}){said}; "
                    "left as it was",
                    file=sys.stderr,
                )
                return 1
    finally:
        store.close()
    print(f"closed ticket {shown(ticket.number)} at {_when(ticket.closed_at, zone)} ({zone}): {shown(ticket.close_note)}")
    if cancelled:
        print(f"{_deliveries(cancelled)} not sent yet cancelled (it was closed first)")
    return 0


# ---- ivr tickets deliveries ------------------------------------------------------------------------------------


def cmd_tickets_deliveries(args: argparse.Namespace) -> int:
    """Every ticket's deliveries, newest first (`--failed`: only the dead-lettered ones, which need a person)."""
    from ivr.store.guard import budget

    settings = _settings(args.db)
    zone = _zone(settings)
    store = _open(settings)
    counts: dict[str, int] = {}
    rows: list[StoredDelivery] = []
    if store is None:
        print(f"ivr: {_no_database(settings)}", file=sys.stderr)
    else:
        try:
            with budget(COMMAND_BUDGET):
                rows = store.outbox.listing("failed" if args.failed else None, args.limit)
                counts = store.outbox.counts()
        finally:
            store.close()
    if args.json:
        print(json_safe(json.dumps([d.to_dict() for d in rows], ensure_ascii=False, indent=2)))
        return 0
    if not rows:
        print("no failed deliveries" if args.failed else "no deliveries")
        return 0
    header = ("TICKET", "CHANNEL", "STATUS", "ATTEMPTS", "TARGET", f"UPDATED ({zone})", "LAST ERROR")
    cells = [
        (shown(d.ticket), d.channel, d.status, str(d.attempts), shown(d.target) or "-", _when(d.updated_at, zone), d.last_error or "-")
        for d in rows
    ]
    for line in _table(header, cells, right=frozenset({3})):
        print(line)
    in_all = ", ".join(f"{n} {status}" for status, n in counts.items())
    failed = "; `ivr tickets redeliver N` tries a ticket's again" if any(d.status == "failed" for d in rows) else ""
    print(f"{_deliveries(len(rows), 'failed ' if args.failed else '')} shown, newest first (in all: {in_all}){failed}; times in {zone}")
    return 0


# ---- ivr tickets redeliver -------------------------------------------------------------------------------------


def _menu_once(path: str) -> Callable[[], Menu]:
    """The menu a parcel needs (the callers' text message, the zone), loaded at the first send only."""
    loaded: list[Menu] = []

    def menu() -> Menu:
        if not loaded:
            from ivr.loading.menu_loader import load_menu

            loaded.append(load_menu(path))
        return loaded[0]

    return menu


def cmd_tickets_redeliver(args: argparse.Namespace) -> int:
    """Put a ticket's undelivered deliveries back to pending with fresh attempts and try each once now; exit 1 unless all arrived."""
    from ivr.delivery.channels import transports_from
    from ivr.delivery.parcels import ParcelMaker
    from ivr.delivery.sender import Sender
    from ivr.store.guard import budget

    settings = _settings(args.db)
    zone = _zone(settings)
    store = _open_for(settings, args.number)
    try:
        with budget(COMMAND_BUDGET):
            ticket = _ticket(store, args.number)
            existing = store.outbox.of_call(ticket.call_id)
        name = shown(ticket.number)
        if args.channel and all(d.channel != args.channel for d in existing):
            has = ", ".join(d.channel for d in existing) or "none"
            raise ConfigError(f"ticket {name} has no {args.channel} delivery (its deliveries: {has})")
        wanted = [d for d in existing if d.status in ("pending", "failed") and (not args.channel or d.channel == args.channel)]
        if not existing:
            print(f"ticket {name} has no deliveries: no channel was configured when it was stored; nothing to redeliver")
            return 0
        if not wanted:
            done = ", ".join(
                f"{d.channel} {d.status} {_when(d.delivered_at or d.updated_at, zone)}"
                for d in existing
                if not args.channel or d.channel == args.channel
            )
            print(f"nothing to redeliver: ticket {name} has nothing left to send ({done}; times in {zone})")
            return 0
        transports = transports_from(settings)
        sender = Sender(
            store.outbox,
            transports,
            ParcelMaker(store.tickets, store.history, _menu_once(settings.menu_path)),
            attempts=settings.delivery_attempts,
            base=settings.delivery_backoff,
            interval=0,
            timeout=settings.delivery_timeout,
        )
        tried = [d for d in wanted if d.channel in transports]
        arrived = 0
        with budget(COMMAND_BUDGET + len(tried) * settings.delivery_timeout):  # each try is bounded by IVR_DELIVERY_TIMEOUT
            reset = store.outbox.redeliver(ticket.call_id, datetime.now(UTC), [args.channel] if args.channel else ())
            print(f"ticket {name}: {_deliveries(reset)} back to pending with fresh attempts")
            for before in wanted:
                if before.channel not in transports:
                    print(f"{before.channel}: not configured for this command; left pending for the hotline's sender")
                    continue
                fresh = _delivery(store, ticket.call_id, before.id)
                taken = fresh is None or fresh.status != "pending" or fresh.attempts != 0
                result = sender.attempt(fresh) if fresh is not None and not taken else None
                after = _delivery(store, ticket.call_id, before.id)
                arrived += after is not None and after.status == "delivered"
                if result is None or not (result.delivered or result.retried or result.failed):
                    print(f"{before.channel}: taken by another sender meanwhile ({_state(after, zone)})")
                else:
                    print(f"{before.channel}: {_state(after, zone)}")
    finally:
        store.close()
    print(f"times in {zone}")
    return 0 if arrived == len(wanted) else 1


def _delivery(store: Store, call_id: str, delivery_id: int) -> StoredDelivery | None:
    return next((d for d in store.outbox.of_call(call_id) if d.id == delivery_id), None)


def _state(d: StoredDelivery | None, zone: str) -> str:
    """What became of a delivery tried once, in words."""
    if d is None:
        return "gone from the store"
    to = f" to {shown(d.target)}" if d.target else ""
    if d.status == "delivered":
        return f"delivered{to}" + (f" (receipt {shown(d.receipt)})" if d.receipt else "")
    if d.status == "failed":
        return f"failed again{to}: {shown(d.last_error)}"
    if d.claimed_until is not None and d.claimed_until > datetime.now(UTC):
        return f"being tried now by a sender (attempt {d.attempts})"
    if d.attempts == 0:
        return "pending"
    return f"not delivered{to} ({shown(d.last_error)}); will retry at {_when(d.next_at, zone)}"


# ---- ivr tickets drain -----------------------------------------------------------------------------------------


def cmd_tickets_drain(args: argparse.Namespace) -> int:
    """Store spooled tickets now (waiting for a background drainer that holds the folder); exit 1 while some still wait."""
    from ivr.store import Store
    from ivr.store.guard import budget
    from ivr.store.spool import SpoolingTicketSink

    settings = _settings(args.db)
    folder = Path(args.spool or settings.spool_dir)
    if not folder.is_dir():
        print(f"no spool folder at {folder}: nothing waits")
        return 0
    try:
        store = Store(settings.store_url(), statement_timeout=settings.db_timeout)
    except ServiceError as exc:
        waiting = sum(1 for p in folder.glob("*.json"))
        print(f"ivr: the database cannot be reached ({exc}); {waiting} still waiting in {folder}", file=sys.stderr)
        return 1
    try:
        with budget(DRAIN_BUDGET):  # each statement is bounded too: a hung database cannot hang the command
            result = SpoolingTicketSink(store.tickets, folder, settings.number_reserve).drain_report(wait=True)
    finally:
        store.close()
    print(f"stored {result.stored} spooled ticket(s); {result.waiting} still waiting; {result.set_aside} set aside (*.bad) in {folder}")
    return 0 if result.waiting == 0 else 1


# ---- the command line ------------------------------------------------------------------------------------------


def _how_many(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more, not {text!r}")
    return int(text)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], commands: Any) -> None:
    """Add `ivr tickets …` to the command line (`commands` makes a group of sub-commands)."""
    where = "SQLite file (default: $IVR_SQLITE_PATH or var/ivr.sqlite3; $IVR_DATABASE_URL for PostgreSQL); its folder must exist"
    zone = "times are shown in the time zone of the menu $IVR_MENU (default menus/volcengine.yaml)"
    since = "a date (2026-11-30: its midnight), a time (2026-11-30T10:00; in the menu's zone without an offset), or a span before now (7d)"

    tickets = commands(sub.add_parser("tickets", help="work with tickets: list, show, close; their deliveries to the desk"))
    listing = tickets.add_parser("list", help="list tickets, newest first", description=f"List tickets, newest first; {zone}.")
    listing.add_argument("--db", help=where)
    listing.add_argument("--limit", type=_how_many, help="at most this many, the newest")
    shape = listing.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print a JSON array (times in UTC)")
    shape.add_argument("--csv", action="store_true", help="print CSV for a spreadsheet (RFC 4180; local times with their offset)")
    listing.add_argument("--status", choices=STATUSES, help="only open, closed or overdue (open past the first response promised) ones")
    listing.add_argument("--category", help="only tickets of this category")
    listing.add_argument("--since", metavar="WHEN", help=f"only tickets created since: {since}")
    listing.add_argument("--caller", metavar="DIGITS", help="only tickets whose caller's number contains these digits")
    listing.set_defaults(func=cmd_tickets_list)

    show = tickets.add_parser("show", help="one ticket: its fields, deliveries and the call's transcript", description=f"{zone}.")
    show.add_argument("number", metavar="N", help="the ticket's number (or another number the caller was told for the call)")
    show.add_argument("--db", help=where)
    show.add_argument("--json", action="store_true", help="print it as JSON (times in UTC)")
    show.set_defaults(func=cmd_tickets_show)

    close = tickets.add_parser("close", help="close a ticket with a note of what was done")
    close.add_argument("number", metavar="N", help="the ticket's number")
    close.add_argument("--note", required=True, help="what was done for the caller (required)")
    close.add_argument("--db", help=where)
    close.set_defaults(func=cmd_tickets_close)

    deliveries = tickets.add_parser("deliveries", help="tickets' deliveries to the desk, e-mail and text, newest first")
    deliveries.add_argument("--failed", action="store_true", help="only the dead-lettered ones (they need `ivr tickets redeliver`)")
    deliveries.add_argument("--db", help=where)
    deliveries.add_argument("--json", action="store_true", help="print a JSON array (times in UTC)")
    deliveries.add_argument("--limit", type=_how_many, help="at most this many, the newest")
    deliveries.set_defaults(func=cmd_tickets_deliveries)

    redeliver = tickets.add_parser("redeliver", help="try a ticket's undelivered deliveries again now, with fresh attempts")
    redeliver.add_argument("number", metavar="N", help="the ticket's number")
    redeliver.add_argument("--channel", choices=CHANNELS, help="only this channel's delivery")
    redeliver.add_argument("--db", help=where)
    redeliver.set_defaults(func=cmd_tickets_redeliver)

    drain = tickets.add_parser("drain", help="move tickets spooled during a database outage into the database now")
    drain.add_argument("--db", help="SQLite file (default: $IVR_SQLITE_PATH or var/ivr.sqlite3)")
    drain.add_argument("--spool", help="spool folder (default: $IVR_SPOOL_DIR, else spool/ beside the SQLite file)")
    drain.set_defaults(func=cmd_tickets_drain)
