"""Every fixed prompt of a menu, in every language, as the engine will say it: what `ivr audio build` renders."""

from __future__ import annotations

from pathlib import Path

from ivr.audio.build import PromptSpec
from ivr.ir import InputNode, Menu, MenuNode, Node
from ivr.text import PLACEHOLDER, Text


def _texts(node: Node) -> list[tuple[str, Text]]:
    """(prompt id, text) for a node, with the ids the engine puts on its Say actions."""
    out: list[tuple[str, Text]] = []
    prompt = getattr(node, "prompt", None)
    if isinstance(prompt, Text):
        out.append((node.id, prompt))
    if isinstance(node, (MenuNode, InputNode)):
        out += [(f"{node.id}:short", node.reprompt), (f"{node.id}:invalid", node.retry.invalid_prompt)]
        out.append((f"{node.id}:no_input", node.retry.no_input_prompt))
    return out


def menu_prompts(menu: Menu) -> list[PromptSpec]:
    """Every prompt that can be rendered ahead: run-time values ({ticket|digits}…) are spoken live instead."""
    specs: list[PromptSpec] = []
    seen: set[tuple[str, str]] = set()
    pairs = [pair for node in menu.nodes.values() for pair in _texts(node)]
    pairs.append(("apology", menu.apology))
    if menu.fallback_prompt is not None:
        pairs.append(("fallback", menu.fallback_prompt))
    for prompt_id, text in pairs:
        for lang in menu.languages:
            words = text.get(lang)
            if PLACEHOLDER.search(words) or (lang, words) in seen:
                continue
            seen.add((lang, words))
            recording = menu.recordings.get(f"{lang}\n{words}")
            specs.append(PromptSpec(prompt_id, lang, words, Path(recording) if recording else None))
    return specs
