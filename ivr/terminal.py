"""Printing what callers supplied (numbers, words said, messages) on an operator's terminal without letting it act there."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

__all__ = ["columns", "json_safe", "shown", "url_shown"]

# Control, format (bidi overrides), separator, surrogate, private and unassigned characters: they could move the
# cursor, recolour or rewrite the operator's terminal, or reorder what it shows. Chinese and other text prints as is.
HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(text: str) -> str:
    """`text` with its hidden characters escaped; a backslash is doubled, so the text "\\x1b" and an escaped ESC never look alike."""
    return "".join("\\\\" if ch == "\\" else _escape(ch) if unicodedata.category(ch) in HIDDEN else ch for ch in text)


def columns(text: str) -> int:
    """Columns `text` takes on a terminal: wide (CJK) characters two, combining marks none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def url_shown(url: str) -> str:
    """A URL as it may be printed or logged: scheme, host and port only (a user, a password, a path or a query may hold a token)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme else "…"


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def json_safe(document: str) -> str:
    """A JSON document (from json.dumps) with its hidden characters escaped; it still decodes to the same values.

    json.dumps escapes C0 controls in strings, not DEL, C1 or format characters; outside strings there are none
    but an indentation's newlines.
    """
    return "".join(_json_escape(ch) if ch != "\n" and unicodedata.category(ch) in HIDDEN else ch for ch in document)
