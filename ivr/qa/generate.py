"""`ivr qa generate`: flows that together take every transition a caller can cause.

Paths are found by exploring the real engine breadth-first from the start, once at a time the line
is open and once when it is closed, trying each key, an invalid key, silence, repeat and back at
every gather, and both an answered and an unanswered transfer. A path is kept when it takes a
transition no earlier path took. Each becomes a small, readable flow file.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ivr.actions import REGISTRY
from ivr.config import Settings
from ivr.engine.actions import Gather
from ivr.engine.coverage import Coverage, Edge, caller_edges
from ivr.engine.engine import Engine
from ivr.engine.events import Speech
from ivr.engine.fsm import LAST_TRANSFER, failed_transfers
from ivr.hotline import data_texts
from ivr.ir import Menu
from ivr.qa.runner import qa_hotline
from ivr.simulator import CallerEntry, Line, SimulatedCall

MAX_CALLS = 20_000  # simulated calls the search may spend; plenty for hand-written menus
MAX_DEPTH = 12
VOICEMAIL = "generated test message"
CALLER = "+8613800000000"  # a number that can be called back
WITHHELD = "anonymous"  # a caller who withheld their number
# Who calls and what they say when recorded: the usual caller first, then callers that take other ways.
CALLERS = ((CALLER, VOICEMAIL), (WITHHELD, VOICEMAIL), (CALLER, ""), (WITHHELD, ""))


@dataclass(frozen=True)
class Path_:
    """A scripted call found by the search."""

    at: datetime
    entries: tuple[CallerEntry, ...]
    transfer_result: str = "answered"
    caller: str = CALLER
    voicemail: str = VOICEMAIL  # '' = the caller records nothing


def branch_times(menu: Menu) -> list[tuple[str, datetime]]:
    """An instant when the line is open and one when it is closed (half past an hour, Monday on)."""
    zone = ZoneInfo(menu.schedule.timezone)
    start = datetime.combine(date(2026, 11, 30), time(0, 30), tzinfo=zone)  # a Monday
    found: dict[str, datetime] = {}
    for hour in range(24 * 14):
        at = start + timedelta(hours=hour)
        label = "open" if menu.schedule.is_open(at) else "closed"
        found.setdefault(label, at)
        if len(found) == 2:
            break
    preferred = {"open": 10, "closed": 22}  # prefer mid-morning and late evening when they fall in the branch
    for label, hour in preferred.items():
        candidate = datetime.combine(date(2026, 11, 30), time(hour, 30), tzinfo=zone)
        if label in found and menu.schedule.is_open(candidate) == (label == "open"):
            found[label] = candidate
    return sorted(found.items())


class Explorer:
    """Breadth-first search over entries, on the real engine."""

    def __init__(self, menu: Menu, engine: Engine) -> None:
        self.menu = menu
        self.engine = engine
        self.examples = self._examples()
        self.calls = 0
        self.after_failure = set(failed_transfers(menu.nodes))  # where the transfer that failed decides what `retry` dials

    def _examples(self) -> dict[str, dict[str, str]]:
        """For each node that runs named actions: outcome -> an entry that produces it."""
        data = data_texts(self.menu)
        out: dict[str, dict[str, str]] = {}
        for node in self.menu.nodes.values():
            for action in node.actions():
                if action in REGISTRY:
                    out.setdefault(node.id, {}).update(REGISTRY[action].examples(data))
        return out

    def simulate(self, path: Path_) -> tuple[SimulatedCall, set[Edge]]:
        """Run a path; return the call and the edges it took."""
        self.calls += 1
        coverage = Coverage()
        call = SimulatedCall(self.engine, at=path.at, caller=path.caller, transfer_result=path.transfer_result, voicemail=path.voicemail)
        call.start()
        for entry in path.entries:
            if call.ended:
                break
            call.enter(entry)
        coverage.add(call.transitions)
        return call, coverage.fired

    def candidates(self, gather: Gather) -> list[CallerEntry]:
        """Entries worth trying at a gather."""
        node, examples = self.menu.nodes[gather.node], self.examples.get(gather.node, {})
        return [*node.candidates(examples), *node.spoken_candidates(examples)]

    def explore(self, at: datetime, universe: set[Edge], covered: set[Edge]) -> list[tuple[Path_, set[Edge], SimulatedCall]]:
        """Paths from the start at `at`, each adding transitions not yet covered."""
        kept: list[tuple[Path_, set[Edge], SimulatedCall]] = []
        seen: set[tuple[object, ...]] = set()
        todo: deque[tuple[CallerEntry, ...]] = deque([()])
        while todo and self.calls < MAX_CALLS:
            entries = todo.popleft()
            for result in ("answered", "no-answer"):
                path = Path_(at, entries, result)
                call, edges = self.simulate(path)
                new = (edges & universe) - covered
                if new:
                    covered |= new
                    kept.append((path, edges & universe, call))
                if any(line["type"] == "transfer" for line in call.lines) is False:
                    break  # the transfer result only matters when a transfer happened
            if call.ended or not isinstance(call.waiting, Gather) or len(entries) >= MAX_DEPTH or call.snapshot is None:
                continue
            snap = call.snapshot
            failed = snap.values.get(LAST_TRANSFER, "") if snap.node in self.after_failure else ""
            state = (snap.node, snap.invalid, snap.no_input, snap.menu, tuple(snap.stack), snap.lang, failed)
            if state in seen:
                continue
            seen.add(state)
            open_here = {e.trigger for e in universe - covered if e.source == snap.node}
            todo.extend((*entries, entry) for entry in self.candidates(call.waiting) if _worth_saying(entry, open_here))
        return kept


def generate_flows(menu_path: Path, out_dir: Path) -> list[Path]:
    """Write flow files covering every caller-reachable transition of the menu; return their paths."""
    hotline = qa_hotline(menu_path, Settings())  # the search's tickets are thrown away with the in-memory database
    engine = hotline.engine
    menu = engine.menu
    universe = caller_edges(engine.machine, menu.start)
    explorer = Explorer(menu, engine)
    covered: set[Edge] = set()
    found: list[tuple[Path_, set[Edge], SimulatedCall]] = []
    times = branch_times(menu)
    for _, at in times:
        found += explorer.explore(at, universe, covered)
    loop = [e for e in universe - covered if e.trigger == "loop_limit"]
    # The runaway exit may branch on the hours (a person in hours) and on the transfer: try it every way.
    for (_, at), result in [(t, r) for t in times for r in ("answered", "no-answer")] if loop else []:
        path = Path_(at, ("*",) * (menu.loop_limit.max_steps + 1), result)
        call, edges = explorer.simulate(path)
        if (edges & universe) - covered:
            covered |= edges & universe
            found.append((path, edges & universe, call))
    # A withheld number or an empty message takes ways of their own (no callback ticket, no message) where the paths
    # found so far end: call them again as such callers (a second search would cost as much as the first).
    for number, voicemail in CALLERS[1:]:
        for path, _, _ in list(found) if universe - covered else ():
            other = replace(path, caller=number, voicemail=voicemail)
            call, edges = explorer.simulate(other)
            if (edges & universe) - covered:
                covered |= edges & universe
                found.append((other, edges & universe, call))
    hotline.close()
    found = _fewest(found)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = dict((at, label) for label, at in times)
    written = []
    for i, (path, new, call) in enumerate(found, start=1):
        name = _name(sorted(new), labels.get(path.at, ""), path)
        target = out_dir / f"{i:03d}-{_slug(name)}.yaml"
        target.write_text(_flow_text(name, menu_path, out_dir, path, call.lines, sorted(new)), encoding="utf-8")
        written.append(target)
    return written


def _fewest(found: list[tuple[Path_, set[Edge], SimulatedCall]]) -> list[tuple[Path_, set[Edge], SimulatedCall]]:
    """Greedy set cover: take the path adding the most untaken transitions until all are taken."""
    left = set().union(*(edges for _, edges, _ in found)) if found else set()
    chosen = []
    pool = list(found)
    while left and pool:
        best = max(pool, key=lambda item: (len(item[1] & left), -len(item[0].entries)))
        gain = best[1] & left
        if not gain:
            break
        chosen.append((best[0], gain, best[2]))
        left -= gain
        pool.remove(best)
    return sorted(chosen, key=lambda item: (item[0].at, [_order(entry) for entry in item[0].entries]))


def _worth_saying(entry: CallerEntry, open_here: set[str]) -> bool:
    """Keys are always tried; words only while a transition they can take from here is not yet covered
    (each phrase is a transition of its own: trying every phrase everywhere would spend the search on them)."""
    if not isinstance(entry, Speech):
        return True
    return bool(open_here & {"unclear", "not_understood"}) or any(f'"{entry.text}"' in trigger for trigger in open_here)


def _order(entry: CallerEntry) -> tuple[int, str]:
    """Keys before words, each in their own order (flows are written in a stable order)."""
    return (1, entry.text) if isinstance(entry, Speech) else (0, entry)


def _name(edges: list[Edge], branch: str, path: Path_) -> str:
    first = edges[0]
    extra = f" (+{len(edges) - 1} more)" if len(edges) > 1 else ""
    result = f", transfer {path.transfer_result}" if path.transfer_result != "answered" else ""
    result += f", caller {path.caller}" if path.caller != CALLER else ""
    result += ", no message" if not path.voicemail else ""
    return f"{first.source} {first.trigger} -> {first.dest or 're-prompt'}{extra} [{branch}{result}]"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _relative(target: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _flow_text(name: str, menu_path: Path, out_dir: Path, path: Path_, lines: list[Line], new: Iterable[Edge]) -> str:
    steps: list[object] = []
    last_say: Line | None = None
    for line in lines:
        if line["type"] == "say":
            last_say = line
        elif line["type"] == "input":
            if last_say is not None:
                steps.append({"expect": {"text": _snippet(last_say["text"]), "node": last_say["node"]}})
                last_say = None
            if "speech" in line:
                steps.append({"speak": line["speech"]})
            else:
                steps.append("silence" if line["digits"] == "" else {"press": line["digits"]})
        elif line["type"] == "record":
            steps.append({"voicemail": path.voicemail})  # '' says so: the caller records nothing
        elif line["type"] == "transfer":
            steps.append({"expect_transfer": line["queue"]})
        elif line["type"] == "ticket":
            steps.append({"expect_ticket": line["category"]})
        elif line["type"] == "hangup":
            if last_say is not None:
                steps.append({"expect": {"text": _snippet(last_say["text"]), "node": last_say["node"]}})
            if line["reason"] != "caller":
                steps.append("expect_hangup")
    flow: dict[str, object] = {
        "name": name,
        "menu": _relative(menu_path, out_dir),
        "at": path.at.isoformat(),
    }
    if path.caller != CALLER:
        flow["caller"] = path.caller
    if path.transfer_result != "answered":
        flow["transfer_result"] = path.transfer_result
    flow["steps"] = steps
    header = "# Generated by `ivr qa generate`; edit freely. Takes, among others:\n" + "".join(f"#   {e}\n" for e in new)
    return header + yaml.safe_dump(flow, allow_unicode=True, sort_keys=False, width=120)


def _snippet(text: str, size: int = 18) -> str:
    """A short, distinctive piece of a prompt: its start, without run-time values."""
    cut = re.split(r"\d( \d){3,}", text)[0]  # stop before a number read digit by digit
    return cut[:size].strip() or text[:size]
