"""The menu's intermediate representation: frozen, validated objects everything downstream trusts."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.hours import Schedule
from ivr.text import Text

BACK = "back"  # a target that returns to the previous menu


@dataclass(frozen=True)
class Location:
    """Where something was defined."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Node:
    """A point in the call; subclasses say what happens there."""

    id: str
    location: Location
    # Where some fields were written ("say", "key 1", ...), for findings that belong to a field.
    where: Mapping[str, Location] = field(default_factory=dict, kw_only=True, compare=False)


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
class MenuNode(Node):
    """Plays a prompt and waits for one of its keys."""

    prompt: Text
    reprompt: Text  # short version after a failure
    options: Mapping[str, str]  # DTMF key -> target
    retry: Retry

    @property
    def max_digits(self) -> int:
        """Longest key, so the gather ends as soon as a full key is entered."""
        return max((len(k) for k in self.options), default=1)


@dataclass(frozen=True)
class InputNode(Node):
    """Collects a multi-digit entry and hands it to a named action whose outcome picks the target."""

    prompt: Text
    reprompt: Text
    action: str
    outcomes: Mapping[str, str]  # action outcome -> target; any other outcome is an invalid entry
    retry: Retry
    max_digits: int
    min_digits: int = 1
    finish_on_key: str = "#"
    store_as: str = "entry"  # name under which the digits are kept for prompts


@dataclass(frozen=True)
class AnnounceNode(Node):
    """Says something, then moves on without waiting."""

    prompt: Text
    next: str


@dataclass(frozen=True)
class HoursNode(Node):
    """Branches on whether the phone line is open now."""

    open: str
    closed: str


@dataclass(frozen=True)
class LanguageNode(Node):
    """Switches the call to the menu's next language, then moves on."""

    next: str


@dataclass(frozen=True)
class TransferNode(Node):
    """Hands the caller to a queue of agents; `on_failure` takes over when nobody answers."""

    prompt: Text | None
    queue: str
    on_failure: str


@dataclass(frozen=True)
class RecordNode(Node):
    """Records a message after a prompt."""

    prompt: Text
    next: str
    max_length: int = 120
    finish_on_key: str = "#"


@dataclass(frozen=True)
class TicketNode(Node):
    """Creates the call's ticket (once per call) from the recording or as a callback request."""

    category: str
    next: str
    prompt: Text | None = None


@dataclass(frozen=True)
class HangupNode(Node):
    """Says goodbye and ends the call."""

    prompt: Text | None
    reason: str = "completed"


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


@dataclass(frozen=True)
class LoopLimit:
    """How many caller entries a call may take before it ends politely."""

    max_steps: int
    target: str


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

    def node(self, node_id: str) -> Node:
        """The node called `node_id`."""
        return self.nodes[node_id]

    def next_language(self, lang: str) -> str:
        """The language after `lang`, cycling."""
        i = self.languages.index(lang) if lang in self.languages else -1
        return self.languages[(i + 1) % len(self.languages)]


WAITING_NODES = (MenuNode, InputNode, RecordNode, TransferNode)
TERMINAL_NODES = (HangupNode,)


def targets_of(node: Node) -> dict[str, str]:
    """Every outgoing edge of a node: label -> target (the label names the trigger)."""
    edges: dict[str, str] = {}
    if isinstance(node, MenuNode):
        edges.update({f"key_{k}": t for k, t in node.options.items()})
    if isinstance(node, InputNode):
        edges.update({f"outcome_{o}": t for o, t in node.outcomes.items()})
    if isinstance(node, (MenuNode, InputNode)):
        edges["max_failures"] = node.retry.on_max_failures
    if isinstance(node, (AnnounceNode, LanguageNode, RecordNode, TicketNode)):
        edges["next"] = node.next
    if isinstance(node, HoursNode):
        edges["open"] = node.open
        edges["closed"] = node.closed
    if isinstance(node, TransferNode):
        edges["transfer_failed"] = node.on_failure
    return edges


def current_menus(nodes: Mapping[str, Node]) -> dict[str, set[str]]:
    """For each node, the menus a caller can be in while there (reached through non-menu nodes only)."""
    result: dict[str, set[str]] = defaultdict(set)
    for pid, parent in nodes.items():
        if not isinstance(parent, MenuNode):
            continue
        todo = deque(targets_of(parent).values())
        seen: set[str] = set()
        while todo:
            target = todo.popleft()
            if target in seen or target not in nodes:
                continue
            seen.add(target)
            result[target].add(pid)
            if not isinstance(nodes[target], MenuNode):
                todo.extend(targets_of(nodes[target]).values())
    return result
