"""TwiML as the webhooks answer it, against a stored copy: every node of the shipped menu, both languages.

The copy, tests/golden/twiml.json, maps a case name to its TwiML document. A case is what the engine
answers when a call enters a node of the shipped menu (found by exploring the menu from the start with
the keys, silences, transfer and recording results a caller can cause, while the line is open and while
it is closed, in each language), or the carrier's fallback, its ticket read-back or the last resort,
or a hand-made document with text that needs escaping. Each is rendered twice: spoken (<Say>) and
played from rendered audio (<Play>). Any difference fails the test.

After a change that is meant to change what callers hear, write the copy again and review its diff:

    IVR_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_twiml_golden.py

Beside the copy: escaping is checked as a property (the text and attributes of any document read
back with xml.etree are what was rendered), and the renderer is compared with a reference written
with twilio's VoiceResponse on random actions, byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from twilio.twiml.voice_response import Gather as TwimlGather
from twilio.twiml.voice_response import VoiceResponse

from ivr.actions import REGISTRY
from ivr.audio.plan import assemble
from ivr.config import Settings
from ivr.engine.actions import Action, Gather, Hangup, Record, Say, Transfer
from ivr.engine.engine import Engine, Step
from ivr.engine.events import Entry, Event, RecordingDone, TransferResult
from ivr.engine.fsm import LAST_TRANSFER
from ivr.engine.services import TicketRequest
from ivr.errors import ServiceError
from ivr.hotline import data_texts, engine_for
from ivr.ir import Menu
from ivr.loading.menu_loader import load_menu
from ivr.web.service import played_pieces, renderer_for
from ivr.web.twiml import DIAL_TIMEOUT, SPEECH_TIMEOUT, StepUrls, TwimlRenderer
from tests.conftest import AFTER_HOURS, IN_HOURS, SHIPPED_MENU

GOLDEN = Path(__file__).resolve().parent / "golden" / "twiml.json"
REGENERATE = os.environ.get("IVR_REGENERATE_GOLDEN") == "1"
PUBLIC_URL = "https://ivr.example.test"
CALLER = "+8613800000000"
STORE_DOWN = "+8613900000000"  # a caller whose ticket cannot be stored: the menu's error path
# Who calls: a number that can be called back, one withheld, one whose ticket fails (each takes ways of its own).
CALLERS = (CALLER, "anonymous", STORE_DOWN)
TICKET = "20261130042"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0"
# Every kind of address a transfer dials: a SIP URI (with a parameter), a client, a number; the rest keep the menu's.
QUEUE_ADDRESSES = {"general": "sip:general@pbx.example.test;transport=tls", "business": "+862112345678"}
MAX_DEPTH = 6  # caller events explored from a start; deep enough to enter every node of the shipped menu
HOSTILE = 'Tom & Jerry\'s <b>"quote"</b> > 5 — 您好，请按 1 ☎ 🙂'


class FixedTickets:
    """Every call's ticket gets the same number, so the read-back is the same in every run; one caller's store is down."""

    def create_ticket(self, request: TicketRequest) -> str:
        """The fixed number (for STORE_DOWN's calls, the store's failure)."""
        if request.caller == STORE_DOWN:
            raise ServiceError("the ticket store is unreachable")
        return TICKET


@dataclass(frozen=True)
class Case:
    """Actions to render and the URLs their response reports to."""

    actions: tuple[Action, ...]
    urls: StepUrls


PlayedCallback = Callable[[Say], list[tuple[str, str, str]] | None]


# ---- the renderer as the webhooks build it -----------------------------------------
@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt as the audio index holds it: where its 8 kHz copy is."""

    telephone: str


class EveryPromptRendered:
    """An audio index that has every text in every language (its file named after the text)."""

    def lookup(self, lang: str, text: str) -> RenderedPrompt:
        """The rendered copy of `text`."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # random text may hold a lone surrogate
        return RenderedPrompt(f"{lang}/{digest[:12]}.wav")


def played_from_audio(languages: set[str]) -> PlayedCallback:
    """The played callback of the voice service: each rendered piece's URL (later ones with their place), words to speak."""
    index = EveryPromptRendered()

    def played(say: Say) -> list[tuple[str, str, str]] | None:
        if not ({say.lang} | {lang for lang, _ in say.parts}) & languages:
            return None
        items = assemble(say, index, languages)  # type: ignore[arg-type]  # a stand-in with the index's lookup
        return None if items is None else played_pieces(items, PUBLIC_URL)

    return played


# ---- the cases ---------------------------------------------------------------------
@functools.cache
def shipped_menu() -> Menu:
    """The shipped menu, loaded once."""
    return load_menu(SHIPPED_MENU)


def golden_engine() -> Engine:
    """The shipped menu's engine as the hotline builds it, with fixed tickets and every kind of dialled address."""
    return engine_for(shipped_menu(), FixedTickets(), Settings(queue_addresses=QUEUE_ADDRESSES))


def replies(engine: Engine, step: Step, speech: bool) -> list[tuple[Event, bool]]:
    """What a caller (or the network) may answer to a step, each marked whether to explore on from it.

    Keys, silence, transfer and recording results lead on; words (where `speech`) only show what they are answered with.
    """
    actions = step.actions
    waiting = actions[-1] if actions else None
    if isinstance(waiting, Gather):
        node = engine.menu.nodes[waiting.node]
        examples: dict[str, str] = {}
        for name in node.actions():
            examples.update(REGISTRY[name].examples(data_texts(engine.menu)))
        keys: list[tuple[Event, bool]] = [(Entry(k), True) for k in node.candidates(examples)]
        return keys + [(said, False) for said in node.spoken_candidates(examples)] if speech else keys
    if isinstance(waiting, Transfer):
        return [(TransferResult("completed"), True), (TransferResult("no-answer"), True)]
    if isinstance(waiting, Record):
        return [(RecordingDone(url=RECORDING, seconds=7, ended_by="#"), True), (RecordingDone(), True)]
    return []


def entered(step: Step) -> list[str]:
    """What a step's answer goes by: each node it moves into, and `node (trigger)` where it stays."""
    return [edge.dest if edge.dest and edge.dest != edge.source else f"{edge.source} ({edge.trigger})" for edge in step.transitions]


def menu_cases(engine: Engine) -> Iterator[tuple[str, Case]]:
    """The first answer (breadth first) that enters each node, per language, while the line is open and while it is closed.

    An answer the closed line gives as the open line did is kept once.
    """
    for lang in engine.menu.languages:
        opened = dict(Explorer(engine, lang, IN_HOURS).cases(f"{lang}, line open: "))
        yield from opened.items()
        for name, case in Explorer(engine, lang, AFTER_HOURS).cases(f"{lang}, line closed: "):
            if opened.get(name.replace(", line closed: ", ", line open: ")) != case:
                yield name, case


class Explorer:
    """Calls in one language at one time, breadth first, each answer named by the nodes it enters first."""

    def __init__(self, engine: Engine, lang: str, at: datetime) -> None:
        self.engine, self.lang, self.at = engine, lang, at
        self.named: set[str] = set()
        self.heard: set[str] = set()  # nodes where words were tried already

    def cases(self, prefix: str) -> Iterator[tuple[str, Case]]:
        """Each answer that enters something not entered before, named `prefix` + what it enters."""
        for caller in CALLERS:
            seen: set[tuple[object, ...]] = set()
            todo = deque((step, seq, 0) for step, seq in self._starts(caller))
            for step, seq, _ in todo:
                if new := self._new(step, self.engine.menu.start if seq == 1 else ""):
                    yield prefix + new, Case(step.actions, StepUrls.for_step("/voice", seq))
            while todo:
                step, seq, depth = todo.popleft()
                snap = step.snapshot
                state = (snap.node, snap.invalid, snap.no_input, snap.menu, tuple(snap.stack), snap.values.get(LAST_TRANSFER, ""))
                if snap.ended or state in seen or depth >= MAX_DEPTH:
                    continue
                seen.add(state)
                for event, onwards in replies(self.engine, step, snap.node not in self.heard):
                    after = self.engine.handle(snap, event, self.at)
                    if new := self._new(after):
                        yield prefix + new, Case(after.actions, StepUrls.for_step("/voice", seq + 1))
                    if onwards:
                        todo.append((after, seq + 1, depth + 1))
                self.heard.add(snap.node)

    def _starts(self, caller: str) -> list[tuple[Step, int]]:
        """The call's start, and the same call once it has pressed repeat until the runaway guard takes it."""
        first = self.engine.start(sid(caller), caller, self.at, self.lang)
        step, seq = first, 1
        while not any(edge.trigger == "loop_limit" for edge in step.transitions) and seq <= self.engine.menu.loop_limit.max_steps + 1:
            step, seq = self.engine.handle(step.snapshot, Entry("*"), self.at), seq + 1
        return [(first, 1), (step, seq)]

    def _new(self, step: Step, start: str = "") -> str:
        """The names a step enters that no earlier step did, joined; '' when none."""
        new = [name for name in ([start] if start else []) + entered(step) if name not in self.named]
        self.named.update(new)
        return " → ".join(new)


def sid(label: str) -> str:
    """A CallSid of Twilio's form named after `label`."""
    return "CA" + hashlib.sha256(label.encode()).hexdigest()[:32]


def carrier_cases(engine: Engine) -> Iterator[tuple[str, Case]]:
    """The fallback path and the last resort, in every language and in each one first."""
    fallback = StepUrls.fallback("/voice")
    for lang in (None, *engine.menu.languages):
        label = lang or "every language"
        yield f"fallback ({label})", Case(engine.fallback(lang), fallback)
        yield f"last resort ({label})", Case(engine.last_resort(lang), fallback)
        yield (
            f"last resort mid-call ({label})",
            Case(engine.last_resort(lang, "main", every_language=False), StepUrls.for_step("/voice", 4)),
        )
    ticket = engine.fallback_ticket("CA" + "1" * 32, CALLER, RECORDING, IN_HOURS)
    yield "fallback ticket read back", Case(ticket, fallback)


def hand_made_cases() -> Iterator[tuple[str, Case]]:
    """Documents no shipped node makes: text and addresses that need escaping, every dial form, empty pieces."""
    urls = StepUrls.for_step("/voice?x=<1>&y='2'", 3)
    say = Say("n", "zh-CN", HOSTILE, "n.prompt")
    yield "escaping: a prompt", Case((say, Gather("n", 1, "", 5)), urls)
    mixed = Say("n", "zh-CN", "请按 9 & <more>", segments=(("zh-CN", "请按 9 &"), ("en-US", 'For English, press "9" <now>')))
    yield "escaping: a prompt in two voices", Case((mixed, Hangup("n", "done")), urls)
    listening = Gather("n", 12, "#", 8, speech="zh-CN", hints=("订单 & 账号", "<agent>", 'say "yes"'))
    yield "escaping: speech hints", Case((say, listening), urls)
    yield "escaping: an unknown language's voice", Case((Say("n", "x-<&>", " spaced out \n"),), urls)
    yield "a prompt of nothing but spaces", Case((Say("n", "en-US", "   "), Hangup("n", "done")), urls)
    for label, address in (
        ("a SIP URI", "sip:agent@pbx.example.test;transport=tls?X-Note=a&b"),
        ("a client", "client:orders<&>"),
        ("a client without a name", "client:"),
        ("a number", "+86 (21) 1234-5678 & 2"),
        ("nothing", ""),
    ):
        transfer = Transfer("n", "q", address)
        yield f"dial {label}", Case((say, transfer, Hangup("n", "done")), urls)
        yield f"dial {label} on the fallback path", Case((transfer,), StepUrls.fallback("/voice"))
    yield "record after a prompt", Case((say, Record("n", 60, "*"), say), urls)
    yield "record without a key", Case((Record("n", 30, ""),), urls)
    yield "prompts after the last wait", Case((Gather("n", 1, "#", 5), say, say), urls)
    yield "nothing at all", Case((), urls)


@functools.cache
def golden_cases() -> dict[str, Case]:
    """Every case of the stored copy, by name."""
    engine = golden_engine()
    return dict([*menu_cases(engine), *carrier_cases(engine), *hand_made_cases()])


def render_all(cases: Mapping[str, Case], menu: Menu) -> dict[str, str]:
    """Each case spoken and played from audio (every language played)."""
    modes = {"spoken": renderer_for(menu, None), "played": renderer_for(menu, played_from_audio(set(menu.languages)))}
    return {f"{mode}: {name}": renderer.render(case.actions, case.urls) for name, case in cases.items() for mode, renderer in modes.items()}


# ---- the tests ---------------------------------------------------------------------
def test_every_node_in_both_languages_is_a_case() -> None:
    """The stored copy covers every node of the shipped menu in each language."""
    names, menu = list(golden_cases()), shipped_menu()
    for lang in menu.languages:
        entered = [name.split(": ", 1)[1] for name in names if name.startswith(f"{lang}, line ")]
        reached = {part.split(" (")[0] for name in entered for part in name.split(" → ")}
        assert set(menu.nodes) <= reached, sorted(set(menu.nodes) - reached)


def test_twiml_is_the_stored_copy() -> None:
    """Every case renders exactly as stored (IVR_REGENERATE_GOLDEN=1 writes the copy again)."""
    got = render_all(golden_cases(), shipped_menu())
    if REGENERATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {len(got)} documents to {GOLDEN}")  # a copy just written proves nothing: review its diff
    stored = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(stored), "cases differ from the stored copy: regenerate it if that is meant"
    changed = [name for name in stored if got[name] != stored[name]]
    assert not changed, f"{len(changed)} documents differ, the first {changed[0]!r}:\n{stored[changed[0]]}\n!=\n{got[changed[0]]}"


# ---- escaping ----------------------------------------------------------------------
# What XML 1.0 can carry: no surrogates, no control characters but tab and newline (a carriage return in text
# reads back as a newline, as XML ends lines), nor U+FFFE and U+FFFF.
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff", whitelist_characters="\t\n"))
# Inside attributes a carriage return survives too (it is written as a character reference).
XML_ATTRIBUTE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff", whitelist_characters="\t\n\r")
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=XML_TEXT, voice=XML_ATTRIBUTE, language=XML_ATTRIBUTE, url=XML_TEXT, hint=XML_ATTRIBUTE.filter(lambda s: "," not in s))
def test_any_text_reads_back_from_the_document(text: str, voice: str, language: str, url: str, hint: str) -> None:
    """Whatever a prompt, a voice, a URL or a hint holds, xml.etree reads back exactly that from the document."""
    renderer = TwimlRenderer({"xx": (voice, language)}, None, {"xx": language})
    gather = Gather("n", 4, "#", 5, speech="xx", hints=(hint,))
    dialled = "/dial?" + url  # an empty action URL leaves the Dial without attributes
    urls = StepUrls(gather=url, silence=url, dial=dialled)
    document = renderer.render((Say("n", "xx", text), gather, Transfer("n", "q", "client:" + url)), urls)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    root = ET.fromstring(document)
    gathered, redirect, dial = list(root)
    (say,) = list(gathered)
    assert (say.text or "") == text.strip()
    assert say.get("voice") == (voice or None) and say.get("language") == language
    assert gathered.get("action") == url and gathered.get("hints") == hint and gathered.get("language") == language
    assert (redirect.text or "") == url and (dial.get("action"), (dial[0].text or "")) == (dialled, url)


# ---- against VoiceResponse ---------------------------------------------------------
def reference_render(renderer: TwimlRenderer, actions: Iterable[Action], urls: StepUrls) -> str:
    """The document as twilio's VoiceResponse builds it (ElementTree), from the same actions."""
    response = VoiceResponse()
    prompts: list[Say] = []

    def speak(target: VoiceResponse | TwimlGather, lang: str, text: str) -> None:
        voice, language = renderer.voices.get(lang, ("", lang))
        target.say(text.strip(), voice=voice or None, language=language)

    def say(target: VoiceResponse | TwimlGather) -> None:
        for prompt in prompts:
            items = renderer.played(prompt) if renderer.played else None
            if items is None:
                for lang, text in prompt.parts:
                    speak(target, lang, text)
                continue
            for kind, first, second in items:
                if kind == "play":
                    target.play(first)
                else:
                    speak(target, first, second)
        prompts.clear()

    for action in actions:
        if isinstance(action, Say):
            prompts.append(action)
        elif isinstance(action, Gather):
            listening = {}
            if action.speech:
                listening = {"language": renderer.recognizers.get(action.speech, action.speech), "speech_timeout": SPEECH_TIMEOUT}
                if action.hints:
                    listening["hints"] = ",".join(action.hints)
            gather = TwimlGather(
                input="dtmf speech" if action.speech else "dtmf",
                action=urls.gather,
                method="POST",
                num_digits=action.max_digits,
                finish_on_key=action.finish_on_key,
                timeout=action.timeout,
                action_on_empty_result=False,
                **listening,
            )
            say(gather)
            response.append(gather)
            response.redirect(urls.silence, method="POST")
        elif isinstance(action, Transfer):
            say(response)
            if action.address:
                dial = response.dial(action=urls.dial, method="POST", timeout=DIAL_TIMEOUT) if urls.dial else response.dial()
                if action.address.startswith("sip:"):
                    dial.sip(action.address)
                elif action.address.startswith("client:"):
                    dial.client(action.address.removeprefix("client:"))
                else:
                    dial.number(action.address)
        elif isinstance(action, Record):
            say(response)
            response.record(
                action=urls.record, method="POST", finish_on_key=action.finish_on_key, max_length=action.max_length, play_beep=True
            )
            response.redirect(urls.record_empty, method="POST")
        elif isinstance(action, Hangup):
            say(response)
            response.hangup()
    say(response)
    return str(response)


# Any text at all, surrogates too, with what escaping is about made likely; also what XML cannot carry (ElementTree writes a control
# character as it is, and a lone surrogate, as a badly decoded value holds, as a character reference).
ANY_TEXT = st.text(st.characters(), max_size=12) | st.sampled_from(["", " ", "&", "<>", '"', "'", "\r\n\t", "您好", "\x01", "caf\udce9"])
LANGS = st.sampled_from(["zh-CN", "en-US", "fr-FR", ""])
SAYS = st.builds(
    Say,
    node=st.just("n"),
    lang=LANGS,
    text=ANY_TEXT,
    segments=st.lists(st.tuples(LANGS, ANY_TEXT), max_size=3).map(tuple),
)
ACTIONS = st.one_of(
    SAYS,
    SAYS,
    st.builds(
        Gather,
        node=st.just("n"),
        max_digits=st.integers(0, 20),
        finish_on_key=st.sampled_from(["", "#", "*"]),
        timeout=st.integers(0, 30),
        speech=LANGS,
        hints=st.lists(ANY_TEXT, max_size=3).map(tuple),
    ),
    st.builds(
        Transfer,
        node=st.just("n"),
        queue=st.just("q"),
        address=st.sampled_from(["", "sip:", "client:", "+"]).flatmap(lambda p: ANY_TEXT.map(p.__add__)),
    ),
    st.builds(Record, node=st.just("n"), max_length=st.integers(0, 300), finish_on_key=st.sampled_from(["", "#"])),
    st.builds(Hangup, node=st.just("n"), reason=st.just("done")),
)
URLS = st.builds(StepUrls, gather=ANY_TEXT, silence=ANY_TEXT, record=ANY_TEXT, record_empty=ANY_TEXT, dial=ANY_TEXT)
VOICES = st.dictionaries(LANGS, st.tuples(ANY_TEXT, ANY_TEXT), max_size=3)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    actions=st.lists(ACTIONS, max_size=8),
    urls=URLS,
    voices=VOICES,
    recognizers=st.dictionaries(LANGS, ANY_TEXT, max_size=2),
    play=st.booleans(),
)
@example(
    actions=[Say("n", "zh-CN", "caf\udce9 & co")], urls=StepUrls(), voices={"zh-CN": ("v\udc80", "cmn-CN")}, recognizers={}, play=False
)
def test_the_document_is_the_one_voice_response_writes(
    actions: list[Action], urls: StepUrls, voices: dict[str, tuple[str, str]], recognizers: dict[str, str], play: bool
) -> None:
    """On any actions, voices and URLs the renderer writes byte for byte what twilio's VoiceResponse writes."""
    played = played_from_audio({"zh-CN", "fr-FR"}) if play else None
    renderer = TwimlRenderer(voices, played, recognizers)
    assert renderer.render(actions, urls) == reference_render(renderer, actions, urls)
