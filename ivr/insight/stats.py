"""Statistics of the calls of a period, from their stories (ivr/engine/story.py): what `ivr stats` shows.

`compute` takes the calls (`CallHistory.calls`) and their stories (`CallHistory.lines_of`) and counts;
`Tally` counts the same call by call, so stories can be read in chunks and dropped once counted. No
figure needs the `say` and `gather` lines (the prompts' words, most of a story): they may be left out.
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
- **transfers of a queue**: `attempts` are its tries: its `transfer` lines (dialled) and its `unreachable`
  failures (a `transfer_failed` move with reason `no address`: the queue had no address to dial; a
  story from before that reason was written counts a failure with no dial before it since the call
  entered the node); `answered` and `failed` its `move` lines with the queue on the triggers `answered`
  and `transfer_failed` (unreachable ones among the failed); `statuses` the network's raw
  `transfer_result` statuses (answered, no-answer, busy…). An attempt the caller hung up on has neither.
- **time to a person**: for each answered transfer, the seconds from the call's start (`started_at`) to the
  `transfer` line at the same node that preceded it; median (the middle value, or the mean of the two
  middle ones) and p90 (nearest rank: the smallest value with at least 90% of values at or below it).
- **tickets**: `ticket` lines, by category and by the node that created them.
- **hours and weekdays**: of each call's start, in local time of `zone`; weekdays Monday first.
- **busiest paths**: the 10 paths most calls took whole (ties in path order).
- **outcomes over time**: calls by outcome per local hour, day, week (from Monday) or month of their
  start, by the length of the range shown: an hour up to 2 days, a day up to 92, a week up to 2 years
  (731 days), a month beyond. The range is the period [since, until) when both ends are given and it
  takes at most MAX_BUCKETS buckets; else (an open end, or a period far longer than its calls) the
  span of the calls found, first to last. Every bucket of the range is listed, empty or not.
- **calls without a story**: calls with no story lines (call history was off, IVR_CALL_HISTORY=0, or
  they came before it): they count in calls, outcomes, hours and the timeline, but in no figure
  read from stories (transfers, nodes, abandonment per node, tickets, time to a person, paths).

Datetimes without a zone are local times in `zone` (as the command line takes them); stored times are UTC.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise
from typing import Any
from zoneinfo import ZoneInfo

from ivr.engine.story import OUTCOMES, TRANSFER_ENDS
from ivr.store.history import CallSummary, StoredLine
from ivr.terminal import columns

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
    "Tally",
    "compute",
    "coverage",
    "format_text",
]

OPEN = "open"  # a call whose outcome is not decided yet
STATES = (*OUTCOMES, OPEN)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EXIT_KINDS = ("moved", "hung_up", "ended", "open")
INVALID_TRIGGERS = ("invalid", "not_understood")
TOP_PATHS = 10
NO_ADDRESS = "no address"  # the reason of a transfer_failed move when the queue had nothing to dial
# The timeline's bucket by the length of the range it shows: the first whose limit the range is within.
UNITS = (("hour", timedelta(days=2)), ("day", timedelta(days=92)), ("week", timedelta(days=731)), ("month", timedelta.max))
MAX_BUCKETS = 120  # a period of more buckets than this shows only the span of its calls


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
    attempts: int  # dialled + unreachable
    answered: int
    failed: int  # unreachable ones included
    statuses: Mapping[str, int]  # the network's transfer_result statuses
    to_person: Durations
    unreachable: int = 0  # failed at once: the queue had no address to dial

    @property
    def dialled(self) -> int:
        """Attempts that dialled the queue."""
        return self.attempts - self.unreachable

    def to_json(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "queue": self.queue,
            "attempts": self.attempts,
            "dialled": self.dialled,
            "unreachable": self.unreachable,
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
    """Calls by outcome that started in one local hour, day, week or month."""

    label: str  # 2026-11-30 10:00 (hour), 2026-11-30 (day; a week: its Monday), 2026-11 (month)
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
    without_story: int  # calls with no story lines: in no figure read from stories
    outcomes: Mapping[str, int]  # every state of STATES
    transfers: tuple[QueueStats, ...]  # by queue name
    nodes: tuple[NodeStats, ...]  # most reached first (then nearer the start, then by name)
    to_person: Durations
    tickets: Mapping[str, int]  # by category, most first
    tickets_by_node: Mapping[str, int]
    by_hour: tuple[int, ...]  # 24 local hours
    by_weekday_hour: tuple[tuple[int, ...], ...]  # 7 weekdays (Monday first) × 24 hours
    paths: tuple[PathCount, ...]
    timeline_unit: str  # hour, day, week or month
    timeline: tuple[Bucket, ...] = field(default=())

    @property
    def with_story(self) -> int:
        """Calls the figures read from stories cover."""
        return self.calls - self.without_story

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
            "without_story": self.without_story,
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
        self.dialled = 0
        self.unreachable = 0
        self.answered = 0
        self.failed = 0
        self.statuses: Counter[str] = Counter()
        self.waits: list[float] = []


class Tally:
    """The statistics gathered call by call: `add` each call with its story, then `stats` (what `compute` does at once).

    It keeps the totals and, per call, only its start and outcome: a story can be dropped once added.
    """

    def __init__(self, zone: str, since: datetime | None = None, until: datetime | None = None) -> None:
        self.zone = zone
        self.tz = ZoneInfo(zone)
        self.since = _local(since, self.tz)
        self.until = _local(until, self.tz)
        self.calls: list[tuple[datetime, str]] = []  # (start in UTC, state) per call, for the timeline
        self.without_story = 0
        self.outcomes: Counter[str] = Counter()
        self.nodes: defaultdict[str, _NodeCount] = defaultdict(_NodeCount)
        self.queues: defaultdict[str, _QueueCount] = defaultdict(_QueueCount)
        self.tickets: Counter[str] = Counter()
        self.tickets_by_node: Counter[str] = Counter()
        self.by_hour = [0] * 24
        self.by_weekday_hour = [[0] * 24 for _ in WEEKDAYS]
        self.paths: Counter[tuple[str, ...]] = Counter()
        self.waits: list[float] = []

    def add(self, call: CallSummary, lines: Sequence[StoredLine]) -> None:
        """Count one call and its story (in story order, as `CallHistory.lines_of` gives it; `say` and `gather` lines are not needed)."""
        state = call.outcome if call.outcome in OUTCOMES else OPEN
        self.outcomes[state] += 1
        started = _utc(call.started_at)
        self.calls.append((started, state))
        local = started.astimezone(self.tz)
        self.by_hour[local.hour] += 1
        self.by_weekday_hour[local.weekday()][local.hour] += 1
        if not lines:
            self.without_story += 1  # counted, but it went nowhere we know
            return
        if not _in_order(lines):
            lines = sorted(lines, key=lambda s: (s.seq, s.pos))
        self.paths[self._walk(lines, started, state)] += 1

    def _walk(self, lines: Sequence[StoredLine], started: datetime, state: str) -> tuple[str, ...]:
        """Count one call's story into the totals; its path."""
        nodes, queues = self.nodes, self.queues
        path = [lines[0].node]  # the start node: the first line of every step is there or leaves it
        nodes[path[0]].visits += 1
        left: dict[str, tuple[str, str]] = {}  # node → how the call last left it
        transfer_at: dict[str, datetime] = {}  # node → when its last transfer began
        dialling: set[str] = set()  # nodes whose dial has not ended yet
        hung_up = ended = False
        for stored in lines:
            line = stored.line
            kind, node = line["type"], str(line.get("node", ""))
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
                            wait = max(0.0, (transfer_at[node] - started).total_seconds())
                            queue.waits.append(wait)
                            self.waits.append(wait)
                    else:
                        queue.failed += 1
                        # Nothing was dialled: the story says so, or (written before it did) no dial is pending.
                        if line.get("reason") == NO_ADDRESS or ("reason" not in line and node not in dialling):
                            queue.unreachable += 1
                    dialling.discard(node)
                if to:
                    nodes[to].visits += 1
                    if to != node:
                        left[node] = ("moved", to)
                    if to != path[-1]:
                        path.append(to)
            elif kind == "transfer":
                queues[str(line.get("queue", ""))].dialled += 1
                transfer_at[node] = _utc(stored.at)
                dialling.add(node)
            elif kind == "transfer_result":
                queues[str(line.get("queue", ""))].statuses[str(line.get("status", ""))] += 1
            elif kind == "ticket":
                self.tickets[str(line.get("category", "") or "")] += 1
                self.tickets_by_node[node] += 1
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
        for depth, name in enumerate(path):
            if name not in path[:depth]:
                count = nodes[name]
                count.reached += 1
                count.depth += depth
                # A story whose moves skip a node (not one the engine writes) still leaves it for the next one.
                count.exits[left.get(name, ("moved", path[min(depth + 1, len(path) - 1)]))] += 1
        return tuple(path)

    def stats(self) -> Stats:
        """The statistics of the calls added so far."""
        starts = [start for start, _ in self.calls]
        first, last = (min(starts).astimezone(self.tz), max(starts).astimezone(self.tz)) if starts else (None, None)
        timeline_unit, timeline = _timeline(self.calls, self.tz, self.since, self.until)
        nodes = sorted(self.nodes.items(), key=lambda item: (-item[1].reached, item[1].depth / max(item[1].reached, 1), item[0]))
        return Stats(
            zone=self.zone,
            since=self.since,
            until=self.until,
            first_call=first,
            last_call=last,
            calls=len(self.calls),
            without_story=self.without_story,
            outcomes={s: self.outcomes[s] for s in STATES},
            transfers=tuple(
                QueueStats(
                    name,
                    q.dialled + q.unreachable,
                    q.answered,
                    q.failed,
                    dict(sorted(q.statuses.items())),
                    Durations.of(q.waits),
                    unreachable=q.unreachable,
                )
                for name, q in sorted(self.queues.items())
            ),
            nodes=tuple(
                NodeStats(name, n.reached, n.visits, n.entries, n.invalid, n.no_input, n.unclear, _exits(n.exits)) for name, n in nodes
            ),
            to_person=Durations.of(self.waits),
            tickets=_most_first(self.tickets),
            tickets_by_node=_most_first(self.tickets_by_node),
            by_hour=tuple(self.by_hour),
            by_weekday_hour=tuple(tuple(row) for row in self.by_weekday_hour),
            paths=tuple(PathCount(p, n) for p, n in sorted(self.paths.items(), key=lambda item: (-item[1], item[0]))[:TOP_PATHS]),
            timeline_unit=timeline_unit,
            timeline=timeline,
        )


def compute(
    calls: Iterable[CallSummary],
    stories: Mapping[str, Sequence[StoredLine]],
    zone: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Stats:
    """The statistics of `calls` (those of the period [since, until)) from their `stories`, times local to `zone`."""
    tally = Tally(zone, since, until)
    for call in calls:
        tally.add(call, stories.get(call.call_sid, ()))
    return tally.stats()


def _in_order(lines: Sequence[StoredLine]) -> bool:
    """Whether a story is in story order already (the store gives it so: no sorted copy is needed)."""
    return all((a.seq, a.pos) <= (b.seq, b.pos) for a, b in pairwise(lines))


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


def _timeline(
    calls: Sequence[tuple[datetime, str]], tz: ZoneInfo, since: datetime | None, until: datetime | None
) -> tuple[str, tuple[Bucket, ...]]:
    """Calls by outcome per local hour, day, week or month, by the length of the range shown (the module says which)."""
    starts = [start for start, _ in calls]
    span = (min(starts), max(starts) + timedelta(microseconds=1)) if starts else None
    if since is not None and until is not None:
        lo, hi = since.astimezone(UTC), until.astimezone(UTC)
        if span is not None and len(list(islice(_buckets(lo, hi, _unit(hi - lo), tz), MAX_BUCKETS + 1))) > MAX_BUCKETS:
            lo, hi = span  # years of nothing around a sliver of calls say nothing
    elif span is not None:
        lo, hi = span
    else:
        return "day", ()
    if hi <= lo:
        return "day", ()
    unit = _unit(hi - lo)
    buckets = dict(_buckets(lo, hi, unit, tz))
    counts: dict[str, Counter[str]] = {label: Counter() for label in buckets}
    for start, state in calls:
        found = counts.get(_label(start.astimezone(tz), unit))
        if found is not None:
            found[state] += 1
    return unit, tuple(Bucket(label, at, {s: counts[label][s] for s in STATES}) for label, at in buckets.items())


def _unit(length: timedelta) -> str:
    """The timeline's bucket for a range this long."""
    return next(unit for unit, limit in UNITS if length <= limit)


def _label(local: datetime, unit: str) -> str:
    """The bucket a local time falls in."""
    if unit == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    if unit == "week":
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    if unit == "month":
        return local.strftime("%Y-%m")
    return local.date().isoformat()


def _buckets(lo: datetime, hi: datetime, unit: str, tz: ZoneInfo) -> Iterator[tuple[str, datetime]]:
    """Every bucket of [lo, hi) (UTC) in order: its label and its local start."""
    last = (hi - timedelta(microseconds=1)).astimezone(tz)  # the range excludes its end
    first = lo.astimezone(tz)
    if unit == "hour":
        moment, seen = first.replace(minute=0, second=0, microsecond=0).astimezone(UTC), ""
        while moment <= last:
            local = moment.astimezone(tz)
            if (label := _label(local, unit)) != seen:  # a clock set back repeats an hour: one bucket
                yield label, local
                seen = label
            moment += timedelta(hours=1)
        return
    day, end = first.date(), last.date()
    if unit == "week":
        day, end = day - timedelta(days=day.weekday()), end - timedelta(days=end.weekday())
    elif unit == "month":
        day, end = day.replace(day=1), end.replace(day=1)
    while day <= end:
        yield _label(_midnight(day, tz), unit), _midnight(day, tz)
        if unit == "month":
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        else:
            day += timedelta(days=7 if unit == "week" else 1)


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
    widths = [max(columns(row[i]) for row in cells) for i in range(len(headers))]

    def pad(text: str, i: int) -> str:
        gap = " " * (widths[i] - columns(text))
        return text + gap if i == 0 else gap + text

    return ["  " + "  ".join(pad(c, i) for i, c in enumerate(row)).rstrip() for row in cells]


def coverage(stats: Stats) -> str:
    """What the figures read from stories cover when some calls have none ('' when every call has one)."""
    if not stats.without_story:
        return ""
    missing = f"{stats.without_story} call{'' if stats.without_story == 1 else 's'}"
    return (
        f"figures from stories (transfers, nodes, abandonment per node, tickets, time to a person, paths) cover only "
        f"{stats.with_story} of {stats.calls} calls: {missing} had no story (call history off, IVR_CALL_HISTORY=0, "
        "or calls from before it); calls, outcomes, containment, hours and the timeline count every call"
    )


def format_text(stats: Stats) -> str:
    """A readable report for a terminal, one section per figure."""
    out: list[str] = []
    partial = f" (stories of {stats.with_story} of {stats.calls} calls)" if stats.without_story else ""

    def section(title: str, from_stories: bool = False) -> None:
        title += partial if from_stories else ""
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
    if stats.without_story:
        out.append(f"note: {coverage(stats)}")

    section("Outcomes")
    out += _table(["outcome", "calls", "share"], [(s, n, _pct(n / stats.calls)) for s, n in stats.outcomes.items()])

    section("Transfers per queue", True)
    if stats.transfers:
        out += _table(
            ["queue", "attempts", "unreachable", "answered", "failed", "statuses", "median to person", "p90"],
            [
                (
                    q.queue or "(none)",
                    q.attempts,
                    q.unreachable,
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
    if any(q.unreachable for q in stats.transfers):
        out.append("  unreachable: tries failed at once, the queue had no address to dial (counted in attempts and failed)")

    section("Time to reach a person", True)
    p = stats.to_person
    out.append(f"  answered transfers: {p.count}   median: {_secs(p.median)}   p90: {_secs(p.p90)}")

    section("Abandonment (caller hung up) per node", True)
    out += _table(["node", "calls"], stats.abandonment.items()) if stats.abandonment else ["  none"]

    section("Per node", True)
    out += _table(
        ["node", "reached", "visits", "entries", "invalid", "invalid rate", "no input", "no-input rate", "hung up"],
        [
            (n.node, n.reached, n.visits, n.entries, n.invalid, _pct(n.invalid_rate), n.no_input, _pct(n.no_input_rate), n.abandoned)
            for n in stats.nodes
        ],
    )

    section("Waterfall: how calls left each node", True)
    for n in stats.nodes:
        out.append(f"  {n.node} ({n.reached} reached): " + ", ".join(f"{e.label} {e.calls}" for e in n.exits))

    section("Tickets by category", True)
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

    section(f"Busiest menu paths (top {TOP_PATHS})", True)
    width = max((len(str(pc.calls)) for pc in stats.paths), default=1)
    out += [f"  {pc.calls:>{width}}  {' > '.join(pc.nodes)}" for pc in stats.paths]

    # Only the buckets with calls: a long period is mostly empty ones.
    section(f"Outcomes per {stats.timeline_unit}" + (" (each from its Monday)" if stats.timeline_unit == "week" else ""))
    busy = [b for b in stats.timeline if any(b.counts.values())]
    out += _table([stats.timeline_unit, "calls", *STATES], [(b.label, sum(b.counts.values()), *b.counts.values()) for b in busy])
    if len(busy) < len(stats.timeline):
        quiet = len(stats.timeline) - len(busy)
        out.append(f"  ({quiet} {stats.timeline_unit}{'' if quiet == 1 else 's'} without calls not listed, of {len(stats.timeline)})")
    return "\n".join(out) + "\n"
