"""Whether a caller's number can be called back: the one home of that rule.

The number is what the carrier says the call came from (Twilio's `From`, the console's `--caller`).
A withheld caller ID arrives as a word (`anonymous`, `restricted`…) or, on Twilio, as one of the
numbers that spell those words on a keypad (help.twilio.com, "Why am I getting calls from these
strange numbers?"); a browser or SIP caller arrives as `client:…` or `sip:…`. None of these can be
called back by an engineer, and neither can an entry too short or too long to be a phone number.
"""

from __future__ import annotations

import re

__all__ = ["can_call_back", "can_text", "masked"]

# What carriers put in place of a withheld or missing caller ID.
WITHHELD_WORDS = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"})
# Twilio's placeholders for a withheld caller ID: ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN, UNAVAILABLE on a keypad.
KEYPAD_WORDS = frozenset({"266696687", "7378742833", "2562533", "8656696", "86282452253"})
# Spacing people (and the console) write inside a number: "+86 138-0000 0000", "(010) 1234 5678".
SEPARATORS = re.compile(r"[\s().\-]")
# E.164 allows at most 15 digits; the shortest numbers in use (country code included) have 7.
PHONE_NUMBER = re.compile(r"\+?[0-9]{7,15}")


def can_call_back(number: str) -> bool:
    """Whether `number` is a phone number an engineer could call back (E.164 or national digits of a plausible length)."""
    raw = number.strip()
    if raw.lower() in WITHHELD_WORDS:
        return False
    compact = SEPARATORS.sub("", raw)
    if not PHONE_NUMBER.fullmatch(compact):
        return False  # empty, client:/sip: identities, letters and other junk
    digits = compact.removeprefix("+")
    return digits not in KEYPAD_WORDS and digits.strip("0") != ""


# China's mobile numbers in E.164: +86, then 1[3-9] and nine more digits (landlines have area codes 10, 2x, 3xx–9xx).
CHINA_MOBILE = re.compile(r"\+861[3-9][0-9]{9}")


def can_text(number: str, prefixes: tuple[str, ...] = ()) -> bool:
    """Whether a text message may go to `number`: a China mobile in E.164, or an E.164 number under one of `prefixes`.

    Only the exact E.164 form the carrier gives counts: a national or spaced number is not guessed at.
    """
    raw = number.strip()
    if CHINA_MOBILE.fullmatch(raw):
        return True
    return bool(PHONE_NUMBER.fullmatch(raw)) and raw.startswith("+") and any(raw.startswith(prefix) for prefix in prefixes)


def masked(number: str) -> str:
    """A caller's number as it may be shown (lists, reports, logs): the middle digits hidden, "+86138****0000".

    Enough is kept to tell calls apart and see the network; a withheld number or an identity shows as it came.
    """
    raw = number.strip()
    compact = SEPARATORS.sub("", raw)
    if not PHONE_NUMBER.fullmatch(compact):
        return raw[:4] + "…" if len(raw) > 12 else raw  # client:/sip: identities, words: not a number to hide
    digits = compact.removeprefix("+")
    keep_head = min(5, max(0, len(digits) - 8))
    head, tail = digits[:keep_head], digits[-4:]
    return ("+" if compact.startswith("+") else "") + head + "*" * (len(digits) - keep_head - 4) + tail
