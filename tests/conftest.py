"""Shared fixtures: the shipped menu, a real SQLite ticket store per test, and a caller that dials in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import Settings
from ivr.engine.engine import Engine
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.loading.menu_loader import load_menu
from ivr.loading.scope_loader import read_scope
from ivr.scope import Scope
from ivr.simulator import Line, SimulatedCall
from ivr.store.tickets import TicketStore, sqlite_url
from tests.databases import postgres_schema

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MENU = ROOT / "menus" / "volcengine.yaml"
BEIJING = ZoneInfo("Asia/Shanghai")
IN_HOURS = datetime(2026, 11, 30, 10, 0, tzinfo=BEIJING)
AFTER_HOURS = datetime(2026, 11, 30, 22, 30, tzinfo=BEIJING)


@pytest.fixture(scope="session")
def menu() -> Menu:
    """The shipped hotline menu, loaded once."""
    return load_menu(SHIPPED_MENU)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, and a private PostgreSQL schema when a server is reachable."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "hotline.sqlite3")
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TicketStore]:
    """A ticket store in a fresh SQLite file."""
    ticket_store = TicketStore(sqlite_url(tmp_path / "tickets.sqlite3"))
    yield ticket_store
    ticket_store.close()


@pytest.fixture
def engine(menu: Menu, store: TicketStore) -> Engine:
    """An engine on the shipped menu writing tickets to the test store."""
    return engine_for(menu, store, Settings())


@dataclass
class Caller:
    """Places simulated calls and answers questions about them."""

    engine: Engine

    def dial(self, keys: str = "", *, at: datetime = IN_HOURS, **options: object) -> Call:
        """Call at `at` and make the space-separated entries ('-' = silence); hang up when they run out."""
        call = SimulatedCall(self.engine, at=at, **options)
        call.run(["" if k == "-" else k for k in keys.split()])
        return Call(call)


@dataclass
class Call:
    """A finished call's transcript with small helpers for assertions."""

    sim: SimulatedCall

    @property
    def lines(self) -> list[Line]:
        """Every transcript line."""
        return self.sim.lines

    def of(self, kind: str) -> list[Line]:
        """Lines of one type."""
        return [line for line in self.lines if line["type"] == kind]

    @property
    def said(self) -> str:
        """Everything spoken, joined."""
        return "\n".join(line["text"] for line in self.of("say"))

    @property
    def nodes(self) -> list[str]:
        """The nodes that spoke or waited, in order, without repeats in a row."""
        out: list[str] = []
        for line in self.lines:
            if line["type"] in ("say", "gather", "transfer", "record") and (not out or out[-1] != line["node"]):
                out.append(line["node"])
        return out

    @property
    def end(self) -> Line:
        """The last line, always a hangup."""
        return self.lines[-1]

    @property
    def transfer(self) -> str | None:
        """The queue the call was transferred to, if any."""
        transfers = self.of("transfer")
        return transfers[-1]["queue"] if transfers else None

    @property
    def ticket(self) -> Line | None:
        """The ticket line, if a ticket was created."""
        tickets = self.of("ticket")
        return tickets[-1] if tickets else None


@pytest.fixture
def caller(engine: Engine) -> Caller:
    """A caller on the shipped menu."""
    return Caller(engine)


@pytest.fixture(scope="session")
def scope() -> Scope:
    """The shipped scope data."""
    return read_scope(ROOT / "scope")
