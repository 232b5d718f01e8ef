"""Twilio request signatures: checked the way Twilio computes them."""

from __future__ import annotations

from pathlib import Path

from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from tests.webhooks import PUBLIC_URL, TOKEN, make_hotline


def test_repeated_form_keys_are_signed_like_twilio_signs_them(tmp_path: Path) -> None:
    """A request whose form repeats a key is accepted when signed over every value, as Twilio signs it."""
    hotline = make_hotline(tmp_path)
    form = MultiDict([("CallSid", "CAmulti"), ("From", "+861"), ("X", "a"), ("X", "b")])
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + "/voice/incoming", form)
    response = hotline.apps[0].test_client().post("/voice/incoming", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
