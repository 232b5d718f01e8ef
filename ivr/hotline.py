"""The composition root: menu + store + named actions → a ready `Engine`."""

from __future__ import annotations

from ivr.actions import build_actions
from ivr.config import Settings
from ivr.engine.engine import Engine
from ivr.engine.services import TicketSink
from ivr.ir import InputNode, Menu
from ivr.loading.menu_loader import load_menu
from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore


def engine_for(menu: Menu, tickets: TicketSink, settings: Settings) -> Engine:
    """An engine for `menu` with the actions it names and the given ticket sink."""
    names = {n.action for n in menu.nodes.values() if isinstance(n, InputNode)}
    return Engine(menu, tickets=tickets, actions=build_actions(names, menu.data), hours_override=settings.hours_override)


def open_hotline(settings: Settings) -> tuple[Engine, TicketStore]:
    """Load the configured menu and open the ticket store (spooling tickets while it is unreachable)."""
    menu = load_menu(settings.menu_path)
    store = TicketStore(settings.store_url())
    return engine_for(menu, SpoolingTicketSink(store, settings.spool_dir), settings), store
