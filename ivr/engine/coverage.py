"""Which transitions of a compiled menu a set of calls exercised."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from transitions import Machine

# Exits that exist from every node; covering each once is enough.
ANYWHERE = ("loop_limit", "error")


class Edge(NamedTuple):
    """One transition: from `source` on `trigger` to `dest` ('' = stays, e.g. a re-prompt).

    A named tuple: every engine step makes one per transition taken, so it must be cheap to build.
    """

    source: str
    trigger: str
    dest: str

    def __str__(self) -> str:
        return f"{self.source} --{self.trigger}--> {self.dest or '(re-prompt)'}"


def edges_of(machine: Machine) -> set[Edge]:
    """Every transition the machine can take, with anywhere-exits collapsed to one edge each."""
    edges: set[Edge] = set()
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if trigger in ANYWHERE:
                    edges.add(Edge("*", trigger, t.dest or ""))
                else:
                    edges.add(Edge(source, trigger, t.dest or ""))
    return edges


@dataclass
class Coverage:
    """Collects the edges calls take (from each engine step's `transitions`)."""

    fired: set[Edge] = field(default_factory=set)

    def record(self, edge: Edge) -> None:
        """Note one transition taken."""
        self.fired.add(Edge("*", edge.trigger, edge.dest) if edge.trigger in ANYWHERE else edge)

    def add(self, edges: Iterable[Edge]) -> None:
        """Note every transition a call took."""
        for edge in edges:
            self.record(edge)

    def missing(self, machine: Machine, universe: set[Edge] | None = None) -> list[Edge]:
        """Edges of `machine` (or of `universe`) no call took, sorted."""
        return sorted((edges_of(machine) if universe is None else universe) - self.fired)

    def percent(self, machine: Machine, universe: set[Edge] | None = None) -> float:
        """Share of the edges taken, 0-100."""
        total = edges_of(machine) if universe is None else universe
        return 100.0 * len(total & self.fired) / len(total) if total else 100.0

    def nodes(self) -> set[str]:
        """Nodes entered by some call."""
        return {e.dest for e in self.fired if e.dest} | {e.source for e in self.fired if e.source != "*"}

    def merge(self, others: Iterable[Coverage]) -> None:
        """Add the edges other collectors saw."""
        for other in others:
            self.fired |= other.fired


def fault_edges(machine: Machine, start: str) -> set[Edge]:
    """Edges only an internal failure can take (the error exit and what lies only beyond it): no flow reaches them."""
    edges = edges_of(machine)
    reached = {start}
    changed = True
    while changed:
        changed = False
        for edge in edges:
            if edge.trigger == "error":
                continue
            if (edge.source in reached or edge.source == "*") and edge.dest and edge.dest not in reached:
                reached.add(edge.dest)
                changed = True
    return {e for e in edges if e.trigger == "error" or (e.source != "*" and e.source not in reached)}


def caller_edges(machine: Machine, start: str) -> set[Edge]:
    """The edges a caller's keys, silences, times and transfer results can take: what flows should cover."""
    return edges_of(machine) - fault_edges(machine, start)
