"""Run flows in process or against a live server; collect results and menu coverage."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from ivr.config import Settings
from ivr.engine.coverage import Coverage, Edge
from ivr.engine.engine import Engine
from ivr.errors import DefinitionError, IvrError
from ivr.hotline import Hotline, open_hotline
from ivr.qa.execute import FlowFailure, FlowRun
from ivr.qa.flow import Flow, load_flow
from ivr.simulator import CallerEntry, SimulatedCall
from ivr.testing.phone import ACCOUNT_SID, HttpTransport, PhoneCall, TwilioError
from ivr.testmode import CLOCK_FIELD, LANG_FIELD


@dataclass
class FlowResult:
    """How one flow went."""

    path: str
    name: str
    status: str  # passed, failed, skipped, error
    seconds: float
    message: str = ""
    menu: str = ""  # the menu file the flow ran on, for coverage
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    call_sid: str = ""  # the call it placed on a live server: `ivr calls show` replays it from that server's store
    lines: list[dict[str, Any]] = field(default_factory=list)  # the transcript as the flow heard it


def find_flow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Flow files named directly or found (*.yaml, *.yml) under the folders given, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            found.append(path)
    return found


class _Driver(Protocol):
    """A call that asks for entries and messages: the console simulator or the Twilio stand-in."""

    ask_voicemail: Callable[[], str] | None

    def run(self, entries: Iterable[CallerEntry]) -> list[dict[str, Any]]: ...


def _play(run: FlowRun, driver: _Driver) -> tuple[str, str]:
    """Drive a call with a flow's steps; (status, failure report)."""
    driver.ask_voicemail = run.next_voicemail
    try:
        driver.run(iter(run.next_entry, None))
        run.finish()
    except FlowFailure as failure:
        return "failed", failure.report()
    except TwilioError as exc:
        return "failed", f"  {exc}"
    return "passed", ""


def qa_hotline(default_menu: Path, settings: Settings | None = None) -> Hotline:
    """The hotline flows run on in process: as a server would build it (queue addresses and the hours switch from
    the environment), with tickets in an in-memory database."""
    base = settings or Settings.from_env()
    return open_hotline(base.with_options(menu_path=str(default_menu), database_url="sqlite://"), reload=False, spool=False)


class InProcessTarget:
    """Runs flows on the engine in this process; tickets go to an in-memory SQLite database."""

    def __init__(self, default_menu: Path, settings: Settings | None = None) -> None:
        self.default_menu = default_menu.resolve()
        self.settings = settings
        self.hotline: Hotline | None = None  # built with the first flow's menu (flows may all name their own)
        self.engines: dict[Path, Engine] = {}

    def engine(self, menu: Path) -> Engine:
        """The engine for a menu file (loaded once)."""
        if self.hotline is None:
            self.hotline = qa_hotline(menu, self.settings)
            self.engines[menu] = self.hotline.engine
        if menu not in self.engines:
            self.engines[menu] = self.hotline.engine_for_file(menu)
        return self.engines[menu]

    def run(self, flow: Flow) -> FlowResult:
        """Run one flow."""
        menu = flow.menu or self.default_menu
        started = time.perf_counter()
        engine = self.engine(menu)
        if flow.lang is not None and flow.lang not in engine.menu.languages:
            message = f"  {flow.path}: lang {flow.lang!r} is not one of the menu's languages ({', '.join(engine.menu.languages)})"
            return FlowResult(str(flow.path), flow.name, "error", 0.0, message, str(menu))
        call = SimulatedCall(
            engine,
            at=flow.at or datetime.now(UTC),
            caller=flow.caller,
            lang=flow.lang,
            transfer_result=flow.transfer_result,
            on_end=self.hotline.keep_story("qa") if self.hotline is not None else None,  # kept for the run, as a server keeps its calls
        )
        status, message = _play(FlowRun(flow, call.lines), call)
        edges = [(e.source, e.trigger, e.dest) for e in call.transitions]
        seconds = time.perf_counter() - started
        # No call sid to give: the in-process store lives only as long as the run.
        return FlowResult(str(flow.path), flow.name, status, seconds, message, str(menu), edges, "", call.lines)


class HttpTarget:
    """Runs flows against a live `ivr serve`, signing requests with the Twilio auth token."""

    def __init__(self, base_url: str, auth_token: str, public_url: str = "", account_sid: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.public_url = (public_url or base_url).rstrip("/")
        self.auth_token = auth_token
        self.account_sid = account_sid or ACCOUNT_SID  # a server with TWILIO_ACCOUNT_SID wants its own on every request
        self.health = self._health()
        self.test_clock = bool(self.health.get("test_clock"))

    def _health(self) -> dict[str, object]:
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=10) as response:
                data: dict[str, object] = json.loads(response.read())
                return data
        except (OSError, ValueError) as exc:
            raise IvrError(f"cannot reach {self.base_url}/healthz: {exc}") from exc

    def run(self, flow: Flow, default_menu: Path) -> FlowResult:
        """Run one flow over HTTP."""
        menu = str(flow.menu or default_menu)
        if flow.needs_test_mode and not self.test_clock:
            reason = "the flow sets the call's time or language, but the server does not accept them (start it with IVR_TEST_CLOCK=1)"
            return FlowResult(str(flow.path), flow.name, "skipped", 0.0, reason, menu)
        started = time.perf_counter()
        phone = PhoneCall(
            HttpTransport(self.base_url),
            self.public_url,
            self.auth_token,
            caller=flow.caller,
            account_sid=self.account_sid,
            transfer_result=flow.transfer_result,
            extra={CLOCK_FIELD: flow.at.isoformat()} if flow.at else {},
            first={LANG_FIELD: flow.lang} if flow.lang else {},
        )
        status, message = _play(FlowRun(flow, phone.lines, nodes_known=self.test_clock), phone)
        seconds = time.perf_counter() - started
        return FlowResult(str(flow.path), flow.name, status, seconds, message, menu, list(phone.edges), phone.call_sid, phone.lines)


@dataclass(frozen=True)
class RunOptions:
    """Where flows run: `menu_override` (--menu) runs every flow on that menu, e.g. a candidate edit."""

    default_menu: Path
    url: str = ""
    auth_token: str = ""
    public_url: str = ""
    account_sid: str = ""  # TWILIO_ACCOUNT_SID, sent as AccountSid to a live server
    menu_override: Path | None = None


@cache
def _target(options: RunOptions) -> InProcessTarget | HttpTarget:
    """One target per process and options: workers keep their loaded engines between flows."""
    if options.url:
        return HttpTarget(options.url, options.auth_token, options.public_url, options.account_sid)
    return InProcessTarget(options.default_menu)


def run_one(path: Path, options: RunOptions) -> FlowResult:
    """Load and run one flow file; a broken file is an error result, not an exception."""
    started = time.perf_counter()
    try:
        flow = load_flow(path)
        if options.menu_override is not None:
            flow = replace(flow, menu=options.menu_override.resolve())
    except DefinitionError as exc:
        return FlowResult(str(path), path.stem, "error", time.perf_counter() - started, "\n".join(f"  {p}" for p in exc.problems))
    target = _target(options)
    try:
        if isinstance(target, HttpTarget):
            return target.run(flow, options.default_menu)
        return target.run(flow)
    except DefinitionError as exc:  # the flow's menu is broken
        return FlowResult(str(path), flow.name, "error", time.perf_counter() - started, "\n".join(f"  {p}" for p in exc.problems))


def _reset_target() -> None:
    _target.cache_clear()


def run_flows(paths: Sequence[Path], options: RunOptions, workers: int = 1) -> list[FlowResult]:
    """Run flow files, in `workers` processes when more than one; results keep the files' order."""
    if workers <= 1 or len(paths) <= 1:
        _reset_target()
        return [run_one(path, options) for path in paths]
    chunk = max(1, len(paths) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers, initializer=_reset_target) as pool:
        return list(pool.map(run_one, paths, [options] * len(paths), chunksize=chunk))


def coverage_of_results(results: Iterable[FlowResult]) -> dict[str, Coverage]:
    """Transitions taken, per menu file."""
    taken: dict[str, Coverage] = {}
    for result in results:
        if not result.menu:
            continue
        coverage = taken.setdefault(result.menu, Coverage())
        for edge in result.edges:
            coverage.record(Edge(*edge))
    return taken
