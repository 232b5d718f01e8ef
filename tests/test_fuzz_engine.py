"""Property-based tests of the engine: whatever a caller or the network sends, every call stays well formed."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from itertools import count
from pathlib import Path

import pytest
from hypothesis import event as tally
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from ivr.config import Settings
from ivr.engine.actions import Action, Gather, Hangup, Record, Say, Ticket, Transfer
from ivr.engine.engine import Engine, Step
from ivr.engine.events import CallerHangup, Entry, Event, RecordingDone, TransferResult
from ivr.engine.snapshot import CallSnapshot
from ivr.hotline import engine_for
from ivr.ir import Menu, reachable
from ivr.loading.menu_loader import load_menu
from ivr.nodes import HangupNode, InputNode, MenuNode, RecordNode, TransferNode
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from tests.conftest import ROOT, SHIPPED_MENU

MENU_FILES: dict[str, Path] = {
    "shipped": SHIPPED_MENU,
    "baseline": ROOT / "tests" / "menus" / "broken" / "_valid.yaml",
    "yaml11": ROOT / "tests" / "menus" / "yaml11.yaml",
}
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, stateful_step_count=30)
DTMF = "0123456789*#"
TRANSFER_STATUSES = ("answered", "completed", "no-answer", "busy", "failed", "canceled")
WAITS = (Gather, Transfer, Record)
CALL_IDS = count(1)

# Any aware moment across two years, in any time zone (the engine must not care which).
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59), timezones=st.timezones())
# The menu's languages, one it does not have, or none (the menu's default).
languages = st.none() | st.sampled_from(("zh-CN", "en-US", "fr-FR", "", "zh-cn"))
# Caller entries that are not keys of the current node: any text, DTMF runs, and very long strings.
junk_entries = st.one_of(
    st.text(),
    st.text(alphabet=DTMF, max_size=30),
    st.text(alphabet=st.sampled_from("abcXYZ１２＃＊*#0 \t\n"), max_size=10),
    st.builds(lambda chunk, times: chunk * times, st.text(min_size=1, max_size=4), st.integers(200, 5000)),
)


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    """An engine per menu under test, each with its own in-memory ticket store."""
    stores = {name: TicketStore("sqlite://") for name in MENU_FILES}
    yield {name: engine_for(load_menu(path), stores[name], Settings()) for name, path in MENU_FILES.items()}
    for store in stores.values():
        store.close()


def order_ids(menu: Menu) -> list[str]:
    """The order numbers in the menu's order data (known to the order lookup), if it has any."""
    if "orders" not in menu.data:
        return []
    with Path(menu.data["orders"]).open(encoding="utf-8-sig", newline="") as fh:
        return [row["order_id"].strip() for row in csv.DictReader(fh)]


def keys_for(menu: Menu, node_id: str) -> st.SearchStrategy[str]:
    """Entries that mean something at this node: its keys, repeat, back, silence (and order numbers at an input)."""
    node = menu.nodes.get(node_id)
    common = st.sampled_from(("*", "#", ""))
    if isinstance(node, MenuNode):
        return st.sampled_from(sorted(node.options)) | common
    if isinstance(node, InputNode):
        known = [f"{order}{node.finish_on_key}" for order in order_ids(menu)] or ["0" * node.min_digits]
        digits = st.text(alphabet="0123456789", min_size=max(node.min_digits - 1, 0), max_size=node.max_digits + 1)
        return st.sampled_from(known) | digits.map(lambda d: d + node.finish_on_key) | digits | common
    return st.sampled_from(("1", "0")) | common  # not at a gather: a stray entry


def hangup_reasons(menu: Menu) -> set[str]:
    """The hangup reasons a call on `menu` may end with."""
    return {"transferred", "error"} | {n.reason for n in menu.nodes.values() if isinstance(n, HangupNode)}


def check_action(menu: Menu, action: Action) -> None:
    """One action is of a known kind, with the documented fields well formed."""
    assert type(action) in (Say, Gather, Transfer, Record, Ticket, Hangup), action
    assert action.node in menu.nodes, action
    if isinstance(action, Say):
        assert isinstance(action.text, str) and action.text.strip(), action
        assert action.lang in menu.languages, action
        assert isinstance(action.prompt, str)
    elif isinstance(action, Gather):
        assert isinstance(action.max_digits, int) and action.max_digits >= 1, action
        assert action.finish_on_key == "" or (len(action.finish_on_key) == 1 and action.finish_on_key in DTMF), action
        assert isinstance(action.timeout, int) and action.timeout > 0, action
    elif isinstance(action, Transfer):
        assert action.queue in menu.queues and action.address == menu.queues[action.queue].address, action
    elif isinstance(action, Record):
        assert isinstance(action.max_length, int) and action.max_length > 0, action
        assert action.finish_on_key in ("", *DTMF), action
    elif isinstance(action, Ticket):
        assert action.number.isdigit() and action.category, action
    else:
        assert isinstance(action, Hangup) and action.reason in hangup_reasons(menu), action
    json.dumps(action.to_dict())  # the JSON-lines form is always serialisable


def check_waiting(menu: Menu, snapshot: CallSnapshot, last: Action) -> None:
    """A call not ended waits for exactly what its node asks for: keys, a transfer result or a recording."""
    node = menu.nodes[snapshot.node]
    waits_with = {MenuNode: Gather, InputNode: Gather, TransferNode: Transfer, RecordNode: Record}
    expected = next((action for kind, action in waits_with.items() if isinstance(node, kind)), None)  # pages are menus too
    assert isinstance(last, WAITS), f"call at {snapshot.node} not ended but its step ends with {last}"
    assert type(last) is expected and last.node == snapshot.node, f"node {snapshot.node} ({type(node).__name__}) waits with {last}"


def _unattended_from(menu: Menu, start: str) -> set[str]:
    """The nodes a call reaches from `start` without the caller."""
    return reachable(menu.nodes, [start], ways=lambda node: node.unattended())


class ErrorLog(logging.Handler):
    """Collects the engine's error-path reports: on a sound menu no input may send a call down it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def in_progress(machine: OneCall) -> bool:
    """Precondition: the call has not ended."""
    return not machine.snapshot.ended


class OneCall(RuleBasedStateMachine):
    """One call on one menu, driven by random caller entries and network results."""

    def __init__(self, engines: dict[str, Engine]) -> None:
        super().__init__()
        self.engines = engines
        self.engine: Engine
        self.snapshot: CallSnapshot
        self.now: datetime
        self.gather_entries = 0  # entries the caller made while the call waited at a gather
        self.tickets: set[str] = set()
        self.errors = ErrorLog()
        logging.getLogger("ivr.engine.engine").addHandler(self.errors)

    def teardown(self) -> None:
        logging.getLogger("ivr.engine.engine").removeHandler(self.errors)

    @property
    def menu(self) -> Menu:
        return self.engine.menu

    @initialize(menu=st.sampled_from(sorted(MENU_FILES)), at=moments, lang=languages)
    def dial(self, menu: str, at: datetime, lang: str | None) -> None:
        self.engine, self.now = self.engines[menu], at
        step = self.engine.start(f"CAfuzz{next(CALL_IDS)}", "+8613800000000", at, lang)
        expected_lang = lang if lang in self.menu.languages else self.menu.default_language
        first_say = next((a for a in step.actions if isinstance(a, Say)), None)
        assert first_say is None or first_say.lang == expected_lang
        self.accept(step, None)

    # ---- what can happen to the call ------------------------------------------
    @precondition(in_progress)
    @rule(data=st.data())
    def press_a_key_of_the_node(self, data: st.DataObject) -> None:
        self.send(Entry(data.draw(keys_for(self.menu, self.snapshot.node), label="entry")))

    @precondition(in_progress)
    @rule(digits=junk_entries)
    def press_anything(self, digits: str) -> None:
        self.send(Entry(digits))

    @precondition(in_progress)
    @rule()
    def keep_pressing_repeat(self) -> None:
        """The caller presses repeat for ever, which no retry counter stops: the loop guard must end the call in time."""
        limit = self.menu.loop_limit.max_steps + 1
        for _ in range(limit + 1):
            if self.snapshot.ended or not isinstance(self.menu.nodes[self.snapshot.node], (MenuNode, InputNode)):
                return
            self.send(Entry("*"))
        raise AssertionError(f"{limit + 1} entries in a row and the call still waits at {self.snapshot.node}")

    @precondition(in_progress)
    @rule(status=st.sampled_from(TRANSFER_STATUSES) | st.text(max_size=20))
    def transfer_ends(self, status: str) -> None:
        self.send(TransferResult(status))

    @precondition(in_progress)
    @rule(text=st.text(max_size=200), url=st.sampled_from(("", "https://api.twilio.com/r/RE1")) | st.text(max_size=40))
    def recording_arrives(self, text: str, url: str) -> None:
        self.send(RecordingDone(text=text, url=url))

    @precondition(in_progress)
    @rule()
    def caller_hangs_up(self) -> None:
        self.send(CallerHangup())

    @precondition(lambda self: self.snapshot.ended)
    @rule(event=st.builds(Entry, junk_entries) | st.builds(TransferResult, st.sampled_from(TRANSFER_STATUSES)) | st.just(CallerHangup()))
    def something_after_the_end(self, event: Event) -> None:
        self.send(event)  # `send` checks that an ended call answers nothing

    # ---- checks --------------------------------------------------------------
    def send(self, event: Event) -> None:
        before = self.snapshot
        at_gather = not before.ended and isinstance(self.menu.nodes[before.node], (MenuNode, InputNode))
        given = before.copy()
        step = self.engine.handle(before, event, self.now)
        assert before == given, "a step changed the snapshot it was given"
        if before.ended:
            assert step.actions == () and step.snapshot == before, "an ended call still acted"
            return
        if isinstance(event, Entry) and at_gather:
            self.gather_entries += 1
        self.accept(step, event)

    def accept(self, step: Step, event: Event | None) -> None:
        menu, snapshot, actions = self.menu, step.snapshot, step.actions
        for action in actions:
            check_action(menu, action)
        assert all(not isinstance(a, Hangup) for a in actions[:-1]), f"a hangup before the end of the step: {actions}"
        if isinstance(event, CallerHangup):
            # Only a caller hanging up during a recording keeps the call open, to take the message.
            assert actions == ()
            assert snapshot.ended != isinstance(menu.nodes[snapshot.node], RecordNode)
        elif snapshot.ended:
            assert actions and isinstance(actions[-1], Hangup), f"call ended without a hangup: {actions}"
        else:
            assert actions, f"step on {event} at {snapshot.node} gave no actions yet the call waits"
            check_waiting(menu, snapshot, actions[-1])
        self.tickets |= {a.number for a in actions if isinstance(a, Ticket)}
        assert len(self.tickets) <= 1, f"more than one ticket for one call: {self.tickets}"
        # The runaway guard counts exactly the caller's entries at gathers, and ends the call on the one past the limit.
        assert snapshot.steps == self.gather_entries
        assert self.gather_entries <= menu.loop_limit.max_steps + 1
        if self.gather_entries == menu.loop_limit.max_steps + 1 and isinstance(event, Entry):
            # It leaves the caller's hands: it ends on the way from the loop target, or waits for a transfer there.
            exit_nodes = _unattended_from(menu, menu.loop_limit.target)
            ended_or_dialling = snapshot.ended or (actions and isinstance(actions[-1], Transfer))
            assert ended_or_dialling and snapshot.node in exit_nodes, f"call past the loop limit at {snapshot.node}"
        self.snapshot = snapshot

    @invariant()
    def snapshot_survives_json(self) -> None:
        wire = json.dumps(self.snapshot.to_dict(), ensure_ascii=False)
        assert CallSnapshot.from_dict(json.loads(wire)) == self.snapshot

    @invariant()
    def call_is_in_a_known_state(self) -> None:
        assert self.snapshot.node in self.menu.nodes and self.snapshot.lang in self.menu.languages

    @invariant()
    def error_path_never_taken(self) -> None:
        assert self.errors.messages == [], self.errors.messages


def test_random_calls_keep_every_engine_invariant(engines: dict[str, Engine]) -> None:
    """Random entries, transfer results, recordings and hangups on three menus keep every engine invariant."""
    run_state_machine_as_test(lambda: OneCall(engines), settings=FUZZ)


dtmf_heavy = st.sampled_from(DTMF) | st.sampled_from(DTMF) | st.sampled_from(DTMF) | st.characters(codec="utf-8")


@FUZZ
@given(
    data=st.data(),
    menu=st.sampled_from(sorted(MENU_FILES)),
    at=moments,
    lang=languages,
    transfer_result=st.sampled_from(("answered", "no-answer", "busy", "failed")),
    voicemail=st.text(max_size=50),
)
def test_simulated_call_ends_in_a_hangup_within_the_loop_limit(
    engines: dict[str, Engine], data: st.DataObject, menu: str, at: datetime, lang: str | None, transfer_result: str, voicemail: str
) -> None:
    """A simulated call fed random entries ends in a hangup, and by the engine within the loop limit when entries abound."""
    engine = engines[menu]
    limit = engine.menu.loop_limit.max_steps + 1
    # Repeat is frequent so that some calls go round long enough to meet the loop limit.
    entry = st.one_of(st.just("*"), st.text(alphabet=dtmf_heavy, max_size=3), st.sampled_from(("*", "#", "")))
    few, plentiful = st.lists(entry, max_size=12), st.lists(entry, min_size=limit + 1, max_size=limit + 10)
    looping = st.builds(lambda start: [*start, *["*"] * (limit + 1)], st.lists(entry, max_size=8))  # then repeat, repeat...
    entries = data.draw(few | plentiful | looping, label="entries")
    call = SimulatedCall(engine, at=at, lang=lang, voicemail=voicemail, transfer_result=transfer_result)
    lines = call.run(entries)
    inputs = [line for line in lines if line["type"] == "input"]
    hangups = [line for line in lines if line["type"] == "hangup"]
    assert call.ended and lines[-1]["type"] == "hangup" and len(hangups) == 1
    assert len(inputs) <= min(limit, len(entries))
    assert len(inputs) == call.consumed <= len(entries)
    tally(f"{engine.menu.id}: {lines[-1]['reason']}, {'plentiful' if len(entries) > limit else 'few'} entries")
    if lines[-1]["reason"] == "caller":
        assert call.consumed == len(entries)
    if len(entries) > limit:
        assert lines[-1]["reason"] != "caller", f"{len(inputs)} entries and the call did not end: {lines[-3:]}"
