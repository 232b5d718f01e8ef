"""Prometheus metrics: `GET /metrics` behind a bearer token, counted across every gunicorn worker.

Only served when IVR_METRICS_TOKEN is set: without it there is no route (404) and every function here
is a no-op. Under `ivr serve` the client library runs in multiprocess mode: each worker writes its
counts to files in PROMETHEUS_MULTIPROC_DIR and a scrape, whichever worker answers it, adds them all
up. The client library is imported only once metrics are on, because it chooses that mode when it is
first imported: the master sets the folder (`prepare_multiprocess`) before anything imports it.

Counted as it happens (the call functions are called by the voice service, the ticket hook by the spool):
`ivr_calls_started_total`, `ivr_calls_ended_total{outcome}`, `ivr_step_duration_seconds{endpoint}`,
`ivr_transfers_total{queue,result}`, `ivr_tickets_total{category,path}`, `ivr_menu_reload_errors_total`,
`ivr_ticket_deliveries_total{channel,result}` (each attempt of the sender: delivered, retry, failed).
Read at scrape time by the worker that answers: `ivr_spool_depth`, `ivr_spool_set_aside`,
`ivr_menu_info{menu,version,source}`, `ivr_menu_reload_error`, `ivr_ticket_outbox{status}`.
"""

from __future__ import annotations

import atexit
import hmac
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request

from ivr.hotline import OUTCOMES, TRANSFER_ENDS, ServiceError, Settings

__all__ = [
    "MULTIPROC_ENV",
    "call_ended",
    "call_started",
    "child_exit",
    "enabled",
    "install",
    "prepare_multiprocess",
    "step_lines",
    "ticket_stored",
]

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Webhook answers: most within tens of milliseconds, the database budget a few seconds, Twilio gives up at 15 s.
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
PATHS = ("database", "spool")  # where a new ticket went first: stored at once, or spooled for the drainer
_STARTED = "ivr_metrics_started"  # the key of a request's start time in flask.g


class _Metrics:
    """The counters of this process (files shared with the other workers in multiprocess mode)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram, values

        # Created unregistered: a scrape gathers them into a registry of its own (or reads every worker's files).
        self.multiprocess = bool(getattr(values.ValueClass, "_multiprocess", False))
        self.calls_started = Counter("ivr_calls_started", "Calls stored on their first webhook", registry=None)
        self.calls_ended = Counter("ivr_calls_ended", "Calls the carrier reported over, by outcome", ["outcome"], registry=None)
        self.step_seconds = Histogram(
            "ivr_step_duration_seconds", "Time to answer a webhook under /voice", ["endpoint"], buckets=STEP_BUCKETS, registry=None
        )
        self.transfers = Counter("ivr_transfers", "Transfer attempts ended, by queue and result", ["queue", "result"], registry=None)
        self.tickets = Counter("ivr_tickets", "New tickets, by category and where they went first", ["category", "path"], registry=None)
        self.reload_errors = Counter(
            "ivr_menu_reload_errors", "Menu edits refused (each worker counts the refusals it made)", registry=None
        )
        self.deliveries = Counter(
            "ivr_ticket_deliveries", "Ticket delivery attempts ended, by channel and result", ["channel", "result"], registry=None
        )
        self.counted = (
            self.calls_started,
            self.calls_ended,
            self.step_seconds,
            self.transfers,
            self.tickets,
            self.reload_errors,
            self.deliveries,
        )
        self.last_refusal: str | None = None  # the refusal message last counted, by identity: each refusal is a new string
        self.refusal_lock = threading.Lock()


class _State:
    """This process's metrics, once an app with a metrics token was built (None: every function is a no-op)."""

    metrics: _Metrics | None = None


_state = _State()


def enabled() -> bool:
    """Whether metrics are on in this process."""
    return _state.metrics is not None


def call_started() -> None:
    """A new call was stored."""
    m = _state.metrics
    if m is None:
        return
    try:
        m.calls_started.inc()
    except Exception:  # a metric must never cost a caller their step
        log.exception("metrics: counting a started call failed")


def call_ended(outcome: str | None) -> None:
    """The carrier reported the call over, with its outcome (one of ivr.engine.story.OUTCOMES)."""
    m = _state.metrics
    if m is None:
        return
    try:
        m.calls_ended.labels(outcome if outcome in OUTCOMES else "unknown").inc()
    except Exception:
        log.exception("metrics: counting an ended call failed")


def step_lines(lines: Iterable[Mapping[str, Any]]) -> None:
    """The story lines of one step: transfers that ended count by queue and result."""
    m = _state.metrics
    if m is None:
        return
    try:
        for line in lines:
            if line.get("type") == "move" and line.get("trigger") in TRANSFER_ENDS:
                m.transfers.labels(str(line.get("queue") or "unknown"), str(line["trigger"])).inc()
    except Exception:
        log.exception("metrics: counting a step's lines failed")


def ticket_stored(category: str, path: str) -> None:
    """A new ticket: stored in the database at once (`database`) or spooled for later (`spool`)."""
    m = _state.metrics
    if m is None:
        return
    try:
        m.tickets.labels(category or "unknown", path if path in PATHS else "unknown").inc()
    except Exception:
        log.exception("metrics: counting a ticket failed")


def delivery_attempted(channel: str, result: str) -> None:
    """A delivery attempt ended: `delivered`, `retry` (it will be tried again) or `failed` (dead-lettered)."""
    m = _state.metrics
    if m is None:
        return
    try:
        m.deliveries.labels(channel, result).inc()
    except Exception:
        log.exception("metrics: counting a delivery failed")


def install(app: Flask) -> None:
    """Serve /metrics and time the webhooks when the app's settings have a metrics token; do nothing otherwise."""
    settings: Settings = app.config["IVR_SETTINGS"]
    if not settings.metrics_token:
        return  # never open by default: no token, no route
    if _state.metrics is None:
        _state.metrics = _Metrics()
    hotline = app.extensions["ivr.voice"].hotline
    hotline.on_delivery = delivery_attempted
    spool = hotline.spool
    if spool is not None:
        spool.on_ticket = ticket_stored
    app.before_request(_start_timer)
    app.teardown_request(_observe)
    app.add_url_rule("/metrics", "metrics", scrape, methods=["GET"])


def _timed() -> bool:
    """Whether this request is a webhook step (under /voice, not a <Play> audio fetch)."""
    path = request.path
    return (path == "/voice" or path.startswith("/voice/")) and request.endpoint != "voice.audio"


def _start_timer() -> None:
    if _timed():
        g.setdefault(_STARTED, time.perf_counter())


def _observe(_exc: BaseException | None) -> None:
    started = g.pop(_STARTED, None)
    m = _state.metrics
    if m is None:
        return
    try:
        if started is not None:
            endpoint = (request.endpoint or "none").removeprefix("voice.")
            m.step_seconds.labels(endpoint).observe(time.perf_counter() - started)
        _note_refusal(m)
    except Exception:
        log.exception("metrics: timing a request failed")


def _note_refusal(m: _Metrics) -> None:
    """Count a menu edit this worker refused since the last look (cheap: one attribute read)."""
    voice = current_app.extensions.get("ivr.voice")
    error = voice.hotline.menus.error if voice is not None else None
    if error is not None and error is not m.last_refusal:
        with m.refusal_lock:  # two requests ending together must count one refusal once
            if error is m.last_refusal:
                return
            m.last_refusal = error
        m.reload_errors.inc()


def _authorised(token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def scrape() -> Response:
    """The metrics in Prometheus' text format, for a bearer of the metrics token."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.multiprocess import MultiProcessCollector

    settings: Settings = current_app.config["IVR_SETTINGS"]
    if not _authorised(settings.metrics_token):
        challenge = 'Bearer realm="metrics"' + (', error="invalid_token"' if "Authorization" in request.headers else "")
        return Response("unauthorised\n", status=401, mimetype="text/plain", headers={"WWW-Authenticate": challenge})
    m = _state.metrics
    assert m is not None  # the route exists only once metrics are on
    voice = current_app.extensions["ivr.voice"]
    voice.menus.current()  # like /healthz: pick up an edited menu, so the version shown is the one in service
    _note_refusal(m)
    registry = CollectorRegistry(auto_describe=True)
    if m.multiprocess:
        MultiProcessCollector(registry)  # every worker's files, the dead ones' counts included
    else:
        for metric in m.counted:
            registry.register(metric)
    registry.register(_Now(voice.hotline))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # the text format, or OpenMetrics when asked for
    return Response(encode(registry), status=200, content_type=content_type, headers={"Cache-Control": "no-store"})


class _Now:
    """What is read at scrape time: the spool's depth and the menu in service (the same for every worker)."""

    def __init__(self, hotline: Any) -> None:
        self.hotline = hotline

    def collect(self) -> Iterator[Any]:
        """The gauges, as they are now."""
        from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

        spool = self.hotline.spool
        if spool is not None:
            yield GaugeMetricFamily("ivr_spool_depth", "Tickets waiting in the spool for the database", value=spool.depth())
            yield GaugeMetricFamily("ivr_spool_set_aside", "Spooled tickets set aside for a person (*.bad)", value=spool.set_aside())
        outbox = GaugeMetricFamily("ivr_ticket_outbox", "Ticket deliveries by state (failed: dead-lettered)", labels=["status"])
        try:
            for state, count in self.hotline.store.outbox.counts().items():
                outbox.add_metric([state], float(count))
            yield outbox
        except ServiceError:
            pass  # the database is away: the gauge is left out rather than reported as zero
        status = self.hotline.menus.status()
        menu = InfoMetricFamily("ivr_menu", "The menu version new calls get")
        menu.add_metric([], {"menu": str(status["id"]), "version": str(status["version"]), "source": str(status["source"])})
        yield menu
        refused = GaugeMetricFamily("ivr_menu_reload_error", "1 while the last menu edit is refused and the last good version serves")
        refused.add_metric([], 1.0 if status.get("reload_error") else 0.0)
        yield refused


def prepare_multiprocess(settings: Settings) -> None:
    """In the master, before anything imports the client library: the folder every worker writes its counts to.

    The operator's PROMETHEUS_MULTIPROC_DIR is emptied (counts of an earlier run must not add up with
    this one's); without one, a fresh private folder is made and removed when the master exits.
    """
    if not settings.metrics_token:
        return
    given = os.environ.get(MULTIPROC_ENV, "").strip()
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="ivr-metrics-"))  # mode 0700: only this user reads the counts
        atexit.register(_remove_in, folder, os.getpid())
        os.environ[MULTIPROC_ENV] = str(folder)
    import prometheus_client.values

    # Normally nothing has imported it yet; if something did, it chose single-process mode: choose again.
    prometheus_client.values.ValueClass = prometheus_client.values.get_value_class()


def _remove_in(folder: Path, master: int) -> None:
    """Remove the metrics folder when the master exits: workers run the same exit handlers, forked from it."""
    if os.getpid() == master:
        shutil.rmtree(folder, ignore_errors=True)


def child_exit(_server: Any, worker: Any) -> None:
    """Gunicorn's child_exit hook: a worker is gone, its live gauges with it (its counts stay in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
