"""Twilio request signatures: every webhook must carry a valid X-Twilio-Signature.

The signature covers the URL Twilio called plus, for a form POST, every parameter as name+value
sorted by name with no separators, so it does not fix where one parameter ends and the next
begins: the shape of what is signed is checked separately (twilio.py `refusal`). A request whose
URL carries `bodySHA256` is signed over the URL only and its raw body must hash to that value.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from flask import Request
from twilio.request_validator import RequestValidator, add_port, compare, remove_port

__all__ = ["BODY_HASH", "is_signed", "signed_url"]

BODY_HASH = "bodySHA256"
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")  # hashlib's hexdigest, as Twilio sends it


def signed_url(request: Request, public_url: str) -> str:
    """The URL Twilio signed, rebuilt on IVR_PUBLIC_URL (proxies, load balancers, tunnels); '' without one.

    The client's Host header is never trusted for it: anyone can send any Host.
    """
    if not public_url:
        return ""
    query = request.query_string.decode("latin-1")
    return f"{public_url}{request.path}" + (f"?{query}" if query else "")


def is_signed(request: Request, auth_token: str, public_url: str) -> bool:
    """Whether the request's signature matches its URL and form parameters (or, with bodySHA256, its URL and raw body)."""
    signature = request.headers.get("X-Twilio-Signature", "")
    url = signed_url(request, public_url)
    if not signature or not auth_token or not url:
        return False
    validator = RequestValidator(auth_token)
    if BODY_HASH in request.args:
        hashes = request.args.getlist(BODY_HASH)
        # One well-formed hash, or the validator could read another one than the one we checked (or none at all).
        if len(hashes) != 1 or not HEX_SHA256.fullmatch(hashes[0]):
            return False
        try:
            body = request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError:
            return False
        # Given the body as a str, the validator checks its SHA-256 against bodySHA256 and signs the URL alone.
        return bool(validator.validate(url, body, signature))
    params = request.form if request.method == "POST" else {}  # all values of a repeated key are signed
    return _matches(validator, url, params, signature)


def _matches(validator: RequestValidator, url: str, params: Any, signature: str) -> bool:
    """`validator.validate` for a form, computing the second form of the URL only when the first does not match.

    Twilio signs a URL with or without its default port, so both are accepted, as the validator accepts them;
    the validator always computes both, and an HMAC over every form field is most of a signature check's time.
    """
    parsed = urlparse(url)
    if compare(validator.compute_signature(remove_port(parsed), params), signature):
        return True
    return bool(compare(validator.compute_signature(add_port(parsed), params), signature))
