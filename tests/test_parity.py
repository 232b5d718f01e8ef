"""The console simulator and the Twilio webhooks give the same call for every branch of the menu."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ivr.config import Settings
from ivr.engine.actions import Say
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.loading.scope_loader import read_scope
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from tests.conftest import ROOT
from tests.test_menu_coverage import TOUR, _catalog_tour
from tests.webhooks import QUEUES, make_hotline

LANGUAGE_OF_VOICE = {"cmn-CN": "zh-CN", "en-US": "en-US"}
QUEUE_OF_ADDRESS = {address: name.removeprefix("IVR_QUEUE_").lower() for name, address in QUEUES.items()}
SPOKEN_NUMBER = re.compile(r"(?:\d ){5,}\d")  # ticket numbers differ between runs


def _normal(text: str) -> str:
    return SPOKEN_NUMBER.sub("<number>", text)


def console_view(call: SimulatedCall) -> list[tuple[str, ...]]:
    """What a caller experiences, from the simulator's transcript (and the engine's prompts, for their parts)."""
    out: list[tuple[str, ...]] = []
    says = iter([a for a in call.actions if isinstance(a, Say)])
    for line in call.lines:
        if line["type"] == "say":
            # A prompt with a part in another language is said part by part, each in its own voice.
            for lang, text in next(says).parts:
                out.append(("say", lang, _normal(text.strip())))
        elif line["type"] == "transfer":
            out.append(("transfer", line["queue"]))
        elif line["type"] == "input":
            out.append(("input", line["digits"]))
    return out


def phone_view(lines: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """The same, from the Twilio stand-in's transcript of the webhooks."""
    out: list[tuple[str, ...]] = []
    for line in lines:
        if line["type"] == "say":
            out.append(("say", LANGUAGE_OF_VOICE[line["lang"]], _normal(line["text"])))
        elif line["type"] == "transfer":
            out.append(("transfer", QUEUE_OF_ADDRESS[line["address"]]))
        elif line["type"] == "input":
            out.append(("input", line["digits"]))
    return out


CASES = TOUR + _catalog_tour(read_scope(ROOT / "scope"))


@pytest.mark.parametrize(("at", "keys", "options"), CASES, ids=[f"{at:%H%M}:{keys[:40]}" for at, keys, _ in CASES])
def test_console_and_webhooks_agree(tmp_path: Path, menu: Menu, at: datetime, keys: str, options: dict[str, str]) -> None:
    """Same prompts, same entries, same transfers and the same tickets, whichever adapter runs the call."""
    entries = ["" if k == "-" else k for k in keys.split()]
    store = TicketStore(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    simulated = SimulatedCall(engine_for(menu, store, Settings()), at=at, **options)
    simulated.run(entries)

    hotline = make_hotline(tmp_path)
    hotline.clock.now = at
    phone = hotline.call(keys, **options)

    assert phone_view(phone.lines) == console_view(simulated)
    console_tickets = [(t.category, t.caller) for t in store.list_tickets()]
    phone_tickets = [(t.category, t.caller) for t in hotline.store.tickets.list_tickets()]
    assert phone_tickets == console_tickets
    assert phone.lines[-1]["type"] == simulated.lines[-1]["type"] == "hangup"
