"""The Flask application: Twilio voice webhooks over the same hotline as the console."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ivr.hotline import ConfigError, Settings, open_hotline
from ivr.web import voice
from ivr.web.service import VoiceService

__all__ = ["create_app"]

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 64 * 1024,  # Twilio's forms are a few KB; anything bigger is not Twilio
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment (IVR_*, TWILIO_AUTH_TOKEN), then `config`."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping({k: v for k, v in os.environ.items() if k.startswith(("IVR_", "TWILIO_"))})
    if config:
        app.config.from_mapping(config)
    settings = Settings.from_env({k: str(v) for k, v in app.config.items() if k.startswith(("IVR_", "TWILIO_")) and isinstance(v, str)})
    if settings.test_clock and settings.skip_signature_check:
        raise ConfigError("IVR_TEST_CLOCK=1 needs signature checks: anyone could set the call's time otherwise")
    if settings.skip_signature_check:
        message = "IVR_SKIP_SIGNATURE_CHECK is on: webhook signatures are NOT checked. Use this for local development only."
        log.warning(message)
        print(f"WARNING: {message}", file=sys.stderr)
    elif not settings.twilio_auth_token:
        raise ConfigError("TWILIO_AUTH_TOKEN is not set: every webhook would be refused (IVR_SKIP_SIGNATURE_CHECK=1 for local development)")
    if settings.test_clock:
        log.warning("IVR_TEST_CLOCK is on: signed requests may set the call's time (testing only)")
    app.config["IVR_SETTINGS"] = settings
    hotline = open_hotline(settings, clock=app.config.get("IVR_CLOCK"))
    app.extensions["ivr.store"] = hotline.store
    app.extensions["ivr.voice"] = VoiceService(hotline)
    app.register_blueprint(voice.bp)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.register_error_handler(Exception, on_error)
    return app


def healthz() -> tuple[Response, int]:
    """Whether the service, its menu and its database are sound."""
    svc = voice.service()
    svc.menus.current()  # a health check also picks up an edited menu, so it reports what is in service
    spooled = svc.hotline.drain_spool()  # and moves tickets spooled during an outage into the database
    body: dict[str, Any] = {"status": "ok", "menu": svc.menus.status(), "test_clock": svc.settings.test_clock}
    # Where each language is heard from now (new calls): audio only with a public URL to play it from.
    sources = svc.hotline.voice_sources(svc.engine.menu)
    body["voices"] = {lang: s.source if svc.settings.public_url else "say" for lang, s in sources.items()}
    try:
        svc.store.calls.ping()
        body["database"] = "ok"
        if spooled:
            body["spooled"] = spooled
    except Exception as exc:  # any driver error means the database is not usable
        body["status"], body["database"] = "error", str(exc)[:200]
    return jsonify(body), 200 if body["status"] == "ok" else 503


def on_error(exc: Exception) -> Response | HTTPException:
    """Any failure in a webhook still answers valid TwiML: an apology and a way on."""
    if isinstance(exc, HTTPException):
        return exc
    if not request.path.startswith(voice.bp.url_prefix or "/voice"):
        log.exception("%s %s failed", request.method, request.path)
        return Response('{"status": "error"}', status=500, mimetype="application/json")
    sid = voice.voice_request().call_sid or "?"
    log.exception("call %s: %s %s failed", sid, request.method, request.path)
    svc = voice.service()
    try:
        return voice.twiml(svc.fallback())
    except Exception:
        log.exception("call %s: the fallback failed too", sid)
        return voice.twiml(svc.last_resort())
