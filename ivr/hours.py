"""Business hours: a weekly schedule in the menu's time zone, dated overrides, a force switch, and why the line is closed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from ivr.text import Text

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
YEARS = range(1900, 9000)  # a call's clock outside these is a mistake (and near year 1 or 9999 time zones overflow)


def local_time(value: str, timezone: str) -> datetime | None:
    """An ISO 8601 date or time as typed on a command line, in `timezone` unless it has an offset.

    None when it is not one; ValueError when its year is outside YEARS.
    """
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.year not in YEARS:
        raise ValueError(f"outside the years {YEARS.start}–{YEARS.stop - 1}")
    return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(timezone))


FORCE_VALUES = ("auto", "open", "closed")
CLOSED_REASON = "closed_reason"  # the call value the closed branch of an hours node sets, for {closed_reason}
# Why the line is closed, and what a menu that says nothing else says, by primary language tag.
DEFAULT_REASONS: Mapping[str, Mapping[str, str]] = {
    "after_hours": {"zh": "现在是非工作时间。", "en": "Our phone lines are closed at the moment."},
    "holiday": {"zh": "今天是节假日，人工服务暂停。", "en": "Our phone lines are closed today for a holiday."},
    "forced": {"zh": "热线暂时停止服务。", "en": "Our phone lines are temporarily out of service."},
    # A dated override with hours of its own, outside them: {hours} is that day's hours.
    "special_hours": {"zh": "今天的人工电话服务时间是{hours}。", "en": "Today our phone lines are open {hours}."},
}


@dataclass(frozen=True)
class Window:
    """An opening window on one day; `end` may pass midnight (end <= start means the next day)."""

    start: time
    end: time  # time(0, 0) with `until_midnight` stands for 24:00
    until_midnight: bool = False

    # Cached (in the instance's __dict__, which frozenness allows): every call's hours check reads both.
    @cached_property
    def start_minutes(self) -> int:
        """Minutes after the start of its day at which the window opens."""
        return self.start.hour * 60 + self.start.minute

    @cached_property
    def end_minutes(self) -> int:
        """Minutes after the start of its day at which it closes (may exceed 1440 when overnight)."""
        end = 1440 if self.until_midnight else self.end.hour * 60 + self.end.minute
        return end if end > self.start_minutes else end + 1440


@dataclass(frozen=True)
class Schedule:
    """When the phone line is staffed."""

    timezone: str
    weekly: Mapping[int, tuple[Window, ...]]  # weekday (Monday = 0) -> windows
    overrides: Mapping[date, tuple[Window, ...]] = field(default_factory=dict)  # () = closed all day
    force: str = "auto"
    # Why the line is closed, as said (no placeholders; braces plain): after_hours, holiday, forced (DEFAULT_REASONS).
    reasons: Mapping[str, Text] = field(default_factory=dict)
    override_reasons: Mapping[date, Text] = field(default_factory=dict)  # an override's own reason, as said

    @cached_property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The windows that open on `day`, overrides first."""
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())

    def is_open(self, at: datetime, force: str | None = None) -> bool:
        """Whether the line is open at the aware datetime `at`; `force` (open/closed) wins over all."""
        switch = force if force and force != "auto" else self.force
        if switch == "open":
            return True
        if switch == "closed":
            return False
        if at.tzinfo is None:
            raise ValueError("business hours need an aware datetime")
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
        today = local.date()
        days = [(today, 0)]
        if today not in self.overrides and today > date.min:
            # A window that opened yesterday and runs past midnight still counts today, unless today has
            # an override: a dated override decides the whole of its date (a holiday is closed all day).
            days.append((today - timedelta(days=1), 1440))
        for day, offset in days:
            for window in self.windows_on(day):
                if window.start_minutes <= minute + offset < window.end_minutes:
                    return True
        return False

    def closed_reason(self, at: datetime, force: str | None = None) -> Text:
        """Why the line is closed at `at`: forced closed, else a dated override's own reason (a closed day: the
        holiday reason), else the after-hours one. Empty where the schedule gives no such reason."""
        switch = force if force and force != "auto" else self.force
        if switch == "closed":
            return self.reasons.get("forced", Text({}))
        if at.tzinfo is None:
            raise ValueError("business hours need an aware datetime")
        today = at.astimezone(self.zone).date()
        if today in self.overrides:
            if today in self.override_reasons:
                return self.override_reasons[today]
            if not self.overrides[today]:
                return self.reasons.get("holiday", Text({}))
        return self.reasons.get("after_hours", Text({}))

    def reason_texts(self) -> list[Text]:
        """Every reason the closed branch can give (for rendering them ahead)."""
        return [*self.reasons.values(), *self.override_reasons.values()]


def parse_window(spec: str) -> Window:
    """Parse 'HH:MM-HH:MM' (24:00 allowed as an end); raises ValueError with a readable reason."""
    try:
        start_s, end_s = (part.strip() for part in spec.split("-"))
    except ValueError:
        raise ValueError(f"expected 'HH:MM-HH:MM', got {spec!r}") from None
    start = _parse_time(start_s)
    if end_s == "24:00":
        return Window(start, time(0, 0), until_midnight=True)
    end = _parse_time(end_s)
    if end == start:
        raise ValueError(f"window {spec!r} is empty (start equals end)")
    return Window(start, end)


def _parse_time(text: str) -> time:
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"time {text!r} is not HH:MM")
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"time {text!r} is out of range")
    return time(hour, minute)


def parse_days(spec: str) -> list[int]:
    """Parse 'daily', 'mon', 'mon-fri' or 'sat-sun' (wrapping allowed) into weekday numbers."""
    spec = spec.strip().lower()
    if spec == "daily":
        return list(range(7))
    if "-" in spec:
        first, last = spec.split("-", 1)
        if first not in DAYS or last not in DAYS:
            raise ValueError(f"unknown day range {spec!r}; use mon..sun, e.g. 'mon-fri'")
        i, j = DAYS.index(first), DAYS.index(last)
        return [(i + k) % 7 for k in range((j - i) % 7 + 1)]
    if spec not in DAYS:
        raise ValueError(f"unknown day {spec!r}; use daily, mon..sun or a range like 'mon-fri'")
    return [DAYS.index(spec)]
