"""The Flask application: Twilio voice webhooks over the same hotline as the console."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ivr.hotline import ConfigError, ServiceError, Settings, end_budget, open_hotline, queue_directory, start_budget
from ivr.web import metrics, voice
from ivr.web.service import VoiceService
from ivr.web.twilio import ACCOUNT_SID
from ivr.web.voice import CURRENT_CALL

__all__ = ["CURRENT_CALL", "check_settings", "create_app"]

log = logging.getLogger(__name__)

METRICS_TOKEN_MIN = 16  # a bearer token anyone on the network may guess at: not a short word

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
    check_settings(settings)
    if settings.skip_signature_check:
        message = "IVR_SKIP_SIGNATURE_CHECK is on: webhook signatures are NOT checked. Use this for local development only."
        log.warning(message)
        print(f"WARNING: {message}", file=sys.stderr)
    if settings.test_clock:
        log.warning("IVR_TEST_CLOCK is on: signed requests may set the call's time (testing only)")
    app.config["IVR_SETTINGS"] = settings
    hotline = open_hotline(settings, clock=app.config.get("IVR_CLOCK"), tolerate_outage=True)
    app.extensions["ivr.store"] = hotline.store
    app.extensions["ivr.voice"] = VoiceService(hotline)
    metrics.install(app)  # first: its timing hook sees the whole request; with no IVR_METRICS_TOKEN it adds nothing
    app.teardown_request(_unbind_call)  # bound by voice.require_twilio once the request is known to be Twilio's
    app.before_request(_open_budget)
    app.teardown_request(_close_budget)
    app.register_blueprint(voice.bp)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.register_error_handler(Exception, on_error)
    return app


def check_settings(settings: Settings) -> None:
    """Refuse settings the webhooks cannot run safely with (ConfigError), before anything is opened or written."""
    if settings.test_clock and settings.skip_signature_check:
        raise ConfigError("IVR_TEST_CLOCK=1 needs signature checks: anyone could set the call's time otherwise")
    if settings.skip_signature_check:
        pass  # local development: nothing to check the signatures with, by choice
    elif not settings.twilio_auth_token:
        raise ConfigError("TWILIO_AUTH_TOKEN is not set: every webhook would be refused (IVR_SKIP_SIGNATURE_CHECK=1 for local development)")
    elif not settings.public_url:
        # The signed URL is rebuilt on it: the Host header a client sends is no evidence of what Twilio called.
        raise ConfigError(
            "IVR_PUBLIC_URL is not set: signatures are checked against the URL Twilio calls, "
            "e.g. IVR_PUBLIC_URL=https://ivr.example.com (IVR_SKIP_SIGNATURE_CHECK=1 for local development)"
        )
    if settings.public_url and not settings.public_url.startswith(("https://", "http://")):
        raise ConfigError(f"IVR_PUBLIC_URL must start with https:// (or http://), not {settings.public_url[:60]!r}")
    if any(mark in settings.public_url for mark in "?#"):
        # Every webhook URL is this base and a path: a query or fragment in it would make every one of them wrong.
        raise ConfigError(
            f"IVR_PUBLIC_URL must be a base URL without ? or #, such as https://ivr.example.com, not {settings.public_url[:80]!r}"
        )
    if settings.metrics_token and len(settings.metrics_token) < METRICS_TOKEN_MIN:
        raise ConfigError(f"IVR_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters (a random one: openssl rand -hex 16)")
    if settings.twilio_account_sid and not ACCOUNT_SID.fullmatch(settings.twilio_account_sid):
        raise ConfigError("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits, as the Twilio console shows it")


def _unbind_call(_exc: BaseException | None) -> None:
    token = g.pop("ivr_log_token", None)
    if token is not None:
        CURRENT_CALL.reset(token)


def _open_budget() -> None:
    """Every request gets a bounded time for its database work; the first one also starts the background drainer."""
    svc = voice.service()
    svc.hotline.start_background()  # here, not in create_app: `ivr serve` builds an app in the master that never serves
    g.ivr_budget = start_budget(svc.settings.request_budget)


def _close_budget(_exc: BaseException | None) -> None:
    token = g.pop("ivr_budget", None)
    if token is not None:
        end_budget(token)


def healthz() -> tuple[Response, int]:
    """Whether the service, its menu and its database are sound: `degraded` (200) with the reasons in `problems`.

    `error` (503) only when no call can leave a message: the database is away and the spool has no numbers
    to give. With `?strict=1` anything but `ok` is 503, for a load balancer that should send calls elsewhere.
    """
    svc = voice.service()
    engine = svc.menus.current()  # a health check also picks up an edited menu, so it reports what is in service
    menu_state = svc.menus.status()
    body: dict[str, Any] = {"status": "ok", "menu": menu_state, "test_clock": svc.settings.test_clock}
    problems: list[str] = []
    address_of = queue_directory(engine.menu, svc.settings)
    for name in engine.menu.queues:
        if not address_of(name):  # every transfer to it would end in an apology and a ticket
            problems.append(f"queue {name} has no address: set IVR_QUEUE_{name.upper()} or queues.{name}.address in the menu")
    if "reload_error" in menu_state:
        problems.append(f"a menu edit was refused; still serving version {menu_state['version']} (menu.reload_error says why)")
    # Where each language is heard from now (new calls): audio only with a public URL to play it from.
    sources = svc.hotline.voice_sources(engine.menu)
    body["voices"] = {lang: s.source if svc.settings.public_url else "say" for lang, s in sources.items()}
    spool = svc.hotline.spool
    numbers = 0
    if spool is not None:
        # Counted, never drained here: draining is background work, off every request's path.
        numbers = spool.numbers.remaining()
        waiting, set_aside = spool.depth(), spool.set_aside()
        body["spool"] = {"waiting": waiting, "set_aside": set_aside, "numbers": numbers}
        if waiting:
            problems.append(f"{waiting} ticket(s) wait in the spool for the database")
        if set_aside:
            problems.append(f"{set_aside} spooled ticket(s) set aside for a person to look at (*.bad in the spool folder)")
    try:
        svc.store.calls.ping()
        body["database"] = "ok"
        outbox = svc.store.outbox.counts()
        body["deliveries"] = outbox
        if outbox["failed"]:
            problems.append(
                f"{outbox['failed']} ticket deliveries failed for good (ivr tickets deliveries --failed; ivr tickets redeliver N)"
            )
        oldest = svc.store.outbox.oldest_pending() if outbox["pending"] else None
        promised = engine.menu.ticket_first_response_minutes
        if oldest is not None and datetime.now(UTC) - oldest > timedelta(minutes=promised):
            # The desk has not had a ticket for longer than engineers have to answer it: the promise is being broken now.
            minutes = int((datetime.now(UTC) - oldest).total_seconds() // 60)
            problems.append(f"a ticket delivery has waited {minutes} min, past the {promised} min first response (ivr tickets deliveries)")
    except ServiceError as exc:
        log.warning("health check: %s", exc)  # the reason goes to the log, not to whoever asks
        body["database"] = "unreachable"
        # Still taking messages (the spool has numbers to give): keep this host in the load balancer, say so.
        body["status"] = "degraded" if numbers > 0 else "error"
        left = "; tickets go to the spool" if numbers > 0 else " and the spool has no ticket numbers left"
        problems.append(f"the database is unreachable{left}")
    if problems and body["status"] == "ok":
        body["status"] = "degraded"
    body["problems"] = problems
    # `?strict` alone asks for it too; only an explicit 0/false/no turns it off.
    strict = "strict" in request.args and request.args["strict"].lower() not in ("0", "false", "no")
    return jsonify(body), 503 if body["status"] == "error" or (strict and body["status"] != "ok") else 200


def on_error(exc: Exception) -> Response | HTTPException:
    """Any failure in a webhook still answers valid TwiML: an apology and a way on."""
    if isinstance(exc, HTTPException):
        return exc
    if not request.path.startswith(voice.bp.url_prefix or "/voice"):
        log.exception("%s %s failed", request.method, request.path)
        return Response('{"status": "error"}', status=500, mimetype="application/json")
    sid = voice.voice_request().call_sid or "?"
    if isinstance(exc, ServiceError):  # a known outage (the database): one line, not a traceback per request
        log.error("call %s: %s %s: %s; answering with the fallback", sid, request.method, request.path, exc)
    else:
        log.exception("call %s: %s %s failed", sid, request.method, request.path)
    svc = voice.service()
    prefix = voice.bp.url_prefix or "/voice"
    try:
        if request.path == f"{prefix}/fallback/recorded":
            # The fallback's own ticket failed: asking for the message again would loop; hand the caller on instead.
            return voice.twiml(svc.last_resort())
        req = voice.voice_request()
        if request.path == f"{prefix}/record" and req.recording_url and not req.empty:
            # The message the caller just left must not be lost with the step: it becomes the ticket now.
            return voice.twiml(svc.fallback_ticket(req))
        return voice.twiml(svc.fallback())
    except Exception:
        log.exception("call %s: the fallback failed too", sid)
        return voice.twiml(svc.last_resort())
