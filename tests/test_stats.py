"""`ivr stats` figures: real calls through the engine, kept in a real SQLite history, counted back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import Settings
from ivr.engine.events import Speech
from ivr.engine.story import Line
from ivr.hotline import engine_for
from ivr.insight.stats import MAX_BUCKETS, STATES, Durations, Stats, Tally, compute, format_text
from ivr.ir import Menu
from ivr.simulator import CallerEntry, SimulatedCall
from ivr.store import Store, sqlite_url
from ivr.store.history import CallHistory, CallSummary, StoredLine
from tests.conftest import AFTER_HOURS, IN_HOURS  # IN_HOURS is Monday 2026-11-30 10:00 in Beijing

ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Scenario:
    """One caller: when they call, what they press or say, and how the network answers a transfer."""

    name: str
    at: datetime
    entries: Sequence[CallerEntry]
    transfer_result: str = "answered"
    caller: str = "+8613800000000"
    voicemail: str = ""


# What each call does on the shipped menu (the comments are what the assertions below expect).
SCENARIOS = (
    Scenario("business", IN_HOURS, ["1"]),  # → business, answered: agent
    Scenario("business_no_answer", IN_HOURS + timedelta(minutes=5), ["1"], "no-answer"),  # → agents_unavailable, hangs up
    Scenario("agent", IN_HOURS + timedelta(minutes=10), ["0"]),  # → agent (general), answered
    Scenario("invalid_then_account", IN_HOURS + timedelta(hours=1), ["7", "3"]),  # invalid at main, hangs up at account
    Scenario("silence", IN_HOURS + timedelta(hours=1, minutes=5), ["", "", ""]),  # 3 no-inputs → agent (general), answered
    Scenario("english_orders", IN_HOURS + timedelta(hours=2), ["9", "2", "*"]),  # language, orders, repeat, hangs up
    Scenario("said_orders", IN_HOURS + timedelta(hours=2, minutes=1), [Speech("订单查询")]),  # hangs up at order_entry
    Scenario("message", AFTER_HOURS, ["1"], voicemail="服务器无法登录，请回电"),  # voicemail ticket
    Scenario("withheld_no_message", AFTER_HOURS + timedelta(minutes=10), ["1"], caller="anonymous"),  # self-service
    Scenario("next_day_busy", IN_HOURS + timedelta(days=1), ["1"], "busy"),  # Tuesday; failed transfer, hangs up
)


@dataclass
class Recorded:
    """Calls made and kept: the simulated calls by scenario name, and the history they were written to."""

    history: CallHistory
    calls: dict[str, SimulatedCall] = field(default_factory=dict)

    def stats(self, since: datetime | None = None, until: datetime | None = None, without: Sequence[str] = ()) -> Stats:
        """The statistics of the stored calls of [since, until), read back from the store (lines of types `without` left out)."""
        calls = self.history.calls(since, until)
        return compute(calls, self.history.lines_of((c.call_sid for c in calls), without), ZONE, since, until)


def keep(history: CallHistory, call: SimulatedCall) -> None:
    """Store a call as the console does when it ends (ivr.hotline.Hotline.keep_story)."""
    assert call.snapshot is not None
    history.record(
        call_sid=call.call_id,
        caller=call.caller,
        called="",
        channel="qa",
        snapshot=call.snapshot,
        started_at=call.at,
        ended_at=call.ended_at if call.ended else None,
        steps=call.story,
        outcome=call.outcome,
    )


def record_calls(
    menu: Menu, directory: Path, scenarios: Sequence[Scenario] = SCENARIOS, settings: Settings | None = None
) -> tuple[Store, Recorded]:
    """Run `scenarios` through an engine on `menu` (with `settings`) and keep every call in a fresh SQLite store."""
    store = Store(sqlite_url(directory / "history.sqlite3"))
    engine = engine_for(menu, store.tickets, settings or Settings())
    recorded = Recorded(store.history)
    for s in scenarios:
        call = SimulatedCall(
            engine,
            at=s.at,
            caller=s.caller,
            transfer_result=s.transfer_result,
            voicemail=s.voicemail,
            on_end=lambda c: keep(store.history, c),
        )
        call.run(s.entries)
        recorded.calls[s.name] = call
    return store, recorded


@pytest.fixture(scope="module")
def recorded(menu: Menu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """The scenarios' calls, made once for this module."""
    store, found = record_calls(menu, tmp_path_factory.mktemp("stats"))
    yield found
    store.close()


@pytest.fixture(scope="module")
def stats(recorded: Recorded) -> Stats:
    """The statistics of every stored call."""
    return recorded.stats()


def node(stats: Stats, name: str) -> dict[str, object]:
    """One node's figures as JSON."""
    return next(n for n in stats.to_json()["nodes"] if n["node"] == name)


def exits(stats: Stats, name: str) -> dict[str, int]:
    """How calls left a node, by label."""
    return {e.label: e.calls for n in stats.nodes if n.node == name for e in n.exits}


def test_calls_and_outcomes_match_the_calls_made(recorded: Recorded, stats: Stats) -> None:
    """Every call is counted once, under the outcome the engine gave it; containment is self-service over decided calls."""
    expected = {state: 0 for state in STATES}
    for call in recorded.calls.values():
        expected[call.outcome or "open"] += 1
    assert stats.calls == len(SCENARIOS)
    assert stats.outcomes == expected
    assert expected == {"self-service": 1, "abandoned": 5, "failed": 0, "agent": 3, "ticket": 1, "open": 0}
    assert stats.containment == pytest.approx(1 / 10)
    assert stats.to_json()["containment"] == {"self_service": 1, "decided": 10, "rate": 0.1}


def test_transfers_per_queue_with_their_results(stats: Stats) -> None:
    """Attempts are transfer lines; answered and failed come from the moves that name the queue; raw statuses are kept."""
    queues = {q["queue"]: q for q in stats.to_json()["transfers"]}
    assert set(queues) == {"business", "general"}
    business, general = queues["business"], queues["general"]
    assert (business["attempts"], business["answered"], business["failed"]) == (3, 1, 2)
    assert (business["dialled"], business["unreachable"]) == (3, 0)  # every queue has an address: each try dialled
    assert business["statuses"] == {"answered": 1, "busy": 1, "no-answer": 1}
    assert (general["attempts"], general["answered"], general["failed"]) == (2, 2, 0)
    assert general["statuses"] == {"answered": 2}


def test_time_to_a_person_runs_from_the_calls_start_to_its_answered_transfer(recorded: Recorded, stats: Stats) -> None:
    """Seconds from the start to the step that began the transfer, for answered transfers only; median and p90."""
    waits = []
    for name in ("business", "agent", "silence"):
        call = recorded.calls[name]
        began = next(at for at, lines in call.story if any(line["type"] == "transfer" for line in lines))
        waits.append((began - call.at).total_seconds())
    assert waits[2] > waits[0] > 0  # the silences keep one caller longer from a person
    assert stats.to_person.count == 3
    assert stats.to_person.median == pytest.approx(sorted(waits)[1])
    assert stats.to_person.p90 == pytest.approx(max(waits))
    by_queue = {q.queue: q.to_person for q in stats.transfers}
    assert by_queue["business"].count == 1 and by_queue["business"].median == pytest.approx(waits[0])
    assert by_queue["general"].count == 2


def test_abandonment_is_counted_where_the_caller_hung_up(stats: Stats) -> None:
    """A caller who hangs up is abandoned at the node they were at, which is also how that call left that node."""
    assert stats.abandonment == {"agents_unavailable": 2, "order_entry": 2, "account": 1}
    assert exits(stats, "order_entry") == {"hung up": 2}
    assert node(stats, "account")["abandoned"] == 1


def test_reaching_a_node_counts_the_start_once_and_no_reprompt_twice(stats: Stats) -> None:
    """The start node is reached by every call; a call re-prompted or re-entered counts once (visits count re-entries)."""
    welcome, main = node(stats, "welcome"), node(stats, "main")
    assert welcome["reached"] == welcome["visits"] == len(SCENARIOS)
    in_hours = 8
    assert main["reached"] == in_hours
    assert main["visits"] == in_hours + 1  # the language key enters main again
    order_entry = node(stats, "order_entry")
    assert (order_entry["reached"], order_entry["visits"]) == (2, 3)  # the repeat key enters it again
    assert stats.nodes[0].node == "welcome"  # most reached first


def test_invalid_and_no_input_rates_are_per_entry(stats: Stats) -> None:
    """Entries are the caller's inputs at a node; invalid and no-input moves are shares of them."""
    main = node(stats, "main")
    # one key for four calls (business ×2, agent, next day), "7 3", "9 2", three silences and one utterance
    assert main["entries"] == 4 + 2 + 2 + 3 + 1
    assert main["invalid"] == 1
    assert main["no_input"] == 3
    assert main["invalid_rate"] == pytest.approx(1 / main["entries"], abs=1e-4)
    assert main["no_input_rate"] == pytest.approx(3 / main["entries"], abs=1e-4)
    assert node(stats, "welcome")["invalid_rate"] is None  # no entries there: no rate


def test_waterfall_exits_add_up_to_the_calls_reaching_each_node(stats: Stats) -> None:
    """Each call that reached a node left it one way: moved on, hung up, ended there or still there."""
    for n in stats.nodes:
        assert sum(e.calls for e in n.exits) == n.reached, n.node
    assert exits(stats, "open_now") == {"→ main": 8, "→ closed": 2}
    assert exits(stats, "main") == {"→ business": 3, "→ order_entry": 2, "→ agent": 1, "→ account": 1, "→ too_many_failures": 1}
    assert exits(stats, "business") == {"→ agents_unavailable": 2, "ended: agent": 1}
    assert exits(stats, "agent") == {"ended: agent": 2}
    assert exits(stats, "no_message_goodbye") == {"ended: self-service": 1}
    assert exits(stats, "goodbye") == {"ended: ticket": 1}


def test_tickets_by_category(recorded: Recorded, stats: Stats) -> None:
    """Tickets are counted by the category on their line and by the node that made them."""
    made = recorded.calls["message"].lines
    category = next(line["category"] for line in made if line["type"] == "ticket")
    assert stats.tickets == {category: 1}
    assert stats.to_json()["tickets"]["total"] == 1
    assert sum(stats.tickets_by_node.values()) == 1


def test_hours_and_weekdays_are_local(stats: Stats) -> None:
    """10:00 and 22:30 in Beijing (02:00 and 14:30 UTC) land in local hours 10, 11, 12 and 22, Monday and Tuesday."""
    assert {h: n for h, n in enumerate(stats.by_hour) if n} == {10: 4, 11: 2, 12: 2, 22: 2}
    monday, tuesday = stats.by_weekday_hour[0], stats.by_weekday_hour[1]
    assert (monday[10], monday[11], monday[12], monday[22]) == (3, 2, 2, 2)
    assert tuesday[10] == 1
    assert sum(map(sum, stats.by_weekday_hour)) == len(SCENARIOS)


def test_busiest_paths_are_whole_paths_most_taken_first(stats: Stats) -> None:
    """A path is the nodes a call entered, re-entries collapsed; the most common come first."""
    top = stats.paths[0]
    assert top.nodes == ("welcome", "open_now", "main", "business", "agents_unavailable") and top.calls == 2
    assert ("welcome", "open_now", "main", "order_entry") in {p.nodes for p in stats.paths}
    assert sum(p.calls for p in stats.paths) == len(SCENARIOS)  # fewer than 10 distinct paths: all are listed
    assert [p.calls for p in stats.paths] == sorted((p.calls for p in stats.paths), reverse=True)


def test_a_short_period_is_shown_hour_by_hour_and_selects_its_calls(recorded: Recorded) -> None:
    """Calls of [since, until) only; a period of at most two days has a bucket for every local hour in it."""
    since = datetime(2026, 11, 30, 0, 0)  # local, Beijing
    stats = recorded.stats(since, since + timedelta(days=1))
    assert stats.calls == 9  # not Tuesday's call
    assert stats.timeline_unit == "hour"
    assert len(stats.timeline) == 24
    assert stats.timeline[10].label == "2026-11-30 10:00"
    assert stats.timeline[10].counts["agent"] == 2 and sum(stats.timeline[10].counts.values()) == 3
    assert sum(sum(b.counts.values()) for b in stats.timeline) == 9
    assert stats.since is not None and stats.since == datetime(2026, 11, 30, tzinfo=stats.since.tzinfo)
    assert stats.to_json()["period"]["since"].endswith("+08:00")


def test_a_longer_period_is_shown_day_by_day_with_empty_days(recorded: Recorded) -> None:
    """Over a week, one bucket per local day, days without calls included."""
    since = datetime(2026, 11, 28, tzinfo=UTC)
    stats = recorded.stats(since, since + timedelta(days=7))
    assert stats.timeline_unit == "day"
    labels = [b.label for b in stats.timeline]
    assert labels[0] == "2026-11-28" and len(labels) == 8  # 28 Nov 08:00 to 5 Dec 08:00 in Beijing
    by_day = {b.label: sum(b.counts.values()) for b in stats.timeline}
    assert by_day["2026-11-30"] == 9 and by_day["2026-12-01"] == 1 and by_day["2026-11-29"] == 0


def test_a_call_in_progress_is_open(menu: Menu, tmp_path: Path) -> None:
    """A call not decided yet counts as open, is left out of containment and is still on its node in the waterfall."""
    store = Store(sqlite_url(tmp_path / "history.sqlite3"))
    try:
        call = SimulatedCall(engine_for(menu, store.tickets, Settings()), at=IN_HOURS)
        call.start()
        call.press("3")  # at the account menu, waiting
        keep(store.history, call)
        calls = store.history.calls()
        stats = compute(calls, store.history.lines_of([call.call_id]), ZONE, None, None)
    finally:
        store.close()
    assert stats.outcomes["open"] == 1 and stats.containment is None
    assert exits(stats, "account") == {"still there": 1}


def test_json_is_stable_and_serialisable(stats: Stats) -> None:
    """The JSON has the same keys whatever the data, and survives a round trip."""
    data = stats.to_json()
    assert list(data) == [
        "period",
        "calls",
        "without_story",
        "outcomes",
        "containment",
        "transfers",
        "abandonment",
        "nodes",
        "to_person",
        "tickets",
        "by_hour",
        "by_weekday_hour",
        "paths",
        "timeline",
    ]
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    empty = compute([], {}, ZONE, None, None).to_json()
    assert list(empty) == list(data)
    assert list(empty["outcomes"]) == list(STATES) and empty["nodes"] == [] and empty["timeline"]["buckets"] == []


def test_text_report_has_a_section_per_figure(stats: Stats) -> None:
    """The terminal report names each figure and shows the numbers."""
    text = format_text(stats)
    for header in (
        "Outcomes",
        "Transfers per queue",
        "Time to reach a person",
        "Abandonment",
        "Per node",
        "Waterfall",
        "Tickets by category",
        "Calls per hour of day",
        "Calls by weekday and hour",
        "Busiest menu paths",
        "Outcomes per hour",  # the calls span a day: hour by hour
    ):
        assert f"\n{header}" in text, header
    assert "calls: 10" in text and "business" in text and "agents_unavailable" in text
    assert "no calls in this period" in format_text(compute([], {}, ZONE, None, None))


def test_percentiles() -> None:
    """Median is the middle (or the mean of the two middles); p90 is the nearest rank."""
    ten = Durations.of(float(n) for n in range(1, 11))
    assert (ten.count, ten.median, ten.p90) == (10, 5.5, 9.0)
    assert Durations.of([4.0]).p90 == 4.0
    assert Durations.of([]) == Durations(0, None, None)


def test_hand_written_story_with_odd_names(tmp_path: Path) -> None:
    """Stories are data: any node name or speech is counted as given (the report escapes it)."""
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    name = '</script><script>alert("x")</script>'
    lines = [
        {"type": "say", "node": "start", "lang": "zh-CN", "text": "hi"},
        {"type": "input", "node": "start", "digits": "", "speech": "</script>"},
        {"type": "move", "node": "start", "trigger": 'said 1 "</script>"', "to": name},
        {"type": "hangup", "node": name, "reason": "caller"},
    ]
    call = CallSummary("CA1", "+86", "", "twilio", "v1", start, start, "completed", "abandoned", 3)
    stats = compute([call], {"CA1": [StoredLine(1, i, start, line) for i, line in enumerate(lines)]}, ZONE, None, None)
    assert [n.node for n in stats.nodes] == ["start", name]
    assert stats.abandonment == {name: 1}


# A queue taken off the line (IVR_QUEUE_BUSINESS set but empty): a transfer there fails at once, nothing dialled.
UNREACHABLE = (
    Scenario("no_address", IN_HOURS, ["1"]),  # → business: no address → agents_unavailable, hangs up
    Scenario("no_address_retry", IN_HOURS + timedelta(minutes=1), ["1", "0"]),  # tries business twice, hangs up
    Scenario("general", IN_HOURS + timedelta(minutes=2), ["0"]),  # → agent (general), dialled and answered
)


@pytest.fixture(scope="module")
def unreachable(menu: Menu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """Calls to a menu whose business queue has no address."""
    settings = Settings(queue_addresses={"business": ""})
    store, found = record_calls(menu, tmp_path_factory.mktemp("unreachable"), UNREACHABLE, settings)
    yield found
    store.close()


def test_a_queue_with_no_address_counts_every_try_as_an_attempt(unreachable: Recorded) -> None:
    """Each transfer to a queue with no address is an attempt, unreachable and failed; a dialled queue is unaffected."""
    stories = [line for call in unreachable.calls.values() for _, lines in call.story for line in lines]
    assert sum(1 for line in stories if line["type"] == "move" and line.get("reason") == "no address") == 3
    stats = unreachable.stats()
    queues = {q["queue"]: q for q in stats.to_json()["transfers"]}
    business, general = queues["business"], queues["general"]
    assert (business["attempts"], business["dialled"], business["unreachable"]) == (3, 0, 3)
    assert (business["answered"], business["failed"], business["statuses"]) == (0, 3, {})
    assert (general["attempts"], general["dialled"], general["unreachable"], general["answered"]) == (1, 1, 0, 1)
    assert all(q["attempts"] >= q["answered"] + q["failed"] for q in queues.values())  # never more ends than tries
    text = format_text(stats)
    assert "unreachable" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("business"))
    assert row.split()[:5] == ["business", "3", "3", "0", "3"]  # attempts, unreachable, answered, failed


def test_stories_from_before_the_reason_count_no_address_failures_alike(unreachable: Recorded) -> None:
    """A failure with no dial pending at its node is unreachable even without the reason the story writes now."""
    calls = unreachable.history.calls()
    stories = unreachable.history.lines_of(c.call_sid for c in calls)
    older = {
        sid: [StoredLine(s.seq, s.pos, s.at, {k: v for k, v in s.line.items() if s.type != "move" or k != "reason"}) for s in lines]
        for sid, lines in stories.items()
    }
    assert compute(calls, older, ZONE).to_json() == compute(calls, stories, ZONE).to_json()


def test_figures_need_no_say_or_gather_lines(recorded: Recorded, unreachable: Recorded) -> None:
    """`ivr stats` leaves the prompts' lines out of what it reads: every figure is the same without them."""
    for calls in (recorded, unreachable):
        assert calls.stats(without=("say", "gather")).to_json() == calls.stats().to_json()
    # A start node that prompts first (no move opens the story): it is still where the path starts.
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    lines: list[Line] = [
        {"type": "say", "node": "menu", "lang": "zh-CN", "text": "请按1"},
        {"type": "gather", "node": "menu", "max_digits": 1, "finish_on_key": "", "timeout": 6},
        {"type": "input", "node": "menu", "digits": "1"},
        {"type": "move", "node": "menu", "trigger": "key_1", "to": "sales"},
        {"type": "say", "node": "sales", "lang": "zh-CN", "text": "请稍候"},
        {"type": "hangup", "node": "sales", "reason": "caller"},
    ]
    call = CallSummary("CA1", "+86", "", "twilio", "v1", start, start, "completed", "abandoned", 3)
    whole = [StoredLine(1, i, start, line) for i, line in enumerate(lines)]
    spoken = [s for s in whole if s.type not in ("say", "gather")]
    assert compute([call], {"CA1": spoken}, ZONE).to_json() == compute([call], {"CA1": whole}, ZONE).to_json()
    assert compute([call], {"CA1": spoken}, ZONE).paths[0].nodes == ("menu", "sales")


def test_a_tally_call_by_call_matches_compute(recorded: Recorded, stats: Stats) -> None:
    """Stories read one call at a time and dropped once counted give the same figures as all of them at once."""
    tally = Tally(ZONE)
    for call in recorded.history.calls():
        tally.add(call, recorded.history.lines(call.call_sid))
    assert tally.stats().to_json() == stats.to_json()


def test_calls_without_a_story_are_counted_and_named(menu: Menu, tmp_path: Path) -> None:
    """Calls kept with IVR_CALL_HISTORY=0 have outcomes but no story: the report says the story figures leave them out."""
    store, found = record_calls(menu, tmp_path, SCENARIOS[:3])  # agent, agents_unavailable (hangs up), agent
    try:
        for name, s in (("quiet_agent", SCENARIOS[0]), ("quiet_ticket", SCENARIOS[7])):
            call = SimulatedCall(engine_for(menu, store.tickets, Settings()), at=s.at, voicemail=s.voicemail)
            call.run(s.entries)
            assert call.snapshot is not None
            store.history.record(
                call_sid=call.call_id,
                caller=call.caller,
                called="",
                channel="qa",
                snapshot=call.snapshot,
                started_at=call.at,
                ended_at=call.ended_at,
                steps=[],  # what the hotline keeps with IVR_CALL_HISTORY=0
                outcome=call.outcome,
            )
            found.calls[name] = call
        stats = found.stats()
    finally:
        store.close()
    assert (stats.calls, stats.without_story, stats.with_story) == (5, 2, 3)
    assert stats.outcomes["agent"] == 3 and stats.outcomes["ticket"] == 1  # outcomes count every call
    assert stats.to_person.count == 2 and stats.tickets == {}  # the figures from stories cannot
    data = stats.to_json()
    assert data["without_story"] == 2 and data["calls"] == 5
    assert sum(data["by_hour"]) == 5 and sum(b["calls"] for b in data["timeline"]["buckets"]) == 5
    text = format_text(stats)
    assert "cover only 3 of 5 calls" in text and "2 calls had no story" in text
    assert "Tickets by category (stories of 3 of 5 calls)" in text
    assert "cover only" not in format_text(compute(found.history.calls()[:0], {}, ZONE))


def call_at(sid: str, at: datetime, outcome: str | None = "self-service") -> CallSummary:
    """A stored call without a story, started at `at`."""
    return CallSummary(sid, "+86", "", "twilio", "v1", at.astimezone(UTC), at.astimezone(UTC), "completed", outcome, 10)


def spread(first: datetime, last: datetime, n: int) -> list[CallSummary]:
    """`n` calls from `first` to `last`, evenly."""
    step = (last - first) / max(n - 1, 1)
    return [call_at(f"CA{i}", first + i * step) for i in range(n)]


BEIJING = ZoneInfo(ZONE)


@pytest.mark.parametrize(
    ("days", "unit"),
    [(1, "hour"), (2, "hour"), (3, "day"), (92, "day"), (93, "week"), (731, "week"), (732, "month"), (3 * 365, "month")],
)
def test_the_bucket_follows_the_length_of_the_period(days: int, unit: str) -> None:
    """An hour up to 2 days, a day up to 92, a week up to 2 years, a month beyond; every call in one bucket."""
    since = datetime(2025, 1, 1, tzinfo=BEIJING)
    until = since + timedelta(days=days)
    calls = spread(since, until - timedelta(seconds=1), 50)
    stats = compute(calls, {}, ZONE, since, until)
    assert stats.timeline_unit == unit
    assert len(stats.timeline) <= MAX_BUCKETS
    assert sum(sum(b.counts.values()) for b in stats.timeline) == 50
    starts = [b.start for b in stats.timeline]
    assert starts == sorted(starts) and len(set(b.label for b in stats.timeline)) == len(starts)


def test_weeks_start_on_monday_and_months_are_named_by_year(tmp_path: Path) -> None:
    """Week buckets are labelled by their Monday, month buckets year-month, each with its local start."""
    since, until = datetime(2025, 12, 1, tzinfo=BEIJING), datetime(2026, 6, 1, tzinfo=BEIJING)  # 182 days: weeks
    weeks = compute(spread(since, until - timedelta(hours=1), 30), {}, ZONE, since, until)
    assert weeks.timeline_unit == "week" and weeks.timeline[0].label == "2025-12-01"  # a Monday
    assert all(b.start.weekday() == 0 and b.start.hour == 0 and b.label == b.start.date().isoformat() for b in weeks.timeline)
    since, until = datetime(2023, 11, 1, tzinfo=BEIJING), datetime(2026, 3, 1, tzinfo=BEIJING)
    months = compute(spread(since, until - timedelta(hours=1), 30), {}, ZONE, since, until)
    labels = [b.label for b in months.timeline]
    assert months.timeline_unit == "month" and labels[0] == "2023-11" and labels[1] == "2023-12" and labels[2] == "2024-01"
    assert labels[-1] == "2026-02" and len(labels) == 28
    assert months.to_json()["timeline"]["unit"] == "month"


def test_an_open_ended_period_shows_the_span_of_its_calls(recorded: Recorded) -> None:
    """`--since 2016-01-01` without --until: the calls (two days in 2026) are shown hour by hour, not 3,990 days."""
    stats = recorded.stats(datetime(2016, 1, 1))
    assert stats.calls == len(SCENARIOS)
    assert stats.timeline_unit == "hour"
    assert stats.timeline[0].label == "2026-11-30 10:00" and stats.timeline[-1].label == "2026-12-01 10:00"
    assert len(stats.timeline) == 25
    assert stats.to_json()["period"]["since"].startswith("2016-01-01")  # the period asked for is still the one named
    assert len(json.dumps(stats.to_json())) < 20_000


def test_a_period_far_longer_than_its_calls_shows_their_span(recorded: Recorded) -> None:
    """2000 to 2100 would be 1,200 months of nothing around two days: the timeline is narrowed to the calls."""
    stats = recorded.stats(datetime(2000, 1, 1), datetime(2100, 1, 1))
    assert stats.timeline_unit == "hour" and len(stats.timeline) == 25
    # A period of calls years apart is counted by month, from the first call's month to the last's.
    calls = [call_at("CA1", datetime(2016, 3, 5, tzinfo=BEIJING)), call_at("CA2", datetime(2026, 11, 30, tzinfo=BEIJING))]
    wide = compute(calls, {}, ZONE, datetime(2000, 1, 1), datetime(2100, 1, 1))
    assert wide.timeline_unit == "month" and wide.timeline[0].label == "2016-03" and wide.timeline[-1].label == "2026-11"


def test_the_text_report_lists_only_buckets_with_calls() -> None:
    """A long period's text lists the buckets that have calls and says how many empty ones it left out."""
    since, until = datetime(2026, 1, 1, tzinfo=BEIJING), datetime(2026, 3, 1, tzinfo=BEIJING)
    calls = [call_at("CA1", datetime(2026, 1, 5, 10, tzinfo=BEIJING)), call_at("CA2", datetime(2026, 2, 20, 9, tzinfo=BEIJING))]
    stats = compute(calls, {}, ZONE, since, until)
    assert stats.timeline_unit == "day" and len(stats.timeline) == 59
    text = format_text(stats)
    table = text.split("Outcomes per day")[1]
    assert "2026-01-05" in table and "2026-02-20" in table and "2026-01-06" not in table
    assert "(57 days without calls not listed, of 59)" in table
    assert "cover only 0 of 2 calls" in text  # no stories here, and the report says so
