"""`type: menu` — say a prompt and wait for one of its keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from ivr.engine.actions import Gather
from ivr.engine.events import Speech
from ivr.engine.fsm import CallModel, MachineBuilder
from ivr.format import Build, Keys, Localised, NodeType, Phrases, Target
from ivr.ir import BACK, RETRY, Node
from ivr.nodes.prompted import LISTEN_FIELDS, RETRY_COUNTS, RETRY_TEXTS, SAY, SHORT, PromptedNode
from ivr.text import Text
from ivr.understanding import PhraseIndex, family, navigation, normalise, spoken_key

PHRASES = Phrases("phrases", "What a caller may say for each key, per language (speech on): KEY → {LANG: [phrase, …]}.")
WHICH = Localised("which", "Asks which option a caller meant who named several at once: {choices}.", inherit="which")
OR_WORDS = {"zh": ("，", "，还是"), "en": (", ", ", or ")}  # between the options asked about, and before the last


@dataclass(frozen=True)
class MenuNode(PromptedNode):
    """Plays a prompt and waits for one of its keys."""

    options: Mapping[str, str]  # DTMF key -> target
    language_key: str = ""  # switches to the menu's next language and says this menu again ('' = none here)
    spoken_only: Mapping[str, str] = field(default_factory=dict, kw_only=True)  # option id -> target, reached by speech only

    kind: ClassVar[str] = "menu"
    is_menu: ClassVar[bool] = True

    @cached_property
    def max_digits(self) -> int:
        """Longest key, so the gather ends as soon as a full key is entered."""
        return max((len(k) for k in self.options), default=1)

    def edges(self) -> dict[str, str]:
        """Each key, and where too many failures go."""
        spoken = {f"say_{k}": t for k, t in self.spoken_only.items()}
        return {**{f"key_{k}": t for k, t in self.options.items()}, **spoken, "max_failures": self.retry.on_max_failures}

    def moves(self) -> list[tuple[str, str]]:
        """The keys."""
        return list(self.options.items())

    @cached_property
    def indexes(self) -> dict[str, PhraseIndex]:
        """The phrases of each language, ready to match (built once per menu version)."""
        if self.listening is None:
            return {}
        langs = {lang for by_lang in self.listening.phrases.values() for lang in by_lang}
        return {lang: PhraseIndex(lang, {k: v.get(lang, ()) for k, v in self.listening.phrases.items()}) for lang in sorted(langs)}

    def texts(self) -> list[tuple[str, Text]]:
        """The prompts and complaints, and the question between options named at once."""
        out = super().texts()
        if self.listening is not None and len(self.options) > 1:
            out.append((f"{self.id}:which", self.listening.which))
        return out

    def understand(self, call: CallModel, text: str) -> str:
        """A phrase of one option → that option; of several → ask which; a key said aloud → the key; else not understood."""
        snap = call.snap
        words = normalise(text, snap.lang)
        move = navigation(words, snap.lang)
        if move == "repeat" or (move == "back" and call.can_go_back()):
            snap.choices = []
            return move
        key = spoken_key(words, snap.lang)
        if key and (key in self.options or key == self.language_key):
            snap.choices = []
            return "language" if key == self.language_key and key not in self.options else f"key_{key}"
        index = self.indexes.get(snap.lang)
        if index is None:
            return self.not_understood(call)
        found = index.match_words(words, snap.choices) if snap.choices else index.match_words(words)
        if snap.choices and not found.options:  # not one of the two asked about: the caller may have changed their mind
            found = index.match_words(words)
        if found.winner is not None and (found.winner in self.options or found.winner in self.spoken_only):
            snap.choices = []
            if self.options.get(found.winner) in (BACK, RETRY):  # a way that depends on the call: the key's own transitions
                return f"key_{found.winner}"
            return said(found.winner, found.phrases[0])
        if len(found.options) > 1 and not snap.choices:
            snap.choices = list(found.options[:3])
            snap.values["choices"] = _either(snap.lang, [self._label(option, snap.lang) for option in snap.choices])
            return "unclear"
        return self.not_understood(call)

    def _label(self, option: str, lang: str) -> str:
        """How the question names an option: its first phrase, and its key where it has one ("忘记密码请按1")."""
        assert self.listening is not None
        name = self.listening.phrases[option][lang][0]
        if option not in self.options:
            return name
        return f"{name}请按{option}" if family(lang) == "zh" else f"{name}, press {option}"

    def _ask(self, call: CallModel) -> None:
        assert self.listening is not None
        call.say(self.listening.which, "which")
        call.emit(self.listen(call.snap.lang))

    def gather(self) -> Gather:
        """One key (a longer key ends with '#')."""
        return Gather(self.id, self.max_digits, "#" if self.max_digits > 1 else "", self.retry.timeout)

    def enter(self, call: CallModel) -> None:
        """The caller is in this menu now."""
        call.enter_menu(self.id)
        super().enter(call)

    def choose(self, call: CallModel, digits: str) -> str:
        """A key of this menu, the language key, or a wrong entry."""
        if self.max_digits > 1:
            digits = digits.removesuffix("#")
        if digits in self.options:
            return f"key_{digits}"
        return "language" if digits == self.language_key else self.invalid(call)

    def compile(self, fsm: MachineBuilder) -> None:
        """Repeat, back to each menu above, retries, and one transition per key."""
        fsm.reenter("repeat", self.id)
        if self.language_key:
            fsm.reenter("language", self.id, before=switch_language)
        for parent in fsm.menus_above(self.id):
            if parent != self.id:
                fsm.go("back", self.id, parent, when=_stack_top_is(parent), before=CallModel.leave_menu)
        self.compile_retries(fsm)
        for key, target in self.options.items():
            fsm.go(f"key_{key}", self.id, target)
        if self.listening is not None:
            _ = self.indexes  # built now, so no caller waits for the segmenter's dictionary
            if len(self.options) > 1:
                fsm.stay("unclear", self.id, after=self._ask)
            targets = {**self.spoken_only, **self.options}
            for key, by_lang in self.listening.phrases.items():
                if key in targets and targets[key] not in (BACK, RETRY):
                    for phrase in dict.fromkeys(p for phrases in by_lang.values() for p in phrases):
                        fsm.go(said(key, phrase), self.id, targets[key])

    def candidates(self, examples: Mapping[str, str]) -> list[str]:
        """Every key, repeat, back, silence and a key that leads nowhere."""
        spare = next((k for k in "0123456789" if k not in self.options and k != self.language_key), None)
        return [*self.options, "*", "#", "", *([self.language_key] if self.language_key else []), *([spare] if spare else [])]

    def spoken_candidates(self, examples: Mapping[str, str]) -> list[Speech]:
        """Where the node listens: every phrase, two options named at once and words that mean nothing here."""
        if self.listening is None:
            return []
        spoken: list[Speech] = []
        firsts: dict[str, list[str]] = {}
        for by_lang in self.listening.phrases.values():
            for lang, phrases in by_lang.items():
                spoken += [Speech(p) for p in phrases]
                if phrases:
                    firsts.setdefault(lang, []).append(phrases[0])
        for lang, first in firsts.items():
            if len(first) > 1:
                spoken.append(Speech(first[0] + "和" + first[1] if family(lang) == "zh" else f"{first[0]} {first[1]}"))
            spoken.append(Speech(UNRELATED[family(lang)]))
        return list(dict.fromkeys(spoken))


UNRELATED = {"zh": "今天天气怎么样", "en": "what is the weather like today"}  # means nothing at any menu (flow generation)


def said(key: str, phrase: str) -> str:
    """The trigger of a phrase of an option: each phrase is a transition of its own, so coverage counts every one."""
    return f'said {key} "{phrase}"'


def _either(lang: str, phrases: list[str]) -> str:
    """The options asked about, joined as the language says "A, or B"."""
    between, last = OR_WORDS[family(lang)]
    return between.join(phrases[:-1]) + last + phrases[-1] if len(phrases) > 1 else "".join(phrases)


def switch_language(call: CallModel) -> None:
    """The language key: the menu's next language, with the counters starting afresh."""
    call.snap.lang = call.menu.next_language(call.snap.lang)
    call.snap.invalid = call.snap.no_input = 0  # a caller who did not understand the other language starts afresh


def _stack_top_is(parent: str) -> Callable[[CallModel], bool]:
    def on_top(call: CallModel) -> bool:
        return call.snap.stack[-1:] == [parent]

    return on_top


def build(b: Build) -> list[Node]:
    """A menu node from its fields."""
    v = b.values
    prompt = v.get("say") or b.blank()
    keys = v.get("keys", {})
    # The language key is reserved in every menu of a menu file with more than one language, unless a menu maps it.
    language_key = b.language_key if len(b.languages) > 1 and b.language_key not in keys else ""
    listening = b.listening(v.get("phrases") or {}, keys)
    return [
        MenuNode(b.node_id, b.location, prompt, v.get("short") or prompt, b.retry(), keys, language_key, where=b.where, listening=listening)
    ]


TYPE = NodeType(
    "menu",
    "Say a prompt and wait for one key.",
    (
        SAY,
        SHORT,
        Keys(
            "keys",
            "Key → target node. Keys are digits 0-9 and '*' (quote it), up to 8; "
            "'*' alone repeats and '#' goes back in every menu, so neither can be used.",
            required=True,
        ),
        *RETRY_COUNTS,
        *RETRY_TEXTS,
        Target("on_max_failures", "Node after too many wrong entries or silences.", back=False, inherit="on_max_failures"),
        *LISTEN_FIELDS,
        PHRASES,
        WHICH,
    ),
    build,
)
