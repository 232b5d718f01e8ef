"""Builders that turn one `nodes:` entry of a menu file into IR nodes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ivr.ir import (
    AnnounceNode,
    HangupNode,
    HoursNode,
    InputNode,
    LanguageNode,
    Location,
    MenuNode,
    Node,
    RecordNode,
    Retry,
    TicketNode,
    TransferNode,
)
from ivr.loading.reader import Reader
from ivr.loading.yamltree import YMap, YScalar
from ivr.scope import Scope
from ivr.text import Text

DTMF_KEY = re.compile(r"[0-9*#]{1,8}")  # '#' is let through here only to be reported precisely below
RESERVED_KEYS = {"*": "repeat", "#": "back"}
RETRY_FIELDS = ("max_invalid", "max_no_input", "timeout", "invalid", "no_input", "on_max_failures")


@dataclass
class Defaults:
    """Menu-wide settings a node inherits unless it says otherwise."""

    max_invalid: int
    max_no_input: int
    timeout: int
    invalid: Text
    no_input: Text
    on_max_failures: str
    on_transfer_failure: str


Ref = tuple[str, str, str, Location]  # (kind: target/queue/action, name, node, where it was written)
TextReader = Callable[[Reader, YMap, str, str, bool], "Text | None"]


@dataclass
class Context:
    """What a node builder needs besides the node's own YAML."""

    languages: tuple[str, ...]
    defaults: Defaults
    text: TextReader  # reads a localised field, scope placeholders resolved
    refs: list[Ref]  # checked once every node is loaded
    scope: Scope | None = None


Builder = Callable[[Reader, str, YMap, Context], list[Node]]


def _loc(m: YMap, key: str) -> Location:
    return m.keys.get(key, m.loc)


def read_target(r: Reader, m: YMap, key: str, what: str, ctx: Context, default: str | None = None) -> str:
    """A target node name; explicit ones are checked against the node list once all are loaded."""
    value = r.string(m, key, what, required=default is None, default=default)
    if key in m.values and value:
        ctx.refs.append(("target", value, r.node or "", m.values[key].loc))
    return value or ""


def read_retry(r: Reader, node_id: str, m: YMap, ctx: Context) -> Retry:
    d = ctx.defaults
    what = f"node {node_id!r}"
    invalid = ctx.text(r, m, "invalid", what, False) or d.invalid
    no_input = ctx.text(r, m, "no_input", what, False) or d.no_input
    return Retry(
        max_invalid=r.integer(m, "max_invalid", what, d.max_invalid, 1, 10),
        max_no_input=r.integer(m, "max_no_input", what, d.max_no_input, 1, 10),
        timeout=r.integer(m, "timeout", what, d.timeout, 1, 60),
        invalid_prompt=invalid,
        no_input_prompt=no_input,
        on_max_failures=read_target(r, m, "on_max_failures", what, ctx, d.on_max_failures),
    )


def read_prompt(r: Reader, m: YMap, ctx: Context, what: str) -> Text:
    return ctx.text(r, m, "say", what, True) or Text({lang: "" for lang in ctx.languages})


def build_menu(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: menu` — a prompt and keys."""
    what = f"menu node {node_id!r}"
    r.fields(m, ("type", "say", "short", "keys", *RETRY_FIELDS), what)
    prompt = read_prompt(r, m, ctx, what)
    options: dict[str, str] = {}
    keys = r.mapping(m.get("keys"), f"'keys' of {what}", m.loc)
    if keys is not None:
        if not keys.values:
            r.error(keys.loc, f"{what} has no keys: a caller would have no way out")
        for key, value in keys.values.items():
            key_loc = keys.keys[key]
            if key in RESERVED_KEYS:
                r.error(key_loc, f"key {key!r} is reserved for '{RESERVED_KEYS[key]}' in every menu")
            elif not DTMF_KEY.fullmatch(key):
                r.error(key_loc, f"{key!r} is not a DTMF key: use digits 0-9 and '*' (at most 8)")
            elif "#" in key:
                r.error(key_loc, f"key {key!r} contains '#', which ends the entry on a phone, so it can never be pressed")
            if not isinstance(value, YScalar) or value.is_null:
                r.error(value.loc, f"key {key!r} must name a target node")
                continue
            options[key] = value.value
            ctx.refs.append(("target", value.value, node_id, value.loc))
    where = {name: loc for name, loc in m.keys.items() if name in ("say", "short", "keys")}
    say = m.get("say")
    if isinstance(say, YMap):
        where.update({f"say {lang}": value.loc for lang, value in say.values.items()})
    if keys is not None:
        where.update({f"key {k}": loc for k, loc in keys.keys.items()})
    return [
        MenuNode(
            id=node_id,
            location=m.loc,
            prompt=prompt,
            reprompt=ctx.text(r, m, "short", what, False) or prompt,
            options=options,
            retry=read_retry(r, node_id, m, ctx),
            where=where,
        )
    ]


def build_input(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: input` — a multi-digit entry handed to a named action."""
    what = f"input node {node_id!r}"
    r.fields(m, ("type", "say", "short", "action", "on", "max_digits", "min_digits", "finish_on_key", "store_as", *RETRY_FIELDS), what)
    prompt = read_prompt(r, m, ctx, what)
    action = r.string(m, "action", what) or ""
    if action:
        ctx.refs.append(("action", action, node_id, m.values["action"].loc))
    outcomes: dict[str, str] = {}
    on = r.mapping(m.get("on"), f"'on' of {what}", m.loc)
    if on is not None:
        for outcome, value in on.values.items():
            if isinstance(value, YScalar) and not value.is_null:
                outcomes[outcome] = value.value
                ctx.refs.append(("target", value.value, node_id, value.loc))
            else:
                r.error(value.loc, f"outcome {outcome!r} must name a target node")
    finish = r.string(m, "finish_on_key", what, required=False, default="#") or "#"
    if finish not in ("#", "*"):
        r.error(_loc(m, "finish_on_key"), f"finish_on_key must be '#' or '*', not {finish!r}")
    max_digits = r.integer(m, "max_digits", what, 12, 1, 32)
    min_digits = r.integer(m, "min_digits", what, 1, 1, 32)
    if min_digits > max_digits:
        r.error(_loc(m, "min_digits"), f"min_digits ({min_digits}) is more than max_digits ({max_digits})")
    store_as = r.string(m, "store_as", what, required=False, default="entry") or "entry"
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", store_as):
        r.error(_loc(m, "store_as"), f"store_as must be a lower-case name, not {store_as!r}")
    return [
        InputNode(
            id=node_id,
            location=m.loc,
            prompt=prompt,
            reprompt=ctx.text(r, m, "short", what, False) or prompt,
            action=action,
            outcomes=outcomes,
            retry=read_retry(r, node_id, m, ctx),
            max_digits=max_digits,
            min_digits=min_digits,
            finish_on_key=finish,
            store_as=store_as,
        )
    ]


def build_announce(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: announce` — say, then go on."""
    what = f"announce node {node_id!r}"
    r.fields(m, ("type", "say", "next"), what)
    return [AnnounceNode(node_id, m.loc, read_prompt(r, m, ctx, what), read_target(r, m, "next", what, ctx))]


def build_hours(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: hours` — branch on business hours."""
    what = f"hours node {node_id!r}"
    r.fields(m, ("type", "open", "closed"), what)
    return [HoursNode(node_id, m.loc, read_target(r, m, "open", what, ctx), read_target(r, m, "closed", what, ctx))]


def build_language(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: language` — switch to the next language."""
    what = f"language node {node_id!r}"
    r.fields(m, ("type", "next"), what)
    return [LanguageNode(node_id, m.loc, read_target(r, m, "next", what, ctx))]


def build_transfer(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: transfer` — hand the caller to a queue."""
    what = f"transfer node {node_id!r}"
    r.fields(m, ("type", "say", "queue", "on_failure"), what)
    queue = r.string(m, "queue", what) or ""
    if queue:
        ctx.refs.append(("queue", queue, node_id, m.values["queue"].loc))
    on_failure = read_target(r, m, "on_failure", what, ctx, ctx.defaults.on_transfer_failure)
    return [TransferNode(node_id, m.loc, ctx.text(r, m, "say", what, False), queue, on_failure)]


def build_record(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: record` — take a message."""
    what = f"record node {node_id!r}"
    r.fields(m, ("type", "say", "next", "max_length"), what)
    return [
        RecordNode(
            node_id,
            m.loc,
            read_prompt(r, m, ctx, what),
            read_target(r, m, "next", what, ctx),
            max_length=r.integer(m, "max_length", what, 120, 5, 3600),
        )
    ]


def build_ticket(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: ticket` — create the call's ticket."""
    what = f"ticket node {node_id!r}"
    r.fields(m, ("type", "say", "category", "next"), what)
    category = r.string(m, "category", what) or ""
    if category and not re.fullmatch(r"[a-z][a-z0-9_]*", category):
        r.error(_loc(m, "category"), f"category must be a lower-case name, not {category!r}")
    return [TicketNode(node_id, m.loc, category, read_target(r, m, "next", what, ctx), ctx.text(r, m, "say", what, False))]


def build_hangup(r: Reader, node_id: str, m: YMap, ctx: Context) -> list[Node]:
    """`type: hangup` — goodbye."""
    what = f"hangup node {node_id!r}"
    r.fields(m, ("type", "say", "reason"), what)
    reason = r.string(m, "reason", what, required=False, default="completed") or "completed"
    return [HangupNode(node_id, m.loc, ctx.text(r, m, "say", what, False), reason)]


BUILDERS: dict[str, Builder] = {
    "menu": build_menu,
    "input": build_input,
    "announce": build_announce,
    "hours": build_hours,
    "language": build_language,
    "transfer": build_transfer,
    "record": build_record,
    "ticket": build_ticket,
    "hangup": build_hangup,
}
