"""`ivr serve`: the webhook app under gunicorn."""

from __future__ import annotations

import logging
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from ivr.web import create_app


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


def serve(host: str, port: int, workers: int, threads: int = 1, timeout: int = 20) -> None:
    """Run until stopped; `timeout` kills a stuck worker well inside Twilio's 15 s budget plus margin."""
    app = create_app()  # fail fast, in the foreground, on a bad menu or missing settings
    hotline = app.extensions["ivr.voice"].hotline
    public = hotline.settings.public_url
    for source in hotline.voice_sources(hotline.engine.menu).values():
        # Twilio can only fetch <Play> audio from the public URL: without one, every language is spoken.
        shown = source if public or source.source == "say" else f"{source.lang}: carrier voice (no IVR_PUBLIC_URL to play audio from)"
        print(f"ivr serve: {shown}", file=sys.stderr)
    HotlineServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "timeout": timeout,
            "graceful_timeout": 10,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "worker_class": "gthread" if threads > 1 else "sync",
            "control_socket_disable": True,  # several `ivr serve` on one host must not share gunicorn's control socket
        }
    ).run()
