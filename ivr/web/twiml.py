"""Engine actions → TwiML. The only module that knows TwiML's shape.

Every document the webhooks answer is written here: a call's steps, the carrier's fallback path
and the last resort, all from the engine's actions. Documents are joined from tags compiled once
per renderer (a menu version's voices, each gather and record the menu asks for), with only the
step's URLs and the prompts' words escaped per response. The output is byte for byte what
twilio's `VoiceResponse` writes through ElementTree (tests/test_twiml_golden.py holds it to that):
attributes sorted by name, booleans in lower case, `<Tag />` for an element with nothing inside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ivr.engine.actions import Action, Gather, Hangup, Record, Say, Transfer

__all__ = ["DIAL_TIMEOUT", "SPEECH_TIMEOUT", "StepUrls", "TwimlRenderer"]

DIAL_TIMEOUT = 30  # seconds an agent's line may ring before the transfer counts as no-answer
SPEECH_TIMEOUT = "auto"  # Twilio ends a speech turn at the caller's pause (no speechModel is set, so "auto" is allowed)

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'
_URL = "\x00url\x00"  # where a tag's action URL goes: no escaping changes it, and no attribute holds it
_MAX_TAGS = 512  # compiled gathers and records a renderer keeps (a menu asks for a few dozen)


def _text(value: str) -> str:
    """Character data escaped as ElementTree escapes it (only what XML requires)."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _attribute(value: str) -> str:
    """An attribute value escaped as ElementTree escapes it: also quotes, and line ends and tabs as references."""
    value = _text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def _open(tag: str, attributes: Mapping[str, object]) -> str:
    """'<Tag a="…" b="…"' (not closed): attributes sorted by name and booleans in lower case, as twilio writes them."""
    written = (
        f' {name}="{_attribute(str(value).lower() if isinstance(value, bool) else str(value))}"'
        for name, value in sorted(attributes.items())
    )
    return f"<{tag}{''.join(written)}"


def _around_url(tag: str, attributes: Mapping[str, object]) -> tuple[str, str]:
    """A tag's text before and after its action URL (the attribute given as `_URL`)."""
    before, _, after = _open(tag, attributes).partition(_URL)  # `action` sorts first: nothing before it can hold the mark
    return before, after


def _element(tag: str, text: str) -> str:
    """`<Tag>text</Tag>`, or `<Tag />` when there is no text."""
    return f"<{tag}>{_text(text)}</{tag}>" if text else f"<{tag} />"


def _redirect(url: str) -> str:
    return f'<Redirect method="POST">{_text(url)}</Redirect>' if url else '<Redirect method="POST" />'


_DIAL_BEFORE, _DIAL_AFTER = _around_url("Dial", {"action": _URL, "method": "POST", "timeout": DIAL_TIMEOUT})


@dataclass(frozen=True)
class StepUrls:
    """Where Twilio reports what happened after this response; '' where nothing should be reported."""

    gather: str = ""
    silence: str = ""
    record: str = ""
    record_empty: str = ""
    dial: str = ""

    @classmethod
    def for_step(cls, prefix: str, seq: int) -> StepUrls:
        """The action URLs of step `seq` of a call under `prefix` (e.g. '/voice'); each carries the step number."""
        return cls(
            gather=f"{prefix}/gather?seq={seq}",
            silence=f"{prefix}/gather?seq={seq}&silence=1",
            record=f"{prefix}/record?seq={seq}",
            record_empty=f"{prefix}/record?seq={seq}&empty=1",
            dial=f"{prefix}/dial?seq={seq}",
        )

    @classmethod
    def fallback(cls, prefix: str) -> StepUrls:
        """The carrier's fallback path: the message goes to its own URL; a last-resort Dial reports nothing."""
        return cls(record=f"{prefix}/fallback/recorded", record_empty=f"{prefix}/fallback/recorded?empty=1")


class TwimlRenderer:
    """Turns actions into one TwiML document; build one per menu version (and played languages) and share it."""

    def __init__(
        self,
        voices: Mapping[str, tuple[str, str]],
        played: Callable[[Say], list[tuple[str, str, str]] | None] | None = None,
        recognizers: Mapping[str, str] | None = None,
    ) -> None:
        self.voices = dict(voices)  # language -> (voice, language code the carrier expects), from the menu
        self.recognizers = dict(recognizers or {})  # language -> the code of the carrier's speech recogniser
        # A prompt in a language played from audio -> ("play", url, "") and ("say", lang, text) items, else None.
        self.played = played
        # Compiled as first used: language -> the <Say> tag, open and empty; gather and record -> their tag around the URL.
        self._says: dict[str, tuple[str, str]] = {}
        self._gathers: dict[tuple[object, ...], tuple[str, str]] = {}
        self._records: dict[tuple[str, int], tuple[str, str]] = {}

    def render(self, actions: Iterable[Action], urls: StepUrls) -> str:
        """The TwiML document for `actions`."""
        out: list[str] = []
        prompts: list[Say] = []
        for action in actions:
            if isinstance(action, Say):
                prompts.append(action)
            elif isinstance(action, Gather):
                # Prompts go inside the Gather so a key press interrupts them (barge-in).
                before, after = self._gather_tag(action)
                spoken = self._prompts(prompts)
                out.append(
                    f"{before}{_attribute(urls.gather)}{after}>{spoken}</Gather>"
                    if spoken
                    else f"{before}{_attribute(urls.gather)}{after} />"
                )
                out.append(_redirect(urls.silence))  # reached only when the caller stays silent
            elif isinstance(action, Transfer):
                out.append(self._prompts(prompts))
                out.append(self._dial(action, urls))
            elif isinstance(action, Record):
                out.append(self._prompts(prompts))
                before, after = self._record_tag(action)
                out.append(f"{before}{_attribute(urls.record)}{after} />")
                out.append(_redirect(urls.record_empty))  # Twilio skips the action when nothing was said
            elif isinstance(action, Hangup):
                out.append(self._prompts(prompts))
                out.append("<Hangup />")
        out.append(self._prompts(prompts))
        body = "".join(out)
        document = f"{_HEAD}<Response>{body}</Response>" if body else f"{_HEAD}<Response />"
        if not document.isascii():
            try:
                document.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (from a badly decoded value): written as a reference, as ElementTree does
                document = document.encode("utf-8", "xmlcharrefreplace").decode("utf-8")
        return document

    def _prompts(self, prompts: list[Say]) -> str:
        """The prompts waiting to be said, as <Say> and <Play> elements; the list is emptied."""
        if not prompts:
            return ""
        out = [self._say(prompt) for prompt in prompts]
        prompts.clear()
        return "".join(out)

    def _say(self, action: Say) -> str:
        """Play the prompt's pieces where its language is played from audio; speak the rest in its language's voice."""
        items = self.played(action) if self.played else None
        if items is not None:
            return "".join(_element("Play", first) if kind == "play" else self._speak(first, second) for kind, first, second in items)
        # A part in another language is spoken by that language's voice.
        return "".join(self._speak(lang, text) for lang, text in action.parts)

    def _speak(self, lang: str, text: str) -> str:
        tags = self._says.get(lang)
        if tags is None:
            if len(self._says) >= _MAX_TAGS:  # languages the menu names no voice for, from actions made by hand
                self._says.clear()
            tags = self._says[lang] = self._say_tags(lang)
        words = text.strip()
        return f"{tags[0]}{_text(words)}</Say>" if words else tags[1]

    def _say_tags(self, lang: str) -> tuple[str, str]:
        """The <Say> tag of a language, open and empty (unnamed voice: the carrier's own voice for the language)."""
        voice, language = self.voices.get(lang, ("", lang))
        tag = _open("Say", {"language": language, **({"voice": voice} if voice else {})})
        return f"{tag}>", f"{tag} />"

    def _gather_tag(self, action: Gather) -> tuple[str, str]:
        """The <Gather> tag of a gather the menu asks for, around its action URL (compiled once)."""
        key = (action.speech, action.hints, action.max_digits, action.finish_on_key, action.timeout)
        tag = self._gathers.get(key)
        if tag is None:
            if len(self._gathers) >= _MAX_TAGS:
                self._gathers.clear()
            attributes: dict[str, object] = {
                "input": "dtmf speech" if action.speech else "dtmf",
                "action": _URL,
                "method": "POST",
                "numDigits": action.max_digits,
                "finishOnKey": action.finish_on_key,
                "timeout": action.timeout,
                "actionOnEmptyResult": False,
                **self._listening(action),
            }
            tag = self._gathers[key] = _around_url("Gather", attributes)
        return tag

    def _listening(self, action: Gather) -> dict[str, str]:
        """The speech attributes of a Gather that also listens: recogniser language, end of turn, hints."""
        if not action.speech:
            return {}
        out = {"language": self.recognizers.get(action.speech, action.speech), "speechTimeout": SPEECH_TIMEOUT}
        if action.hints:
            out["hints"] = ",".join(action.hints)  # the loader keeps commas out of phrases and each within Twilio's limits
        return out

    def _record_tag(self, action: Record) -> tuple[str, str]:
        """The <Record> tag of a recording the menu asks for, around its action URL (compiled once)."""
        key = (action.finish_on_key, action.max_length)
        tag = self._records.get(key)
        if tag is None:
            if len(self._records) >= _MAX_TAGS:
                self._records.clear()
            attributes = {
                "action": _URL,
                "method": "POST",
                "finishOnKey": action.finish_on_key,
                "maxLength": action.max_length,
                "playBeep": True,
            }
            tag = self._records[key] = _around_url("Record", attributes)
        return tag

    @staticmethod
    def _dial(action: Transfer, urls: StepUrls) -> str:
        address = action.address
        if not address:  # the engine never asks to dial nowhere; nothing to say to Twilio if it did
            return ""
        if address.startswith("sip:"):
            target = _element("Sip", address)
        elif address.startswith("client:"):
            target = _element("Client", address.removeprefix("client:"))
        else:
            target = _element("Number", address)
        if urls.dial:
            return f"{_DIAL_BEFORE}{_attribute(urls.dial)}{_DIAL_AFTER}>{target}</Dial>"
        return f"<Dial>{target}</Dial>"
