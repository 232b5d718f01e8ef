"""Times, ranges and weekly schedules written for the ear, in Chinese and English (by primary language tag).

'09:00-21:00' every day in Asia/Shanghai is heard as 北京时间每天上午9点到晚上9点, or every day from 9 a.m.
to 9 p.m. Beijing time — never as 零九:零零减二十一:零零.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ivr.hours import Schedule, Window, parse_window

__all__ = [
    "SPOKEN_LANGUAGES",
    "UnspokenLanguage",
    "speaks",
    "spoken_daily",
    "spoken_hours",
    "spoken_range",
    "spoken_schedule",
    "spoken_time",
    "spoken_zone",
]

SPOKEN_LANGUAGES = ("zh", "en")  # primary language tags whose times can be spoken
DAY = 1440  # minutes

_DAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
# A time zone as callers name it, (zh, en); others are named after their city ("Europe/Lisbon" → Lisbon time).
_ZONES = {
    "Asia/Shanghai": ("北京时间", "Beijing time"),
    "Asia/Chongqing": ("北京时间", "Beijing time"),
    "Asia/Harbin": ("北京时间", "Beijing time"),
    "PRC": ("北京时间", "Beijing time"),
    "Asia/Hong_Kong": ("香港时间", "Hong Kong time"),
    "Asia/Macau": ("澳门时间", "Macau time"),
    "Asia/Taipei": ("台北时间", "Taipei time"),
    "Asia/Singapore": ("新加坡时间", "Singapore time"),
    "Asia/Tokyo": ("日本时间", "Japan time"),
    "Asia/Seoul": ("韩国时间", "Korea time"),
    "Europe/London": ("英国时间", "UK time"),
    "Europe/Paris": ("巴黎时间", "Paris time"),
    "Europe/Berlin": ("德国时间", "Germany time"),
    "America/New_York": ("美国东部时间", "US Eastern time"),
    "America/Chicago": ("美国中部时间", "US Central time"),
    "America/Denver": ("美国山地时间", "US Mountain time"),
    "America/Los_Angeles": ("美国太平洋时间", "US Pacific time"),
    "UTC": ("协调世界时", "UTC"),
    "Etc/UTC": ("协调世界时", "UTC"),
}
_LIST = {"zh": ("、", "和"), "en": (", ", " and ")}

WindowLike = Window | str  # a Window, or 'HH:MM-HH:MM' as written


class UnspokenLanguage(ValueError):
    """Times cannot be spoken in this language."""


def speaks(lang: str) -> bool:
    """Whether times can be spoken in `lang` (zh-CN, en-US, en-GB…)."""
    return _primary(lang) in SPOKEN_LANGUAGES


def _primary(lang: str) -> str:
    return lang.split("-", maxsplit=1)[0].lower()


def _language(lang: str) -> str:
    primary = _primary(lang)
    if primary not in SPOKEN_LANGUAGES:
        supported = ", ".join(f"{p} ({example})" for p, example in zip(SPOKEN_LANGUAGES, ("zh-CN", "en-US"), strict=True))
        raise UnspokenLanguage(f"hours cannot be spoken in {lang!r}; the languages they can be spoken in are {supported}")
    return primary


def _window(value: WindowLike) -> Window:
    return parse_window(value) if isinstance(value, str) else value


# ---- one time of day -------------------------------------------------------------
def spoken_time(minutes: int, lang: str) -> str:
    """Minutes after midnight (0 to 1440) as said: 570 → 上午9点半 / 9:30 a.m.; 720 → 中午12点 / noon; 1440 → 午夜12点 / midnight."""
    language = _language(lang)
    if not 0 <= minutes <= DAY:
        raise ValueError(f"{minutes} minutes is not a time of day")
    return _zh_time(minutes) if language == "zh" else _en_time(minutes)


def _zh_period(minutes: int) -> str:
    hour = minutes // 60
    if minutes in (0, DAY) or hour == 0:
        return ""  # 零点, 午夜12点: the words name the hour
    if hour < 6:
        return "凌晨"
    if hour < 12:
        return "上午"
    if hour == 12:
        return "中午"
    return "下午" if hour < 19 else "晚上"


def _zh_clock(minutes: int) -> str:
    """The time without its part of the day: 9点, 9点半, 1点15分, 9点零5分."""
    if minutes == DAY:
        return "午夜12点"
    hour, minute = divmod(minutes, 60)
    said = "零点" if hour == 0 else f"{hour if hour <= 12 else hour - 12}点"
    if minute == 30:
        return said + "半"
    if minute:
        return said + (f"零{minute}分" if minute < 10 else f"{minute}分")
    return said


def _zh_time(minutes: int) -> str:
    return _zh_period(minutes) + _zh_clock(minutes)


def _en_suffix(minutes: int) -> str:
    if minutes in (0, DAY, 720):
        return ""  # midnight, noon
    return "a.m." if minutes < 720 else "p.m."


def _en_clock(minutes: int) -> str:
    """The time without a.m./p.m.: 9, 9:30, noon, midnight."""
    if minutes in (0, DAY):
        return "midnight"
    if minutes == 720:
        return "noon"
    hour, minute = divmod(minutes, 60)
    hour12 = hour % 12 or 12
    return f"{hour12}:{minute:02d}" if minute else str(hour12)


def _en_time(minutes: int) -> str:
    suffix = _en_suffix(minutes)
    return f"{_en_clock(minutes)} {suffix}" if suffix else _en_clock(minutes)


# ---- a window --------------------------------------------------------------------
def _full_day(window: Window) -> bool:
    return window.start_minutes == 0 and window.end_minutes == DAY


def spoken_range(window: WindowLike, lang: str) -> str:
    """One opening window as said: '13:00-18:00' → 下午1点到6点 / 1 to 6 p.m.; '00:00-24:00' → 24小时 / 24 hours."""
    language = _language(lang)
    w = _window(window)
    if _full_day(w):
        return "24小时" if language == "zh" else "24 hours"
    start, end = w.start_minutes, w.end_minutes
    overnight = end > DAY
    end_of_day = end - DAY if overnight else end
    if language == "zh":
        period = _zh_period(end_of_day)
        same = not overnight and period in ("凌晨", "上午", "下午", "晚上") and period == _zh_period(start)
        said_end = _zh_clock(end_of_day) if same else ("次日" if overnight else "") + _zh_time(end_of_day)
        return f"{_zh_time(start)}到{said_end}"
    suffix = _en_suffix(start)
    if not overnight and suffix and suffix == _en_suffix(end_of_day):
        return f"{_en_clock(start)} to {_en_time(end_of_day)}"  # 9 to 11 a.m.
    return f"{_en_time(start)} to {_en_time(end_of_day)}"


def _joined(language: str, items: Sequence[str]) -> str:
    between, last = _LIST[language]
    if len(items) < 2:
        return "".join(items)
    return between.join(items[:-1]) + last + items[-1]


def _day_hours(language: str, windows: Sequence[Window]) -> str:
    """A day's windows: 上午9点到12点和下午1点到6点 / from 9 a.m. to noon and from 1 to 6 p.m."""
    if language == "zh":
        return _joined(language, [spoken_range(w, language) for w in windows])
    if len(windows) == 1 and _full_day(windows[0]):
        return "24 hours a day"
    return _joined(language, [f"from {spoken_range(w, language)}" for w in windows])


# ---- days and a whole week -------------------------------------------------------
def _days(language: str, days: Sequence[int]) -> str:
    """Weekdays in week order, consecutive runs of three or more as ranges: 周一到周五, Monday, Wednesday and Friday."""
    names = _DAYS[language]
    if len(days) == 7:
        return "每天" if language == "zh" else "every day"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    items: list[str] = []
    to = "到" if language == "zh" else " to "
    for run in runs:
        if len(run) >= 3:
            items.append(f"{names[run[0]]}{to}{names[run[-1]]}")
        else:
            items.extend(names[d] for d in run)
    return _joined(language, items)


def spoken_zone(timezone: str, lang: str) -> str:
    """A time zone as callers know it: Asia/Shanghai → 北京时间 / Beijing time; Europe/Lisbon → Lisbon时间 / Lisbon time."""
    language = _language(lang)
    known = _ZONES.get(timezone)
    if known:
        return known[0] if language == "zh" else known[1]
    city = timezone.rsplit("/", maxsplit=1)[-1].replace("_", " ")
    return f"{city}时间" if language == "zh" else f"{city} time"


def spoken_schedule(weekly: Mapping[int, Sequence[WindowLike]], lang: str, timezone: str = "") -> str:
    """A weekly schedule (weekday, Monday = 0 → windows; a missing or empty day is closed) as said, days grouped in
    week order, closed days left out, the time zone named when given: 北京时间周一到周五上午9点到下午6点 / Monday to
    Friday from 9 a.m. to 6 p.m. Beijing time; groups are joined by a comma (full-width in Chinese)."""
    language = _language(lang)
    by_day = {day: tuple(_window(w) for w in weekly.get(day, ())) for day in range(7)}
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, windows in by_day.items():
        if windows:
            key = tuple(sorted((w.start_minutes, w.end_minutes) for w in windows))
            groups.setdefault(key, []).append(day)
    if not groups:
        return "每天都不开放" if language == "zh" else "closed every day"
    if len(groups) == 1 and all(_full_day(w) for w in by_day[0]) and len(next(iter(groups.values()))) == 7:
        return "每天24小时" if language == "zh" else "24 hours a day, 7 days a week"  # the time zone does not matter
    said = []
    for days in groups.values():  # in the order of each group's first day
        windows = tuple(sorted(by_day[days[0]], key=lambda w: w.start_minutes))
        day_words, hours = _days(language, days), _day_hours(language, windows)
        if language == "zh":
            said.append(day_words + hours)
        else:
            said.append(f"{day_words}, {hours}" if hours == "24 hours a day" else f"{day_words} {hours}")
    # English groups already hold "and" (Monday and Tuesday, from 9 to 11 a.m. and …): a comma marks each group.
    text = "，".join(said) if language == "zh" else ", ".join(said[:-1]) + (", and " if len(said) > 1 else "") + said[-1]
    if not timezone:
        return text
    zone = spoken_zone(timezone, lang)
    if language == "zh":
        return zone + text
    return f"{text}, {zone}" if len(said) > 1 else f"{text} {zone}"


def spoken_day(windows: Sequence[WindowLike], lang: str, timezone: str = "") -> str:
    """One day's hours as said, with its time zone: 北京时间上午10点到中午12点 / from 10 a.m. to noon Beijing time."""
    language = _language(lang)
    hours = _day_hours(language, tuple(sorted((_window(w) for w in windows), key=lambda w: w.start_minutes)))
    if not timezone:
        return hours
    zone = spoken_zone(timezone, lang)
    return zone + hours if language == "zh" else f"{hours} {zone}"


def spoken_daily(daily: str, timezone: str, lang: str) -> str:
    """The same window every day ('HH:MM-HH:MM' in `timezone`) as said: 北京时间每天上午9点到晚上9点."""
    return spoken_schedule(dict.fromkeys(range(7), (daily,)), lang, timezone)


def spoken_hours(schedule: Schedule, lang: str) -> str:
    """A menu's weekly hours as said in `lang`, with its time zone (what `{hours}` in a prompt becomes)."""
    return spoken_schedule(schedule.weekly, lang, schedule.timezone)
