"""The `menu:` settings part of a menu file: defaults, hours, queues, voices, data files, limits (ivr/format/settings.py)."""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.actions import REGISTRY
from ivr.format import Count
from ivr.format.settings import BUDGETS, DEFAULTS, HOURS, LOOP_LIMIT, OVERRIDE, QUEUE, REASONS, TICKETS, VOICE
from ivr.hours import DEFAULT_REASONS, Schedule, Window, parse_days, parse_window
from ivr.ir import Budgets, Location, LoopLimit, Queue, TicketSms, Voice
from ivr.loading.fields import FieldReader, Ref
from ivr.loading.lint import warn, window_warning
from ivr.loading.placeholders import HoursSpeaker, fill_hours, placeholder_problems
from ivr.loading.reader import Reader
from ivr.loading.yamltree import Sources, YMap, YNode, YScalar, YSeq
from ivr.scope import Scope
from ivr.spoken_time import spoken_day, spoken_hours
from ivr.text import Text, placeholders, render, segment_languages


def read_defaults(r: Reader, settings: YMap, languages: tuple[str, ...], fields: FieldReader) -> tuple[dict[str, Any], dict[str, Location]]:
    """Menu-wide retry settings and the default failure targets, by the names nodes inherit them under; and where each is."""
    m = r.mapping(settings.get("defaults"), DEFAULTS.label, settings.loc) or YMap(settings.loc)
    r.fields(m, DEFAULTS.names, DEFAULTS.label)
    values, where = fields.read(r, m, DEFAULTS.fields, DEFAULTS.label)
    blank = Text(dict.fromkeys(languages, ""))
    values.setdefault("invalid", blank)
    values.setdefault("no_input", blank)
    values.setdefault("on_max_failures", "")
    values.setdefault("on_transfer_failure", "")
    return values, where


def read_loop_limit(r: Reader, settings: YMap, fields: FieldReader) -> tuple[LoopLimit, Location]:
    """The runaway guard and where it sends a call, with where `goto` was written."""
    m = r.mapping(settings.get("loop_limit"), LOOP_LIMIT.label, settings.loc)
    if m is None:
        steps = LOOP_LIMIT.field("max_steps")
        assert isinstance(steps, Count) and steps.default is not None
        return LoopLimit(steps.default, ""), settings.loc
    r.fields(m, LOOP_LIMIT.names, LOOP_LIMIT.label)
    values, where = fields.read(r, m, LOOP_LIMIT.fields, LOOP_LIMIT.label)
    return LoopLimit(values["max_steps"], values.get("goto") or ""), where.get("goto", m.loc)


def read_voices(r: Reader, settings: YMap, languages: tuple[str, ...], fields: FieldReader) -> dict[str, Voice]:
    """Optional `voices: {LANG: {voice, language}}` for the telephony adapter."""
    m = r.mapping(settings.get("voices"), "'voices'", settings.loc) if "voices" in settings.values else None
    voices: dict[str, Voice] = {}
    for lang, value in m.values.items() if m else []:
        label = VOICE.label.replace("LANG", lang)
        v = r.mapping(value, label, value.loc)
        if languages and lang not in languages:
            close = difflib.get_close_matches(lang, list(languages), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            r.error(m.keys[lang] if m else settings.loc, f"voice for {lang!r}, which is not one of the menu's languages{hint}")
        if v is None:
            continue
        r.fields(v, VOICE.names, label)
        values, _ = fields.read(r, v, VOICE.fields, label)
        voices[lang] = Voice(
            values.get("voice") or "",
            values.get("language") or lang,
            values.get("render") or "",
            values.get("source") or "say",
            values.get("recognize") or "",
        )
    return voices


def read_queues(r: Reader, settings: YMap, fields: FieldReader) -> dict[str, Queue]:
    """The queues callers can be transferred to."""
    m = r.mapping(settings.get("queues"), "'queues'", settings.loc)
    queues: dict[str, Queue] = {}
    for name, value in m.values.items() if m else []:
        label = QUEUE.label.replace("NAME", name)
        q = r.mapping(value, label, m.keys[name]) if m else None
        if q is None:
            continue
        r.fields(q, QUEUE.names, label)
        values, _ = fields.read(r, q, QUEUE.fields, label)
        queues[name] = Queue(name, values.get("address") or "", values.get("description") or "")
    return queues


def read_data(r: Reader, settings: YMap, base: Path, files: Sources) -> tuple[dict[str, str], set[str]]:
    """Data files that exist (name → absolute path), and every name declared."""
    if "data" not in settings.values:
        return {}, set()
    m = r.mapping(settings.get("data"), "'data'", settings.loc)
    data: dict[str, str] = {}
    for name, value in m.values.items() if m else []:
        if not isinstance(value, YScalar) or value.is_null:
            r.error(value.loc, f"data file {name!r} must be a path")
            continue
        file = (base / value.value).resolve()
        if not files.is_file(file):
            r.error(value.loc, f"data file {name!r} not found: {file}")
            continue
        data[name] = str(file)
    return data, set(m.values) if m else set()


def action_refs(r: Reader, refs: list[Ref], data: set[str]) -> None:
    """Each named action used has the data files it needs declared."""
    for kind, name, node, loc in refs:
        if kind != "action" or name not in REGISTRY:
            continue
        for needed in REGISTRY[name].needs_data:
            if needed not in data:
                r.for_node(node).error(loc, f"action {name!r} needs the data file {needed!r} under 'data' in the menu settings")


def check_action_data(r: Reader, refs: list[Ref], data: dict[str, str], languages: tuple[str, ...], settings: YMap, files: Sources) -> None:
    """Each used action checks its data files' contents (columns, encoding) now, not at call time."""
    used = sorted({name for kind, name, _, _ in refs if kind == "action" and name in REGISTRY})
    declared = settings.get("data")

    def where(data_name: str) -> Location:
        return declared.values[data_name].loc if isinstance(declared, YMap) and data_name in declared.values else settings.loc

    texts: dict[str, str] = {}
    for data_name, path in data.items():
        try:
            texts[data_name] = files.read(Path(path))
        except (OSError, UnicodeDecodeError) as exc:
            r.error(where(data_name), f"cannot read the {data_name} file: {exc}")
    for name in used:
        for data_name, problem in REGISTRY[name].check_data(texts, languages):
            r.error(where(data_name), problem)


def read_schedule(r: Reader, settings: YMap, fields: FieldReader, languages: tuple[str, ...] = ()) -> Schedule | None:
    """Business hours: time zone, weekly windows, dated overrides (with their reasons), the force switch and why
    the line is closed in each of `languages`."""
    m = r.mapping(settings.get("hours"), HOURS.label, settings.loc)
    if m is None:
        return None
    r.fields(m, HOURS.names, HOURS.label)
    values, _ = fields.read(r, m, HOURS.fields, HOURS.label)
    tz = values.get("timezone") or ""
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            r.error(m.values["timezone"].loc, f"unknown time zone {tz!r}; use an IANA name such as 'Asia/Shanghai'")
            tz = ""
    weekly: dict[int, tuple[Window, ...]] = {}
    week = r.mapping(m.get("weekly"), "'weekly'", m.loc)
    for spec, value in week.values.items() if week else []:
        try:
            days = parse_days(spec)
        except ValueError as exc:
            r.error(week.keys[spec] if week else m.loc, str(exc))
            continue
        windows = read_windows(r, value)
        for day in days:
            weekly[day] = windows  # later lines win, so "daily" then "sun: closed" reads naturally
    overrides: dict[date, tuple[Window, ...]] = {}
    reasons_of_day: dict[date, tuple[Text, dict[str, Location]]] = {}
    over = r.mapping(m.get("overrides"), "'overrides'", m.loc) if "overrides" in m.values else None
    for spec, value in over.values.items() if over else []:
        try:
            when = date.fromisoformat(spec)
        except ValueError:
            r.error(over.keys[spec] if over else m.loc, f"{spec!r} is not a date (YYYY-MM-DD)")
            continue
        if not isinstance(value, YMap):
            overrides[when] = read_windows(r, value)
            continue
        label = OVERRIDE.label.replace("DATE", spec)
        r.fields(value, OVERRIDE.names, label)
        overrides[when] = read_windows(r, value.values["hours"]) if "hours" in value.values else ()  # a reason alone: closed
        given, where = fields.read(r, value, (OVERRIDE.field("reason"),), label)
        if "reason" in given:
            reasons_of_day[when] = (given["reason"], where)
    reasons_map = r.mapping(m.get("reasons"), REASONS.label, m.loc) if "reasons" in m.values else None
    if reasons_map is not None:
        r.fields(reasons_map, REASONS.names, REASONS.label)
    given, where = fields.read(r, reasons_map, REASONS.fields, REASONS.label) if reasons_map is not None else ({}, {})
    if not tz:
        return None
    schedule = Schedule(tz, weekly, overrides, values.get("force") or "auto")

    def said(lang: str) -> str:
        return spoken_hours(schedule, lang)

    def default(name: str) -> Text:
        return Text({lang: DEFAULT_REASONS[name].get(lang.split("-", maxsplit=1)[0], "") for lang in languages})

    reasons = {}
    for name in REASONS.names:
        if name != "special_hours":  # that one is a template for each such day, its {hours} the day's own
            reasons[name] = _as_said(r, given[name], where, name, said) if name in given else default(name)
    special = given.get("special_hours") or default("special_hours")
    before = len(r.problems)
    _as_said(r, special, {"special_hours": m.loc, **where}, "special_hours", said)  # checked once, override or not
    special_ok = len(r.problems) == before

    def on_the_day(when: date) -> HoursSpeaker:  # {hours} in a day's reason: that day's own hours, if it has any
        return _day_speaker(overrides[when], tz) if overrides[when] else said

    override_reasons = {when: _as_said(r, text, at, "reason", on_the_day(when)) for when, (text, at) in reasons_of_day.items()}
    for when, windows in overrides.items():
        if windows and when not in override_reasons and special_ok:
            override_reasons[when] = _as_said(r, special, {"special_hours": m.loc}, "special_hours", on_the_day(when))
    return replace(schedule, reasons=reasons, override_reasons=override_reasons)


def _day_speaker(windows: tuple[Window, ...], timezone: str) -> HoursSpeaker:
    """{hours} of one day, as said."""
    return lambda lang: spoken_day(windows, lang, timezone)


def _as_said(r: Reader, text: Text, where: dict[str, Location], name: str, hours: HoursSpeaker) -> Text:
    """A closed reason as said inside a prompt (by {closed_reason}): {hours} filled, braces plain, no other placeholder."""
    out = {}
    for lang, words in fill_hours(text, hours).by_lang.items():
        loc = where.get(f"{name} {lang}", where[name])
        for match in placeholders(words):
            r.error(loc, f"a closed reason is said inside a prompt (as {{closed_reason}}): it cannot hold {match.group(0)}, only {{hours}}")
        if segment_languages(words):
            r.error(loc, "a closed reason is said inside a prompt (as {closed_reason}) in its language: it cannot hold {LANG: …} segments")
        out[lang] = render(words, {})
    return Text(out)


def read_windows(r: Reader, value: YNode) -> tuple[Window, ...]:
    """Opening windows: one, a list, or `closed`."""
    items = value.items if isinstance(value, YSeq) else [value]
    windows = []
    for item in items:
        if not isinstance(item, YScalar) or item.is_null:
            r.error(item.loc, "opening hours must be 'HH:MM-HH:MM', a list of them, or 'closed'")
            continue
        if item.value == "closed":
            continue
        try:
            window = parse_window(item.value)
        except ValueError as exc:
            r.error(item.loc, f"bad opening hours: {exc}")
            continue
        windows.append(window)
        message = window_warning(window)
        if message:
            warn(r, item.loc, message)
    return tuple(windows)


def read_first_response(r: Reader, settings: YMap, scope: Scope | None, fields: FieldReader) -> int:
    """Minutes to the first response on a ticket: the menu's own, else the scope's ticket channel."""
    if "tickets" in settings.values:
        tickets = r.mapping(settings.get("tickets"), TICKETS.label, settings.loc)
        if tickets is not None:
            r.fields(tickets, TICKETS.names, TICKETS.label)
            minutes = tuple(f for f in TICKETS.fields if f.name == "first_response_minutes")  # the texts: read_ticket_sms
            values, _ = fields.read(r, tickets, minutes, TICKETS.label)
            if "first_response_minutes" in values:
                return int(values["first_response_minutes"])
    channel = scope.channels.get("tickets") if scope else None
    if channel and channel.first_response_minutes:
        return channel.first_response_minutes
    return 10


def read_ticket_sms(r: Reader, settings: YMap, fields: FieldReader) -> TicketSms | None:
    """The caller's text message about their ticket, if the menu writes one; its placeholders checked."""
    tickets = settings.values.get("tickets")
    if not isinstance(tickets, YMap):
        return None
    texts = tuple(f for f in TICKETS.fields if f.name != "first_response_minutes")
    values, where = fields.read(r, tickets, texts, TICKETS.label)
    text, said = values.get("sms"), values.get("sms_said")
    for name, value, known in (("sms", text, ("ticket",)), ("sms_said", said, ())):
        for lang, words in value.by_lang.items() if value is not None else ():
            for message in placeholder_problems(words, frozenset(known)):
                r.error(where.get(f"{name} {lang}", where.get(name, tickets.loc)), message)
    if text is None:
        if said is not None:
            r.error(where.get("sms_said", tickets.loc), "sms_said is heard when the sms text goes: write `sms` too")
        return None
    return TicketSms(text, said, tuple(values.get("sms_prefixes") or ()))


def read_budgets(r: Reader, settings: YMap, fields: FieldReader) -> Budgets:
    """The limits `ivr menu check` holds the menu to; each one left out keeps its default."""
    if "budgets" not in settings.values:
        return Budgets()
    m = r.mapping(settings.get("budgets"), BUDGETS.label, settings.loc)
    if m is None:
        return Budgets()
    r.fields(m, BUDGETS.names, BUDGETS.label)
    values, _ = fields.read(r, m, BUDGETS.fields, BUDGETS.label)
    return Budgets(**{name: int(value) for name, value in values.items()})
