"""Understanding what a caller said: a recogniser's text matched against a menu's phrases, or read as digits.

A recogniser (Twilio's, in its cloud) writes what it heard with punctuation, in either width, with
fillers and with homophones ("登陆" for "登录"). Both the phrases and the result are reduced to the
same units before they are compared: for Mandarin each Han character becomes its toneless pinyin (so a
homophone is the same unit) and a Latin word one lower-case unit; for English each word, plurals
folded. Chinese is cut into words by jieba, with every phrase of the menu in its dictionary, and a
phrase counts only where it starts on a word boundary ("订单" is not heard in "预订单价").

One option matched → that option; two or more → the caller is asked which; none → not understood.
A longer phrase inside which a shorter one of another option lies wins ("账号锁定" over "账号").
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "HINTS_MAX",
    "HINT_LENGTH",
    "Match",
    "PhraseIndex",
    "family",
    "navigation",
    "normalise",
    "phrase_units",
    "spoken_digits",
    "spoken_key",
    "units",
]

HINTS_MAX = 500  # Twilio's limits for <Gather hints>: entries, and characters in each
HINT_LENGTH = 100

# Said before or around what the caller wants; never part of a phrase. Longest first, so "我想要" goes before "我想".
_FILLERS_ZH = sorted(
    [
        "我想要",
        "我想",
        "我要",
        "我需要",
        "想要",
        "请问",
        "麻烦",
        "帮我",
        "帮忙",
        "那个",
        "这个",
        "就是",
        "然后",
        "你好",
        "您好",
        "一下",
        "我的",
        "的话",
    ],
    key=len,
    reverse=True,
)
# One-character fillers are dropped only as words of their own: "请" is a filler, "申请" is not.
_FILLER_WORDS_ZH = frozenset(
    ["请", "嗯", "呃", "额", "啊", "呀", "吧", "呢", "哦", "喂", "哎", "诶", "唉", "是", "了", "的", "我", "你", "您", "查", "问"]
)
_FILLERS_EN = frozenset(
    [
        "i",
        "i'd",
        "id",
        "want",
        "wanna",
        "would",
        "like",
        "to",
        "need",
        "please",
        "um",
        "uh",
        "er",
        "erm",
        "hmm",
        "yeah",
        "yes",
        "hi",
        "hello",
        "hey",
        "can",
        "could",
        "you",
        "help",
        "me",
        "my",
        "with",
        "about",
        "a",
        "an",
        "the",
        "for",
        "is",
        "it",
        "its",
        "am",
        "just",
        "so",
        "okay",
        "ok",
        "well",
        "oh",
        "like",
        "do",
        "does",
        "did",
        "guys",
        "your",
        "our",
        "we",
        "are",
        "there",
    ]
)
# Words an English recogniser writes apart or together at random: one unit either way.
_JOINED_EN = {
    ("log", "in"): "login",
    ("sign", "in"): "signin",
    ("pass", "word"): "password",
    ("e", "mail"): "email",
    ("log", "on"): "logon",
}

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z0-9']+|[\u3400-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")

_ZH_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5"}
_ZH_DIGITS |= {"六": "6", "七": "7", "八": "8", "九": "9"}
_EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2", "three": "3", "four": "4"}
_EN_DIGITS |= {"for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_EN_REPEATS = {"double": 2, "triple": 3}
_EN_HOMOPHONES = frozenset({"to", "too", "for", "oh", "o"})  # digits only between other digits
_ZH_MAGNITUDES = re.compile(r"[十百千万亿拾佰仟]")
_EN_MAGNITUDES = re.compile(
    r"\b(ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million)\b"
)
_ZH_AFFIXES = re.compile(r"^(是|就是)|(井号键|井号|井字键|井字|井|号码|号|键|#)$")


def family(lang: str) -> str:
    """The language family whose words this module knows: "zh" (Chinese) or "en"."""
    return "zh" if lang.split("-", 1)[0] in ("zh", "cmn", "yue") else "en"


def _chinese(lang: str) -> bool:
    return family(lang) == "zh"


def normalise(text: str, lang: str) -> str:
    """The recogniser's text with width, case, punctuation and fillers taken out (words kept apart by single spaces)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ").replace("’", "'")
    text = _CONTRACTION.sub(lambda m: " not" if m.group(1) == "n't" else "", text)
    text = "".join(ch if (unicodedata.category(ch)[0] in "LN" or ch == " ") else " " for ch in text)
    text = _joined_letters(_SPACE.sub(" ", text).strip())
    if _chinese(lang):
        for filler in _FILLERS_ZH:
            text = text.replace(filler, " ")
        return _SPACE.sub(" ", text).strip()
    return " ".join(word for word in text.split() if word not in _FILLERS_EN)


_CONTRACTION = re.compile(r"(n't|'s|'re|'m|'d|'ll|'ve)\b")


@lru_cache(maxsize=8192)
def _syllable(char: str) -> str:
    """A Han character's toneless reading: one unit whatever character the recogniser chose for the sound."""
    from pypinyin import lazy_pinyin

    reading = lazy_pinyin(char)
    return reading[0] if reading else char


def _stem(word: str) -> str:
    """An English word with its endings folded, the same for phrase and result ("orders", "ordered" → "order")."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


class _Segmenter:
    """jieba, loaded once per process, with the menus' phrases added as words so they are cut whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizer: object | None = None
        self._known: set[str] = set()

    def _ready(self) -> object:
        if self._tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            self._tokenizer = tokenizer
        return self._tokenizer

    def learn(self, words: Iterable[str]) -> None:
        """Add phrases to the dictionary (a word it knows is never cut in two)."""
        with self._lock:
            tokenizer = self._ready()
            for word in words:
                # A phrase with a one-character filler in it ("支持的") would glue that filler to its neighbours.
                if word and word not in self._known and _HAN.search(word) and not any(ch in _FILLER_WORDS_ZH for ch in word):
                    self._known.add(word)
                    tokenizer.add_word(word, 100_000)  # type: ignore[attr-defined]

    def cut(self, text: str) -> list[str]:
        """The words of a text."""
        tokenizer = self._ready()
        return [w for w in tokenizer.lcut(text) if w.strip()]  # type: ignore[attr-defined]

    def tokenize(self, text: str, mode: str) -> list[tuple[str, int, int]]:
        """(word, start, end) of each word; in "search" mode the words inside longer words too."""
        tokenizer = self._ready()
        return list(tokenizer.tokenize(text, mode=mode))  # type: ignore[attr-defined]


SEGMENTER = _Segmenter()


def _joined_letters(text: str) -> str:
    """Letters spelled out one by one ("S F T P", "M F A") as the word they spell."""
    return _SPELLED.sub(lambda m: m.group(0).replace(" ", ""), text)


_SPELLED = re.compile(r"(?<![a-z0-9])[a-z](?: [a-z])+(?![a-z0-9])")
_ASCII_WORD = re.compile(r"[a-z0-9']+")


def units(text: str, lang: str) -> tuple[tuple[str, ...], frozenset[int]]:
    """(units, the indexes where a word starts) of an already normalised text."""
    out: list[str] = []
    if _chinese(lang):
        # One-character fillers go only where jieba finds them as words; a phrase may start wherever a word does,
        # counting the words inside longer ones (search mode: "登陆密码" holds "密码").
        dropped = {i for word, start, end in SEGMENTER.tokenize(text, "default") if word in _FILLER_WORDS_ZH for i in range(start, end)}
        unit_at: dict[int, int] = {}
        latin: set[int] = set()  # a Latin word or a number is a word of its own, wherever jieba cuts
        i = 0
        while i < len(text):
            ch = text[i]
            if i in dropped or ch == " ":
                i += 1
            elif _HAN.fullmatch(ch):
                unit_at[i] = len(out)
                out.append(_syllable(ch))
                i += 1
            elif (word := _ASCII_WORD.match(text, i)) is not None:
                unit_at[i] = len(out)
                latin.add(len(out))
                out.append(word.group(0))
                i = word.end()
            else:
                i += 1
        starts = {unit_at[start] for _, start, _ in SEGMENTER.tokenize(text, "search") if start in unit_at}
        starts |= latin
        return tuple(out), frozenset(starts)
    words = [_stem(w) for w in text.split()]
    i = 0
    while i < len(words):
        pair = tuple(words[i : i + 2])
        if pair in _JOINED_EN:
            out.append(_JOINED_EN[(pair[0], pair[1])])
            i += 2
            continue
        out.append(words[i])
        i += 1
    return tuple(out), frozenset(range(len(out)))


@dataclass(frozen=True)
class Match:
    """What an utterance meant at one menu: the options it named (best first) and the phrase heard for each."""

    options: tuple[str, ...]  # option keys; one: understood, more: ask which, none: not understood
    phrases: tuple[str, ...]  # the phrase (as written in the menu) that matched each option

    @property
    def winner(self) -> str | None:
        """The one option meant, if exactly one was named."""
        return self.options[0] if len(self.options) == 1 else None


class PhraseIndex:
    """One menu's phrases in one language, reduced to units once, ready to match any number of utterances."""

    def __init__(self, lang: str, phrases: Mapping[str, Iterable[str]]) -> None:
        self.lang = lang
        if _chinese(lang):
            SEGMENTER.learn(normalise(p, lang).replace(" ", "") for ps in phrases.values() for p in ps)
        self.entries: list[tuple[tuple[str, ...], str, str]] = []  # (units, option, phrase as written)
        for option, written in phrases.items():
            for phrase in written:
                reduced = phrase_units(phrase, lang)
                if reduced:
                    self.entries.append((reduced, option, phrase))

    def match(self, text: str, among: Iterable[str] = ()) -> Match:
        """The options `text` names (only those in `among`, when given)."""
        return self.match_words(normalise(text, self.lang), among)

    def match_words(self, words: str, among: Iterable[str] = ()) -> Match:
        """The options an already normalised utterance names (only those in `among`, when given)."""
        allowed = set(among)
        said, starts = units(words, self.lang)
        found: list[tuple[int, int, str, str]] = []  # (start, length, option, phrase)
        for reduced, option, phrase in self.entries:
            if allowed and option not in allowed:
                continue
            n = len(reduced)
            for i in starts:
                if said[i : i + n] == reduced:
                    found.append((i, n, option, phrase))
        # A match lying inside a longer match of another option is part of that longer phrase, not a second choice.
        # Of two that overlap, the one said first wins ("不支持哪些" is about what is not supported).
        kept = [f for f in found if not any(o[2] != f[2] and _covers(o, f) for o in found)]
        best: dict[str, tuple[int, str]] = {}
        for _, n, option, phrase in kept:
            if option not in best or n > best[option][0]:
                best[option] = (n, phrase)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        return Match(tuple(o for o, _ in ranked), tuple(p for _, (_, p) in ranked))


# Words that only say "the key": "按2", "选3", "press two", "option 4".
_KEY_WORDS = {"zh": ("按键", "按", "选项", "选择", "选", "号", "键"), "en": ("press", "option", "number", "key", "push", "choose")}
# Words that, said alone, are the repeat key and the back key of every menu.
_REPEAT_WORDS = {"zh": ("重听", "再说一遍", "再听一遍", "重复", "没听清"), "en": ("repeat", "repeat that", "say that again", "say again")}
_BACK_WORDS = {"zh": ("返回", "返回上一级", "上一级", "上一步", "回到上一级"), "en": ("back", "go back", "previous menu")}


def navigation(words: str, lang: str) -> str:
    """ "repeat" or "back" when a normalised utterance is only a word for the repeat or the back key, else ''."""
    whole = words.replace(" ", "") if _chinese(lang) else words
    if whole in _REPEAT_WORDS[family(lang)]:
        return "repeat"
    return "back" if whole in _BACK_WORDS[family(lang)] else ""


def spoken_key(words: str, lang: str) -> str:
    """The key a caller read out instead of pressing it ("按2", "two", "option 4"): the digits, when a normalised
    utterance says nothing but them and words for "key"; else ''."""
    for word in _KEY_WORDS[family(lang)]:
        words = words.replace(word, " ")
    digits = spoken_digits(words, lang)
    rest = "".join(words.split())
    for digit_word in sorted([*_ZH_DIGITS, *_EN_DIGITS], key=len, reverse=True):
        rest = rest.replace(digit_word, "")
    return digits if digits and not rest.strip("0123456789") else ""


def _covers(other: tuple[int, int, str, str], match: tuple[int, int, str, str]) -> bool:
    """Whether `other` (start, length, …) outweighs `match`: it holds it and is longer, or overlaps it and starts first."""
    o_start, o_len, m_start, m_len = other[0], other[1], match[0], match[1]
    holds = o_len > m_len and o_start <= m_start and m_start + m_len <= o_start + o_len
    overlaps_first = o_start < m_start < o_start + o_len < m_start + m_len
    return holds or overlaps_first


def phrase_units(phrase: str, lang: str) -> tuple[str, ...]:
    """A phrase as units, reduced exactly as what callers say is (the matcher's and `ivr menu check`'s view of it)."""
    return units(normalise(phrase, lang), lang)[0]


def spoken_digits(text: str, lang: str) -> str:
    """The digits a caller read out one by one ("幺三八…", "one two three", "12 34"); '' when none were, or when a
    number was said as an amount ("两千零二十六", "twenty six"): its digits cannot be told apart, so it is not guessed."""
    text = unicodedata.normalize("NFKC", text).lower()
    if _chinese(lang):
        if _ZH_MAGNITUDES.search(text):
            return ""
        digits = []
        for word in SEGMENTER.cut(text):
            core = _ZH_AFFIXES.sub("", word)  # "一井号", "是四": the digits beside the pound key or a copula
            if core and all(ch in _ZH_DIGITS or (ch.isascii() and ch.isdigit()) for ch in core):
                digits.append("".join(_ZH_DIGITS.get(ch, ch) for ch in core))
            # other words ("一下", "两个", "订单号") say no digit
        return "".join(digits)
    if _EN_MAGNITUDES.search(text):
        return ""
    words = re.findall(r"[a-z]+|[0-9]+", text)
    sure = any(w.isdigit() or (w in _EN_DIGITS and w not in _EN_HOMOPHONES) for w in words)  # "to", "for", "oh" only beside these
    out: list[str] = []
    repeat = 1
    for i, word in enumerate(words):
        if word in _EN_REPEATS:
            repeat = _EN_REPEATS[word]
            continue
        digit = word if word.isdigit() else _EN_DIGITS.get(word, "")
        if digit and word in _EN_HOMOPHONES:
            near = [w for w in (words[i - 1] if i else "", words[i + 1] if i + 1 < len(words) else "") if w]
            if not (sure and any(w.isdigit() or w in _EN_DIGITS or w in _EN_REPEATS for w in near)):
                digit = ""
        if digit:
            out.append(digit * repeat if len(digit) == 1 else digit)
        repeat = 1
    return "".join(out)
