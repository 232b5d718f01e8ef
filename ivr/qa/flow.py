"""Flow files: YAML → `Flow` objects; every mistake is reported with file, line and step number."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ivr.errors import DefinitionError, Problem
from ivr.hours import YEARS
from ivr.ir import Location
from ivr.loading.reader import Reader
from ivr.loading.yamltree import YMap, YNode, YScalar, YSeq, describe, parse_file

FLOW_FIELDS = ("name", "menu", "at", "caller", "lang", "transfer_result", "steps")
TRANSFER_RESULTS = ("answered", "no-answer", "busy", "failed")
KEYS = re.compile(r"[0-9*#]+")
# Steps that take a value, and the ones written as a bare word.
VALUE_STEPS = ("expect", "press", "speak", "voicemail", "expect_transfer", "expect_ticket")
BARE_STEPS = ("silence", "expect_hangup", "hangup", "expect_ticket")


@dataclass(frozen=True)
class Step:
    """One step of a flow: what the caller does or what must have been heard."""

    kind: str  # expect, press, speak, silence, voicemail, expect_transfer, expect_ticket, expect_hangup, hangup
    number: int  # 1-based position in the flow, for messages
    location: Location
    text: str = ""  # expect: substring; press: keys; speak: words; voicemail: what is said; expect_transfer: queue; expect_ticket: category
    regex: re.Pattern[str] | None = None
    node: str | None = None
    confidence: float | None = None  # speak: the recogniser's confidence, 0-1 (None: it gives none)

    def describe(self) -> str:
        """The step as a person would write it."""
        if self.kind == "expect":
            target = f"/{self.regex.pattern}/" if self.regex else repr(self.text)
            return f"expect {target}" + (f" at node {self.node!r}" if self.node else "")
        return f"{self.kind} {self.text!r}" if self.text else self.kind


@dataclass(frozen=True)
class Flow:
    """A scripted call."""

    name: str
    path: Path
    menu: Path | None
    at: datetime | None
    caller: str
    lang: str | None
    transfer_result: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def needs_test_mode(self) -> bool:
        """Whether the flow sets the call's time or language (which only a server in test mode accepts)."""
        return self.at is not None or self.lang is not None


def load_flow(path: str | Path) -> Flow:
    """Read one flow file; raises DefinitionError listing every mistake."""
    path = Path(path)
    problems: list[Problem] = []
    root = parse_file(path, problems)
    flow = _flow(path, root, Reader(problems)) if root is not None else None
    if problems or flow is None:
        raise DefinitionError(problems or [Problem(str(path), 1, 1, "not a flow")])
    return flow


def _flow(path: Path, root: YNode, r: Reader) -> Flow | None:
    m = r.mapping(root, "a flow file", root.loc)
    if m is None:
        return None
    r.fields(m, FLOW_FIELDS, "the flow")
    name = r.string(m, "name", "the flow", required=False, default=path.stem) or path.stem
    menu = r.string(m, "menu", "the flow", required=False)
    at = _at(r, m)
    transfer = r.string(m, "transfer_result", "the flow", required=False, default="answered") or "answered"
    if transfer not in TRANSFER_RESULTS:
        r.error(m.values["transfer_result"].loc, f"transfer_result must be one of {', '.join(TRANSFER_RESULTS)}, not {transfer!r}")
    steps_node = m.get("steps")
    if not isinstance(steps_node, YSeq) or not steps_node.items:
        r.error(steps_node.loc if steps_node else m.loc, "a flow needs 'steps': a non-empty list")
        return None
    steps = tuple(s for i, item in enumerate(steps_node.items, start=1) if (s := _step(r, i, item)) is not None)
    return Flow(
        name=name,
        path=path,
        menu=(path.parent / menu).resolve() if menu else None,
        at=at,
        caller=r.string(m, "caller", "the flow", required=False, default="+8613800000000") or "+8613800000000",
        lang=r.string(m, "lang", "the flow", required=False),
        transfer_result=transfer,
        steps=steps,
    )


def _at(r: Reader, m: YMap) -> datetime | None:
    text = r.string(m, "at", "the flow", required=False)
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or "T" not in text or at.year not in YEARS:
        r.error(m.values["at"].loc, f"'at' must be a date and time with an offset, like 2026-11-30T22:30:00+08:00, not {text!r}")
        return None
    return at


def _step(r: Reader, number: int, item: YNode) -> Step | None:
    where = f"step {number}"

    def fail(loc: Location, message: str) -> None:
        r.error(loc, f"{where}: {message}")

    if isinstance(item, YScalar):
        if item.value in BARE_STEPS:
            return Step(item.value, number, item.loc)
        fail(item.loc, f"unknown step {item.value!r}; bare steps are {', '.join(BARE_STEPS)}")
        return None
    if not isinstance(item, YMap) or len(item.values) != 1:
        fail(item.loc, f"a step is one 'kind: value' pair (like press: \"1\") or a bare word, not {describe(item)}")
        return None
    kind, value = next(iter(item.values.items()))
    loc = item.keys[kind]
    if kind not in VALUE_STEPS and kind not in BARE_STEPS:
        fail(loc, f"unknown step {kind!r}; use one of {', '.join(sorted(set(VALUE_STEPS) | set(BARE_STEPS)))}")
        return None
    if kind == "expect" and isinstance(value, YMap):
        return _expect_mapping(r, number, value, loc)
    if kind == "speak" and isinstance(value, YMap):
        return _speak_mapping(r, number, value, loc)
    if not isinstance(value, YScalar) or (value.is_null and kind != "expect_ticket"):
        fail(value.loc, f"'{kind}' needs a text value")
        return None
    text = "" if value.is_null else value.value
    if kind == "press" and not KEYS.fullmatch(text):
        fail(value.loc, f'press takes keypad keys 0-9, * and # (quote them: press: "1"), not {text!r}')
        return None
    return Step(kind, number, loc, text=text)


def _expect_mapping(r: Reader, number: int, value: YMap, loc: Location) -> Step | None:
    r.fields(value, ("text", "regex", "node"), f"step {number} (expect)")
    text = r.string(value, "text", "expect", required=False)
    pattern = r.string(value, "regex", "expect", required=False)
    node = r.string(value, "node", "expect", required=False)
    if (text is None) == (pattern is None):
        r.error(value.loc, f"step {number}: expect needs exactly one of 'text' or 'regex'")
        return None
    regex = None
    if pattern is not None:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            r.error(value.values["regex"].loc, f"step {number}: bad regex: {exc}")
            return None
    return Step("expect", number, loc, text=text or "", regex=regex, node=node)


def _speak_mapping(r: Reader, number: int, value: YMap, loc: Location) -> Step | None:
    """`speak: {text: …, confidence: 0.3}`: words said, with the recogniser's confidence."""
    r.fields(value, ("text", "confidence"), f"step {number} (speak)")
    said = value.get("text")
    if not isinstance(said, YScalar) or said.is_null or not said.value.strip():
        r.error(said.loc if said is not None else value.loc, f"step {number}: speak needs 'text': the words the caller says")
        return None
    text = said.value
    given = r.string(value, "confidence", "speak", required=False)
    confidence = None
    if given is not None:
        try:
            confidence = float(given)
        except ValueError:
            confidence = -1.0
        if not 0.0 <= confidence <= 1.0:
            r.error(
                value.values["confidence"].loc, f"step {number}: confidence is a number from 0 to 1 (Twilio's Confidence), not {given!r}"
            )
            return None
    return Step("speak", number, loc, text=text, confidence=confidence)
