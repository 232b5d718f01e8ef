"""The `menu:` settings part of a menu file: defaults, hours, queues, voices, data files, limits."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.actions import REGISTRY
from ivr.hours import FORCE_VALUES, Schedule, Window, parse_days, parse_window
from ivr.ir import Location, LoopLimit, Queue, Voice
from ivr.loading.nodes import Defaults, Ref, TextReader
from ivr.loading.reader import Reader
from ivr.loading.yamltree import YMap, YNode, YScalar, YSeq
from ivr.scope import Scope
from ivr.text import Text

DEFAULT_FIELDS = ("max_invalid", "max_no_input", "timeout", "invalid", "no_input", "on_max_failures", "on_transfer_failure")


def read_defaults(r: Reader, settings: YMap, languages: tuple[str, ...], read_text: TextReader, refs: list[Ref]) -> Defaults:
    """Menu-wide retry settings and the default failure targets."""
    m = r.mapping(settings.get("defaults"), "'defaults'", settings.loc) or YMap(settings.loc)
    r.fields(m, DEFAULT_FIELDS, "'defaults'")
    blank = Text({lang: "" for lang in languages})
    targets = {}
    for key in ("on_max_failures", "on_transfer_failure"):
        value = r.string(m, key, "'defaults'") or ""
        if value:
            refs.append(("target", value, "", m.values[key].loc))
        targets[key] = value
    return Defaults(
        max_invalid=r.integer(m, "max_invalid", "'defaults'", 3, 1, 10),
        max_no_input=r.integer(m, "max_no_input", "'defaults'", 3, 1, 10),
        timeout=r.integer(m, "timeout", "'defaults'", 5, 1, 60),
        invalid=read_text(r, m, "invalid", "'defaults'", True) or blank,
        no_input=read_text(r, m, "no_input", "'defaults'", True) or blank,
        on_max_failures=targets["on_max_failures"],
        on_transfer_failure=targets["on_transfer_failure"],
    )


def read_setting_target(r: Reader, settings: YMap, key: str, refs: list[Ref]) -> str:
    """A node named by a setting (checked with the other references later)."""
    value = r.string(settings, key, "the menu settings") or ""
    if value:
        refs.append(("target", value, "", settings.values[key].loc))
    return value


def read_loop_limit(r: Reader, settings: YMap, refs: list[Ref]) -> tuple[LoopLimit, Location]:
    """The runaway guard and where it sends a call, with where `goto` was written."""
    m = r.mapping(settings.get("loop_limit"), "'loop_limit'", settings.loc)
    if m is None:
        return LoopLimit(50, ""), settings.loc
    r.fields(m, ("max_steps", "goto"), "'loop_limit'")
    target = r.string(m, "goto", "'loop_limit'") or ""
    loc = m.values["goto"].loc if "goto" in m.values else m.loc
    if target:
        refs.append(("target", target, "", loc))
    return LoopLimit(r.integer(m, "max_steps", "'loop_limit'", 50, 5, 1000), target), loc


def read_voices(r: Reader, settings: YMap, languages: tuple[str, ...]) -> dict[str, Voice]:
    """Optional `voices: {LANG: {voice, language}}` for the telephony adapter."""
    m = r.mapping(settings.get("voices"), "'voices'", settings.loc) if "voices" in settings.values else None
    voices: dict[str, Voice] = {}
    for lang, value in m.values.items() if m else []:
        v = r.mapping(value, f"voice for {lang!r}", value.loc)
        if lang not in languages:
            r.error(m.keys[lang] if m else settings.loc, f"voice for {lang!r}, which is not one of the menu's languages")
        if v is None:
            continue
        r.fields(v, ("voice", "language"), f"voice for {lang!r}")
        voices[lang] = Voice(r.string(v, "voice", f"voice for {lang!r}") or "", r.string(v, "language", f"voice for {lang!r}") or lang)
    return voices


def read_queues(r: Reader, settings: YMap) -> dict[str, Queue]:
    """The queues callers can be transferred to."""
    m = r.mapping(settings.get("queues"), "'queues'", settings.loc)
    queues: dict[str, Queue] = {}
    for name, value in m.values.items() if m else []:
        q = r.mapping(value, f"queue {name!r}", m.keys[name]) if m else None
        if q is None:
            continue
        r.fields(q, ("address", "description"), f"queue {name!r}")
        queues[name] = Queue(
            name,
            r.string(q, "address", f"queue {name!r}", required=False, default="") or "",
            r.string(q, "description", f"queue {name!r}", required=False, default="") or "",
        )
    return queues


def read_data(r: Reader, settings: YMap, base: Path) -> tuple[dict[str, str], set[str]]:
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
        if not file.is_file():
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


def check_action_data(r: Reader, refs: list[Ref], data: dict[str, str], languages: tuple[str, ...], settings: YMap) -> None:
    """Each used action checks its data files' contents (columns, encoding) now, not at call time."""
    used = sorted({name for kind, name, _, _ in refs if kind == "action" and name in REGISTRY})
    files = settings.get("data")
    for name in used:
        for data_name, problem in REGISTRY[name].check_data(data, languages):
            where = files.values[data_name].loc if isinstance(files, YMap) and data_name in files.values else settings.loc
            r.error(where, problem)


def read_schedule(r: Reader, settings: YMap) -> Schedule | None:
    """Business hours: time zone, weekly windows, dated overrides and the force switch."""
    m = r.mapping(settings.get("hours"), "'hours'", settings.loc)
    if m is None:
        return None
    r.fields(m, ("timezone", "weekly", "overrides", "force"), "'hours'")
    tz = r.string(m, "timezone", "'hours'") or ""
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            r.error(m.values["timezone"].loc, f"unknown time zone {tz!r}; use an IANA name such as 'Asia/Shanghai'")
            tz = ""
    force = r.string(m, "force", "'hours'", required=False, default="auto") or "auto"
    if force not in FORCE_VALUES:
        r.error(m.values["force"].loc, f"force must be one of {', '.join(FORCE_VALUES)}, not {force!r}")
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
    over = r.mapping(m.get("overrides"), "'overrides'", m.loc) if "overrides" in m.values else None
    for spec, value in over.values.items() if over else []:
        try:
            when = date.fromisoformat(spec)
        except ValueError:
            r.error(over.keys[spec] if over else m.loc, f"{spec!r} is not a date (YYYY-MM-DD)")
            continue
        overrides[when] = read_windows(r, value)
    if not tz:
        return None
    return Schedule(tz, weekly, overrides, force)


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
            windows.append(parse_window(item.value))
        except ValueError as exc:
            r.error(item.loc, f"bad opening hours: {exc}")
    return tuple(windows)


def read_first_response(r: Reader, tickets: YMap | None, scope: Scope | None) -> int:
    """Minutes to the first response on a ticket: the menu's own, else the scope's ticket channel."""
    if tickets is not None:
        r.fields(tickets, ("first_response_minutes",), "'tickets'")
        if "first_response_minutes" in tickets.values:
            return r.integer(tickets, "first_response_minutes", "'tickets'", 10, 1, 10080)
    channel = scope.channels.get("tickets") if scope else None
    if channel and channel.first_response_minutes:
        return channel.first_response_minutes
    return 10
