"""A delivery's parcel, built when it is sent: the stored ticket, the call's story so far, the menu's zone and text."""

from __future__ import annotations

from collections.abc import Callable

from ivr.delivery import Parcel
from ivr.engine.story import HEARD
from ivr.ir import Menu
from ivr.store.history import CallHistory, StoredLine
from ivr.store.tickets import StoredTicket, TicketStore
from ivr.text import render

__all__ = ["ParcelMaker"]

MAX_TRANSCRIPT = 400  # lines: a receiver gets the gist of a runaway call, not megabytes


class ParcelMaker:
    """Builds the parcel of a ticket from the store; the menu (current version) gives the time zone and the caller's text."""

    def __init__(self, tickets: TicketStore, history: CallHistory, menu: Callable[[], Menu]) -> None:
        self.tickets = tickets
        self.history = history
        self.menu = menu

    def __call__(self, call_id: str) -> Parcel | None:
        """The parcel of the call's ticket; None if the call has no ticket (any more)."""
        ticket = self.tickets.find_by_call(call_id)
        if ticket is None:
            return None
        return self.parcel(ticket, self.history.lines(call_id))

    def parcel(self, ticket: StoredTicket, lines: list[StoredLine]) -> Parcel:
        """The parcel of `ticket`, with the call's `lines` (its story, possibly empty: spooled during an outage, history off)."""
        menu = self.menu()
        sms = menu.ticket_sms
        language = ticket.language if ticket.language in menu.languages else menu.default_language
        text = render(sms.text.get(language), {"ticket": ticket.number}) if sms is not None else ""
        description = ticket.description
        return Parcel(
            number=ticket.number,
            call_id=ticket.call_id,
            caller=ticket.caller,
            language=ticket.language,
            category=ticket.category,
            description=description,
            created_at=ticket.created_at,
            first_response_due=ticket.first_response_due,
            timezone=menu.schedule.timezone,
            recording_url=description if description.startswith(("https://", "http://")) else "",
            path=path_of(lines),
            transcript=tuple(line.line for line in lines if line.type in HEARD)[:MAX_TRANSCRIPT],
            sms_text=text,
        )


def path_of(lines: list[StoredLine]) -> tuple[str, ...]:
    """The nodes the call went through, in order: where its first move left from, then where each move led."""
    path: list[str] = []
    for stored in lines:
        if stored.type != "move":
            continue
        to = stored.line.get("to")
        for node in (stored.node, to):
            if node and (not path or path[-1] != node):
                path.append(str(node))
    return tuple(path)
