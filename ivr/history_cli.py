"""`ivr calls` and `ivr stats`: what callers did, read from the store in the menu's local time.

Callers' numbers are masked wherever they are shown, and what callers supplied (words said) is
printed with control characters escaped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from ivr.caller_number import masked
from ivr.config import Settings
from ivr.engine.story import HEARD, OUTCOMES
from ivr.errors import ConfigError
from ivr.hours import local_time
from ivr.loading.menu_loader import load_menu, menu_timezone
from ivr.terminal import json_safe, shown

if TYPE_CHECKING:
    from ivr.store import CallSummary, Store, StoredLine

__all__ = ["add_commands", "parse_moment"]

RELATIVE = re.compile(r"(\d{1,5})([mhd])")  # 30m, 24h, 7d: that long before now
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
DEFAULT_PERIOD = timedelta(days=7)
DEFAULT_LIMIT = 200  # calls listed at most unless --limit says otherwise: the newest of the period


def parse_moment(value: str, zone: str, now: datetime, flag: str) -> datetime:
    """--since/--until: a date (its midnight), a date and time (without an offset: in the menu's zone), or 30m/24h/7d ago."""
    text = value.strip()
    relative = RELATIVE.fullmatch(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    example = "2026-11-30, 2026-11-30T10:00, 2026-11-30T10:00:00+08:00 or 7d"
    try:
        at = local_time(text, zone)
    except ValueError as exc:
        raise ConfigError(f"{flag} {value!r} is {exc}") from None
    if at is None:
        raise ConfigError(f"{flag} {value!r} is not a date, a time or a span such as {example}")
    return at


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "menu", None):
        settings = settings.with_options(menu_path=args.menu)
    if getattr(args, "db", None):
        settings = settings.with_options(sqlite_path=args.db, database_url="")
    return settings


def _open(settings: Settings) -> Store:
    from ivr.store import Store

    if not settings.database_url:
        file = Path(settings.sqlite_path).expanduser()
        if not file.parent.is_dir():  # reading must never create a database (or its folder) where there was none
            raise ConfigError(f"no database at {settings.sqlite_path}: its folder {file.parent} does not exist")
        if not file.exists():
            raise ConfigError(f"no database at {settings.sqlite_path} (no call has been recorded there; --db names another)")
    return Store(settings.store_url())


def _zone(settings: Settings) -> str:
    """The menu's time zone: read from the menu file alone, so a broken edit never hides the history."""
    try:
        zone = menu_timezone(settings.menu_path)
    except OSError as exc:
        print(
            f"ivr: cannot read the menu {settings.menu_path} ({exc.strerror}); times are shown in UTC (--menu names one)", file=sys.stderr
        )
        return "UTC"
    if zone is None:
        return load_menu(settings.menu_path).schedule.timezone  # the loader's default and its error, if it has one
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        return load_menu(settings.menu_path).schedule.timezone  # the loader says what is wrong with it, file:line:column
    return zone


def _period(args: argparse.Namespace, zone: str, default_since: timedelta | None) -> tuple[datetime | None, datetime | None]:
    now = datetime.now(ZoneInfo(zone))
    since = parse_moment(args.since, zone, now, "--since") if args.since else (now - default_since if default_since else None)
    until = parse_moment(args.until, zone, now, "--until") if args.until else None
    if since is not None and until is not None and until <= since:
        raise ConfigError("--until must be later than --since")
    return since, until


def _local(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds") if at is not None else ""


def _seconds(call: CallSummary) -> float | None:
    """How long the call lasted: the carrier's duration, else by its own clock."""
    if call.duration is not None:
        return float(call.duration)
    if call.ended_at is not None:
        return round((call.ended_at - call.started_at).total_seconds(), 1)
    return None


def _summary(call: CallSummary, lines: Sequence[StoredLine], zone: str) -> dict[str, Any]:
    return {
        "call_sid": call.call_sid,
        "started_at": _local(call.started_at, zone),
        "ended_at": _local(call.ended_at, zone) or None,
        "channel": call.channel,
        "caller": masked(call.caller),
        "outcome": call.outcome,
        "status": call.status,
        "seconds": _seconds(call),
        "last_node": lines[-1].node if lines else None,
        "menu_version": call.menu_version,
    }


class _Period(NamedTuple):
    zone: str
    since: datetime | None
    until: datetime | None
    calls: list[CallSummary]
    stories: dict[str, list[StoredLine]]
    total: int  # calls of the period, listed or not


def _calls_of_period(args: argparse.Namespace, outcome: str | None = None, limit: int | None = None) -> _Period:
    """The calls of the period the arguments name (default: the last 7 days), with their stories (`limit`: the newest)."""
    settings = _settings(args)
    zone = _zone(settings)
    since, until = _period(args, zone, None if args.until else DEFAULT_PERIOD)
    store = _open(settings)
    try:
        calls = store.history.calls(since, until, outcome, limit=limit, newest=limit is not None)
        total = len(calls) if limit is None or len(calls) < limit else store.history.count(since, until, outcome)
        stories = store.history.lines_of(c.call_sid for c in calls)
    finally:
        store.close()
    return _Period(zone, since, until, calls, stories, total)


def cmd_calls_list(args: argparse.Namespace) -> int:
    """List calls of a period, oldest first, in the menu's local time."""
    zone, since, until, calls, stories, total = _calls_of_period(args, args.outcome, args.limit)
    rows = [_summary(c, stories.get(c.call_sid, []), zone) for c in calls]
    if args.json:
        print(json_safe(json.dumps(rows, ensure_ascii=False, indent=2)))
        return 0
    if not rows:
        print(f"no calls {_described(since, until, zone)}")
        return 0
    print(f"{'STARTED (' + zone + ')':<25} {'CALL SID':<34} {'CHANNEL':<8} {'CALLER':<16} {'OUTCOME':<12} {'SECONDS':>7}  LAST NODE")
    for row in rows:
        seconds = f"{row['seconds']:.0f}" if row["seconds"] is not None else "-"
        print(
            f"{row['started_at'][:19].replace('T', ' '):<25} {shown(row['call_sid']):<34} {row['channel']:<8} "
            f"{shown(row['caller']):<16} {row['outcome'] or 'open':<12} {seconds:>7}  {shown(row['last_node'] or '-')}"
        )
    shown_all = "" if total == len(rows) else f" (the newest {len(rows)} of {total}; --limit shows more)"
    print(f"{len(rows)} call(s) {_described(since, until, zone)}{shown_all}")
    return 0


def _described(since: datetime | None, until: datetime | None, zone: str) -> str:
    start = f"since {_local(since, zone)}" if since else "from the first"
    return f"{start} until {_local(until, zone)}" if until else start


def cmd_calls_show(args: argparse.Namespace) -> int:
    """One call's transcript as the caller heard it (`--events`: its whole story, with times)."""
    from ivr.console import format_line

    settings = _settings(args)
    zone = _zone(settings)
    store = _open(settings)
    try:
        call = store.history.call(args.call_sid)
        lines = store.history.lines(args.call_sid) if call is not None else []
    finally:
        store.close()
    if call is None:
        raise ConfigError(f"no call {args.call_sid!r} in the store (`ivr calls list` shows the calls kept)")
    if args.json:
        for stored in lines:
            if args.events or stored.type in HEARD:
                line = dict(stored.line)
                if args.events:
                    line = {"seq": stored.seq, "at": _local(stored.at, zone), **line}
                print(json_safe(json.dumps(line, ensure_ascii=False)))
        return 0
    summary = _summary(call, lines, zone)
    print(f"call {shown(call.call_sid)} from {shown(summary['caller'])} ({call.channel}), menu version {call.menu_version}")
    seconds = f", {summary['seconds']:.0f} s" if summary["seconds"] is not None else ""
    print(f"started {summary['started_at']}, outcome {call.outcome or 'open'}{seconds}")
    for stored in lines:
        if stored.type not in HEARD and not args.events:
            continue
        offset = int((stored.at - call.started_at).total_seconds())
        text = format_line(stored.line) if stored.type in HEARD else _bookkeeping(stored.line)
        print(f"{offset // 60:02d}:{offset % 60:02d} {shown(text)}")
    if not lines:
        print("(no story kept for this call: it was made before call history, or its story was purged)")
    return 0


def _bookkeeping(line: dict[str, Any]) -> str:
    kind = line["type"]
    if kind == "move":
        to = line.get("to") or "(stays)"
        queue = f" [{line['queue']}]" if line.get("queue") else ""
        reason = f" ({line['reason']})" if line.get("reason") else ""
        return f"  · {line['node']} --{line['trigger']}--> {to}{queue}{reason}"
    if kind == "transfer_result":
        return f"  ← transfer to '{line.get('queue', '')}': {line.get('status')}"
    if kind == "recording":
        seconds = f"{line['seconds']} s" if line.get("seconds") is not None else "length not reported"
        ended = f", ended by {line['ended_by']}" if line.get("ended_by") else ""
        return f"  ● message recorded ({seconds}{ended})"
    return f"  · {json.dumps(line, ensure_ascii=False)}"


def _days(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 36_500:
        raise argparse.ArgumentTypeError(f"must be a whole number of days from 1 to 36500, not {text!r}")
    return int(text)


def _how_many(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of calls, 1 or more, not {text!r}")
    return int(text)


def cmd_calls_purge(args: argparse.Namespace) -> int:
    """Forget calls older than the retention period (IVR_RETENTION_DAYS, default 90 days)."""
    settings = _settings(args)
    days = args.days if args.days is not None else settings.retention_days
    before = datetime.now(ZoneInfo("UTC")) - timedelta(days=days)
    store = _open(settings)
    try:
        purged = store.history.purge(before)
    finally:
        store.close()
    print(f"purged {purged.calls} call(s) and {purged.lines} story line(s) older than {days} day(s) (before {before:%Y-%m-%d %H:%M}Z)")
    return 0


STATS_CHUNK = 500  # calls whose stories are read and counted at a time: memory stays flat over long periods


def cmd_stats(args: argparse.Namespace) -> int:
    """What callers did in a period: outcomes, transfers, drop-off and errors per node, tickets, busy hours."""
    from ivr.insight.report import render_html
    from ivr.insight.stats import Tally, format_text

    settings = _settings(args)
    zone = _zone(settings)
    since, until = _period(args, zone, None if args.until else DEFAULT_PERIOD)
    tally = Tally(zone, since, until)
    store = _open(settings)
    try:
        calls = store.history.calls(since, until)
        for start in range(0, len(calls), STATS_CHUNK):
            chunk = calls[start : start + STATS_CHUNK]
            # The prompts' words are most of a story and no figure needs them.
            stories = store.history.lines_of((c.call_sid for c in chunk), without=("say", "gather"))
            for call in chunk:
                tally.add(call, stories.get(call.call_sid, ()))
    finally:
        store.close()
    stats = tally.stats()
    if args.html:
        Path(args.html).write_text(render_html(stats, "Hotline calls"), encoding="utf-8")
    if args.json:
        print(json.dumps(stats.to_json(), ensure_ascii=False, indent=2))
    elif not args.html:
        print(format_text(stats))
    else:
        print(f"ivr stats: wrote {args.html} ({len(calls)} call(s) {_described(since, until, zone)})")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], commands: Any) -> None:
    """Add `ivr calls …` and `ivr stats` to the command line (`commands` makes a group of sub-commands)."""
    where = {"--db": "SQLite file (default: $IVR_SQLITE_PATH or var/ivr.sqlite3; $IVR_DATABASE_URL for PostgreSQL)"}
    menu_help = "menu file whose time zone times are shown in (default: $IVR_MENU or menus/volcengine.yaml)"
    period = "a date (2026-11-30: its midnight), a time (2026-11-30T10:00; in the menu's zone without an offset), or a span before now (7d)"

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", help=where["--db"])
        parser.add_argument("--menu", help=menu_help)

    calls = commands(sub.add_parser("calls", help="the calls kept: list them, replay one, purge old ones"))
    listing = calls.add_parser("list", help="calls of a period, oldest first (default: the last 7 days)")
    listing.add_argument("--since", help=f"from: {period}")
    listing.add_argument("--until", help=f"until (not included): {period}")
    listing.add_argument("--outcome", choices=[*OUTCOMES, "open"], help="only calls that ended so ('open': not decided yet)")
    listing.add_argument("--limit", type=_how_many, default=DEFAULT_LIMIT, help=f"at most this many, the newest (default {DEFAULT_LIMIT})")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    common(listing)
    listing.set_defaults(func=cmd_calls_list)
    show = calls.add_parser("show", help="one call's transcript as the caller heard it")
    show.add_argument("call_sid", metavar="CALLSID")
    show.add_argument("--events", action="store_true", help="the whole story: where the call went, transfer results, times")
    show.add_argument("--json", action="store_true", help="JSON lines, as `ivr call --json` prints them")
    common(show)
    show.set_defaults(func=cmd_calls_show)
    purge = calls.add_parser("purge", help="forget calls older than IVR_RETENTION_DAYS (default 90; `ivr serve` does it daily)")
    purge.add_argument("--days", type=_days, help="keep this many days instead")
    purge.add_argument("--db", help=where["--db"])
    purge.set_defaults(func=cmd_calls_purge)

    stats = sub.add_parser("stats", help="what callers did in a period (default: the last 7 days)")
    stats.add_argument("--since", help=f"from: {period}")
    stats.add_argument("--until", help=f"until (not included): {period}")
    stats.add_argument("--json", action="store_true", help="the figures as JSON")
    stats.add_argument("--html", metavar="FILE", help="write a self-contained HTML report with charts")
    common(stats)
    stats.set_defaults(func=cmd_stats)
