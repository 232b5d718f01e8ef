"""The hand-off settings: a half-set or unsafe channel is refused at start, with the URL shown without its secrets."""

from __future__ import annotations

import pytest

from ivr.config import Settings
from ivr.errors import ConfigError

SECRET = "0123456789abcdef"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IVR_TICKET_WEBHOOK_URL": "http://desk.example.com/h", "IVR_TICKET_WEBHOOK_SECRET": SECRET}, "https://"),
        ({"IVR_TICKET_WEBHOOK_URL": "https://desk.example.com/h"}, "at least 16"),
        ({"IVR_TICKET_WEBHOOK_URL": "https://desk.example.com/h", "IVR_TICKET_WEBHOOK_SECRET": " " * 16}, "at least 16"),
        ({"IVR_TICKET_WEBHOOK_URL": "https://desk.example.com:99999/h", "IVR_TICKET_WEBHOOK_SECRET": SECRET}, "1 to 65535"),
        ({"IVR_TICKET_WEBHOOK_SECRET": SECRET}, "IVR_TICKET_WEBHOOK_URL is not"),
        ({"IVR_TICKET_EMAIL_TO": "support@example.com"}, "IVR_SMTP_URL is not"),
        ({"IVR_SMTP_URL": "smtp://mail.example.com"}, "IVR_TICKET_EMAIL_TO"),
        ({"IVR_SMTP_URL": "smtp://mail.example.com:abc", "IVR_TICKET_EMAIL_TO": "a@example.com"}, "1 to 65535"),
        ({"IVR_SMTP_URL": "smtp://mail.example.com", "IVR_TICKET_EMAIL_TO": "a@example.com, b@example.com"}, "one e-mail address"),
        ({"IVR_SMS_FROM": "+15005550006"}, "TWILIO_ACCOUNT_SID"),
        ({"IVR_SMS_FROM": "15005550006", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t"}, "E.164"),
        ({"IVR_DELIVERY_ATTEMPTS": "0"}, "IVR_DELIVERY_ATTEMPTS"),
        ({"IVR_DELIVERY_TIMEOUT": "nan"}, "IVR_DELIVERY_TIMEOUT"),
    ],
)
def test_a_half_set_or_unsafe_channel_is_refused(env: dict[str, str], message: str) -> None:
    """Each mistake is named at start, not at the first ticket."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_errors_show_no_token_of_the_url() -> None:
    """A hook URL often carries its token in the user, the path or the query: none of it is printed."""
    url = "http://user:pw@desk.example.com/hooks/T0/SECRETPATHTOKEN?token=abc"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IVR_TICKET_WEBHOOK_URL": url, "IVR_TICKET_WEBHOOK_SECRET": SECRET})
    said = str(caught.value)
    assert "desk.example.com" in said
    assert not any(secret in said for secret in ("pw", "SECRETPATHTOKEN", "abc", "user"))


def test_channels_on_and_off() -> None:
    """Any loopback address may take plain http; the sender's default address writes an IP as a literal."""
    settings = Settings.from_env(
        {
            "IVR_TICKET_WEBHOOK_URL": "http://127.0.0.2:8080/h",
            "IVR_TICKET_WEBHOOK_SECRET": SECRET,
            "IVR_SMTP_URL": "smtp://127.0.0.1:2525",
            "IVR_TICKET_EMAIL_TO": "support@example.com",
        }
    )
    assert settings.delivery_channels == ("desk", "email") and not settings.sms_enabled
    assert settings.ticket_email_from == "hotline@[127.0.0.1]"
    assert Settings.from_env({}).delivery_channels == ()
    assert settings.without_hand_off().delivery_channels == ()
