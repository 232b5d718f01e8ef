"""Long lists read a page at a time: each page short enough to hear in one go, a key for the next one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ivr.engine.events import Entry
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Count, Localised
from ivr.ir import BACK, Node
from ivr.nodes.announce import AnnounceNode
from ivr.nodes.menu import MenuNode, switch_language
from ivr.text import Text

__all__ = ["MORE", "PER_PAGE", "ContinuedNode", "ListPageNode", "list_pages"]

NEXT_PAGE_KEY = "1"
PER_PAGE = Count("per_page", "Items said on one page; a longer list goes on, page by page, when the caller presses 1.", low=1, high=20)
MORE = Localised("more", "Said after a page when more follows: how to hear the rest (key 1).")


@dataclass(frozen=True)
class ListPageNode(MenuNode):
    """A page of a list that goes on: the items, then 1 for the rest. It is part of the menu the caller is in, not a
    menu of its own, so '#' and the end of the list return to that menu."""

    of: str = ""  # on a later page: the list's first page ('' here: the list starts here, what the caller came for)

    is_menu: ClassVar[bool] = False

    def destination(self) -> tuple[str, str] | None:
        """The list, heard from its first page."""
        return None if self.of else ("announcement", f"hear {self.id}")

    def continues(self) -> str | None:
        """On a later page, the list it goes on with."""
        return self.of or None

    def enter(self, call: CallModel) -> None:
        """Say the page and wait; the caller stays in the menu above."""
        call.say(self.prompt)
        call.emit(self.listen(call.snap.lang))

    def handle(self, call: CallModel, event: Any) -> str | None:
        """'#' returns to the menu the caller is in; other keys as in any menu."""
        if isinstance(event, Entry) and event.digits == "#":
            return "back" if call.snap.menu else self.invalid(call)
        return super().handle(call, event)

    def compile(self, fsm: MachineBuilder) -> None:
        """Repeat, 1 for the next page, '#' back to the menu above, retries."""
        fsm.reenter("repeat", self.id)
        if self.language_key:
            fsm.reenter("language", self.id, before=switch_language)
        fsm.go("back", self.id, BACK)
        self.compile_retries(fsm)
        for key, target in self.options.items():
            fsm.go(f"key_{key}", self.id, target)


@dataclass(frozen=True)
class ContinuedNode(AnnounceNode):
    """The last page of a list: said, then on; hearing it is part of the list, not a destination of its own."""

    of: str = ""  # the list's first page

    def destination(self) -> tuple[str, str] | None:  # type: ignore[override]  # a page of a list is no outcome
        """Part of the list that started on its first page."""
        return None

    def continues(self) -> str | None:
        """The list it goes on with."""
        return self.of or None


def list_pages(b: Build, heading: Text, items: list[Text], per_page: int | None, more: Text | None, after: str) -> list[Node]:
    """The list as one announcement, or as pages of `per_page` items when it is longer and a `more` text is given."""
    if not per_page or len(items) <= per_page or more is None:
        return [AnnounceNode(b.node_id, b.location, Text.join([heading, *items], b.languages), after, where=b.where)]
    chunks = [items[i : i + per_page] for i in range(0, len(items), per_page)]
    ids = [b.node_id, *(f"{b.node_id}.{n}" for n in range(2, len(chunks) + 1))]
    nodes: list[Node] = []
    retry = b.retry()
    language_key = b.language_key if len(b.languages) > 1 and b.language_key != NEXT_PAGE_KEY else ""
    for n, chunk in enumerate(chunks):
        parts = [heading, *chunk] if n == 0 else list(chunk)
        if n < len(chunks) - 1:
            prompt = Text.join([*parts, more], b.languages)
            where = b.where if n == 0 else {}
            of = "" if n == 0 else b.node_id
            options = {NEXT_PAGE_KEY: ids[n + 1]}
            nodes.append(ListPageNode(ids[n], b.location, prompt, more, retry, options, language_key, of, where=where))
        else:
            nodes.append(ContinuedNode(ids[n], b.location, Text.join(parts, b.languages), after, of=b.node_id))
    return nodes
