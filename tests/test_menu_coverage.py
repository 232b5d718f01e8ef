"""A tour of scripted calls that, together, take every transition of the shipped menu.

If a key, outcome or exit is added to the menu without a call here taking it, this fails and
names the untested transitions.
"""

from __future__ import annotations

from datetime import datetime

from ivr.config import Settings
from ivr.engine.coverage import Coverage
from ivr.engine.engine import Engine
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.scope import Scope
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, IN_HOURS

ORDER = "202611280001#"
TOUR: list[tuple[datetime, str, dict[str, str]]] = [
    (IN_HOURS, "1", {}),
    (IN_HOURS, "1", {"transfer_result": "busy"}),
    (IN_HOURS, "0", {}),
    (IN_HOURS, "* 9 9", {}),
    (IN_HOURS, "7 - 7 - 7", {}),
    (IN_HOURS, "- - -", {}),
    (IN_HOURS, "2 * - 1# " + ORDER + " * 7 - # 2 12345678# " + ORDER + " 0", {}),
    (IN_HOURS, "2 1# 1# 1#", {}),
    (IN_HOURS, "2 - - -", {}),
    (IN_HOURS, "2 " + ORDER + " 7 7 7", {}),
    (IN_HOURS, "2 " + ORDER + " - - -", {}),
    (IN_HOURS, "3 * 7 - 1 * 7 - # 2", {}),
    (IN_HOURS, "3 3", {}),
    (IN_HOURS, "3 1 0", {}),
    (IN_HOURS, "3 # 3 7 7 7", {}),
    (IN_HOURS, "3 - - -", {}),
    (IN_HOURS, "3 1 7 7 7", {}),
    (IN_HOURS, "3 1 - - -", {}),
    (IN_HOURS, "4 * 7 - 1 2 4 #", {}),
    (IN_HOURS, "4 7 7 7", {}),
    (IN_HOURS, "4 - - -", {}),
    (IN_HOURS, " ".join(["*"] * 45), {}),
    (AFTER_HOURS, "1", {"voicemail": "控制台无法打开"}),
    (AFTER_HOURS, "* 7 - 7 - 7", {}),
    (AFTER_HOURS, "- - -", {}),
    (AFTER_HOURS, "2 #", {}),
    (AFTER_HOURS, "2 7 7 7", {}),
    (IN_HOURS, "0", {"transfer_result": "no-answer"}),
    (IN_HOURS, "2 1# 1# 1#", {"transfer_result": "failed"}),
    (IN_HOURS, "3 2", {"transfer_result": "busy"}),
    (IN_HOURS, "3 3", {"transfer_result": "no-answer"}),
    (IN_HOURS, "3 1 0", {"transfer_result": "no-answer"}),
    # The language key, reserved in every menu: the menu again, in the next language.
    (IN_HOURS, "3 9 1 9 0", {}),
    (IN_HOURS, "2 " + ORDER + " 9 0", {}),
    (IN_HOURS, "4 9 3 9 1 9 #", {}),
    (IN_HOURS, "4 3 2 9 #", {}),
    (AFTER_HOURS, "9 1", {"voicemail": "cannot log in"}),
]


def _catalog_tour(scope: Scope) -> list[tuple[datetime, str, dict[str, str]]]:
    """Calls that visit every category and software item, with repeat, back and failures in each menu."""
    calls: list[tuple[datetime, str, dict[str, str]]] = [
        (IN_HOURS, "4 3 * 7 - #", {}),
        (IN_HOURS, "4 3 7 7 7", {}),
        (IN_HOURS, "4 3 - - -", {}),
    ]
    for i, category in enumerate(scope.categories, start=1):
        keys = " ".join(f"{j}" for j in range(1, len(category.software) + 1))
        calls += [
            (IN_HOURS, f"4 3 {i} * 7 - {keys} #", {}),
            (IN_HOURS, f"4 3 {i} 7 7 7", {}),
            (IN_HOURS, f"4 3 {i} - - -", {}),
        ]
    return calls


class OrderLookupDown:
    """Stands in for an order back-end that is down, to take the menu's error path."""

    def __call__(self, ctx: object) -> object:
        """Fail as a timed-out back-end would."""
        raise TimeoutError("order back-end timed out")


def test_tour_takes_every_transition(menu: Menu, store: TicketStore, scope: Scope) -> None:
    """Every key, outcome, back, repeat, failure exit, hours branch and transfer result is taken by some call."""
    coverage = Coverage()
    engine = engine_for(menu, store, Settings())
    for at, keys, options in TOUR + _catalog_tour(scope):
        call = SimulatedCall(engine, at=at, **options)
        call.run(["" if k == "-" else k for k in keys.split()])
        coverage.add(call.transitions)
        assert call.lines[-1]["type"] == "hangup"
    broken = Engine(menu, tickets=store, actions={"order_lookup": OrderLookupDown()})
    failing = SimulatedCall(broken, at=IN_HOURS)
    failing.run(["2", ORDER])
    coverage.add(failing.transitions)
    missing = [str(edge) for edge in coverage.missing(engine.machine)]
    assert missing == [], f"{len(missing)} transitions untested:\n" + "\n".join(missing)
    assert coverage.percent(engine.machine) == 100.0
