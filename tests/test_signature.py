"""Twilio request signatures: checked the way Twilio computes them, against the public URL only."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from ivr.web.signature import is_signed, signed_url
from tests.webhooks import PUBLIC_URL, TOKEN, make_hotline, sid


def test_repeated_form_keys_are_refused_even_when_signed(tmp_path: Path) -> None:
    """A form that repeats a key is refused although signed over every value: the signature does not fix their order."""
    hotline = make_hotline(tmp_path)
    form = MultiDict([("CallSid", sid("multi")), ("From", "+861"), ("X", "a"), ("X", "b")])
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", form)
    response = hotline.apps[0].test_client().post("/voice/incoming", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert hotline.store.calls.count() == 0


def test_the_signed_url_is_built_on_the_public_url_never_on_the_host() -> None:
    """The URL checked is IVR_PUBLIC_URL plus the path and query; without a public URL there is none (and no request passes)."""
    app = Flask(__name__)
    form = {"CallSid": sid("host")}
    forged = RequestValidator(TOKEN).compute_signature("https://attacker.example/voice/incoming?seq=1", form)
    with app.test_request_context(
        "/voice/incoming?seq=1", method="POST", base_url="https://attacker.example", data=form, headers={"X-Twilio-Signature": forged}
    ):
        from flask import request

        assert signed_url(request, PUBLIC_URL) == f"{PUBLIC_URL}/voice/incoming?seq=1"
        assert signed_url(request, "") == ""
        assert not is_signed(request, TOKEN, "")  # signed for the Host it names, which proves nothing
        assert not is_signed(request, TOKEN, PUBLIC_URL)
