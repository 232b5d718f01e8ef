"""`ivr stats` figures: real calls through the engine, kept in a real SQLite history, counted back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.engine.events import Speech
from ivr.hotline import engine_for
from ivr.insight.stats import STATES, Durations, Stats, compute, format_text
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

    def stats(self, since: datetime | None = None, until: datetime | None = None) -> Stats:
        """The statistics of the stored calls of [since, until), read back from the store."""
        calls = self.history.calls(since, until)
        return compute(calls, self.history.lines_of(c.call_sid for c in calls), ZONE, since, until)


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


def record_calls(menu: Menu, directory: Path, scenarios: Sequence[Scenario] = SCENARIOS) -> tuple[Store, Recorded]:
    """Run `scenarios` through an engine on `menu` and keep every call in a fresh SQLite store."""
    store = Store(sqlite_url(directory / "history.sqlite3"))
    engine = engine_for(menu, store.tickets, Settings())
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
    assert stats.since == datetime(2026, 11, 30, tzinfo=stats.since.tzinfo) and stats.to_json()["period"]["since"].endswith("+08:00")


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
