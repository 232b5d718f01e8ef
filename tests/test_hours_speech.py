"""Times, ranges and weekly schedules as a caller hears them (ivr.spoken_time), in Chinese and English."""

from __future__ import annotations

import pytest

from ivr.hours import Schedule, parse_days, parse_window
from ivr.spoken_time import (
    UnspokenLanguage,
    speaks,
    spoken_daily,
    spoken_day,
    spoken_hours,
    spoken_range,
    spoken_schedule,
    spoken_time,
    spoken_zone,
)


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


@pytest.mark.parametrize(
    ("clock", "zh", "en"),
    [
        ("09:00", "上午9点", "9 a.m."),
        ("09:30", "上午9点半", "9:30 a.m."),
        ("09:05", "上午9点零5分", "9:05 a.m."),
        ("12:00", "中午12点", "noon"),
        ("13:15", "下午1点15分", "1:15 p.m."),
        ("18:00", "下午6点", "6 p.m."),
        ("18:30", "下午6点半", "6:30 p.m."),
        ("21:00", "晚上9点", "9 p.m."),
        ("03:00", "凌晨3点", "3 a.m."),
        ("00:00", "零点", "midnight"),
        ("00:30", "零点半", "12:30 a.m."),
        ("24:00", "午夜12点", "midnight"),
    ],
)
def test_a_time_of_day_is_said_as_people_say_it(clock: str, zh: str, en: str) -> None:
    """Each time is said with its part of the day (上午, 下午, 晚上 / a.m., p.m.), noon and midnight by name."""
    assert spoken_time(_minutes(clock), "zh-CN") == zh
    assert spoken_time(_minutes(clock), "en-US") == en


@pytest.mark.parametrize(
    ("window", "zh", "en"),
    [
        ("09:00-21:00", "上午9点到晚上9点", "9 a.m. to 9 p.m."),
        ("09:00-18:00", "上午9点到下午6点", "9 a.m. to 6 p.m."),
        ("13:00-18:00", "下午1点到6点", "1 to 6 p.m."),
        ("09:00-11:30", "上午9点到11点半", "9 to 11:30 a.m."),
        ("09:00-12:00", "上午9点到中午12点", "9 a.m. to noon"),
        ("20:00-24:00", "晚上8点到午夜12点", "8 p.m. to midnight"),
        ("22:00-02:00", "晚上10点到次日凌晨2点", "10 p.m. to 2 a.m."),
        ("00:00-24:00", "24小时", "24 hours"),
    ],
)
def test_a_window_is_said_from_start_to_end(window: str, zh: str, en: str) -> None:
    """A range names its part of the day once when both ends share it, and says 次日 when it runs overnight."""
    assert spoken_range(window, "zh-CN") == zh
    assert spoken_range(parse_window(window), "en-GB") == en


def _week(**days: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    out: dict[int, tuple[str, ...]] = {}
    for spec, windows in days.items():
        for day in parse_days(spec.replace("_", "-")):
            out[day] = windows
    return out


def test_seven_days_alike_are_every_day() -> None:
    """The same hours every day are 每天 / every day, with the time zone named as callers know it."""
    week = _week(daily=("09:00-21:00",))
    assert spoken_schedule(week, "zh-CN", "Asia/Shanghai") == "北京时间每天上午9点到晚上9点"
    assert spoken_schedule(week, "en-US", "Asia/Shanghai") == "every day from 9 a.m. to 9 p.m. Beijing time"
    assert spoken_daily("09:00-21:00", "Asia/Shanghai", "zh-CN") == "北京时间每天上午9点到晚上9点"


def test_weekdays_and_a_saturday_are_grouped_in_week_order_and_closed_days_left_out() -> None:
    """Monday to Friday alike become 周一到周五; Saturday follows in its own group; a closed Sunday is not read out."""
    week = _week(mon_fri=("09:00-18:00",), sat=("10:00-16:00",), sun=())
    assert spoken_schedule(week, "zh-CN", "Asia/Shanghai") == "北京时间周一到周五上午9点到下午6点，周六上午10点到下午4点"
    assert (
        spoken_schedule(week, "en-US", "Asia/Shanghai")
        == "Monday to Friday from 9 a.m. to 6 p.m., and Saturday from 10 a.m. to 4 p.m., Beijing time"
    )


def test_days_apart_with_the_same_hours_are_one_group_and_a_lunch_break_is_two_windows() -> None:
    """Mon, Wed and Fri with a lunch break are said together; a full weekend day is 24 hours."""
    week = _week(mon=("09:00-12:00", "13:00-18:00"), wed=("09:00-12:00", "13:00-18:00"), fri=("13:00-18:00", "09:00-12:00"))
    week.update(_week(sat_sun=("00:00-24:00",)))
    assert spoken_schedule(week, "zh-CN") == "周一、周三和周五上午9点到中午12点和下午1点到6点，周六和周日24小时"
    assert spoken_schedule(week, "en-US") == (
        "Monday, Wednesday and Friday from 9 a.m. to noon and from 1 to 6 p.m., and Saturday and Sunday, 24 hours a day"
    )


def test_round_the_clock_every_day_needs_no_time_zone() -> None:
    """00:00-24:00 on all seven days is 每天24小时 / 24 hours a day, 7 days a week."""
    week = _week(daily=("00:00-24:00",))
    assert spoken_schedule(week, "zh-CN", "Asia/Shanghai") == "每天24小时"
    assert spoken_schedule(week, "en-US", "Asia/Shanghai") == "24 hours a day, 7 days a week"


def test_a_week_with_no_hours_says_so() -> None:
    """No open day at all is said plainly rather than as an empty string."""
    assert spoken_schedule({}, "zh-CN") == "每天都不开放"
    assert spoken_schedule({}, "en-US") == "closed every day"


@pytest.mark.parametrize(
    ("zone", "zh", "en"),
    [
        ("Asia/Shanghai", "北京时间", "Beijing time"),
        ("America/New_York", "美国东部时间", "US Eastern time"),
        ("UTC", "协调世界时", "UTC"),
        ("Europe/Lisbon", "Lisbon时间", "Lisbon time"),
        ("America/Argentina/Buenos_Aires", "Buenos Aires时间", "Buenos Aires time"),
    ],
)
def test_time_zones_are_named_as_callers_know_them(zone: str, zh: str, en: str) -> None:
    """A short table of well-known zones, and the city of any other."""
    assert spoken_zone(zone, "zh-CN") == zh
    assert spoken_zone(zone, "en-US") == en


def test_chinese_uses_full_width_punctuation() -> None:
    """Groups and list items in Chinese are joined with full-width commas, never a half-width comma or colon."""
    week = _week(mon=("09:00-18:00",), wed=("09:00-18:00",), fri=("09:00-18:00",), sat=("10:00-11:30",))
    said = spoken_schedule(week, "zh-CN", "Asia/Shanghai")
    assert said == "北京时间周一、周三和周五上午9点到下午6点，周六上午10点到11点半"
    assert "," not in said and ":" not in said


def test_a_schedule_is_spoken_from_the_menu_hours() -> None:
    """spoken_hours reads a menu Schedule: its weekly windows and its time zone."""
    schedule = Schedule("Asia/Shanghai", {d: (parse_window("09:00-18:00"),) for d in range(7)})
    assert spoken_hours(schedule, "zh-CN") == "北京时间每天上午9点到下午6点"
    assert spoken_hours(schedule, "en-US") == "every day from 9 a.m. to 6 p.m. Beijing time"


def test_other_languages_are_refused_naming_the_supported_ones() -> None:
    """Times are written for zh and en only; another language is a clear error, not English words in a Japanese voice."""
    assert speaks("zh-TW") and speaks("en-GB") and not speaks("ja-JP")
    with pytest.raises(UnspokenLanguage, match=r"'ja-JP'.*zh \(zh-CN\), en \(en-US\)"):
        spoken_daily("09:00-21:00", "Asia/Tokyo", "ja-JP")


def test_one_day_of_special_hours_is_said_with_its_zone() -> None:
    """A dated override's own hours, as the closed path says them on that day."""
    assert spoken_day(["10:00-12:00"], "zh-CN", "Asia/Shanghai") == "北京时间上午10点到中午12点"
    assert spoken_day(["10:00-12:00"], "en-US", "Asia/Shanghai") == "from 10 a.m. to noon Beijing time"
    assert spoken_day(["14:00-16:00", "09:00-11:00"], "zh-CN") == "上午9点到11点和下午2点到4点"
