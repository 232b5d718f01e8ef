"""Caller effort: for each destination, the keys pressed and the seconds of prompts heard to get there, open and closed.

How long a prompt takes is its rendered audio where there is some, else an estimate from its text calibrated per
language against rendered audio (`RATES`, fitted by scripts/calibrate_estimates.py). Callers barge in: a key can
be pressed as soon as it is announced, so a menu costs the seconds up to the end of the clause that announces the
key pressed, not its whole prompt.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivr.hours import CLOSED_REASON
from ivr.ir import BACK, Menu, Node
from ivr.text import pieces, placeholders, render, segment_languages, segments, without_placeholders

__all__ = [
    "HOURS",
    "RATES",
    "Durations",
    "Rate",
    "Route",
    "clauses",
    "estimate_seconds",
    "features",
    "heard_until",
    "known_values",
    "prompt_seconds",
    "rate",
    "routes",
]

Durations = Callable[[str, str], float | None]  # (lang, text) -> seconds of rendered audio, if rendered
HOURS = {"(open)": "open", "(closed)": "closed"}  # the moves of an hours node, and the state of the line each means


@dataclass(frozen=True)
class Rate:
    """Seconds of rendered speech in one language: per character of each kind, per pause, and per utterance."""

    cjk: float  # a Han, kana or Hangul character
    latin: float  # a Latin letter
    digit: float
    pause: float  # punctuation between words, and each change between CJK and Latin script (another voice)
    base: float  # each utterance: silence before and after
    mean_error: float  # relative to the rendered prompts it was fitted on (scripts/calibrate_estimates.py)
    max_error: float


# Fitted with `python scripts/calibrate_estimates.py --audio A --audio B --audio C` on espeak-ng renders (pyttsx3,
# rate 200, the shipped voices) of the shipped menu before (A) and during (B) its issue-11 restructuring, and of 25 further
# support sentences per language (C); "" is the fallback for every other language, fitted on both languages at once.
# Fitted on A and B alone, the estimate is off C by 5.6 % (zh) and 6.5 % (en) on average, at most 16 % and 18 %.
RATES: Mapping[str, Rate] = {
    "zh": Rate(cjk=0.226, latin=0.083, digit=0.299, pause=0.304, base=-0.039, mean_error=0.050, max_error=0.157),
    "en": Rate(cjk=0.0, latin=0.053, digit=0.145, pause=0.353, base=0.274, mean_error=0.048, max_error=0.162),
    "": Rate(cjk=0.223, latin=0.054, digit=0.235, pause=0.344, base=0.111, mean_error=0.044, max_error=0.156),
}
# What a run-time value is estimated as: a number read digit by digit, and other values (an order status) a few words.
DIGITS_VALUE = "1 2 3 4 5 6 7 8"
WORDS_VALUE: Mapping[str, str] = {"zh": "已支付续费成功", "ja": "お支払い済みです", "": "a few words long"}

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
LATIN = re.compile(r"[A-Za-z]")
DIGIT = re.compile(r"[0-9]")
SPEAKABLE = re.compile(r"[0-9A-Za-z\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# A pause: full-width punctuation, or ASCII punctuation that is not inside a word or number ("a.m.", "09:00", "e-mail").
PAUSE = re.compile(r"(?:[，。；：！？、（）“”‘’《》「」—…]|[,.;:!?)\"'](?![A-Za-z0-9])|(?<![A-Za-z0-9])[(\"']|\s[-–]\s)+")
SWITCH = re.compile(r"(?<=[\u3400-\u9fff])\s*(?=[A-Za-z])|(?<=[A-Za-z])\s*(?=[\u3400-\u9fff])")
CLAUSE_END = "。；！？，.;!?"  # where a clause ends; in languages written with spaces a comma ends one too
NO_SPACES = ("zh", "ja", "ko", "cmn", "yue")


def _primary(lang: str) -> str:
    return lang.split("-", 1)[0].lower()


def rate(lang: str) -> Rate:
    """The estimate's coefficients for `lang` (the fallback for a language not calibrated)."""
    return RATES.get(_primary(lang), RATES[""])


def features(text: str) -> tuple[int, int, int, int]:
    """(CJK characters, Latin letters, digits, pauses) of plain text: what the estimate counts."""
    pauses = sum(1 for m in PAUSE.finditer(text) if SPEAKABLE.search(text, 0, m.start()) and SPEAKABLE.search(text, m.end()))
    return len(CJK.findall(text)), len(LATIN.findall(text)), len(DIGIT.findall(text)), pauses + len(SWITCH.findall(text))


Known = Mapping[str, str]  # a run-time value's longest known words in one language ({closed_reason}: its longest reason)


def _spoken(lang: str, part: str, known: Known | None = None) -> str:
    """A part of a prompt with each run-time value replaced by its longest known words, else a typical value."""
    out, at = [], 0
    for match in placeholders(part):
        out.append(render(part[at : match.start()], {}))
        if known and match.group(1) in known and match.group(2) != "digits":
            out.append(known[match.group(1)])
        else:
            out.append(DIGITS_VALUE if match.group(2) == "digits" else WORDS_VALUE.get(_primary(lang), WORDS_VALUE[""]))
        at = match.end()
    return "".join([*out, render(part[at:], {})])


def _utterance(lang: str, text: str) -> float:
    """Estimated seconds of one plain text spoken by one language's voice."""
    r = rate(lang)
    cjk, latin, digits, pauses = features(text)
    return r.cjk * cjk + r.latin * latin + r.digit * digits + r.pause * pauses + r.base


def estimate_seconds(text: str, lang: str = "", known: Known | None = None) -> float:
    """How long a prompt written in `lang` takes to say, estimated from its text: each {LANG: …} segment with that
    language's coefficients, a {x|digits} value as 8 digits, a value with known words as the longest of them, another
    value as a few words."""
    return sum(_utterance(part_lang, _spoken(part_lang, part, known)) for part_lang, part in segments(lang, text) if part.strip())


def known_values(menu: Menu, lang: str) -> dict[str, str]:
    """The longest words each run-time value the menu itself fills can take in `lang` ({closed_reason})."""
    reasons = [text.get(lang) for text in menu.schedule.reason_texts() if lang in text.by_lang]
    return {CLOSED_REASON: max(reasons, key=lambda words: estimate_seconds(words, lang))} if reasons else {}


def clauses(lang: str, text: str) -> list[tuple[str, str]]:
    """(language, clause) parts of a prompt, in order, each ending with its punctuation (placeholders kept)."""
    out: list[tuple[str, str]] = []
    for part_lang, part in segments(lang, text):
        ends = CLAUSE_END if _primary(part_lang) in NO_SPACES else CLAUSE_END + ","
        start = 0
        for i, ch in enumerate(part):
            if ch in ends and (i + 1 == len(part) or part[i + 1] not in ends):
                out.append((part_lang, part[start : i + 1]))
                start = i + 1
        if part[start:].strip():
            out.append((part_lang, part[start:]))
    return out


def _key_pattern(key: str) -> re.Pattern[str]:
    star = r"(?:\*|星号|star)"
    return re.compile(r"(?<![0-9])" + "".join(star if ch == "*" else re.escape(ch) for ch in key) + r"(?![0-9])", re.IGNORECASE)


def heard_until(lang: str, text: str, key: str, known: Known | None = None) -> float:
    """The share (0 to 1, estimated) of a prompt a caller hears before pressing `key`: up to the end of the first clause
    that names the key as a standalone digit (star: 星号/star); the whole prompt when none does."""
    parts = clauses(lang, text)
    pattern = _key_pattern(key)
    for i, (_, clause) in enumerate(parts):
        if pattern.search(without_placeholders(clause)):
            whole = _estimate_parts(parts, known)
            return min(1.0, _estimate_parts(parts[: i + 1], known) / whole) if whole else 1.0
    return 1.0


def _estimate_parts(parts: list[tuple[str, str]], known: Known | None = None) -> float:
    """Estimated seconds of consecutive (language, text) parts, one utterance per run of one language."""
    runs: list[tuple[str, str]] = []
    for part_lang, text in parts:
        if runs and runs[-1][0] == part_lang:
            runs[-1] = (part_lang, runs[-1][1] + text)
        else:
            runs.append((part_lang, text))
    return sum(_utterance(part_lang, _spoken(part_lang, text, known)) for part_lang, text in runs)


def prompt_seconds(lang: str, text: str, durations: Durations | None = None, known: Known | None = None) -> tuple[float, bool]:
    """(seconds, estimated) of one prompt: its rendered audio (a prompt with values or segments: its rendered
    pieces), else the estimate; estimated too when a run-time value is part of it."""
    if durations is not None:
        if not placeholders(text) and not segment_languages(text):
            rendered = durations(lang, render(text, {}))
            if rendered is not None:
                return rendered, False
        else:
            total, complete = 0.0, True
            for piece_lang, kind, content in pieces(lang, text):
                if kind == "text":
                    seconds = durations(piece_lang, content)
                    complete = complete and seconds is not None
                    total += seconds or 0.0
                elif kind == "value" and known and content in known:  # rendered ahead as a piece of its own
                    total += durations(piece_lang, known[content]) or estimate_seconds(known[content], piece_lang)
                else:
                    total += estimate_seconds("{x|digits}" if kind == "digits" else "{x}", piece_lang)
            if complete:
                return total, bool(placeholders(text))
    return estimate_seconds(text, lang, known), True


@dataclass(frozen=True)
class Route:
    """The cheapest way to a destination while the line is open, or closed."""

    destination: str  # kind, queue or category, and node: "transfer account (account_locked)", "hear scope_covered"
    node: str
    kind: str  # transfer, ticket, announcement
    keys: tuple[str, ...]
    seconds: float  # of prompts heard before the destination is reached, to 0.1 s
    path: tuple[str, ...]
    estimated: bool  # some prompt on the way had no rendered audio
    hours: str = "open"  # "open" or "closed": the state of the line this route is for
    queue: str = ""  # a transfer's queue
    steps: tuple[tuple[str, str], ...] = ()  # (node, what the caller did there) for every node heard on the way
    speech: tuple[str, ...] = ()  # the same way said where the menus listen ('say "查订单"'), keys elsewhere

    def trail(self) -> str:
        """The way there as a caller hears it: 'welcome → main(4) → scope_menu(4)'."""
        return " → ".join(_step(node, label) for node, label in self.steps)


def _step(node: str, label: str) -> str:
    """A node heard, with what the caller did there: 'main(4)', 'agent (no answer)'."""
    if not label:
        return node
    return f"{node} {label}" if label.startswith("(") else f"{node}({label})"


KEY = re.compile(r"[0-9*]+")


def step_seconds(node: Node, label: str, lang: str, durations: Durations | None, known: Known | None = None) -> tuple[float, bool]:
    """(seconds, estimated) a caller hears at `node` before leaving it by `label`: a menu up to the key pressed."""
    heard = node.heard()
    if heard is None or not heard.get(lang).strip():
        return 0.0, False
    text = heard.get(lang)
    seconds, estimated = prompt_seconds(lang, text, durations, known)
    if node.is_menu and KEY.fullmatch(label):
        seconds *= heard_until(lang, text, label, known)
    return seconds, estimated


_State = tuple[str, str]  # (node, state of the line: "" before any hours node, "open", "closed")


def routes(menu: Menu, lang: str | None = None, durations: Durations | None = None) -> list[Route]:
    """The cheapest route (in seconds heard) to every transfer, ticket and announcement, open and closed, worst first.

    The line does not open or close during a call: once a route passes an hours node it keeps that branch; a route
    that passes none counts for both."""
    lang = lang or menu.default_language
    if menu.start not in menu.nodes:  # a start that is no node: no route (the loader says why)
        return []
    known = known_values(menu, lang)
    start: _State = (menu.start, "")
    best: dict[_State, float] = {start: 0.0}
    came: dict[_State, tuple[_State, str, bool]] = {}
    estimated: dict[_State, bool] = {start: False}
    queue: list[tuple[float, _State]] = [(0.0, start)]
    while queue:
        seconds, state = heapq.heappop(queue)
        nid, line = state
        if seconds > best.get(state, float("inf")):
            continue
        node = menu.nodes[nid]
        for label, target in node.moves():
            if target not in menu.nodes or target == BACK or (label in HOURS and line and HOURS[label] != line):
                continue
            step, est = step_seconds(node, label, lang, durations, known)
            nxt: _State = (target, HOURS.get(label, line))
            if seconds + step < best.get(nxt, float("inf")):
                best[nxt] = seconds + step
                came[nxt] = (state, label, step > 0)
                estimated[nxt] = estimated[state] or est
                heapq.heappush(queue, (seconds + step, nxt))
    out = []
    for nid, node in menu.nodes.items():
        destination = node.destination()
        if destination is None and node.continues():  # a later page: listed, as part of the destination it goes on with
            destination = ("page", f"page {nid}")
        if destination is None:
            continue
        kind, name = destination
        label = name if name.rsplit(" ", 1)[-1] == nid else f"{name} ({nid})"
        for hours in ("open", "closed"):
            reached = [s for s in ((nid, hours), (nid, "")) if s in best]
            if not reached:
                continue
            state = min(reached, key=lambda s: best[s])
            path, keys, steps = _way(came, state)
            queue_name = name.removeprefix("transfer ") if kind == "transfer" else ""
            spoken = _spoken_way(menu, steps, lang)
            out.append(Route(label, nid, kind, keys, round(best[state], 1), path, estimated[state], hours, queue_name, steps, spoken))
    return sorted(out, key=lambda r: (-r.seconds, r.destination, r.hours))


def _spoken_way(menu: Menu, steps: tuple[tuple[str, str], ...], lang: str) -> tuple[str, ...]:
    """What a caller may say instead of each key on the way (its first phrase), or the key where nobody listens."""
    out = []
    for nid, label in steps:
        if not label:
            continue
        listening = getattr(menu.nodes[nid], "listening", None)
        phrases = listening.phrases.get(label, {}).get(lang, ()) if listening is not None else ()
        out.append(f'say "{phrases[0]}"' if phrases else label)
    return tuple(out)


_Way = tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]


def _way(came: Mapping[_State, tuple[_State, str, bool]], state: _State) -> _Way:
    """(nodes, labels of the moves, heard steps) from the start to `state`."""
    path, keys, steps = [state[0]], [], []
    while state in came:
        state, label, heard = came[state]
        path.append(state[0])
        if label:
            keys.append(label)
        if heard:
            steps.append((state[0], "" if label in HOURS else label))
    return tuple(reversed(path)), tuple(reversed(keys)), tuple(reversed(steps))
