"""One webhook step of a call: load its snapshot, run the engine, store the result, answer TwiML.

Workers keep nothing between requests: the snapshot and the last answer live in the database,
and every action URL carries the step number, so a repeated request gets the same answer and a
call never advances twice for one key press.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from ivr.audio.index import AudioIndex
from ivr.config import Settings
from ivr.engine.actions import Action, Say, Transfer
from ivr.engine.coverage import Edge
from ivr.engine.engine import Engine, Step
from ivr.engine.events import Event, TransferResult
from ivr.engine.services import TicketRequest, TicketSink
from ivr.errors import ServiceError
from ivr.store import Store
from ivr.store.spool import SpoolingTicketSink
from ivr.text import render, spell_digits
from ivr.web.menus import MenuLibrary
from ivr.web.twiml import StepUrls, TwimlRenderer

log = logging.getLogger(__name__)

PREFIX = "/voice"
# What the engine did in the current request, for the test-mode trace header (per request, thread-safe).
TRACE: ContextVar[dict[str, list[Any]] | None] = ContextVar("ivr_trace", default=None)


def note(actions: Iterable[Action] = (), edge: Edge | None = None) -> None:
    """Add to the current request's trace, if one is being kept."""
    trace = TRACE.get()
    if trace is None:
        return
    trace["actions"].extend(a.to_dict() | {"text": ""} if isinstance(a, Say) else a.to_dict() for a in actions)
    if edge is not None:
        trace["edges"].append([edge.source, edge.trigger, edge.dest])


MAX_UNDIALLABLE = 3  # transfers without an address answered as failed within one step


class VoiceService:
    """Runs calls for the webhook views."""

    def __init__(
        self,
        menus: MenuLibrary,
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime],
        tickets: TicketSink | None = None,
    ) -> None:
        self.menus = menus
        self.store = store
        self.tickets: TicketSink = tickets or store.tickets
        self.audio = AudioIndex(settings.audio_dir)
        self.settings = settings
        self.clock = clock

    @property
    def engine(self) -> Engine:
        """The engine new calls get: the newest good menu version."""
        return self.menus.current()

    def _twiml(self, engine: Engine) -> TwimlRenderer:
        return TwimlRenderer(engine.menu.voices, self.address_of, self.audio_url if self.settings.public_url else None)

    def audio_url(self, lang: str, text: str) -> str | None:
        """Where Twilio can fetch the rendered audio of a prompt (its 8 kHz copy), if it was rendered."""
        entry = self.audio.lookup(lang, text)
        return f"{self.settings.public_url}{PREFIX}/audio/{entry.telephone}" if entry else None

    def address_of(self, transfer: Transfer) -> str:
        """The number or SIP URI to dial for a transfer's queue."""
        return self.settings.queue_address(transfer.queue, transfer.address)

    def start(self, call_sid: str, caller: str, called: str, lang: str | None = None) -> str:
        """A call arrives: greet, and store the call at step 1 (a repeated request gets the same answer)."""
        existing = self.store.calls.load(call_sid)
        if existing is not None:
            return existing.last_response
        now = self.clock()
        engine = self.engine
        step = self._dial_or_fail(engine, engine.start(call_sid, caller, now, lang), now)
        note(step.actions)
        response = self._twiml(engine).render(step.actions, StepUrls.for_step(PREFIX, 1))
        try:
            return self.store.calls.begin(call_sid, caller, called, step.snapshot, response, now).last_response
        except ServiceError as exc:
            # The caller still hears the greeting; the next step finds no record and takes the fallback.
            log.error("call %s: could not store the call (%s)", call_sid, exc)
            return response

    def step(self, call_sid: str, seq: int | None, event: Event) -> str:
        """Take an event reported by an action URL of step `seq`."""
        record = self.store.calls.load(call_sid)
        if record is None:
            log.warning("call %s: event for an unknown call; answering with the fallback", call_sid)
            return self.fallback()
        if seq != record.seq:
            # A repeated or stale request: answer what the call was last told, change nothing.
            log.info("call %s: request for step %s while at step %s; repeating the last answer", call_sid, seq, record.seq)
            return record.last_response
        now = self.clock()
        engine = self.menus.for_version(record.snapshot.menu_version)  # a call keeps the version it started on
        step = self._dial_or_fail(engine, engine.handle(record.snapshot, event, now), now)
        note(step.actions)
        response = self._twiml(engine).render(step.actions, StepUrls.for_step(PREFIX, record.seq + 1))
        try:
            if not self.store.calls.advance(call_sid, record.seq, step.snapshot, response):
                latest = self.store.calls.load(call_sid)
                return latest.last_response if latest else response
        except ServiceError as exc:
            # What the engine did is done (a ticket is stored or spooled): say it, even if the record lags.
            log.error("call %s: could not store step %s (%s)", call_sid, record.seq + 1, exc)
        return response

    def _dial_or_fail(self, engine: Engine, step: Step, now: datetime) -> Step:
        """A transfer to a queue with no address cannot be dialled: report it failed at once."""
        actions = list(step.actions)
        snapshot = step.snapshot
        for _ in range(MAX_UNDIALLABLE):
            last = actions[-1] if actions else None
            if not isinstance(last, Transfer) or snapshot.ended or self.address_of(last):
                break
            log.warning("call %s: queue %r has no address to dial; taking the transfer-failure path", snapshot.call_id, last.queue)
            more = engine.handle(snapshot, TransferResult("failed"), now)
            actions = actions[:-1] + list(more.actions)
            snapshot = more.snapshot
        return Step(snapshot, tuple(actions))

    def drain_spool(self) -> int:
        """Tickets still waiting in the local spool after a database outage (0 when there is none)."""
        if isinstance(self.tickets, SpoolingTicketSink):
            self.tickets.drain()
            return len(self.tickets.pending())
        return 0

    def finish(self, call_sid: str, status: str, duration: int | None) -> bool:
        """The carrier says the call is over."""
        return self.store.calls.close(call_sid, status, duration, self.clock())

    # ---- when the normal path is not available ---------------------------------
    def _languages(self) -> list[str]:
        menu = self.engine.menu
        return [menu.default_language, *(lang for lang in menu.languages if lang != menu.default_language)]

    def fallback(self) -> str:
        """Apologise in every language and offer to take a message, which becomes a ticket."""
        menu = self.engine.menu
        texts = [(lang, menu.apology.get(lang)) for lang in self._languages()]
        if menu.fallback_prompt is not None:
            texts += [(lang, menu.fallback_prompt.get(lang)) for lang in self._languages()]

        def record(response: VoiceResponse) -> None:
            response.record(action=f"{PREFIX}/fallback/recorded", method="POST", finish_on_key="#", max_length=120, play_beep=True)
            response.redirect(f"{PREFIX}/fallback/recorded?empty=1", method="POST")

        return self._twiml(self.engine).apology(texts, record)

    def fallback_ticket(self, call_sid: str, caller: str, recording_url: str) -> str:
        """Turn the fallback message into a ticket and read its number back."""
        menu = self.engine.menu
        request = TicketRequest(
            call_id=call_sid,
            caller=caller,
            lang=menu.default_language,
            category="fallback",
            description=recording_url or f"callback requested from {caller or 'an unknown number'} (fallback)",
            created_at=self.clock(),
            first_response_minutes=menu.ticket_first_response_minutes,
        )
        number = self.tickets.create_ticket(request)
        template = menu.fallback_ticket
        texts = [(lang, render(template.get(lang), {"ticket": number}) if template else spell_digits(number)) for lang in self._languages()]
        return self._twiml(self.engine).apology(texts, lambda response: response.hangup())

    def last_resort(self) -> str:
        """When even the store fails: apologise and hand the caller to the fallback queue, else hang up."""
        menu = self.engine.menu
        queue = menu.queues.get(menu.fallback_queue)
        address = self.settings.queue_address(menu.fallback_queue, queue.address if queue else "")
        texts = [(lang, menu.apology.get(lang)) for lang in self._languages()]

        def then(response: VoiceResponse) -> None:
            if address:
                response.dial(address)
            response.hangup()

        return self._twiml(self.engine).apology(texts, then)
