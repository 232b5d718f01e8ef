"""Benchmark: simulated 5-step calls per second through the engine, against a hand-written dict machine.

The floor does the least work a menu interpreter can do for the same calls: look the entry up
in a dict of (node, key) → node and emit the same say/gather/transfer tuples. Both run in the
same process, interleaved, so machine noise hits them alike; the ratio is what to compare.

    .venv/bin/python bench/engine_calls.py [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.config import Settings  # noqa: E402
from ivr.engine.engine import Engine  # noqa: E402
from ivr.engine.events import Entry, TransferResult  # noqa: E402
from ivr.engine.services import TicketRequest  # noqa: E402
from ivr.hotline import engine_for  # noqa: E402
from ivr.ir import Menu  # noqa: E402
from ivr.loading.menu_loader import load_menu  # noqa: E402
from ivr.nodes import AnnounceNode, HoursNode, MenuNode, TransferNode  # noqa: E402

AT = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ENTRIES = ("3", "1", "0")  # main → account → forgot password → account agent
STEPS_PER_CALL = 5  # start, three entries, the transfer result


class NoTickets:
    """The benchmarked path never creates a ticket."""

    def create_ticket(self, request: TicketRequest) -> str:
        """Unused on this path."""
        raise AssertionError("no ticket expected")


def engine_call(engine: Engine, i: int) -> int:
    """One call through the engine; returns how many actions it produced."""
    step = engine.start(f"CA{i}", "+8613800000000", AT)
    produced = len(step.actions)
    for digits in ENTRIES:
        step = engine.handle(step.snapshot, Entry(digits), AT)
        produced += len(step.actions)
    step = engine.handle(step.snapshot, TransferResult("completed"), AT)
    assert step.snapshot.ended
    return produced + len(step.actions)


class DictMachine:
    """The floor: a hand-written state machine over plain dicts, with no validation or recovery."""

    def __init__(self, menu: Menu) -> None:
        self.edges: dict[tuple[str, str], str] = {}
        self.prompts: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.queues: dict[str, str] = {}
        self.next: dict[str, str] = {}
        for nid, node in menu.nodes.items():
            if isinstance(node, MenuNode):
                self.kinds[nid] = "menu"
                self.prompts[nid] = node.prompt.get("zh-CN")
                for key, target in node.options.items():
                    self.edges[(nid, key)] = target
            elif isinstance(node, AnnounceNode):
                self.kinds[nid] = "announce"
                self.prompts[nid] = node.prompt.get("zh-CN")
                self.next[nid] = node.next
            elif isinstance(node, HoursNode):
                self.kinds[nid] = "hours"
                self.next[nid] = node.open
            elif isinstance(node, TransferNode):
                self.kinds[nid] = "transfer"
                self.prompts[nid] = node.prompt.get("zh-CN") if node.prompt else ""
                self.queues[nid] = node.queue
        self.start = menu.start

    def enter(self, node: str, out: list[tuple[str, ...]]) -> str:
        while True:
            kind = self.kinds[node]
            if kind in ("announce", "menu", "transfer"):
                out.append(("say", node, self.prompts[node]))
            if kind == "menu":
                out.append(("gather", node))
                return node
            if kind == "transfer":
                out.append(("transfer", node, self.queues[node]))
                return node
            node = self.next[node]

    def call(self) -> int:
        out: list[tuple[str, ...]] = []
        node = self.enter(self.start, out)
        for digits in ENTRIES:
            node = self.enter(self.edges[(node, digits)], out)
        out.append(("hangup", node, "transferred"))
        return len(out)


def rate(fn: object, calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)  # type: ignore[operator]
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    menu = load_menu(ROOT / "menus" / "volcengine.yaml")
    engine = engine_for(menu, NoTickets(), Settings(hours_override=None))
    floor = DictMachine(menu)
    assert engine_call(engine, 0) > 0 and floor.call() > 0
    engine_rates, floor_rates = [], []
    for _ in range(args.rounds):
        engine_rates.append(rate(lambda i: engine_call(engine, i), args.calls))
        floor_rates.append(rate(lambda i: floor.call(), args.calls))
    e, f = statistics.median(engine_rates), statistics.median(floor_rates)
    print(f"5-step calls, {args.calls} per round, median of {args.rounds} rounds, one core")
    print(f"  engine (transitions):      {e:10.0f} calls/s  = {e * STEPS_PER_CALL:10.0f} steps/s")
    print(f"  floor (dict state machine): {f:10.0f} calls/s  = {f * STEPS_PER_CALL:10.0f} steps/s")
    print(f"  engine / floor:             {e / f:10.3f}   (floor is {f / e:.1f}x faster)")
    print(f"  call snapshot, JSON bytes:  {snapshot_sizes(engine)}")


def snapshot_sizes(engine: Engine) -> str:
    """How big a call's stored state is at a few points of a call."""
    import json

    from ivr.engine.events import Entry

    sizes = []
    step = engine.start("CA0123456789abcdef0123456789abcdef", "+8613800000000", AT)
    sizes.append(("main menu", step.snapshot))
    for digits, label in (("4", "scope menu"), ("3", "third-party menu"), ("1", "category menu")):
        step = engine.handle(step.snapshot, Entry(digits), AT)
        sizes.append((label, step.snapshot))
    return ", ".join(f"{label} {len(json.dumps(s.to_dict(), ensure_ascii=False).encode())}" for label, s in sizes)


if __name__ == "__main__":
    main()
