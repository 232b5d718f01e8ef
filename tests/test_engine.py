"""The engine itself: snapshots, the shared state machine, error paths and layering."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ivr.config import Settings
from ivr.engine.actions import Gather, Hangup
from ivr.engine.engine import Engine
from ivr.engine.events import Entry, RecordingDone, TransferResult
from ivr.engine.services import ActionContext, ActionResult, TicketRequest
from ivr.engine.snapshot import CallSnapshot
from ivr.errors import ServiceError
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, IN_HOURS, Caller


def test_machine_has_no_auto_transitions(engine: Engine) -> None:
    """The compiled machine has only the menu's own triggers, no generated `to_<state>` ones."""
    assert not [name for name in engine.machine.events if name.startswith("to_")]
    assert set(engine.machine.states) == set(engine.menu.nodes)


def test_one_machine_serves_every_call(engine: Engine) -> None:
    """Calls are not attached to the machine: after many calls it still has no models."""
    caller = Caller(engine)
    for keys in ["1", "2 202611280001# 0", "4 3 1 1"]:
        caller.dial(keys)
    assert engine.machine.models == []


def test_snapshot_survives_json_and_a_fresh_engine(menu: Menu, store: TicketStore) -> None:
    """A call continued from a JSON snapshot on a different engine instance behaves the same."""
    first = engine_for(menu, store, Settings())
    step = first.start("CA-json", "+861", IN_HOURS)
    step = first.handle(step.snapshot, Entry("3"), IN_HOURS)
    wire = json.dumps(step.snapshot.to_dict())
    assert len(wire) < 400
    second = engine_for(menu, store, Settings())
    resumed = second.handle(CallSnapshot.from_dict(json.loads(wire)), Entry("2"), IN_HOURS)
    direct = first.handle(step.snapshot, Entry("2"), IN_HOURS)
    assert resumed.actions == direct.actions
    assert resumed.snapshot == direct.snapshot


def test_a_step_never_changes_the_snapshot_it_was_given(engine: Engine) -> None:
    """Steps work on a copy, so replaying the same request gives the same answer."""
    step = engine.start("CA-replay", "+861", IN_HOURS)
    before = step.snapshot.to_dict()
    once = engine.handle(step.snapshot, Entry("3"), IN_HOURS)
    twice = engine.handle(step.snapshot, Entry("3"), IN_HOURS)
    assert step.snapshot.to_dict() == before
    assert once == twice


def test_stray_event_replays_the_current_prompt(engine: Engine) -> None:
    """A recording result arriving at a menu repeats where the caller is instead of failing."""
    step = engine.start("CA-stray", "+861", IN_HOURS)
    stray = engine.handle(step.snapshot, RecordingDone("hello"), IN_HOURS)
    assert stray.snapshot.node == "main"
    assert isinstance(stray.actions[-1], Gather)


def test_ended_call_takes_no_more_events(engine: Engine) -> None:
    """After the hangup, further events produce nothing."""
    step = engine.start("CA-end", "+861", IN_HOURS)
    step = engine.handle(step.snapshot, Entry("1"), IN_HOURS)
    step = engine.handle(step.snapshot, TransferResult("completed"), IN_HOURS)
    assert step.snapshot.ended and isinstance(step.actions[-1], Hangup)
    assert engine.handle(step.snapshot, Entry("1"), IN_HOURS).actions == ()


class BrokenTickets:
    """A ticket sink whose database is down."""

    def __init__(self) -> None:
        self.calls = 0

    def create_ticket(self, request: TicketRequest) -> str:
        """Always fail, as an unreachable database would."""
        self.calls += 1
        raise ServiceError("database unreachable")


def test_failing_ticket_store_still_ends_in_apology_and_transfer(menu: Menu) -> None:
    """If even the error path cannot make a ticket, the caller hears an apology and is transferred."""
    tickets = BrokenTickets()
    engine = Engine(menu, tickets=tickets, actions={"order_lookup": lambda ctx: ActionResult("not_found")})
    call = Caller(engine).dial("1", at=AFTER_HOURS, voicemail="lost?")
    said = [line for line in call.lines if line["type"] == "say"]
    assert said[-1]["text"] == menu.apology.get("zh-CN")
    assert call.transfer == menu.fallback_queue
    assert call.end["type"] == "hangup"
    assert tickets.calls >= 1


def test_failing_action_takes_the_error_path(menu: Menu, store: TicketStore) -> None:
    """A named action that raises leads to an apology and, in hours, a transfer to an agent."""

    def explode(ctx: ActionContext) -> ActionResult:
        raise TimeoutError("order backend timed out")

    engine = Engine(menu, tickets=store, actions={"order_lookup": explode})
    call = Caller(engine).dial("2 202611280001#")
    assert "系统暂时出现问题" in call.said
    assert call.transfer == "general"


class FlakyTickets:
    """A ticket store whose first write fails (a dropped connection), then recovers."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store
        self.failed = False

    def create_ticket(self, request: TicketRequest) -> str:
        """Fail once, then store normally."""
        if not self.failed:
            self.failed = True
            raise ServiceError("connection reset")
        return self.store.create_ticket(request)


def test_error_path_after_hours_keeps_the_message_in_a_callback_ticket(menu: Menu, store: TicketStore) -> None:
    """If storing a message fails once, the error path still creates a ticket carrying the caller's words."""
    engine = Engine(menu, tickets=FlakyTickets(store))
    call = Caller(engine).dial("1", at=AFTER_HOURS, voicemail="数据库连接超时")
    assert "系统暂时出现问题" in call.said
    assert call.ticket is not None and call.ticket["category"] == "callback"
    stored = store.find(call.ticket["number"])
    assert stored is not None and stored.description == "数据库连接超时"
    assert " ".join(call.ticket["number"]) in call.said


def test_engine_imports_no_web_yaml_or_database_library() -> None:
    """Importing the engine pulls in neither Flask, twilio, YAML nor SQLAlchemy."""
    code = (
        "import sys, ivr.engine.engine, ivr.engine.fsm, ivr.engine.snapshot, ivr.engine.actions;"
        "print(sorted(m for m in ('flask','twilio','yaml','sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("digits", ["", "1", "*", "#", "99999999999999999999999", "１", "1\n2", "<Say>"])
def test_any_entry_yields_valid_actions(engine: Engine, digits: str) -> None:
    """Whatever arrives as digits, the engine answers with actions and never raises."""
    step = engine.start("CA-any", "+861", IN_HOURS)
    result = engine.handle(step.snapshot, Entry(digits), IN_HOURS)
    assert result.actions
    assert all(a.to_dict()["type"] in {"say", "gather", "transfer", "record", "ticket", "hangup"} for a in result.actions)
