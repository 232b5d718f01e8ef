"""One webhook step of a call: load its snapshot, run the engine, store the result, answer TwiML.

Workers keep nothing between requests: the snapshot and the last answer live in the database,
and every action URL carries the step number, so a repeated request gets the same answer and a
call never advances twice for one key press. What a step does is the engine's; this module only
moves it between the store and the wire.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from ivr.engine.actions import Action, Say
from ivr.engine.events import CallerHangup, Event, TransferResult
from ivr.hotline import Engine, Hotline, Line, Menu, Played, ServiceError, Spoken, Step, entry_line, outcome_after, queue_at, step_lines
from ivr.web import metrics
from ivr.web.twilio import VoiceRequest
from ivr.web.twiml import StepUrls, TwimlRenderer

__all__ = ["PREFIX", "TRACE", "VoiceService", "note", "played_pieces", "renderer_for"]

log = logging.getLogger(__name__)

PREFIX = "/voice"
RENDERERS_KEPT = 16  # (menu version, played languages) pairs with a renderer kept; calls in progress use a few
PLAYED = "played languages"  # in a call's snapshot: the languages it hears from audio (a name no placeholder can take)
# What the engine did in the current request, for the test-mode trace header (per request, thread-safe).
TRACE: ContextVar[dict[str, list[Any]] | None] = ContextVar("ivr_trace", default=None)


def note(actions: Iterable[Action] = (), step: Step | None = None) -> None:
    """Add to the current request's trace, if one is being kept: the actions and transitions.

    A prompt's text goes with it: where it is played from rendered audio, the trace is how QA hears it.
    """
    trace = TRACE.get()
    if trace is None:
        return
    if step is not None:
        actions = step.actions
        trace["edges"].extend([edge.source, edge.trigger, edge.dest] for edge in step.transitions)
    trace["actions"].extend(a.to_dict() for a in actions)


def renderer_for(menu: Menu, played: Callable[[Say], list[tuple[str, str, str]] | None] | None) -> TwimlRenderer:
    """The TwiML renderer of a menu version: its voices and recognisers, and how prompts are played (None: all spoken)."""
    voices = {lang: (v.voice, v.language) for lang, v in menu.voices.items()}
    recognizers = {lang: v.recognize or v.language for lang, v in menu.voices.items()}
    return TwimlRenderer(voices, played, recognizers)


def played_pieces(items: list[Played | Spoken], public_url: str) -> list[tuple[str, str, str]]:
    """A prompt's pieces as the renderer plays them: the 8 kHz URL of each rendered piece, the words of each spoken one."""
    out: list[tuple[str, str, str]] = []
    for n, item in enumerate(items, start=1):
        if isinstance(item, Played):
            # Pieces after the first carry their place, so a listener (the QA stand-in) knows one prompt goes on.
            part = f"?part={n}" if n > 1 else ""
            out.append(("play", f"{public_url}{PREFIX}/audio/{item.entry.telephone}{part}", ""))
        else:
            out.append(("say", item.lang, item.text))
    return out


class VoiceService:
    """Runs calls for the webhook views."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
        self.store = hotline.store
        self.settings = hotline.settings
        self.menus = hotline.menus
        self._renderers: dict[tuple[str, frozenset[str]], TwimlRenderer] = {}

    @property
    def engine(self) -> Engine:
        """The engine new calls get: the newest good menu version."""
        return self.hotline.engine

    def now(self, request: VoiceRequest) -> datetime:
        """The call's clock: the carrier's time, or in test mode the time the signed request sets."""
        if self.settings.test_clock:
            at = request.test_time()
            if at is not None:
                return at
            if request.test_clock:
                log.warning("ignoring a malformed test clock %r", request.test_clock[:40])
        return self.hotline.clock()

    def _played_languages(self, engine: Engine) -> set[str]:
        """The languages played from audio for a call starting now (Twilio fetches <Play> from the public URL)."""
        sources = self.hotline.voice_sources(engine.menu) if self.settings.public_url else {}
        return {lang for lang, source in sources.items() if source.source == "audio"}

    def _renderer(self, engine: Engine, played: set[str]) -> TwimlRenderer:
        """The renderer for a menu version and the languages played from audio, built once for each pair."""
        key = (engine.menu.version, frozenset(played))
        renderer = self._renderers.get(key)
        if renderer is None:
            chosen = set(played)  # the renderer's own copy: the caller's set may change
            renderer = renderer_for(engine.menu, (lambda say: self._played(say, chosen)) if chosen else None)
            if len(self._renderers) >= RENDERERS_KEPT:  # menu versions pile up over a long-running process's life
                self._renderers.clear()
            self._renderers[key] = renderer
        return renderer

    def _played(self, say: Say, played: set[str]) -> list[tuple[str, str, str]] | None:
        """A prompt as Twilio should hear it: the 8 kHz URLs of its rendered pieces, and words to speak."""
        if not ({say.lang} | {lang for lang, _ in say.parts}) & played:
            return None
        items = self.hotline.assemble(say, played)
        if items is None:
            log.warning("prompt %s (%s) has a piece that is not rendered; it is spoken this once", say.prompt, say.lang)
            return None
        return played_pieces(items, self.settings.public_url)

    def start(self, request: VoiceRequest) -> str:
        """A call arrives: greet, and store the call at step 1 (a repeated request gets the same answer)."""
        existing = self.store.calls.load(request.call_sid)
        if existing is not None:
            first = self.store.calls.answer(request.call_sid, 1)  # a replayed first request learns nothing said since
            return first if first is not None else existing.last_response
        now = self.now(request)
        engine = self.engine
        lang = (request.test_lang or None) if self.settings.test_clock else None
        step = engine.start(request.call_sid, request.caller, now, lang)
        note(step=step)
        played = self._played_languages(engine)
        # Decided once per call: a rebuild or a missing file later never switches a language's voice mid-call.
        step.snapshot.values[PLAYED] = ",".join(sorted(played))
        response = self._renderer(engine, played).render(step.actions, StepUrls.for_step(PREFIX, 1))
        lines = step_lines(step, engine.menu)
        try:
            record = self.store.calls.begin(
                request.call_sid,
                request.caller,
                request.called,
                step.snapshot,
                response,
                now,
                self._kept(lines),
                outcome_after(None, lines),
            )
            if record.seq == 1 and record.last_response == response:  # this request stored it (not a retry)
                metrics.call_started()
                metrics.step_lines(lines)
            return record.last_response
        except ServiceError as exc:
            # The caller still hears the greeting; the next step finds no record and takes the fallback.
            log.error("call %s: could not store the call (%s)", request.call_sid, exc)
            return response

    def step(self, request: VoiceRequest, event: Event) -> str:
        """Take an event reported by an action URL of step `request.seq`."""
        call_sid = request.call_sid
        record = self.store.calls.load(call_sid)
        if record is None:
            log.warning("call %s: event for an unknown call; answering with the fallback", call_sid)
            return self.fallback()
        if request.seq != record.seq:
            # A repeated or stale request changes nothing: it gets the answer that step got (a replay of an
            # old step must not learn what the call was told since), else the call's last answer.
            log.info("call %s: request for step %s while at step %s; repeating its answer", call_sid, request.seq, record.seq)
            if request.seq is not None and request.seq > record.seq:
                # The record lags: the step before this one was answered but its write was lost. Repeating an
                # older answer would send the caller back; apologise and take a message instead.
                log.warning("call %s: step %s is ahead of the stored step %s; taking the fallback", call_sid, request.seq, record.seq)
                return self.fallback()
            earlier = self.store.calls.answer(call_sid, request.seq + 1) if request.seq is not None else None
            return earlier if earlier is not None else record.last_response
        engine = self.menus.for_version(record.snapshot.menu_version)  # a call keeps the version it started on
        now = self.now(request)
        step = engine.handle(record.snapshot, event, now)
        note(step=step)
        node = record.snapshot.node
        dial_result = isinstance(event, TransferResult)
        lines = [entry_line(node, event, queue_at(engine.menu, node)), *step_lines(step, engine.menu, dial_result)]
        stored = record.snapshot.values.get(PLAYED)
        played = set(filter(None, stored.split(","))) if stored is not None else self._played_languages(engine)
        response = self._renderer(engine, played).render(step.actions, StepUrls.for_step(PREFIX, record.seq + 1))
        try:
            outcome = outcome_after(record.outcome, lines)
            if not self.store.calls.advance(call_sid, record.seq, step.snapshot, response, self._kept(lines), now, outcome):
                # Another delivery of this request took the step first: answer what it answered.
                taken = self.store.calls.answer(call_sid, record.seq + 1)
                return taken if taken is not None else response
            metrics.step_lines(lines)
        except ServiceError as exc:
            # What the engine did is done (a ticket is stored or spooled): say it, even if the record lags.
            log.error("call %s: could not store step %s (%s)", call_sid, record.seq + 1, exc)
        return response

    def _kept(self, lines: list[Line]) -> list[Line]:
        """The lines of a step to store: all of them, or none with IVR_CALL_HISTORY=0 (the outcome is kept either way)."""
        return lines if self.settings.call_history else []

    def finish(self, request: VoiceRequest) -> bool:
        """The carrier says the call is over: a call the menu had not ended was left by the caller where it stood."""
        try:
            record = self.store.calls.load(request.call_sid)
            now = self.now(request)
            if record is None or record.outcome is not None or record.snapshot.ended:
                closed = self.store.calls.close(request.call_sid, request.call_status, request.call_duration, now)
                outcome = record.outcome if record is not None else None
            else:
                hangup = entry_line(record.snapshot.node, CallerHangup())
                closed = self.store.calls.close(
                    request.call_sid, request.call_status, request.call_duration, now, "abandoned", self._kept([hangup]), record.seq + 1
                )
                outcome = "abandoned"
            if closed:  # the first final status of a known call: a repeated callback is not a second end
                metrics.call_ended(outcome)
            return closed
        except ServiceError as exc:
            # Only the record's end time is lost; the caller has hung up already and heard everything.
            log.error("call %s: could not record its end (%s)", request.call_sid, exc)
            return False

    # ---- when the normal path is not available ---------------------------------
    def fallback(self) -> str:
        """Apologise in every language and offer to take a message, which becomes a ticket."""
        engine = self.menus.in_service()  # no reload check: this path must not wait on the database
        return self._renderer(engine, self._played_languages(engine)).render(engine.fallback(), StepUrls.fallback(PREFIX))

    def fallback_ticket(self, request: VoiceRequest) -> str:
        """Turn the fallback message into a ticket and read its number back."""
        engine = self.menus.in_service()  # no reload check: this path must not wait on the database
        url = "" if request.empty else request.recording_url
        actions = engine.fallback_ticket(request.call_sid, request.caller, url, self.now(request))
        return self._renderer(engine, self._played_languages(engine)).render(actions, StepUrls.fallback(PREFIX))

    def last_resort(self) -> str:
        """When even the store fails: apologise and hand the caller to the fallback queue, else hang up."""
        engine = self.menus.in_service()  # no reload check: this path must not wait on the database
        return self._renderer(engine, self._played_languages(engine)).render(engine.last_resort(), StepUrls.fallback(PREFIX))
