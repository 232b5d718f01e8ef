"""Statistics of the calls of a period, from their stories (ivr/engine/story.py): what `ivr stats` shows.

`compute` takes the calls (`CallHistory.calls`) and their stories (`CallHistory.lines_of`) and counts.
The words used here, for one call:

- **path**: the nodes the call entered, in order: the start node (the node of the story's first line),
  then the `to` of each `move` line, leaving out re-prompts (`to` '') and moves into the node the call is
  at already (the repeat key, a language switch): a node is never twice in a row.
- **reached**: a call reached a node when the node is on its path. The start node counts; a call counts
  once per node however often it was re-prompted there or came back to it.
- **visits**: how often calls entered a node: once for the start node at the call's start, once per `move`
  line whose `to` is the node (a repeat or a language switch enters it again); a re-prompt is no visit.
- **entries**: the caller's answers at a node: its `input` lines (keys, speech or silence).
- **invalid rate**: (`invalid` + `not_understood` moves from the node) / entries; **no-input rate**:
  `no_input` moves / entries. An `unclear` move (speech matching several options, a question follows) is
  counted apart and in neither rate.
- **how a call left a node**: what followed the call's last time at the node: `moved` to another node (the
  last move from it to another node), `hung_up` (the caller hung up there: the node it was at when its
  `hangup` line with reason `caller` came), `ended` there (the menu ended the call: a hang-up line of another
  reason, or an outcome decided without one; with the call's outcome), or `open` (still there, undecided).
  Each reaching call leaves a node exactly one way, so a node's exits add up to the calls that reached it.
- **abandonment at a node**: calls that left it `hung_up`.
- **outcome**: the call's stored outcome (`CallSummary.outcome`, one of OUTCOMES), `open` while undecided.
- **containment**: calls whose outcome is `self-service` / calls with an outcome (open calls left out).
- **transfers of a queue**: `attempts` are its `transfer` lines; `answered` and `failed` its `move` lines
  with the queue on the triggers `answered` and `transfer_failed`; `statuses` the network's raw
  `transfer_result` statuses (answered, no-answer, busy…). An attempt the caller hung up on has neither.
- **time to a person**: for each answered transfer, the seconds from the call's start (`started_at`) to the
  `transfer` line at the same node that preceded it; median (the middle value, or the mean of the two
  middle ones) and p90 (nearest rank: the smallest value with at least 90% of values at or below it).
- **tickets**: `ticket` lines, by category and by the node that created them.
- **hours and weekdays**: of each call's start, in local time of `zone`; weekdays Monday first.
- **busiest paths**: the 10 paths most calls took whole (ties in path order).
- **outcomes over time**: calls by outcome per local day of their start, or per local hour when the
  period is at most 2 days; every bucket from the period's start to its end is listed, empty or not.
  The period is [since, until); an open end is the first (or last) call's start.

Datetimes without a zone are local times in `zone` (as the command line takes them); stored times are UTC.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.engine.story import OUTCOMES, TRANSFER_ENDS
from ivr.store.history import CallSummary, StoredLine

__all__ = [
    "EXIT_KINDS",
    "INVALID_TRIGGERS",
    "OPEN",
    "STATES",
    "WEEKDAYS",
    "Bucket",
    "Durations",
    "Exit",
    "NodeStats",
    "PathCount",
    "QueueStats",
    "Stats",
    "compute",
    "format_text",
]

OPEN = "open"  # a call whose outcome is not decided yet
STATES = (*OUTCOMES, OPEN)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXIT_KINDS = ("moved", "hung_up", "ended", "open")
INVALID_TRIGGERS = ("invalid", "not_understood")
TOP_PATHS = 10
# A period this short is shown hour by hour; a longer one day by day.
HOURLY_UP_TO = timedelta(days=2)


@dataclass(frozen=True)
class Durations:
    """Seconds measured over calls: how many, their median and 90th percentile (None without any)."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, samples: Iterable[float]) -> Durations:
        """The figures of `samples`."""
        values = sorted(samples)
        if not values:
            return cls(0, None, None)
        return cls(len(values), float(statistics.median(values)), float(values[math.ceil(0.9 * len(values)) - 1]))

    def to_json(self) -> dict[str, Any]:
        """As JSON (seconds to a tenth)."""
        return {"count": self.count, "median": _round(self.median, 1), "p90": _round(self.p90, 1)}


@dataclass(frozen=True)
class QueueStats:
    """Transfers to one queue and how they ended."""

    queue: str
    attempts: int
    answered: int
    failed: int
    statuses: Mapping[str, int]  # the network's transfer_result statuses
    to_person: Durations

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "queue": self.queue,
            "attempts": self.attempts,
            "answered": self.answered,
            "failed": self.failed,
            "statuses": dict(self.statuses),
            "to_person": self.to_person.to_json(),
        }


@dataclass(frozen=True)
class Exit:
    """One way calls left a node: `moved` to `to`, `hung_up`, `ended` with `outcome`, or still `open`."""

    kind: str
    calls: int
    to: str = ""
    outcome: str = ""

    @property
    def label(self) -> str:
        """How a report names it."""
        if self.kind == "moved":
            return f"→ {self.to}"
        if self.kind == "ended":
            return f"ended: {self.outcome}"
        return {"hung_up": "hung up", "open": "still there"}.get(self.kind, self.kind)

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {"kind": self.kind, "to": self.to, "outcome": self.outcome, "label": self.label, "calls": self.calls}


@dataclass(frozen=True)
class NodeStats:
    """One node: the calls that reached it, what callers did there and how the calls left it."""

    node: str
    reached: int
    visits: int
    entries: int
    invalid: int  # invalid and not_understood moves
    no_input: int
    unclear: int
    exits: tuple[Exit, ...]

    @property
    def abandoned(self) -> int:
        """Calls whose caller hung up here."""
        return sum(e.calls for e in self.exits if e.kind == "hung_up")

    @property
    def invalid_rate(self) -> float | None:
        """Invalid or not understood entries per entry (None without entries)."""
        return self.invalid / self.entries if self.entries else None

    @property
    def no_input_rate(self) -> float | None:
        """Silences that timed out per entry (None without entries)."""
        return self.no_input / self.entries if self.entries else None

    def to_json(self) -> dict[str, Any]:
        """As JSON (rates to 4 places)."""
        return {
            "node": self.node,
            "reached": self.reached,
            "visits": self.visits,
            "entries": self.entries,
            "invalid": self.invalid,
            "no_input": self.no_input,
            "unclear": self.unclear,
            "invalid_rate": _round(self.invalid_rate, 4),
            "no_input_rate": _round(self.no_input_rate, 4),
            "abandoned": self.abandoned,
            "exits": [e.to_json() for e in self.exits],
        }


@dataclass(frozen=True)
class PathCount:
    """A path through the menu and how many calls took it."""

    nodes: tuple[str, ...]
    calls: int

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {"nodes": list(self.nodes), "calls": self.calls}


@dataclass(frozen=True)
class Bucket:
    """Calls by outcome that started in one local day or hour."""

    label: str  # 2026-11-30, or 2026-11-30 10:00
    start: datetime  # local
    counts: Mapping[str, int]  # every state of STATES

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {"label": self.label, "start": self.start.isoformat(), "counts": dict(self.counts), "calls": sum(self.counts.values())}


@dataclass(frozen=True)
class Stats:
    """The statistics of a period (the module's docstring defines each figure)."""

    zone: str
    since: datetime | None  # local; None: from the first call
    until: datetime | None  # local, excluded; None: to the last call
    first_call: datetime | None  # local
    last_call: datetime | None  # local
    calls: int
    outcomes: Mapping[str, int]  # every state of STATES
    transfers: tuple[QueueStats, ...]  # by queue name
    nodes: tuple[NodeStats, ...]  # most reached first (then nearer the start, then by name)
    to_person: Durations
    tickets: Mapping[str, int]  # by category, most first
    tickets_by_node: Mapping[str, int]
    by_hour: tuple[int, ...]  # 24 local hours
    by_weekday_hour: tuple[tuple[int, ...], ...]  # 7 weekdays (Monday first) × 24 hours
    paths: tuple[PathCount, ...]
    timeline_unit: str  # day or hour
    timeline: tuple[Bucket, ...] = field(default=())

    @property
    def decided(self) -> int:
        """Calls with an outcome."""
        return self.calls - self.outcomes.get(OPEN, 0)

    @property
    def containment(self) -> float | None:
        """Share of decided calls that ended in self-service (None without any)."""
        return self.outcomes.get("self-service", 0) / self.decided if self.decided else None

    @property
    def abandonment(self) -> dict[str, int]:
        """Calls whose caller hung up, by the node they were at (most first)."""
        found = {n.node: n.abandoned for n in self.nodes if n.abandoned}
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def to_json(self) -> dict[str, Any]:
        """Everything as JSON-ready data with stable keys."""
        return {
            "period": {
                "zone": self.zone,
                "since": _iso(self.since),
                "until": _iso(self.until),
                "first_call": _iso(self.first_call),
                "last_call": _iso(self.last_call),
            },
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "containment": {
                "self_service": self.outcomes.get("self-service", 0),
                "decided": self.decided,
                "rate": _round(self.containment, 4),
            },
            "transfers": [q.to_json() for q in self.transfers],
            "abandonment": self.abandonment,
            "nodes": [n.to_json() for n in self.nodes],
            "to_person": self.to_person.to_json(),
            "tickets": {"by_category": dict(self.tickets), "by_node": dict(self.tickets_by_node), "total": sum(self.tickets.values())},
            "by_hour": list(self.by_hour),
            "by_weekday_hour": {"weekdays": list(WEEKDAYS), "counts": [list(row) for row in self.by_weekday_hour]},
            "paths": [p.to_json() for p in self.paths],
            "timeline": {"unit": self.timeline_unit, "states": list(STATES), "buckets": [b.to_json() for b in self.timeline]},
        }


class _NodeCount:
    """What compute gathers about one node before it becomes NodeStats."""

    def __init__(self) -> None:
        self.reached = 0
        self.visits = 0
        self.entries = 0
        self.invalid = 0
        self.no_input = 0
        self.unclear = 0
        self.depth = 0  # sum over reaching calls of the node's first place on the path
        self.exits: Counter[tuple[str, str]] = Counter()


class _QueueCount:
    def __init__(self) -> None:
        self.attempts = 0
        self.answered = 0
        self.failed = 0
        self.statuses: Counter[str] = Counter()
        self.waits: list[float] = []


def compute(
    calls: Sequence[CallSummary],
    stories: Mapping[str, Sequence[StoredLine]],
    zone: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Stats:
    """The statistics of `calls` (those of the period [since, until)) from their `stories`, times local to `zone`."""
    tz = ZoneInfo(zone)
    since_local = _local(since, tz)
    until_local = _local(until, tz)
    outcomes: Counter[str] = Counter()
    nodes: defaultdict[str, _NodeCount] = defaultdict(_NodeCount)
    queues: defaultdict[str, _QueueCount] = defaultdict(_QueueCount)
    tickets: Counter[str] = Counter()
    tickets_by_node: Counter[str] = Counter()
    by_hour = [0] * 24
    by_weekday_hour = [[0] * 24 for _ in WEEKDAYS]
    paths: Counter[tuple[str, ...]] = Counter()
    waits: list[float] = []
    starts: list[datetime] = []

    for call in calls:
        state = call.outcome if call.outcome in OUTCOMES else OPEN
        outcomes[state] += 1
        started = _utc(call.started_at)
        local = started.astimezone(tz)
        starts.append(local)
        by_hour[local.hour] += 1
        by_weekday_hour[local.weekday()][local.hour] += 1
        lines = sorted(stories.get(call.call_sid, ()), key=lambda s: (s.seq, s.pos))
        if not lines:
            continue  # a call whose story was not kept: counted, but it went nowhere we know
        path = _walk(lines, started, state, nodes, queues, tickets, tickets_by_node, waits)
        paths[path] += 1

    timeline_unit, timeline = _timeline(calls, tz, since_local, until_local)
    first, last = (min(starts), max(starts)) if starts else (None, None)
    return Stats(
        zone=zone,
        since=since_local,
        until=until_local,
        first_call=first,
        last_call=last,
        calls=len(calls),
        outcomes={s: outcomes[s] for s in STATES},
        transfers=tuple(
            QueueStats(name, q.attempts, q.answered, q.failed, dict(sorted(q.statuses.items())), Durations.of(q.waits))
            for name, q in sorted(queues.items())
        ),
        nodes=tuple(
            NodeStats(name, n.reached, n.visits, n.entries, n.invalid, n.no_input, n.unclear, _exits(n.exits))
            for name, n in sorted(nodes.items(), key=lambda item: (-item[1].reached, item[1].depth / max(item[1].reached, 1), item[0]))
        ),
        to_person=Durations.of(waits),
        tickets=_most_first(tickets),
        tickets_by_node=_most_first(tickets_by_node),
        by_hour=tuple(by_hour),
        by_weekday_hour=tuple(tuple(row) for row in by_weekday_hour),
        paths=tuple(PathCount(p, n) for p, n in sorted(paths.items(), key=lambda item: (-item[1], item[0]))[:TOP_PATHS]),
        timeline_unit=timeline_unit,
        timeline=timeline,
    )


def _walk(
    lines: Sequence[StoredLine],
    started: datetime,
    state: str,
    nodes: defaultdict[str, _NodeCount],
    queues: defaultdict[str, _QueueCount],
    tickets: Counter[str],
    tickets_by_node: Counter[str],
    waits: list[float],
) -> tuple[str, ...]:
    """Count one call's story into the totals; its path."""
    path = [lines[0].node]
    nodes[path[0]].visits += 1
    left: dict[str, tuple[str, str]] = {}  # node → how the call last left it
    transfer_at: dict[str, datetime] = {}  # node → when its last transfer began
    hung_up = ended = False
    for stored in lines:
        line, node, kind = stored.line, stored.node, stored.type
        if kind == "input":
            nodes[node].entries += 1
        elif kind == "move":
            trigger, to = str(line.get("trigger", "")), str(line.get("to", "") or "")
            if trigger in INVALID_TRIGGERS:
                nodes[node].invalid += 1
            elif trigger == "no_input":
                nodes[node].no_input += 1
            elif trigger == "unclear":
                nodes[node].unclear += 1
            if trigger in TRANSFER_ENDS:
                queue = queues[str(line.get("queue", "") or "")]
                if trigger == "answered":
                    queue.answered += 1
                    if node in transfer_at:
                        wait = max(0.0, (_utc(transfer_at[node]) - started).total_seconds())
                        queue.waits.append(wait)
                        waits.append(wait)
                else:
                    queue.failed += 1
            if to:
                nodes[to].visits += 1
                if to != node:
                    left[node] = ("moved", to)
                if to != path[-1]:
                    path.append(to)
        elif kind == "transfer":
            queues[str(line.get("queue", ""))].attempts += 1
            transfer_at[node] = stored.at
        elif kind == "transfer_result":
            queues[str(line.get("queue", ""))].statuses[str(line.get("status", ""))] += 1
        elif kind == "ticket":
            tickets[str(line.get("category", "") or "")] += 1
            tickets_by_node[node] += 1
        elif kind == "hangup":
            if line.get("reason") == "caller":
                hung_up = True
            else:
                ended = True
    # The call ended (or is) at the last node it entered: that is how it left that node, whatever it did there before.
    if hung_up:
        left[path[-1]] = ("hung_up", "")
    elif ended or state != OPEN:
        left[path[-1]] = ("ended", state)
    else:
        left[path[-1]] = ("open", "")
    for depth, node in enumerate(path):
        if node not in path[:depth]:
            count = nodes[node]
            count.reached += 1
            count.depth += depth
            # A story whose moves skip a node (not one the engine writes) still leaves it for the next one.
            count.exits[left.get(node, ("moved", path[min(depth + 1, len(path) - 1)]))] += 1
    return tuple(path)


def _exits(found: Counter[tuple[str, str]]) -> tuple[Exit, ...]:
    """A node's exits: moves (most first), hang-ups, ends by outcome, open."""

    def order(item: tuple[tuple[str, str], int]) -> tuple[int, int, int, str]:
        (kind, detail), calls = item
        rank = STATES.index(detail) if kind == "ended" and detail in STATES else 0
        return (EXIT_KINDS.index(kind), rank, -calls, detail)

    exits = []
    for (kind, detail), calls in sorted(found.items(), key=order):
        if kind == "moved":
            exits.append(Exit(kind, calls, to=detail))
        elif kind == "ended":
            exits.append(Exit(kind, calls, outcome=detail))
        else:
            exits.append(Exit(kind, calls))
    return tuple(exits)


def _timeline(calls: Sequence[CallSummary], tz: ZoneInfo, since: datetime | None, until: datetime | None) -> tuple[str, tuple[Bucket, ...]]:
    """Calls by outcome per local day, or per local hour when the period is at most two days."""
    starts = [_utc(c.started_at) for c in calls]
    lo = since.astimezone(UTC) if since is not None else (min(starts) if starts else None)
    hi = until.astimezone(UTC) if until is not None else (max(starts) + timedelta(microseconds=1) if starts else None)
    if lo is None or hi is None or hi <= lo:
        return "day", ()
    hourly = hi - lo <= HOURLY_UP_TO
    last = hi - timedelta(microseconds=1)  # the period excludes its end

    def key(moment: datetime) -> str:
        local = moment.astimezone(tz)
        return local.strftime("%Y-%m-%d %H:00") if hourly else local.date().isoformat()

    buckets: dict[str, datetime] = {}
    if hourly:
        moment = lo.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        while moment <= last:
            buckets.setdefault(key(moment), moment.astimezone(tz))
            moment += timedelta(hours=1)
    else:
        day, end = lo.astimezone(tz).date(), last.astimezone(tz).date()
        while day <= end:
            buckets[day.isoformat()] = _midnight(day, tz)
            day += timedelta(days=1)
    counts: dict[str, Counter[str]] = {label: Counter() for label in buckets}
    for call, start in zip(calls, starts, strict=True):
        label = key(start)
        if label in counts:
            counts[label][call.outcome if call.outcome in OUTCOMES else OPEN] += 1
    unit = "hour" if hourly else "day"
    return unit, tuple(Bucket(label, at, {s: counts[label][s] for s in STATES}) for label, at in buckets.items())


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _most_first(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _utc(value: datetime) -> datetime:
    """Stored times: naive ones are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """A period's bound in local time: a naive one is local already."""
    if value is None:
        return None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None, places: int) -> float | None:
    return round(value, places) if value is not None else None


def _pct(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def _secs(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else "-"


def _when(value: datetime | None, fallback: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else fallback


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Rows in aligned columns (the first left, the others right), indented under a section header."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def pad(text: str, i: int) -> str:
        gap = " " * (widths[i] - _width(text))
        return text + gap if i == 0 else gap + text

    return ["  " + "  ".join(pad(c, i) for i, c in enumerate(row)).rstrip() for row in cells]


def _width(text: str) -> int:
    """Columns a text takes on a terminal (CJK characters take two)."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def format_text(stats: Stats) -> str:
    """A readable report for a terminal, one section per figure."""
    out: list[str] = []

    def section(title: str) -> None:
        out.extend(["", title, "-" * len(title)])

    period = f"{_when(stats.since, 'first call')} to {_when(stats.until, 'last call')} ({stats.zone})"
    out.append(f"Calls {period}")
    out.append("=" * len(out[0]))
    out.append(f"calls: {stats.calls}")
    if stats.calls == 0:
        out.append("no calls in this period")
        return "\n".join(out) + "\n"
    out.append(f"first call: {_when(stats.first_call, '-')}   last call: {_when(stats.last_call, '-')}")
    out.append(f"containment (self-service / decided calls): {_pct(stats.containment)} ({stats.outcomes['self-service']}/{stats.decided})")

    section("Outcomes")
    out += _table(["outcome", "calls", "share"], [(s, n, _pct(n / stats.calls)) for s, n in stats.outcomes.items()])

    section("Transfers per queue")
    if stats.transfers:
        out += _table(
            ["queue", "attempts", "answered", "failed", "statuses", "median to person", "p90"],
            [
                (
                    q.queue or "(none)",
                    q.attempts,
                    q.answered,
                    q.failed,
                    ", ".join(f"{k} {v}" for k, v in q.statuses.items()) or "-",
                    _secs(q.to_person.median),
                    _secs(q.to_person.p90),
                )
                for q in stats.transfers
            ],
        )
    else:
        out.append("  no transfers")

    section("Time to reach a person")
    p = stats.to_person
    out.append(f"  answered transfers: {p.count}   median: {_secs(p.median)}   p90: {_secs(p.p90)}")

    section("Abandonment (caller hung up) per node")
    out += _table(["node", "calls"], stats.abandonment.items()) if stats.abandonment else ["  none"]

    section("Per node")
    out += _table(
        ["node", "reached", "visits", "entries", "invalid", "invalid rate", "no input", "no-input rate", "hung up"],
        [
            (n.node, n.reached, n.visits, n.entries, n.invalid, _pct(n.invalid_rate), n.no_input, _pct(n.no_input_rate), n.abandoned)
            for n in stats.nodes
        ],
    )

    section("Waterfall: how calls left each node")
    for n in stats.nodes:
        out.append(f"  {n.node} ({n.reached} reached): " + ", ".join(f"{e.label} {e.calls}" for e in n.exits))

    section("Tickets by category")
    if stats.tickets:
        out += _table(["category", "tickets"], stats.tickets.items())
    else:
        out.append("  no tickets")

    section("Calls per hour of day")
    peak = max(stats.by_hour) or 1
    out += [f"  {h:02d}:00 {n:>5} {'#' * round(30 * n / peak)}" for h, n in enumerate(stats.by_hour) if n]

    section("Calls by weekday and hour")
    out.append("       " + " ".join(f"{h:>2}" for h in range(24)))
    for name, row in zip(WEEKDAYS, stats.by_weekday_hour, strict=True):
        out.append(f"  {name}  " + " ".join(f"{n:>2}" if n else " ." for n in row))

    section(f"Busiest menu paths (top {TOP_PATHS})")
    width = max((len(str(pc.calls)) for pc in stats.paths), default=1)
    out += [f"  {pc.calls:>{width}}  {' > '.join(pc.nodes)}" for pc in stats.paths]

    section(f"Outcomes per {stats.timeline_unit}")
    out += _table([stats.timeline_unit, "calls", *STATES], [(b.label, sum(b.counts.values()), *b.counts.values()) for b in stats.timeline])
    return "\n".join(out) + "\n"
