"""Twilio request signatures: every webhook must carry a valid X-Twilio-Signature."""

from __future__ import annotations

from flask import Request
from twilio.request_validator import RequestValidator


def signed_url(request: Request, public_url: str) -> str:
    """The URL Twilio signed: rebuilt on IVR_PUBLIC_URL when set (proxies, load balancers, tunnels)."""
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{public_url}{request.path}" + (f"?{query}" if query else "")


def is_signed(request: Request, auth_token: str, public_url: str) -> bool:
    """Whether the request's signature matches its URL and form parameters."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not auth_token:
        return False
    params = request.form if request.method == "POST" else {}  # all values of a repeated key are signed
    return bool(RequestValidator(auth_token).validate(signed_url(request, public_url), params, signature))
