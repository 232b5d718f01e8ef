"""`ivr call`: a call in the terminal, interactive or scripted, as text or JSON lines."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from ivr.engine.actions import Gather, Say
from ivr.engine.engine import Engine
from ivr.engine.events import Speech
from ivr.simulator import CallerEntry, Line, SimulatedCall
from ivr.speech import Speaker

NO_INPUT = "-"
SAY_PREFIX = "say:"
# An entry is words in double quotes (“…” too), `say:WORDS` up to the next space, or keys up to the next space.
_ENTRY = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')


def parse_keys(spec: str) -> list[CallerEntry]:
    """`--keys '1 "我想查订单" say:password - 3#'` → entries: keys, or speech (quoted, or after say:); '-' is no input."""
    out: list[CallerEntry] = []
    for quoted, curly, token in _ENTRY.findall(spec):
        if not token:
            out.append(Speech(quoted or curly))
        elif token.startswith(SAY_PREFIX):
            out.append(Speech(token.removeprefix(SAY_PREFIX)))
        else:
            out.append("" if token == NO_INPUT else token)
    return out


def parse_line(raw: str) -> CallerEntry:
    """One line typed at the terminal: words when it starts with a quote or say:, else keys (spaces ignored)."""
    text = raw.strip()
    if text.startswith(('"', "“")):
        return Speech(text.strip('"“”').strip())
    if text.lower().startswith(SAY_PREFIX):
        return Speech(text[len(SAY_PREFIX) :].strip())
    return text.replace(" ", "")


def format_line(line: Line) -> str:
    """A transcript line for people."""
    kind = line["type"]
    node = line.get("node", "")
    if kind == "say":
        return f"[{node}] {line['text']}"
    if kind == "gather":
        finish = f", ends with {line['finish_on_key']}" if line["finish_on_key"] else ""
        return f"  (waiting for up to {line['max_digits']} key(s){finish}, {line['timeout']} s)"
    if kind == "input":
        if "speech" in line:
            sure = f" (confidence {line['confidence']})" if "confidence" in line else ""
            return f"  > “{line['speech']}”{sure}"
        return f"  > {line['digits'] or '(no input)'}"
    if kind == "transfer":
        return f"  → transfer to queue '{line['queue']}'"
    if kind == "record":
        return "  ● recording…"
    if kind == "ticket":
        return f"  ✔ ticket {line['number']} ({line['category']})"
    if kind == "hangup":
        return f"  ☎ hang up ({line['reason']})"
    return json.dumps(line, ensure_ascii=False)


class ConsoleCall:
    """Runs a `SimulatedCall`, printing each line and speaking prompts when asked."""

    def __init__(self, call: SimulatedCall, out: TextIO, *, as_json: bool, speaker: Speaker | None) -> None:
        self.call = call
        self.out = out
        self.as_json = as_json
        self.speaker = speaker
        self.typed_on_terminal = False  # keys typed at a terminal are already on screen
        self._said = 0  # prompts spoken so far
        call.on_line = self._show

    def _show(self, line: Line) -> None:
        if line["type"] == "input" and self.typed_on_terminal and not self.as_json:
            return
        if self.as_json:
            self.out.write(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            text = format_line(line)
            waiting = self.call.waiting
            if line["type"] == "gather" and isinstance(waiting, Gather) and waiting.speech:
                text = text.removesuffix(")") + ', or words: "…")'  # the caller may say it, typed in quotes
            self.out.write(text + "\n")
        self.out.flush()
        if self.speaker is not None and line["type"] == "say":
            # The engine's own prompt (with its language segments and pieces), as a caller would hear it.
            says = [a for a in self.call.actions if isinstance(a, Say)]
            self.speaker.say_action(says[self._said] if self._said < len(says) else Say(line["node"], line["lang"], line["text"]))
            self._said += 1

    def run_scripted(self, entries: list[CallerEntry]) -> list[Line]:
        """Answer gathers from `entries`; hang up when they run out."""
        return self.call.run(entries)

    def run_interactive(self, stdin: TextIO) -> list[Line]:
        """Read one line of keys per gather: empty = no input, q or end of input = hang up."""
        self.typed_on_terminal = stdin.isatty()
        if not self.call.voicemail:
            self.call.ask_voicemail = lambda: self._ask(stdin, "message> ") or ""
        self.call.start()
        while not self.call.ended:
            entry = self._read(stdin)
            if entry is None:
                self.call.hangup()
            else:
                self.call.enter(entry)
        return self.call.lines

    def _read(self, stdin: TextIO) -> CallerEntry | None:
        raw = self._ask(stdin, "keys> ")
        if raw is None:
            return None
        return None if raw.lower() == "q" else parse_line(raw)

    def _ask(self, stdin: TextIO, prompt: str) -> str | None:
        """One line from the person at the keyboard; None at the end of input."""
        if not self.as_json:
            self.out.write(prompt)
            self.out.flush()
        raw = stdin.readline()
        return raw.strip() if raw else None


def run_call(
    engine: Engine,
    *,
    at: datetime,
    caller: str,
    lang: str | None,
    keys: str | None,
    voicemail: str,
    transfer_result: str,
    as_json: bool,
    speak: bool,
    audio_dir: str | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
    on_end: Callable[[SimulatedCall], None] | None = None,
) -> list[Line]:
    """Place one call on the console and return its transcript (`on_end` gets the call once it is over)."""
    speaker = None
    if speak:
        speaker, reason = Speaker.open(audio_dir, engine.menu)
        if speaker is None:
            err.write(f"ivr call: --speak: {reason}; the call goes on without sound.\n")
    call = SimulatedCall(engine, at=at, caller=caller, lang=lang, voicemail=voicemail, transfer_result=transfer_result, on_end=on_end)
    console = ConsoleCall(call, out, as_json=as_json, speaker=speaker)
    if keys is None:
        return console.run_interactive(stdin)
    entries = parse_keys(keys)
    lines = console.run_scripted(entries)
    unused = entries[call.consumed :]
    if unused:
        shown = " ".join(f'"{entry.text}"' if isinstance(entry, Speech) else entry or NO_INPUT for entry in unused)
        err.write(f"ivr call: the call ended before {len(unused)} scripted entr{'y' if len(unused) == 1 else 'ies'}: {shown}\n")
    return lines
