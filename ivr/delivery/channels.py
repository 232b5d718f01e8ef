"""The transports the settings configure, by channel: the one place that knows which variables turn which channel on."""

from __future__ import annotations

from ivr.config import Settings
from ivr.delivery import Transport
from ivr.errors import ConfigError

__all__ = ["transports_from"]


def transports_from(settings: Settings) -> dict[str, Transport]:
    """Every configured channel's transport (none configured: an empty mapping, and no sender runs)."""
    try:
        return _transports(settings)
    except ValueError as exc:  # the settings are checked when read; a transport's own check is the backstop
        raise ConfigError(f"ticket hand-off: {exc}") from exc


def _transports(settings: Settings) -> dict[str, Transport]:
    found: dict[str, Transport] = {}
    if settings.ticket_webhook_url:
        from ivr.delivery.desk import DeskWebhook

        found["desk"] = DeskWebhook(settings.ticket_webhook_url, settings.ticket_webhook_secret)
    if settings.smtp_url:
        from ivr.delivery.mail import SupportMail

        found["email"] = SupportMail(settings.smtp_url, settings.ticket_email_to, settings.ticket_email_from)
    if settings.sms_enabled:
        from ivr.delivery.sms import CallerSms  # the twilio client is imported only where texts are sent

        found["sms"] = CallerSms(settings.twilio_account_sid, settings.twilio_auth_token, settings.sms_from, settings.twilio_api_url)
    return found
