"""`ivr serve`: the webhook app under gunicorn."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from gunicorn.app.base import BaseApplication

from ivr.config import Settings
from ivr.hotline import Hotline, ServiceError, queue_directory
from ivr.logs import log_format, log_to_stderr
from ivr.store.migrate import safe_url, upgrade_at_start
from ivr.terminal import url_shown
from ivr.web import CURRENT_CALL, check_settings, create_app, metrics
from ivr.web.worker import worker_class


class WsgiServer(BaseApplication):
    """Gunicorn running the app `load()` builds in each worker (no preload: each worker opens its own pool)."""

    def __init__(self, options: dict[str, Any], load: Callable[[], Any]) -> None:
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app inside the worker."""
        return self._load()


def gunicorn_options(host: str, port: int, workers: int, threads: int = 8, timeout: int = 20, read_timeout: float = 5.0) -> dict[str, Any]:
    """How `ivr serve` runs gunicorn; the webhook benchmark runs its baselines under the same."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        # Threads, not processes, wait on the network: a request waiting on the database or a slow
        # client takes one thread, not a whole worker. Async workers would need gevent or eventlet.
        "worker_class": worker_class(read_timeout),
        # With threads this is the heartbeat of a worker's main loop, which only accepts and hands out
        # connections: a worker whose loop is stuck that long is replaced. A request's own time is
        # bounded where it is spent (named actions, database calls), a slow client's by `read_timeout`.
        "timeout": timeout,
        # An idle kept-alive connection waits on the worker's poller, not a thread; the proxy in
        # front must drop its idle upstream connections sooner (nginx: keepalive_timeout 4s).
        "keepalive": 5,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "child_exit": metrics.child_exit,
        "control_socket_disable": True,  # several `ivr serve` on one host must not share gunicorn's control socket
    }


def _hotline_app() -> Flask:
    """The app of one worker, with the hotline's own log lines on standard error."""
    _log_to_stderr()
    return create_app()


def _log_to_stderr() -> None:
    log_to_stderr(CURRENT_CALL)  # JSON lines unless standard error is a terminal (IVR_LOG_FORMAT=json|text to choose)


# What the Twilio console asks for (Phone Numbers > the number > Voice configuration) and the route that answers it.
TWILIO_URLS = (
    ("Voice URL (A call comes in, HTTP POST)", "voice.incoming"),
    ("Fallback URL (Primary handler fails, HTTP POST)", "voice.fallback"),
    ("Status callback URL (Call status changes, HTTP POST)", "voice.status"),
)


def _banner(app: Flask, hotline: Hotline) -> list[str]:
    """What a newcomer needs at start: the URLs for Twilio, where each queue is dialled, the database and the spool."""
    settings = hotline.settings
    rules = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}  # the routes themselves, so a moved one is shown moved
    lines = []
    if settings.public_url:
        lines.append("paste into the Twilio console, for the number's voice configuration:")
        lines += [f"  {label}: {settings.public_url}{rules[endpoint]}" for label, endpoint in TWILIO_URLS]
    else:
        paths = ", ".join(f"{rules[endpoint]} ({label.split(' (')[0]})" for label, endpoint in TWILIO_URLS)
        lines.append(
            "no IVR_PUBLIC_URL, so no URLs for the Twilio console: set it to the https address Twilio reaches"
            f" this server at (e.g. IVR_PUBLIC_URL=https://ivr.example.com); the paths are {paths}"
        )
    menu = hotline.engine.menu
    address_of = queue_directory(menu, settings)
    for name in menu.queues:
        variable = f"IVR_QUEUE_{name.upper()}"
        address = address_of(name)
        where = variable if name.lower() in settings.queue_addresses else "the menu"
        if address:
            lines.append(f"queue {name}: {address} (from {where})")
        else:
            lines.append(
                f"queue {name}: NO ADDRESS (from {where}): its transfers end in an apology and a ticket;"
                f" set {variable} or queues.{name}.address in the menu"
            )
    lines.append(f"database: {safe_url(settings.store_url())}")
    spool = hotline.spool
    waiting = f" ({spool.depth()} ticket(s) waiting, {spool.set_aside()} set aside)" if spool is not None else ""
    lines.append(f"spool: {settings.spool_dir}{waiting}")
    lines.append(_hand_off(settings))
    try:
        pending = hotline.store.outbox.pending_by_channel()
    except ServiceError:
        pending = {}  # the database is away: the line above is what there is to say
    configured = (*settings.delivery_channels, *(["sms"] if settings.sms_enabled else []))
    stranded = {channel: n for channel, n in pending.items() if channel not in configured}
    if stranded:
        listed = ", ".join(f"{channel} ({n})" for channel, n in stranded.items())
        lines.append(
            f"tickets: deliveries wait for channels not configured here: {listed}; set them (or `ivr tickets close N` cancels a ticket's)"
        )
    if settings.metrics_token:
        lines.append(f"metrics: GET {rules.get('metrics', '/metrics')} with Authorization: Bearer $IVR_METRICS_TOKEN")
    else:
        lines.append("metrics: off (set IVR_METRICS_TOKEN to serve /metrics to a scraper that sends it)")
    return lines


def _hand_off(settings: Settings) -> str:
    """Where new tickets go besides the database, or how to send them on."""
    ways = []
    if settings.ticket_webhook_url:
        ways.append(f"the desk webhook at {url_shown(settings.ticket_webhook_url)} (signed)")
    if settings.smtp_url:
        ways.append(f"e-mail to {settings.ticket_email_to} via {urlsplit(settings.smtp_url).hostname}")
    if settings.sms_enabled:
        ways.append(f"a text to callers on a mobile from {settings.sms_from}")
    if not ways:
        return "tickets: kept in the database only (IVR_TICKET_WEBHOOK_URL, IVR_SMTP_URL, IVR_SMS_FROM hand them on)"
    sender = "" if settings.delivery_interval > 0 else "; IVR_DELIVERY_INTERVAL=0: only `ivr tickets redeliver` sends"
    return f"tickets: handed on to {', '.join(ways)}; {settings.delivery_attempts} attempts each{sender}"


def serve(host: str, port: int, workers: int, threads: int = 8, timeout: int = 20, read_timeout: float = 5.0) -> None:
    """Run until stopped: `workers` processes of `threads` threads, each request to be read within `read_timeout` seconds."""
    settings = Settings.from_env()
    check_settings(settings)  # a mis-set server stops before it touches the database
    metrics.prepare_multiprocess(settings)  # before create_app: the workers' shared metrics folder, set before they fork
    log_format()  # a bad IVR_LOG_FORMAT stops the server here, not in every worker
    _log_to_stderr()  # the master's own warnings (settings, menu) in the workers' format
    upgrade_at_start(settings.store_url())  # the schema at head before the app and its workers open the store
    app = create_app()  # fail fast, in the foreground, on a bad menu or missing settings
    hotline = app.extensions["ivr.voice"].hotline
    public = hotline.settings.public_url
    for line in _banner(app, hotline):
        print(f"ivr serve: {line}", file=sys.stderr)
    for source in hotline.voice_sources(hotline.engine.menu).values():
        # Twilio can only fetch <Play> audio from the public URL: without one, every language is spoken.
        shown = source if public or source.source == "say" else f"{source.lang}: carrier voice (no IVR_PUBLIC_URL to play audio from)"
        print(f"ivr serve: {shown}", file=sys.stderr)
    hotline.close()  # the master never serves: its connections must not be inherited by the workers it forks
    WsgiServer(gunicorn_options(host, port, workers, threads, timeout, read_timeout), _hotline_app).run()
