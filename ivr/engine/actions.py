"""Channel-neutral actions the engine asks an adapter to carry out, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, ClassVar

from ivr.engine.frozen import filled_directly
from ivr.text import CompiledPrompt, compile_prompt, fill


@dataclass(frozen=True)
class Action:
    """Base of every action; `to_dict` gives the JSON-lines form with its `type` first."""

    type: ClassVar[str]
    node: str

    def to_dict(self) -> dict[str, Any]:
        """The action as a plain dict, `type` first."""
        return {"type": self.type, **asdict(self)}


@filled_directly
@dataclass(frozen=True)
class Say(Action):
    """Speak `text` in `lang`; `prompt` names the prompt (node and part) for pre-rendered audio.

    `segments` are its parts in order as (language, text) when some part is in another language (the
    offer "For English, press 9." inside a Chinese prompt); each is spoken by its own language's voice.
    """

    type: ClassVar[str] = "say"
    lang: str
    text: str
    prompt: str = ""
    segments: tuple[tuple[str, str], ...] = ()
    # The same prompt as (language, kind, content) pieces (fixed words, digits, values): how it is assembled
    # from rendered audio where a language is played rather than spoken (ivr.text.pieces).
    pieces: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def of(cls, node: str, lang: str, template: str, values: Mapping[str, str], prompt: str = "") -> Say:
        """A prompt as said: run-time values filled in, split into its language segments and its pieces."""
        said = _fixed_say(node, lang, template, prompt) if cls is Say else None
        if said is not None:
            return said
        return _said(cls, node, lang, compile_prompt(lang, template), values, prompt)

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        """(language, text) of each part: the segments, or the whole text in its language."""
        return self.segments or ((self.lang, self.text),)

    def to_dict(self) -> dict[str, Any]:
        """JSON form without the internal prompt id (the text is the whole prompt, segments and all)."""
        return {"type": self.type, "node": self.node, "lang": self.lang, "text": self.text}


def _said(cls: type[Say], node: str, lang: str, prompt: CompiledPrompt, values: Mapping[str, str], name: str) -> Say:
    spoken, parts, filled = fill(prompt, values)
    mixed = len(parts) > 1 or parts[0][0] != lang
    return cls(node, lang, spoken, name, parts if mixed else (), filled)


@lru_cache(maxsize=8192)
def _fixed_say(node: str, lang: str, template: str, name: str) -> Say | None:
    """A prompt without placeholders is said the same at every step: made once (an action is immutable, so shared)."""
    prompt = compile_prompt(lang, template)
    return _said(Say, node, lang, prompt, {}, name) if prompt.fixed else None


@filled_directly
@dataclass(frozen=True)
class Gather(Action):
    """Wait for keys: up to `max_digits`, ending early on `finish_on_key` ('' = none) or after `timeout` s."""

    type: ClassVar[str] = "gather"
    max_digits: int
    finish_on_key: str
    timeout: int
    speech: str = ""  # the language the caller may also speak in ('' = keys only)
    hints: tuple[str, ...] = ()  # words and phrases the recogniser should expect

    def to_dict(self) -> dict[str, Any]:
        """JSON form: what is waited for (how speech is recognised is the carrier's business)."""
        return {
            "type": self.type,
            "node": self.node,
            "max_digits": self.max_digits,
            "finish_on_key": self.finish_on_key,
            "timeout": self.timeout,
        }


@filled_directly
@dataclass(frozen=True)
class Transfer(Action):
    """Connect the caller to a queue of agents; `address` is the queue's number or SIP URI, if known."""

    type: ClassVar[str] = "transfer"
    queue: str
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form: node and queue."""
        return {"type": self.type, "node": self.node, "queue": self.queue}


@filled_directly
@dataclass(frozen=True)
class Record(Action):
    """Record the caller's message."""

    type: ClassVar[str] = "record"
    max_length: int = 120
    finish_on_key: str = "#"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: node only."""
        return {"type": self.type, "node": self.node}


@filled_directly
@dataclass(frozen=True)
class Ticket(Action):
    """A ticket was created for this call (before its number is read out)."""

    type: ClassVar[str] = "ticket"
    number: str
    category: str


@filled_directly
@dataclass(frozen=True)
class Hangup(Action):
    """End the call; `reason` says why (completed, transferred, caller, loop_limit, error)."""

    type: ClassVar[str] = "hangup"
    reason: str
