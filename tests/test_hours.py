"""Business hours: boundaries, time zones, overrides and the force switch."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.config import Settings
from ivr.errors import ConfigError
from ivr.hours import Schedule, parse_days, parse_window
from ivr.ir import Menu
from ivr.store.tickets import TicketStore
from tests.conftest import Caller

BEIJING = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A Beijing-time instant from 'YYYY-MM-DD HH:MM:SS'."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@pytest.fixture
def server_in_new_york() -> Iterator[None]:
    """Run with the process's own time zone set far from Beijing, then restore it."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-11-30 08:59:59", False),
        ("2026-11-30 09:00:00", True),
        ("2026-11-30 20:59:59", True),
        ("2026-11-30 21:00:00", False),
        ("2026-11-29 03:00:00", False),
        ("2026-11-29 12:00:00", True),  # Sunday: the line is open every day
    ],
)
def test_shipped_schedule_boundaries(menu: Menu, when: str, is_open: bool) -> None:
    """09:00:00 is open, 21:00:00 is closed, a second either side too, every day of the week."""
    assert menu.schedule.is_open(at(when)) is is_open


def test_boundaries_hold_whatever_the_server_time_zone(menu: Menu, server_in_new_york: None) -> None:
    """The schedule is read in the menu's zone, not the server's: the same instants give the same answer."""
    assert time.strftime("%Z") in ("EST", "EDT")
    assert menu.schedule.is_open(at("2026-11-30 20:59:59"))
    assert not menu.schedule.is_open(at("2026-11-30 21:00:00"))
    # 08:00 in New York is 21:00 in Beijing.
    assert not menu.schedule.is_open(datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("America/New_York")))
    assert menu.schedule.is_open(datetime(2026, 11, 30, 7, 59, 59, tzinfo=ZoneInfo("America/New_York")))


def test_utc_instants_are_converted(menu: Menu) -> None:
    """01:00 UTC is 09:00 in Beijing (open); 13:00 UTC is 21:00 (closed)."""
    assert menu.schedule.is_open(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    assert not menu.schedule.is_open(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))


def test_naive_datetime_is_refused(menu: Menu) -> None:
    """A time without a zone is ambiguous and is refused rather than guessed."""
    with pytest.raises(ValueError, match="aware"):
        menu.schedule.is_open(datetime(2026, 11, 30, 10, 0))


def _schedule(**kw: object) -> Schedule:
    weekly = {d: (parse_window("09:00-18:00"),) for d in parse_days("mon-fri")}
    return Schedule("Asia/Shanghai", weekly, **kw)


def test_holiday_override_closes_a_working_day() -> None:
    """A dated override with no windows closes the whole day."""
    schedule = _schedule(overrides={date(2026, 10, 1): ()})
    assert not schedule.is_open(at("2026-10-01 10:00:00"))
    assert schedule.is_open(at("2026-10-02 10:00:00"))


def test_special_hours_override_replace_the_weekly_hours() -> None:
    """A dated override with a window replaces that day's hours, even on a weekend."""
    schedule = _schedule(overrides={date(2026, 12, 5): (parse_window("10:00-12:00"),)})  # a Saturday
    assert schedule.is_open(at("2026-12-05 11:59:59"))
    assert not schedule.is_open(at("2026-12-05 12:00:00"))
    assert not schedule.is_open(at("2026-12-06 11:00:00"))


def test_overnight_window_runs_past_midnight() -> None:
    """A window like 22:00-02:00 opens late one day and closes early the next."""
    schedule = Schedule("Asia/Shanghai", {0: (parse_window("22:00-02:00"),)})  # Monday night
    assert schedule.is_open(at("2026-11-30 23:30:00"))
    assert schedule.is_open(at("2026-12-01 01:59:59"))
    assert not schedule.is_open(at("2026-12-01 02:00:00"))
    assert not schedule.is_open(at("2026-11-30 21:59:59"))


def test_until_midnight_window() -> None:
    """24:00 is accepted as the end of a day."""
    schedule = Schedule("Asia/Shanghai", {0: (parse_window("09:00-24:00"),)})
    assert schedule.is_open(at("2026-11-30 23:59:59"))
    assert not schedule.is_open(at("2026-12-01 00:00:00"))


@pytest.mark.parametrize(("force", "expected"), [("open", True), ("closed", False)])
def test_menu_force_switch_wins_over_the_schedule(force: str, expected: bool) -> None:
    """The menu's force setting opens or closes the line whatever the time."""
    schedule = _schedule(force=force)
    assert schedule.is_open(at("2026-11-30 03:00:00")) is expected
    assert schedule.is_open(at("2026-11-30 10:00:00")) is expected


def test_runtime_override_wins_over_the_menu_setting() -> None:
    """IVR_HOURS_OVERRIDE (passed as `force`) beats the menu's own force switch."""
    schedule = _schedule(force="closed")
    assert schedule.is_open(at("2026-11-30 03:00:00"), force="open")


@pytest.mark.parametrize(("value", "expected"), [("open", "open"), ("CLOSED", "closed"), ("auto", None), ("", None)])
def test_environment_switch_is_read(value: str, expected: str | None) -> None:
    """IVR_HOURS_OVERRIDE=open|closed|auto is read from the environment."""
    assert Settings.from_env({"IVR_HOURS_OVERRIDE": value}).hours_override == expected


def test_environment_switch_rejects_nonsense() -> None:
    """A mistyped IVR_HOURS_OVERRIDE is a clear error, not a silently open line."""
    with pytest.raises(ConfigError, match="IVR_HOURS_OVERRIDE"):
        Settings.from_env({"IVR_HOURS_OVERRIDE": "opne"})


def test_force_closed_routes_an_in_hours_call_to_the_closed_menu(menu: Menu, store: TicketStore) -> None:
    """With the switch on closed, a call at 10:00 hears the closed menu; on open, 03:00 reaches the main menu."""
    from ivr.hotline import engine_for

    closed = Caller(engine_for(menu, store, Settings(hours_override="closed"))).dial("", at=at("2026-11-30 10:00:00"))
    assert closed.of("gather")[0]["node"] == "closed"
    opened = Caller(engine_for(menu, store, Settings(hours_override="open"))).dial("", at=at("2026-11-30 03:00:00"))
    assert opened.of("gather")[0]["node"] == "main"


@pytest.mark.parametrize("spec", ["9:00-21:00", "09:00-25:00", "09:00-09:00", "0900-2100", "09:60-10:00"])
def test_bad_windows_are_rejected(spec: str) -> None:
    """Malformed, out-of-range or empty windows raise a readable ValueError."""
    with pytest.raises(ValueError, match=r"HH:MM|range|empty"):
        parse_window(spec)


def test_day_ranges_wrap_around_the_week() -> None:
    """'fri-mon' covers Friday to Monday; 'daily' covers all seven days."""
    assert parse_days("fri-mon") == [4, 5, 6, 0]
    assert parse_days("daily") == list(range(7))
    with pytest.raises(ValueError, match="unknown day"):
        parse_days("funday")


def test_holiday_override_closes_the_whole_date_even_after_an_overnight_window() -> None:
    """A closed override covers all of its date: the previous night's window does not spill into it."""
    weekly = {d: (parse_window("22:00-02:00"),) for d in range(7)}
    schedule = Schedule("Asia/Shanghai", weekly, overrides={date(2026, 12, 25): ()})
    assert not schedule.is_open(at("2026-12-25 01:00:00"))
    assert schedule.is_open(at("2026-12-24 23:00:00"))
    assert not schedule.is_open(at("2026-12-26 01:00:00"))  # no window opened on the 25th, so none runs into the 26th
    assert schedule.is_open(at("2026-12-26 23:00:00"))
