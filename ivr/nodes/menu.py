"""`type: menu` — say a prompt and wait for one of its keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from ivr.engine.actions import Gather
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Keys, NodeType, Target
from ivr.ir import Node
from ivr.nodes.prompted import RETRY_COUNTS, RETRY_TEXTS, SAY, SHORT, PromptedNode


@dataclass(frozen=True)
class MenuNode(PromptedNode):
    """Plays a prompt and waits for one of its keys."""

    options: Mapping[str, str]  # DTMF key -> target
    language_key: str = ""  # switches to the menu's next language and says this menu again ('' = none here)

    kind: ClassVar[str] = "menu"
    is_menu: ClassVar[bool] = True

    @cached_property
    def max_digits(self) -> int:
        """Longest key, so the gather ends as soon as a full key is entered."""
        return max((len(k) for k in self.options), default=1)

    def edges(self) -> dict[str, str]:
        """Each key, and where too many failures go."""
        return {**{f"key_{k}": t for k, t in self.options.items()}, "max_failures": self.retry.on_max_failures}

    def moves(self) -> list[tuple[str, str]]:
        """The keys."""
        return list(self.options.items())

    def gather(self) -> Gather:
        """One key (a longer key ends with '#')."""
        return Gather(self.id, self.max_digits, "#" if self.max_digits > 1 else "", self.retry.timeout)

    def enter(self, call: CallModel) -> None:
        """The caller is in this menu now."""
        call.enter_menu(self.id)
        super().enter(call)

    def choose(self, call: CallModel, digits: str) -> str:
        """A key of this menu, the language key, or a wrong entry."""
        if self.max_digits > 1:
            digits = digits.removesuffix("#")
        if digits in self.options:
            return f"key_{digits}"
        return "language" if digits == self.language_key else self.invalid(call)

    def compile(self, fsm: MachineBuilder) -> None:
        """Repeat, back to each menu above, retries, and one transition per key."""
        fsm.reenter("repeat", self.id)
        if self.language_key:
            fsm.reenter("language", self.id, before=switch_language)
        for parent in fsm.menus_above(self.id):
            if parent != self.id:
                fsm.go("back", self.id, parent, when=_stack_top_is(parent), before=CallModel.leave_menu)
        self.compile_retries(fsm)
        for key, target in self.options.items():
            fsm.go(f"key_{key}", self.id, target)

    def candidates(self, examples: Mapping[str, str]) -> list[str]:
        """Every key, repeat, back, silence and a key that leads nowhere."""
        spare = next((k for k in "0123456789" if k not in self.options and k != self.language_key), None)
        return [*self.options, "*", "#", "", *([self.language_key] if self.language_key else []), *([spare] if spare else [])]


def switch_language(call: CallModel) -> None:
    """The language key: the menu's next language, with the counters starting afresh."""
    call.snap.lang = call.menu.next_language(call.snap.lang)
    call.snap.invalid = call.snap.no_input = 0  # a caller who did not understand the other language starts afresh


def _stack_top_is(parent: str) -> Callable[[CallModel], bool]:
    def on_top(call: CallModel) -> bool:
        return call.snap.stack[-1:] == [parent]

    return on_top


def build(b: Build) -> list[Node]:
    """A menu node from its fields."""
    v = b.values
    prompt = v.get("say") or b.blank()
    keys = v.get("keys", {})
    # The language key is reserved in every menu of a menu file with more than one language, unless a menu maps it.
    language_key = b.language_key if len(b.languages) > 1 and b.language_key not in keys else ""
    return [MenuNode(b.node_id, b.location, prompt, v.get("short") or prompt, b.retry(), keys, language_key, where=b.where)]


TYPE = NodeType(
    "menu",
    "Say a prompt and wait for one key.",
    (
        SAY,
        SHORT,
        Keys(
            "keys",
            "Key → target node. Keys are digits 0-9 and '*' (quote it), up to 8; "
            "'*' alone repeats and '#' goes back in every menu, so neither can be used.",
            required=True,
        ),
        *RETRY_COUNTS,
        *RETRY_TEXTS,
        Target("on_max_failures", "Node after too many wrong entries or silences.", back=False, inherit="on_max_failures"),
    ),
    build,
)
