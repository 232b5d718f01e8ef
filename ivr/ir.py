"""The menu's intermediate representation: frozen, validated objects everything downstream trusts.

`Node` is the base of every node type; each type lives in its own module under `ivr/nodes/`, with
its fields, its edges, what it says and what it does when a call reaches it. Everything that walks a
menu (the state-machine compiler, the checks, the effort report, the audio prompt list, flow
generation) asks the node, never its class.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ivr.hours import Schedule
from ivr.text import Text

__all__ = [
    "BACK",
    "RETRY",
    "Budgets",
    "Listening",
    "Location",
    "LoopLimit",
    "Menu",
    "Node",
    "Queue",
    "Retry",
    "Voice",
    "current_menus",
    "reachable",
]

BACK = "back"  # a target that returns to the previous menu
RETRY = "retry"  # a target that dials again the transfer whose failure led here


@dataclass(frozen=True)
class Location:
    """Where something was defined."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Node:
    """A point in the call; each node type (ivr/nodes/) says what happens there."""

    id: str
    location: Location
    # Where some fields were written ("say", "keys 1", ...), for findings that belong to a field.
    where: Mapping[str, Location] = field(default_factory=dict, kw_only=True, compare=False)

    kind: ClassVar[str] = ""  # the `type:` of the menu file
    waits: ClassVar[bool] = False  # the call pauses here for the caller or the network
    ends_call: ClassVar[bool] = False  # a call can end here (a hangup, an answered transfer)
    final: ClassVar[bool] = False  # every call that gets here ends here (a hangup)
    is_menu: ClassVar[bool] = False  # callers are "in" this node: the back key returns here, depth counts it
    takes_entries: ClassVar[bool] = False  # the caller's keys are entries here (the runaway guard counts them)
    outlives_hangup: ClassVar[bool] = False  # the call goes on after the caller hangs up (a recording still arrives)

    # ---- the node as a graph -------------------------------------------------
    def edges(self) -> dict[str, str]:
        """Every outgoing edge: label -> target (the label names the trigger)."""
        return {}

    def unattended(self) -> list[str]:
        """Targets the call moves on to without the caller (for the check that no loop spins forever)."""
        return [] if self.waits else list(self.edges().values())

    def moves(self) -> list[tuple[str, str]]:
        """(what the caller does, target) for every way on; '' where nothing is needed (effort report)."""
        return [("", target) for target in self.edges().values()]

    # ---- what is said ------------------------------------------------------------
    def texts(self) -> list[tuple[str, Text]]:
        """Every text the node can say, with the prompt id the engine puts on its Say actions."""
        return []

    def heard(self) -> Text | None:
        """What a caller hears on arriving here (effort report)."""
        return None

    def destination(self) -> tuple[str, str] | None:
        """(kind, name) when reaching this node is an outcome of the call: a transfer, a ticket, an announcement."""
        return None

    def continues(self) -> str | None:
        """The destination this node goes on with (a later page of a list, after the caller pressed to hear more)."""
        return None

    def provides(self) -> frozenset[str]:
        """Names of call values set here, for {name} placeholders in later prompts."""
        return frozenset()

    def provides_on(self, edge: str) -> frozenset[str]:
        """The call values set here when the call leaves by `edge` (an `edges()` label): all of provides() unless a
        node sets some on one branch only."""
        return self.provides()

    def actions(self) -> tuple[str, ...]:
        """The named actions (ivr/actions.py) this node runs."""
        return ()

    # ---- what the engine does here (the call is an ivr.engine CallModel, the builder an fsm MachineBuilder) ----
    def compile(self, fsm: Any) -> None:
        """Add this node's transitions to the menu's state machine."""

    def enter(self, call: Any) -> None:
        """A call arrives: say, wait, transfer, record… by adding actions to the call's step."""

    def handle(self, call: Any, event: Any) -> str | None:
        """The trigger an outside event fires here, or None when the node does not expect it."""
        return None

    def candidates(self, examples: Mapping[str, str]) -> list[str]:
        """Entries worth trying at this node when exploring the menu (flow generation); `examples` maps outcomes to entries."""
        return []

    def spoken_candidates(self, examples: Mapping[str, str]) -> list[Any]:
        """Words worth saying here when exploring the menu (ivr.engine.events.Speech), where the node listens."""
        return []


@dataclass(frozen=True)
class Retry:
    """How a node that waits for keys copes with wrong keys and silence."""

    max_invalid: int
    max_no_input: int
    timeout: int  # seconds to wait for the first key
    invalid_prompt: Text
    no_input_prompt: Text
    on_max_failures: str


@dataclass(frozen=True)
class Listening:
    """How a node that waits takes speech as well as keys (the recogniser is the carrier's; matching is ours)."""

    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]  # option key -> language -> what a caller may say for it
    hints: Mapping[str, tuple[str, ...]]  # language -> words the recogniser is told to expect
    min_confidence: int  # percent; a result the recogniser is less sure of is not understood
    not_understood: Text  # said after speech that matched nothing, before the short prompt
    which: Text  # asks between options a caller named at once: {choices}


@dataclass(frozen=True)
class Queue:
    """A team callers can be transferred to; the address is for the telephony adapter."""

    name: str
    address: str = ""
    description: str = ""


@dataclass(frozen=True)
class Voice:
    """How a telephony text-to-speech engine should speak one language."""

    voice: str
    language: str
    render: str = ""  # the espeak-ng voice for rendered prompts ('' = espeak-ng's own choice for the language)
    source: str = "say"  # "say": the carrier's voice; "audio": played from audio/ when every piece is built
    recognize: str = ""  # the language code of the carrier's speech recogniser ('' = `language`)


@dataclass(frozen=True)
class Budgets:
    """What callers may be made to sit through; `ivr menu check` warns about each breach (ivr/budgets.py)."""

    greeting_seconds: int = 8  # prompts before the first node that waits for the caller
    prompt_seconds: int = 20  # any one text of a node, in any language
    destination_seconds: int = 25  # prompts heard before a transfer, ticket or announcement, in hours and after
    max_options: int = 5  # keys of one menu
    person_within_menus: int = 3  # menus from the start to a transfer while the line is open


@dataclass(frozen=True)
class LoopLimit:
    """How many caller entries a call may take before it ends politely."""

    max_steps: int
    target: str


@dataclass(frozen=True)
class TicketSms:
    """The text message that tells a caller their ticket number, and what they hear about it."""

    text: Text  # with {ticket}
    said: Text | None  # heard when the text goes
    prefixes: tuple[str, ...] = ()  # E.164 mobile prefixes beyond China's a text may go to


@dataclass(frozen=True)
class Menu:
    """A whole, validated menu: one version of the hotline."""

    id: str
    version: str  # content hash of the files it came from
    source: str
    languages: tuple[str, ...]
    default_language: str
    schedule: Schedule
    start: str
    nodes: Mapping[str, Node]
    queues: Mapping[str, Queue]
    loop_limit: LoopLimit
    on_error: str  # where a call goes when something inside fails
    apology: Text  # said when even `on_error` cannot be reached
    fallback_prompt: Text | None  # after the apology on the carrier's fallback URL: the offer to leave a message
    fallback_ticket: Text | None  # then the ticket number, with {ticket|digits}
    fallback_queue: str
    ticket_first_response_minutes: int
    data: Mapping[str, str] = field(default_factory=dict)  # named data files, absolute paths
    voices: Mapping[str, Voice] = field(default_factory=dict)  # per language, for telephony TTS
    recordings: Mapping[str, str] = field(default_factory=dict)  # "lang\ntext" -> prerecorded WAV to play instead
    files: tuple[str, ...] = ()  # every file this version was built from (menu, scope, data), for reloads
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)  # their text, as loaded
    language_key: str = ""  # reserved in every menu for the next language ('' = none)
    budgets: Budgets = field(default_factory=Budgets)
    ticket_sms: TicketSms | None = None  # None: tickets are never texted to callers

    def node(self, node_id: str) -> Node:
        """The node called `node_id`."""
        return self.nodes[node_id]

    def next_language(self, lang: str) -> str:
        """The language after `lang`, cycling."""
        i = self.languages.index(lang) if lang in self.languages else -1
        return self.languages[(i + 1) % len(self.languages)]

    def languages_from(self, lang: str | None = None) -> list[str]:
        """Every language of the menu, `lang` (else the default) first: for words said before the caller chose."""
        first = lang if lang in self.languages else self.default_language
        return [first, *(other for other in self.languages if other != first)]


def reachable(
    nodes: Mapping[str, Node],
    starts: Iterable[str],
    through: Callable[[Node], bool] = lambda node: True,
    ways: Callable[[Node], Iterable[str]] = lambda node: node.edges().values(),
) -> set[str]:
    """The nodes a call can reach from `starts` by `ways` (default: every edge), going on only from nodes `through` accepts."""
    found: set[str] = set()
    todo = deque(s for s in starts if s in nodes)
    while todo:
        nid = todo.popleft()
        if nid in found:
            continue
        found.add(nid)
        if through(nodes[nid]):
            todo.extend(t for t in ways(nodes[nid]) if t in nodes)
    return found


def current_menus(nodes: Mapping[str, Node]) -> dict[str, set[str]]:
    """For each node, the menus a caller can be in while there (reached through non-menu nodes only)."""
    result: dict[str, set[str]] = defaultdict(set)
    for pid, parent in nodes.items():
        if not parent.is_menu:
            continue
        todo = deque(parent.edges().values())
        seen: set[str] = set()
        while todo:
            target = todo.popleft()
            if target in seen or target not in nodes:
                continue
            seen.add(target)
            result[target].add(pid)
            if not nodes[target].is_menu:
                todo.extend(nodes[target].edges().values())
    return result
