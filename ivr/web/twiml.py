"""Engine actions → TwiML, with twilio's `VoiceResponse`. The only module that knows TwiML's shape.

Every document the webhooks answer is written here: a call's steps, the carrier's fallback path
and the last resort, all from the engine's actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from ivr.engine.actions import Action, Gather, Hangup, Record, Say, Transfer

__all__ = ["DIAL_TIMEOUT", "StepUrls", "TwimlRenderer"]

DIAL_TIMEOUT = 30  # seconds an agent's line may ring before the transfer counts as no-answer
SPEECH_TIMEOUT = "auto"  # Twilio ends a speech turn at the caller's pause (no speechModel is set, so "auto" is allowed)


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
    """Turns actions into one TwiML document."""

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

    def say(self, target: VoiceResponse | TwimlGather, action: Say) -> None:
        """Play the prompt's pieces where its language is played from audio; speak the rest in its language's voice."""
        items = self.played(action) if self.played else None
        if items is not None:
            for kind, first, second in items:
                if kind == "play":
                    target.play(first)
                else:
                    self._speak(target, first, second)
            return
        for lang, text in action.parts:  # a part in another language is spoken by that language's voice
            self._speak(target, lang, text)

    def _speak(self, target: VoiceResponse | TwimlGather, lang: str, text: str) -> None:
        voice, language = self.voices.get(lang, ("", lang))  # unnamed: the carrier's own voice for the language
        target.say(text.strip(), voice=voice or None, language=language)

    def render(self, actions: Iterable[Action], urls: StepUrls) -> str:
        """The TwiML document for `actions`."""
        response = VoiceResponse()
        prompts: list[Say] = []

        def flush() -> None:
            for prompt in prompts:
                self.say(response, prompt)
            prompts.clear()

        for action in actions:
            if isinstance(action, Say):
                prompts.append(action)
            elif isinstance(action, Gather):
                # Prompts go inside the Gather so a key press interrupts them (barge-in).
                gather = TwimlGather(
                    input="dtmf speech" if action.speech else "dtmf",
                    action=urls.gather,
                    method="POST",
                    num_digits=action.max_digits,
                    finish_on_key=action.finish_on_key,
                    timeout=action.timeout,
                    action_on_empty_result=False,
                    **self._listening(action),
                )
                for prompt in prompts:
                    self.say(gather, prompt)
                prompts.clear()
                response.append(gather)
                response.redirect(urls.silence, method="POST")  # reached only when the caller stays silent
            elif isinstance(action, Transfer):
                flush()
                self._dial(response, action, urls)
            elif isinstance(action, Record):
                flush()
                response.record(
                    action=urls.record,
                    method="POST",
                    finish_on_key=action.finish_on_key,
                    max_length=action.max_length,
                    play_beep=True,
                )
                response.redirect(urls.record_empty, method="POST")  # Twilio skips the action when nothing was said
            elif isinstance(action, Hangup):
                flush()
                response.hangup()
        flush()
        return str(response)

    def _listening(self, action: Gather) -> dict[str, str]:
        """The speech attributes of a Gather that also listens: recogniser language, end of turn, hints."""
        if not action.speech:
            return {}
        out = {"language": self.recognizers.get(action.speech, action.speech), "speech_timeout": SPEECH_TIMEOUT}
        if action.hints:
            out["hints"] = ",".join(action.hints)  # the loader keeps commas out of phrases and each within Twilio's limits
        return out

    @staticmethod
    def _dial(response: VoiceResponse, action: Transfer, urls: StepUrls) -> None:
        address = action.address
        if not address:  # the engine never asks to dial nowhere; nothing to say to Twilio if it did
            return
        dial = response.dial(action=urls.dial, method="POST", timeout=DIAL_TIMEOUT) if urls.dial else response.dial()
        if address.startswith("sip:"):
            dial.sip(address)
        elif address.startswith("client:"):
            dial.client(address.removeprefix("client:"))
        else:
            dial.number(address)
