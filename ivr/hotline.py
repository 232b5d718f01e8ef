"""The composition root: settings → store, ticket sink, named actions, menu library and clock, wired once.

The CLI, the web app factory, the QA runner and flow generation all build the hotline here, so a call
runs on the same parts whichever way it comes in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ivr.actions import build_actions
from ivr.audio.index import AudioIndex
from ivr.audio.plan import Played, Spoken, VoiceSource, assemble, voice_sources
from ivr.config import Settings
from ivr.delivery.channels import transports_from
from ivr.delivery.parcels import ParcelMaker
from ivr.delivery.sender import Sender
from ivr.engine.actions import Say
from ivr.engine.engine import Engine, Step
from ivr.engine.services import TicketSink
from ivr.engine.story import OUTCOMES, TRANSFER_ENDS, Line, entry_line, outcome_after, queue_at, step_lines
from ivr.errors import ConfigError, ServiceError
from ivr.hours import YEARS
from ivr.ir import Menu
from ivr.library import MenuLibrary
from ivr.loading.menu_loader import load_menu
from ivr.simulator import SimulatedCall
from ivr.store import Store
from ivr.store.drainer import Drainer
from ivr.store.guard import end_budget, start_budget
from ivr.store.retention import Purger
from ivr.store.spool import SpoolingTicketSink
from ivr.testmode import CLOCK_FIELD, LANG_FIELD, TRACE_HEADER

__all__ = [
    # what adapters (the web app, the console, QA) need of the domain, through this one module
    "CLOCK_FIELD",
    "LANG_FIELD",
    "OUTCOMES",
    "TRACE_HEADER",
    "TRANSFER_ENDS",
    "YEARS",
    "Clock",
    "ConfigError",
    "Engine",
    "Hotline",
    "Line",
    "Played",
    "ServiceError",
    "Settings",
    "Spoken",
    "Step",
    "VoiceSource",
    "data_texts",
    "end_budget",
    "engine_for",
    "entry_line",
    "open_hotline",
    "outcome_after",
    "queue_at",
    "queue_directory",
    "start_budget",
    "step_lines",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def data_texts(menu: Menu) -> dict[str, str]:
    """The text of each named data file of a menu version, as it was loaded."""
    return {
        name: menu.sources[path] if path in menu.sources else Path(path).read_text(encoding="utf-8") for name, path in menu.data.items()
    }


def queue_directory(menu: Menu, settings: Settings) -> Callable[[str], str]:
    """Where each queue is dialled: IVR_QUEUE_<NAME> (even empty), else the menu's address."""

    def address_of(queue: str) -> str:
        known = menu.queues.get(queue)
        return settings.queue_address(queue, known.address if known else "")

    return address_of


def engine_for(menu: Menu, tickets: TicketSink | None, settings: Settings) -> Engine:
    """An engine for `menu` with the actions it names, its queue directory and the given ticket sink."""
    names = {name for node in menu.nodes.values() for name in node.actions()}
    return Engine(
        menu,
        tickets=tickets,
        actions=build_actions(names, data_texts(menu)),
        hours_override=settings.hours_override,
        queues=queue_directory(menu, settings),
        texts=settings.sms_enabled,
    )


@dataclass
class Hotline:
    """The running hotline: its store, where tickets go, the menu versions it serves and its clock."""

    settings: Settings
    store: Store
    tickets: TicketSink
    menus: MenuLibrary
    clock: Clock
    audio: AudioIndex  # rendered prompts, for adapters that play them
    drainer: Drainer | None = None
    purger: Purger | None = None
    sender: Sender | None = None
    on_delivery: Callable[[str, str], None] | None = None  # told of each delivery attempt's end (channel, result): metrics
    _sources: dict[tuple[str, int | None], dict[str, VoiceSource]] = field(default_factory=dict, repr=False)

    @property
    def engine(self) -> Engine:
        """The engine new calls get (the newest good menu version)."""
        return self.menus.current()

    def engine_for_file(self, path: str | Path) -> Engine:
        """An engine for another menu file on the same store (QA runs each flow on its own menu)."""
        return engine_for(load_menu(path), self.tickets, self.settings)

    def voice_sources(self, menu: Menu) -> dict[str, VoiceSource]:
        """Where each language's prompts come from (computed once per menu version and audio build)."""
        key = (menu.version, self.audio.generation)
        cached = self._sources.get(key)
        if cached is None:
            if len(self._sources) >= 16:  # menu versions and audio builds come and go over a process's life
                self._sources.clear()
            cached = self._sources[key] = voice_sources(menu, self.audio)
        return cached

    def assemble(self, say: Say, played: set[str]) -> list[Played | Spoken] | None:
        """A prompt as rendered pieces to play (languages in `played`) and words to speak."""
        return assemble(say, self.audio, played)

    @property
    def spool(self) -> SpoolingTicketSink | None:
        """The local spool tickets go through (None when they go straight to the database)."""
        return self.tickets if isinstance(self.tickets, SpoolingTicketSink) else None

    def start_background(self) -> None:
        """Start background work once per process: the spool drainer and the daily purge of old call history."""
        # IVR_DRAIN_INTERVAL=0 leaves draining to operators; IVR_RETENTION_DAYS says what is old.
        if self.drainer is None and self.spool is not None and self.settings.drain_interval > 0:
            # A file younger than a request's budget may still be stored by the request that wrote it.
            self.drainer = Drainer(self.spool, self.settings.drain_interval, settle=self.settings.request_budget + 1.0)
        if self.drainer is not None:
            self.drainer.start()
        if self.purger is None:
            self.purger = Purger(self.store.history, self.settings.retention_days)
        self.purger.start()
        if self.sender is None:
            self.sender = self.ticket_sender()
        self.sender.start()

    def ticket_sender(self) -> Sender:
        """The sender of this host's ticket deliveries (IVR_DELIVERY_INTERVAL=0, or no channel configured: it never starts)."""
        s = self.settings
        spool = self.spool
        sender = Sender(
            self.store.outbox,
            transports_from(s),
            ParcelMaker(self.store.tickets, self.store.history, lambda: self.engine.menu),
            attempts=s.delivery_attempts,
            base=s.delivery_backoff,
            interval=s.delivery_interval,
            timeout=s.delivery_timeout,
            lock=spool.folder / ".sender.lock" if spool is not None else None,
        )
        sender.on_attempt = self.on_delivery
        return sender

    def keep_story(self, channel: str) -> Callable[[SimulatedCall], None]:
        """What a simulated call (`channel` console or qa) does when it ends: its record and story go to the store."""

        def keep(call: SimulatedCall) -> None:
            assert call.snapshot is not None
            try:
                self.store.history.record(
                    call_sid=call.call_id,
                    caller=call.caller,
                    called="",
                    channel=channel,
                    snapshot=call.snapshot,
                    started_at=call.at,
                    ended_at=call.ended_at,
                    steps=call.story if self.settings.call_history else [],
                    outcome=call.outcome,
                )
            except ServiceError as exc:  # the call itself is over and was heard whole: only its history is lost
                log.warning("call %s: its history could not be stored (%s)", call.call_id, exc)

        return keep

    def close(self) -> None:
        """Stop background work and release the database connections."""
        if self.drainer is not None:
            self.drainer.stop()
        if self.purger is not None:
            self.purger.stop()
        if self.sender is not None:
            self.sender.stop()
        self.store.close()


def open_hotline(
    settings: Settings, *, clock: Clock | None = None, reload: bool = True, spool: bool = True, tolerate_outage: bool = False
) -> Hotline:
    """Load the configured menu and open the store, tickets spooling locally while the database is unreachable.

    `reload=False` serves the menu as loaded (a console call, a QA run); `spool=False` writes tickets
    straight to the database (an in-memory one for QA); `tolerate_outage` opens even while the database
    cannot be reached (a server: calls are answered from the spool until it is back).
    """
    store = Store(settings.store_url(), statement_timeout=settings.db_timeout, tolerate_outage=tolerate_outage)
    store.tickets.channels = settings.delivery_channels  # every new ticket records its hand-off with it
    tickets: TicketSink = SpoolingTicketSink(store.tickets, settings.spool_dir, settings.number_reserve) if spool else store.tickets
    menus = MenuLibrary(
        settings.menu_path,
        lambda menu: engine_for(menu, tickets, settings),
        settings.reload_interval if reload else 0,
        store.menus if reload else None,
    )
    unknown = sorted(set(settings.queue_addresses) - {name.lower() for name in menus.current().menu.queues})
    if unknown:  # a misspelt variable would leave its queue on the menu's address without a word
        names = ", ".join(f"IVR_QUEUE_{name.upper()}" for name in unknown)
        log.warning("%s name no queue of the menu (queues: %s)", names, ", ".join(menus.current().menu.queues))
    return Hotline(settings, store, tickets, menus, clock or (lambda: datetime.now(UTC)), AudioIndex(settings.audio_dir))
