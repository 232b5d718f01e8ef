"""`ivr serve`: the webhook app under gunicorn."""

from __future__ import annotations

import logging
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from ivr.config import Settings
from ivr.store.migrate import upgrade_at_start
from ivr.web import check_settings, create_app
from ivr.web.worker import worker_class


class HotlineServer(BaseApplication):
    """Gunicorn running `create_app()` in each worker (no preload: each worker opens its own pool)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's settings."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app inside the worker, with the hotline's own log lines on standard error."""
        _log_to_stderr()
        return create_app()


def _log_to_stderr() -> None:
    logger = logging.getLogger("ivr")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def serve(host: str, port: int, workers: int, threads: int = 8, timeout: int = 20, read_timeout: float = 5.0) -> None:
    """Run until stopped: `workers` processes of `threads` threads, each request to be read within `read_timeout` seconds."""
    settings = Settings.from_env()
    check_settings(settings)  # a mis-set server stops before it touches the database
    upgrade_at_start(settings.store_url())  # the schema at head before the app and its workers open the store
    app = create_app()  # fail fast, in the foreground, on a bad menu or missing settings
    hotline = app.extensions["ivr.voice"].hotline
    public = hotline.settings.public_url
    for source in hotline.voice_sources(hotline.engine.menu).values():
        # Twilio can only fetch <Play> audio from the public URL: without one, every language is spoken.
        shown = source if public or source.source == "say" else f"{source.lang}: carrier voice (no IVR_PUBLIC_URL to play audio from)"
        print(f"ivr serve: {shown}", file=sys.stderr)
    hotline.close()  # the master never serves: its connections must not be inherited by the workers it forks
    HotlineServer(
        {
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
            "control_socket_disable": True,  # several `ivr serve` on one host must not share gunicorn's control socket
        }
    ).run()
