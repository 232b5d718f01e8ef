"""Settings from the environment (prefix IVR_), read once at start-up and passed down explicitly."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ivr.errors import ConfigError
from ivr.format.fields import ADDRESS, ADDRESS_DOC
from ivr.hours import FORCE_VALUES
from ivr.terminal import url_shown

DEFAULT_MENU = "menus/volcengine.yaml"
DEFAULT_SQLITE = "var/ivr.sqlite3"
DEFAULT_SPOOL = "var/spool"


@dataclass(frozen=True)
class Settings:
    """Where the menu and the store are, and the emergency hours switch."""

    menu_path: str = DEFAULT_MENU
    database_url: str = ""  # empty: a SQLite file at `sqlite_path`
    sqlite_path: str = DEFAULT_SQLITE
    spool_dir: str = DEFAULT_SPOOL  # tickets wait here while the database is unreachable
    audio_dir: str = "audio"  # rendered prompts (`ivr audio build`); played with <Play> when IVR_PUBLIC_URL is set
    hours_override: str | None = None  # "open" / "closed" force the line; None follows the schedule
    public_url: str = ""  # the base URL the carrier calls; signatures are checked against it
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""  # TWILIO_ACCOUNT_SID: when set, every webhook must carry this AccountSid
    skip_signature_check: bool = False  # local development only; announced loudly at start
    reload_interval: float = 1.0  # IVR_RELOAD_INTERVAL: seconds between checks for edited menu files (0: never)
    test_clock: bool = False  # IVR_TEST_CLOCK=1: signed requests may set the call's time, and responses carry a trace
    queue_addresses: Mapping[str, str] = field(default_factory=dict)  # IVR_QUEUE_<NAME>: number or SIP URI
    # No wait on the database is unbounded. A caller hears an answer within about budget + a rendering,
    # well inside Twilio's 15 s; past the budget the ticket spools and the call goes on.
    request_budget: float = 3.0  # IVR_REQUEST_BUDGET: seconds of database work one webhook request may spend
    db_timeout: float = 2.0  # IVR_DB_TIMEOUT: seconds any one use of a connection may take inside that budget
    drain_interval: float = 1.0  # IVR_DRAIN_INTERVAL: seconds between background spool drains (0: only `ivr tickets drain`)
    number_reserve: int = 5000  # IVR_NUMBER_RESERVE: ticket numbers each host keeps leased, for tickets during an outage
    retention_days: int = 90  # IVR_RETENTION_DAYS: calls and their stories older than this are purged
    call_history: bool = True  # IVR_CALL_HISTORY=0: keep calls' records and outcomes but not their stories line by line
    metrics_token: str = ""  # IVR_METRICS_TOKEN: the bearer token /metrics asks for ('' = /metrics is not served)
    # Ticket hand-off (ivr/delivery): each is off until its variables are set.
    ticket_webhook_url: str = ""  # IVR_TICKET_WEBHOOK_URL: the support desk's HTTPS endpoint for new tickets
    ticket_webhook_secret: str = ""  # IVR_TICKET_WEBHOOK_SECRET: the HMAC-SHA256 key of its signature header
    smtp_url: str = ""  # IVR_SMTP_URL: smtp://[user:password@]host[:port] or smtps://…, for e-mail to the support address
    ticket_email_to: str = ""  # IVR_TICKET_EMAIL_TO: the support address
    ticket_email_from: str = ""  # IVR_TICKET_EMAIL_FROM: the sender (default: hotline@ the SMTP host)
    sms_from: str = ""  # IVR_SMS_FROM: the number (or MG… messaging service) texts to callers come from
    twilio_api_url: str = "https://api.twilio.com"  # IVR_TWILIO_API_URL: where Twilio's REST API is (a test stand-in, a proxy)
    delivery_attempts: int = 10  # IVR_DELIVERY_ATTEMPTS: tries before a delivery is dead-lettered
    delivery_backoff: float = 10.0  # IVR_DELIVERY_BACKOFF: seconds before the first retry; doubled each time, with jitter
    delivery_interval: float = 1.0  # IVR_DELIVERY_INTERVAL: seconds between the sender's looks at the outbox (0: no sender)
    delivery_timeout: float = 10.0  # IVR_DELIVERY_TIMEOUT: seconds one attempt may take in all

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read IVR_MENU, IVR_DATABASE_URL, IVR_SQLITE_PATH and IVR_HOURS_OVERRIDE."""
        env = os.environ if env is None else env
        override = env.get("IVR_HOURS_OVERRIDE", "").strip().lower() or None
        if override is not None and override not in FORCE_VALUES:
            raise ConfigError(f"IVR_HOURS_OVERRIDE must be one of {', '.join(FORCE_VALUES)}, not {override!r}")
        queues = {k.removeprefix("IVR_QUEUE_").lower(): v.strip() for k, v in env.items() if k.startswith("IVR_QUEUE_")}
        for name, address in queues.items():
            if not re.fullmatch(ADDRESS, address):
                raise ConfigError(
                    f"IVR_QUEUE_{name.upper()} must be {ADDRESS_DOC} (or empty to take the queue off the line), not {address!r}"
                )
        return cls(
            menu_path=env.get("IVR_MENU") or DEFAULT_MENU,
            database_url=env.get("IVR_DATABASE_URL", ""),
            sqlite_path=env.get("IVR_SQLITE_PATH") or DEFAULT_SQLITE,
            audio_dir=env.get("IVR_AUDIO_DIR") or "audio",
            spool_dir=env.get("IVR_SPOOL_DIR") or str(Path(env.get("IVR_SQLITE_PATH") or DEFAULT_SQLITE).parent / "spool"),
            hours_override=None if override == "auto" else override,
            public_url=env.get("IVR_PUBLIC_URL", "").rstrip("/"),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "").strip(),
            skip_signature_check=_flag(env, "IVR_SKIP_SIGNATURE_CHECK"),
            test_clock=_flag(env, "IVR_TEST_CLOCK"),
            reload_interval=_seconds(env, "IVR_RELOAD_INTERVAL", 1.0),
            # Bounded: Twilio waits 15 s for an answer, and a reserve takes numbers from every other host.
            request_budget=_seconds(env, "IVR_REQUEST_BUDGET", 3.0, positive=True, maximum=15.0),
            db_timeout=_seconds(env, "IVR_DB_TIMEOUT", 2.0, positive=True, maximum=15.0),
            drain_interval=_seconds(env, "IVR_DRAIN_INTERVAL", 1.0, maximum=3600.0),
            number_reserve=_count(env, "IVR_NUMBER_RESERVE", 5000, 1000, 100_000),
            retention_days=_count(env, "IVR_RETENTION_DAYS", 90, 1, 36_500),
            call_history=_flag(env, "IVR_CALL_HISTORY", True),
            metrics_token=env.get("IVR_METRICS_TOKEN", "").strip(),
            **_delivery_settings(env),
            # Set but empty means "no address": ops can take a queue off the line without editing the menu.
            queue_addresses=queues,
        )

    @property
    def delivery_channels(self) -> tuple[str, ...]:
        """Where every new ticket is handed on: the desk's webhook and the support address, as configured."""
        return (*(["desk"] if self.ticket_webhook_url else []), *(["email"] if self.smtp_url else []))

    @property
    def sms_enabled(self) -> bool:
        """Whether callers get their ticket number by text message (Twilio's Messages API is configured)."""
        return bool(self.sms_from and self.twilio_account_sid and self.twilio_auth_token)

    def queue_address(self, queue: str, default: str) -> str:
        """The address to dial for a queue: IVR_QUEUE_<NAME> wins over the menu's."""
        return self.queue_addresses.get(queue.lower(), default)

    def with_options(self, **changes: object) -> Settings:
        """A copy with command-line options applied (None leaves a setting alone)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    def with_database_file(self, db: str | None, *, new_folder: bool = False) -> Settings:
        """`--db FILE` (in a folder that exists) wins over IVR_DATABASE_URL; its spool lies beside it unless IVR_SPOOL_DIR says otherwise.

        A spool holds numbers leased from one database: used against another, they could repeat a number there.
        `new_folder`: the command makes its store, folder and all, as the default var/ is made (a console call).
        """
        if not db:
            return self
        folder = Path(db).expanduser().parent
        # A mistyped --db is refused: sqlite_url would quietly create the folder and a new database there.
        if not folder.is_dir() and not (new_folder and not folder.exists()):
            raise ConfigError(f"--db {db}: the folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}")
        spool = os.environ.get("IVR_SPOOL_DIR") or str(folder / "spool")
        return self.with_options(sqlite_path=db, database_url="", spool_dir=spool)

    def without_hand_off(self) -> Settings:
        """These settings with every delivery channel off: a console call is a rehearsal, its tickets go nowhere (no real text)."""
        return replace(self, ticket_webhook_url="", smtp_url="", sms_from="")

    def store_url(self) -> str:
        """The SQLAlchemy URL of the ticket store."""
        if self.database_url:
            return self.database_url
        # Imported here: settings are read by commands that never open the database (`ivr --help`).
        from ivr.store.db import sqlite_url

        return sqlite_url(Path(self.sqlite_path))


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes or 0/false/no, not {value!r}")


def _count(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float, positive: bool = False, maximum: float | None = None) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ConfigError(f"{name} must be a {'positive' if positive else 'non-negative'} finite number, not {raw!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g} seconds, not {raw!r}")
    return value


def _loopback(host: str | None) -> bool:
    """Whether `host` is this machine: localhost, or an address in 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _delivery_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The ticket hand-off settings, checked together: a half-configured channel is refused at start, not at the first ticket."""
    webhook = env.get("IVR_TICKET_WEBHOOK_URL", "").strip()
    secret = env.get("IVR_TICKET_WEBHOOK_SECRET", "")
    if webhook:
        parts = urlsplit(webhook)
        loopback = _loopback(parts.hostname)
        shown = url_shown(webhook)
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ConfigError(f"IVR_TICKET_WEBHOOK_URL must be an https:// URL (http:// only to this machine), not {shown!r}")
        if not parts.hostname:
            raise ConfigError(f"IVR_TICKET_WEBHOOK_URL has no host: {shown!r}")
        _port(parts, "IVR_TICKET_WEBHOOK_URL", shown)
        if len(secret.strip()) < 16:
            raise ConfigError("IVR_TICKET_WEBHOOK_SECRET must be set, at least 16 characters, when IVR_TICKET_WEBHOOK_URL is")
    smtp = env.get("IVR_SMTP_URL", "").strip()
    to = env.get("IVR_TICKET_EMAIL_TO", "").strip()
    sender = env.get("IVR_TICKET_EMAIL_FROM", "").strip()
    if smtp:
        parts = urlsplit(smtp)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(f"IVR_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://…, not {url_shown(smtp)!r}")
        _port(parts, "IVR_SMTP_URL", url_shown(smtp))
        for name, address in (("IVR_TICKET_EMAIL_TO", to), ("IVR_TICKET_EMAIL_FROM", sender)):
            if (address or name.endswith("_TO")) and not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", address):
                raise ConfigError(f"{name} must be one e-mail address when IVR_SMTP_URL is set, not {address!r}")
        host = parts.hostname or ""
        sender = sender or f"hotline@{_address_domain(host)}"
    for name, needs in (("IVR_TICKET_WEBHOOK_SECRET", "IVR_TICKET_WEBHOOK_URL"), ("IVR_TICKET_EMAIL_TO", "IVR_SMTP_URL")):
        if env.get(name, "").strip() and not env.get(needs, "").strip():
            raise ConfigError(f"{name} is set but {needs} is not: set both to hand tickets on that way, or neither")
    sms_from = env.get("IVR_SMS_FROM", "").strip()
    if sms_from:
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32}", sms_from):
            raise ConfigError(f"IVR_SMS_FROM must be an E.164 number (+…) or a messaging service SID (MG…), not {sms_from!r}")
        if not (env.get("TWILIO_ACCOUNT_SID", "").strip() and env.get("TWILIO_AUTH_TOKEN", "")):
            raise ConfigError("IVR_SMS_FROM needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send through Twilio")
    api = env.get("IVR_TWILIO_API_URL", "").strip().rstrip("/") or "https://api.twilio.com"
    if urlsplit(api).scheme not in ("https", "http") or not urlsplit(api).hostname:
        raise ConfigError(f"IVR_TWILIO_API_URL must be an http(s):// URL, not {api!r}")
    return {
        "ticket_webhook_url": webhook,
        "ticket_webhook_secret": secret,
        "smtp_url": smtp,
        "ticket_email_to": to,
        "ticket_email_from": sender,
        "sms_from": sms_from,
        "twilio_api_url": api,
        "delivery_attempts": _count(env, "IVR_DELIVERY_ATTEMPTS", 10, 1, 100),
        "delivery_backoff": _seconds(env, "IVR_DELIVERY_BACKOFF", 10.0, positive=True, maximum=3600.0),
        "delivery_interval": _seconds(env, "IVR_DELIVERY_INTERVAL", 1.0, maximum=3600.0),
        "delivery_timeout": _seconds(env, "IVR_DELIVERY_TIMEOUT", 10.0, positive=True, maximum=120.0),
    }


def _port(parts: SplitResult, name: str, shown: str) -> None:
    """Refuse a URL whose port is not a number from 1 to 65535 (urlsplit reads it only when asked)."""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or (port is None and re.search(r":[^/@\]]*$", parts.netloc)):
        raise ConfigError(f"{name} has a port that is not a number from 1 to 65535: {shown!r}")


def _address_domain(host: str) -> str:
    """The domain of an e-mail address on `host`: an IP address is written as a literal in brackets (RFC 5321)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{ip}]" if ip.version == 4 else f"[IPv6:{ip}]"
