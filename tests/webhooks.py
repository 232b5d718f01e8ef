"""Helpers for webhook tests: an app on a temporary database and a Twilio stand-in to call it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.store import Store
from ivr.testing.phone import FlaskTransport, PhoneCall, Transport
from ivr.web import create_app
from tests.conftest import IN_HOURS, SHIPPED_MENU

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://ivr.example.test"
NO_AUDIO = Path(__file__).resolve().parent / "no-audio"  # a folder that does not exist
QUEUES = {f"IVR_QUEUE_{name.upper()}": f"sip:{name}@pbx.example.test" for name in ("general", "business", "orders", "account")}


def sid(label: str) -> str:
    """A CallSid of Twilio's form (CA + 32 hex) named after `label`: the same label always gives the same sid."""
    return "CA" + hashlib.sha256(label.encode()).hexdigest()[:32]


@dataclass
class Clock:
    """A settable clock for the app under test."""

    now: datetime = IN_HOURS

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Hotline:
    """An app (or several sharing one database) plus what a test needs to call and inspect it."""

    apps: list[Flask]
    clock: Clock
    db_url: str
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = self.apps[0].extensions["ivr.store"]

    def call(self, keys: str = "", transport: Transport | None = None, **options: Any) -> PhoneCall:
        """Place a signed call with space-separated entries ('-' = silence); return it when it ends."""
        phone = PhoneCall(transport or FlaskTransport(self.apps[0]), PUBLIC_URL, TOKEN, **options)
        phone.run(["" if k == "-" else k for k in keys.split()])
        return phone


def make_app(db_url: str, clock: Callable[[], datetime], **config: Any) -> Flask:
    """An app on the shipped menu with test settings."""
    base = {
        "TWILIO_AUTH_TOKEN": TOKEN,
        "IVR_PUBLIC_URL": PUBLIC_URL,
        "IVR_DATABASE_URL": db_url,
        "IVR_MENU": str(SHIPPED_MENU),
        "IVR_AUDIO_DIR": str(NO_AUDIO),  # prompts spoken with <Say> unless a test builds audio: audio/ of the checkout is not the test's
        "IVR_CLOCK": clock,
        **QUEUES,
    }
    base.update(config)
    return create_app(base)


def make_hotline(tmp_path: Path, instances: int = 1, **config: Any) -> Hotline:
    """`instances` apps sharing one database (a SQLite file unless IVR_DATABASE_URL is given)."""
    clock = Clock()
    db_url = config.pop("IVR_DATABASE_URL", None) or f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    return Hotline([make_app(db_url, clock, **config) for _ in range(instances)], clock, db_url)


def said(lines: list[dict[str, Any]]) -> str:
    """All spoken text of a transcript."""
    return "\n".join(line["text"] for line in lines if line["type"] == "say")


def signed_post(app: Flask, path: str, form: dict[str, str], token: str = TOKEN) -> TestResponse:
    """A raw form POST to `app`, signed with `token` for the public URL as Twilio signs it."""
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, form)
    return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})
