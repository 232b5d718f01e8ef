"""Measuring speech matching on labelled utterances (tests/speech/): each is said at its node through the real engine.

A corpus file holds what callers said at a node, as a recogniser writes it, and what they meant: a key, a
software id at a catalogue, the digits at an input node, or `none` when nothing on offer fits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from ivr.engine.engine import Engine
from ivr.engine.events import Speech
from ivr.engine.fsm import LAST_TRANSFER, failed_transfers
from ivr.engine.snapshot import CallSnapshot
from ivr.nodes.input import InputNode
from ivr.nodes.menu import MenuNode

NONE = "none"
SAID = re.compile(r'said (\S+) ".*"', re.S)  # the trigger of a phrase of an option (ivr.nodes.menu.said)
KEY = re.compile(r"key_(\S+)")
AT = datetime.fromisoformat("2026-11-30T10:00:00+08:00")


@dataclass(frozen=True)
class Utterance:
    """One labelled result of the recogniser."""

    node: str
    say: str
    expect: str  # a key, a software id, digits, or "none"


@dataclass
class Figures:
    """How the matcher did on one language's corpus."""

    lang: str
    in_scope: int = 0
    correct: int = 0
    asked: int = 0  # in scope, and the caller was asked which option they meant
    wrong: int = 0  # in scope, and taken to another option
    out_of_scope: int = 0
    false_accepts: int = 0  # out of scope, and taken to an option all the same
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of in-scope utterances taken where the caller meant."""
        return self.correct / self.in_scope if self.in_scope else 1.0

    @property
    def asked_share(self) -> float:
        """Share of in-scope utterances answered by a question between options."""
        return self.asked / self.in_scope if self.in_scope else 0.0

    @property
    def false_accept_rate(self) -> float:
        """Share of out-of-scope utterances taken to an option."""
        return self.false_accepts / self.out_of_scope if self.out_of_scope else 0.0


def load_corpus(path: Path) -> tuple[str, list[Utterance]]:
    """(language, utterances) of one corpus file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(data["language"]), [Utterance(str(u["node"]), str(u["say"]), str(u["expect"])) for u in data["utterances"]]


def at_node(engine: Engine, node: str, lang: str) -> CallSnapshot:
    """A call waiting at `node` in `lang` (after a failed transfer where the node is reached so)."""
    snap = CallSnapshot("CA" + "0" * 32, "+8613800000000", lang, node, engine.menu.version, menu=node)
    dialled = sorted(failed_transfers(engine.menu.nodes).get(node, ()))
    if dialled:  # a node reached after a failed transfer: the call knows which transfer `retry` dials again
        snap.values[LAST_TRANSFER] = dialled[0]
    return snap


def outcome(engine: Engine, lang: str, utterance: Utterance) -> str:
    """Where the utterance took a caller at its node: the option's id, the digits entered, 'asked', or 'none'."""
    node = engine.menu.nodes[utterance.node]
    step = engine.handle(at_node(engine, utterance.node, lang), Speech(utterance.say), AT)
    trigger = step.transitions[0].trigger if step.transitions else ""
    if trigger == "unclear":
        return "asked"
    if isinstance(node, InputNode):
        return step.snapshot.digits if step.snapshot.digits and trigger != "not_understood" else NONE
    if isinstance(node, MenuNode) and (chosen := SAID.fullmatch(trigger) or KEY.fullmatch(trigger)):
        key = chosen.group(1)
        return key if key in node.options else node.spoken_only.get(key, key).rsplit(".", 1)[-1]
    return NONE


def evaluate(engine: Engine, path: Path) -> Figures:
    """Say every utterance of a corpus file at its node and count how the matcher did."""
    lang, utterances = load_corpus(path)
    figures = Figures(lang)
    for u in utterances:
        got = outcome(engine, lang, u)
        if u.expect == NONE:
            figures.out_of_scope += 1
            if got not in (NONE, "asked"):
                figures.false_accepts += 1
                figures.misses.append(f"{u.node}: {u.say!r} → {got} (meant nothing here)")
            continue
        figures.in_scope += 1
        if got == u.expect:
            figures.correct += 1
        else:
            figures.asked += got == "asked"
            figures.wrong += got not in (NONE, "asked")
            figures.misses.append(f"{u.node}: {u.say!r} → {got} (meant {u.expect})")
    return figures


def by_node(path: Path) -> Counter[str]:
    """How many utterances each node has (for reports)."""
    return Counter(u.node for u in load_corpus(path)[1])
