"""Business hours: boundaries, time zones, overrides, the force switch, the hours callers hear and why the line is closed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.config import Settings
from ivr.errors import ConfigError
from ivr.hours import Schedule, parse_days, parse_window
from ivr.ir import Menu
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.store.tickets import TicketStore
from tests.conftest import ROOT, Call, Caller
from tests.workspace import run_ivr

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


# ---- hours said from the schedule ({hours}), and why the line is closed ({closed_reason}) -------------------------
ENGINE_MENU = """\
menu:
  id: hours-said
  languages: [zh-CN, en-US]
  start: welcome
  hours:
    timezone: Asia/Shanghai
    weekly:
      daily: "09:00-18:00"
HOURS_EXTRA  defaults:
    invalid: {zh-CN: 输入有误。, en-US: Not a valid choice.}
    no_input: {zh-CN: 没有收到按键。, en-US: No key was pressed.}
    on_max_failures: goodbye
    on_transfer_failure: goodbye
  loop_limit: {max_steps: 40, goto: goodbye}
  on_error: goodbye
  apology: {zh-CN: 抱歉，系统暂时出现问题。, en-US: "Sorry, something went wrong."}
  fallback_queue: general
  queues:
    general: {description: agents}
nodes:
  welcome:
    type: announce
    say: {zh-CN: 您好。, en-US: Hello.}
    next: open_now
  open_now:
    type: hours
    open: agent
    closed: closed
  agent:
    type: transfer
    queue: general
    say:
      zh-CN: 正在为您转接人工服务。人工服务时间为{hours}。
      en-US: Connecting you to an agent. We are open {hours}.
  closed:
    type: menu
    say:
      zh-CN: "{closed_reason}人工电话服务时间为{hours}。结束通话请按1。{en-US: For English, press 9.}"
      en-US: "{closed_reason} Phone support is open {hours}. To end the call, press 1. {zh-CN: 中文服务请按9。}"
    keys:
      1: goodbye
  goodbye:
    type: hangup
    say: {zh-CN: 再见。, en-US: Goodbye.}
"""


def hours_menu(tmp_path: Path, extra: str = "", old: str = "", new: str = "") -> Path:
    """A small menu with an hours node, its hours settings extended by `extra` (and `old` replaced by `new`)."""
    text = ENGINE_MENU.replace("HOURS_EXTRA", extra)
    if old:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "hours.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def dial(path: Path, store: TicketStore, when: str, keys: str = "", lang: str | None = None, **settings: str) -> Call:
    """Load the menu and call it at a Beijing time."""
    from ivr.hotline import engine_for

    engine = engine_for(load_menu(path), store, Settings(**settings))  # type: ignore[arg-type]
    return Caller(engine).dial(keys, at=at(when), lang=lang)


def test_the_announced_hours_are_the_schedule(tmp_path: Path, store: TicketStore) -> None:
    """With weekly 09:00-18:00, {hours} is 北京时间每天上午9点到下午6点 / 9 a.m. to 6 p.m., and nothing says 21."""
    path = hours_menu(tmp_path)
    open_zh = dial(path, store, "2026-11-30 10:00:00")
    assert "人工服务时间为北京时间每天上午9点到下午6点。" in open_zh.said
    closed_en = dial(path, store, "2026-11-30 19:00:00", lang="en-US")
    assert "Phone support is open every day from 9 a.m. to 6 p.m. Beijing time." in closed_en.said
    for call in (open_zh, closed_en):
        assert "21" not in call.said and "{hours}" not in call.said


def test_after_hours_says_the_default_reason_of_a_menu_that_gives_none(tmp_path: Path, store: TicketStore) -> None:
    """Outside the weekly hours the closed prompt starts with the built-in after-hours reason."""
    call = dial(hours_menu(tmp_path), store, "2026-11-30 19:00:00")
    assert call.nodes[:2] == ["welcome", "closed"]
    assert call.of("say")[1]["text"].startswith("现在是非工作时间。人工电话服务时间为北京时间每天上午9点到下午6点。")


REASONS = """\
    reasons:
      after_hours: {zh-CN: 现在是下班时间。, en-US: We are closed for the evening.}
      forced: {zh-CN: 热线暂时停止服务。, en-US: The hotline is out of service for now.}
"""


@pytest.mark.parametrize("how", ["environment", "menu"])
def test_forced_closed_in_hours_says_the_forced_reason_not_after_hours(tmp_path: Path, store: TicketStore, how: str) -> None:
    """IVR_HOURS_OVERRIDE=closed (or force: closed) at 10:00 says the line is out of service, never 非工作时间/after hours."""
    extra = REASONS + ("    force: closed\n" if how == "menu" else "")
    override = {"hours_override": "closed"} if how == "environment" else {}
    path = hours_menu(tmp_path, extra)
    zh = dial(path, store, "2026-11-30 10:00:00", **override)
    assert "热线暂时停止服务。人工电话服务时间为" in zh.said and "下班" not in zh.said
    en = dial(path, store, "2026-11-30 10:00:00", lang="en-US", **override)
    assert "The hotline is out of service for now. Phone support" in en.said and "evening" not in en.said


def test_forced_closed_without_reasons_does_not_say_after_hours(tmp_path: Path, store: TicketStore) -> None:
    """The built-in forced reason is not the after-hours one either."""
    call = dial(hours_menu(tmp_path), store, "2026-11-30 10:00:00", hours_override="closed")
    assert "热线暂时停止服务。" in call.said and "非工作时间" not in call.said


HOLIDAY = """\
    overrides:
      "2026-10-01":
        hours: closed
        reason: {zh-CN: 国庆节期间热线休息。, en-US: The hotline is closed for National Day.}
      "2026-10-02": closed
      "2026-10-03": {hours: "10:00-12:00", reason: {zh-CN: 今天只在上午服务。, en-US: Today we are open in the morning only.}}
      "2026-10-05": "10:00-12:00"
"""


@pytest.mark.parametrize(
    ("when", "lang", "reason"),
    [
        ("2026-10-01 10:00:00", "zh-CN", "国庆节期间热线休息。"),
        ("2026-10-01 10:00:00", "en-US", "The hotline is closed for National Day."),
        ("2026-10-02 10:00:00", "zh-CN", "今天是节假日，人工服务暂停。"),
        ("2026-10-03 13:00:00", "en-US", "Today we are open in the morning only."),
        ("2026-10-04 19:00:00", "zh-CN", "现在是非工作时间。"),
        ("2026-10-05 13:00:00", "zh-CN", "今天的人工电话服务时间是北京时间上午10点到中午12点。"),
        ("2026-10-05 13:00:00", "en-US", "Today our phone lines are open from 10 a.m. to noon Beijing time."),
    ],
    ids=[
        "own-reason",
        "own-reason-en",
        "closed-day-default",
        "special-hours-own-reason",
        "ordinary-evening",
        "special-hours-said",
        "special-hours-said-en",
    ],
)
def test_a_dated_override_says_its_own_reason(tmp_path: Path, store: TicketStore, when: str, lang: str, reason: str) -> None:
    """A holiday with a reason says it; a plain closed date says the holiday reason; a day of special hours says them;
    other evenings say after hours."""
    call = dial(hours_menu(tmp_path, HOLIDAY), store, when, lang=lang)
    closed = [line["text"] for line in call.of("say") if line["node"] == "closed"]
    assert closed and closed[0].startswith(reason), closed


def test_the_reason_follows_a_language_switch(tmp_path: Path, store: TicketStore) -> None:
    """Pressing 9 in the closed menu says the same reason again, in English."""
    call = dial(hours_menu(tmp_path, HOLIDAY), store, "2026-10-01 10:00:00", keys="9")
    closed = [line["text"] for line in call.of("say") if line["node"] == "closed"]
    assert closed[0].startswith("国庆节期间热线休息。") and closed[-1].startswith("The hotline is closed for National Day.")


def test_the_console_caller_hears_the_schedule_and_the_forced_reason(tmp_path: Path) -> None:
    """`ivr call --at` on a 09:00-18:00 menu forced closed: the forced reason, then 上午9点到下午6点, no 21:00."""
    path = hours_menu(tmp_path, REASONS)
    db = str(tmp_path / "calls.sqlite3")
    result = run_ivr("call", "--menu", str(path), "--db", db, "--at", "2026-11-30T10:00", env={"IVR_HOURS_OVERRIDE": "closed"})
    assert result.returncode == 0, result.stderr
    assert "[closed] 热线暂时停止服务。人工电话服务时间为北京时间每天上午9点到下午6点。" in result.stdout
    assert "下班" not in result.stdout and "21" not in result.stdout
    english = run_ivr("call", "--menu", str(path), "--db", db, "--at", "2026-11-30T19:00", "--lang", "en-US")
    assert "[closed] We are closed for the evening. Phone support is open every day from 9 a.m. to 6 p.m. Beijing time." in english.stdout


def test_a_reason_is_rendered_for_audio(tmp_path: Path) -> None:
    """`ivr audio build` renders each reason as a value piece of the prompts that say {closed_reason}."""
    from ivr.audio.prompts import menu_prompts

    specs = {(spec.lang, spec.text) for spec in menu_prompts(load_menu(hours_menu(tmp_path, HOLIDAY)))}
    assert ("zh-CN", "国庆节期间热线休息。") in specs
    assert ("en-US", "Our phone lines are temporarily out of service.") in specs  # the built-in forced reason


def test_closed_reason_is_known_on_the_closed_branch_only(tmp_path: Path) -> None:
    """{closed_reason} on the open branch is an error at its text: no reason is set there."""
    path = hours_menu(tmp_path, old="人工服务时间为{hours}。\n", new="{closed_reason}人工服务时间为{hours}。\n")
    [problem] = [p for p in check_menu(path) if p.severity == "error"]
    assert problem.node == "agent" and "unknown value 'closed_reason'" in problem.message
    assert (problem.line, problem.column) == (line_of(path, "{closed_reason}人工服务"), 14)


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the file on which `needle` first appears."""
    return next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if needle in row)


def test_a_reason_missing_a_language_is_located(tmp_path: Path) -> None:
    """An override reason without its en-US text is an error at that reason, file:line:column."""
    extra = '    overrides:\n      "2026-10-01": {hours: closed, reason: {zh-CN: 国庆节放假。}}\n'
    path = hours_menu(tmp_path, extra)
    [problem] = check_menu(path)
    assert problem.severity == "error" and problem.file == str(path)
    assert (problem.line, problem.column) == (line_of(path, "国庆节放假"), 37)
    assert problem.message == "'reason' of override '2026-10-01' is missing language 'en-US'"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('    overrides:\n      "2026-10-01": {hours: closed, why: x}\n', "unknown field 'why' in override '2026-10-01'"),
        (
            '    reasons:\n      forced: {zh-CN: "工单{ticket}。", en-US: "Ticket {ticket}."}\n',
            "a closed reason is said inside a prompt (as {closed_reason}): it cannot hold {ticket}, only {hours}",
        ),
        (
            "    reasons:\n      holidays: {zh-CN: 放假。, en-US: Closed.}\n",
            "unknown field 'holidays' in 'reasons'; did you mean 'holiday'?",
        ),
    ],
    ids=["override-field", "placeholder-in-reason", "reason-name"],
)
def test_bad_reasons_are_errors(tmp_path: Path, extra: str, message: str) -> None:
    """Misspelt fields and call values inside a reason are refused when the menu loads."""
    assert any(message in p.message for p in check_menu(hours_menu(tmp_path, extra)) if p.severity == "error")


def test_a_reason_may_say_the_hours(tmp_path: Path, store: TicketStore) -> None:
    """{hours} inside a reason is the schedule too (the only placeholder a reason may hold)."""
    extra = '    reasons:\n      after_hours: {zh-CN: "我们的服务时间是{hours}。", en-US: "We are open {hours}."}\n'
    call = dial(hours_menu(tmp_path, extra), store, "2026-11-30 19:00:00")
    assert "我们的服务时间是北京时间每天上午9点到下午6点。人工电话" in call.said


def test_a_segment_says_the_hours_in_its_own_language(tmp_path: Path, store: TicketStore) -> None:
    """{hours} inside an {en-US: …} segment of a Chinese prompt is said in English."""
    path = hours_menu(tmp_path, old="{en-US: For English, press 9.}", new="{en-US: For English, press 9. We open {hours}.}")
    call = dial(path, store, "2026-11-30 19:00:00")
    assert "We open every day from 9 a.m. to 6 p.m. Beijing time." in call.said


def test_an_overnight_or_inverted_window_is_a_located_warning(tmp_path: Path) -> None:
    """21:00-09:00 loads (it runs overnight) but `ivr menu check` warns at the window, suggesting the swap."""
    path = hours_menu(tmp_path, old='daily: "09:00-18:00"', new='daily: "21:00-09:00"')
    problems = check_menu(path)
    assert [(p.severity, p.line, p.column, p.message) for p in problems] == [
        (
            "warning",
            line_of(path, "21:00-09:00"),
            14,
            "window 21:00-09:00 runs past midnight to 09:00 the next day; if you meant 09:00-21:00, swap them",
        )
    ]
    result = run_ivr("menu", "check", str(path))
    assert f"{path}:{line_of(path, '21:00-09:00')}:14: warning:" in result.stdout


@pytest.mark.parametrize("typed", ["09:00", "9:00", "9点", "9 a.m.", "7x12"])
def test_hours_typed_into_a_prompt_are_a_located_warning(tmp_path: Path, typed: str) -> None:
    """A clock time typed into prompt text would not follow menu.hours: a warning at that text says to write {hours}."""
    path = hours_menu(tmp_path, old="正在为您转接人工服务。", new=f"正在为您转接人工服务，我们{typed}开始服务。")
    problems = check_menu(path)
    assert [(p.severity, p.node, p.line, p.column) for p in problems] == [("warning", "agent", line_of(path, f"我们{typed}"), 14)]
    assert problems[0].message == f"hours typed into the text ({typed}): write {{hours}} so the announced hours follow menu.hours"


def test_hours_in_a_language_they_cannot_be_spoken_in_is_an_error(tmp_path: Path) -> None:
    """{hours} in a Japanese prompt is an error naming the languages hours can be spoken in."""
    path = hours_menu(tmp_path)
    text = path.read_text(encoding="utf-8").replace("languages: [zh-CN, en-US]", "languages: [zh-CN, en-US, ja-JP]")
    for lang_line in ("    say: {zh-CN: 您好。, en-US: Hello.}", "    say: {zh-CN: 再见。, en-US: Goodbye.}"):
        text = text.replace(lang_line, lang_line[:-1] + ", ja-JP: こんにちは。}")
    text = text.replace("invalid: {zh-CN: 输入有误。,", "invalid: {ja-JP: 違います。, zh-CN: 输入有误。,")
    text = text.replace("no_input: {zh-CN: 没有收到按键。,", "no_input: {ja-JP: 押されません。, zh-CN: 没有收到按键。,")
    text = text.replace("apology: {zh-CN:", "apology: {ja-JP: すみません。, zh-CN:")
    text = text.replace(
        "      en-US: Connecting you to an agent.", "      ja-JP: 営業時間は{hours}です。\n      en-US: Connecting you to an agent."
    )
    text = text.replace('      en-US: "{closed_reason} Phone', '      ja-JP: "{closed_reason}"\n      en-US: "{closed_reason} Phone')
    path.write_text(text, encoding="utf-8")
    errors = [p for p in check_menu(path) if p.severity == "error"]
    assert [(p.line, p.message) for p in errors] == [
        (line_of(path, "営業時間"), "{hours} in a ja-JP text: hours can be spoken only in Chinese (zh-…) and English (en-…)")
    ]


def test_an_entry_called_hours_is_refused(tmp_path: Path) -> None:
    """`store_as: hours` would never be heard ({hours} is menu.hours): an error at store_as."""
    orders = ROOT / "menus" / "orders.sample.csv"
    path = hours_menu(
        tmp_path,
        old="  agent:\n    type: transfer",
        new=(
            "  agent:\n    type: input\n    say: {zh-CN: 请输入订单号。, en-US: Enter your order number.}\n"
            "    action: order_lookup\n    store_as: hours\n    on: {found: goodbye}\n  unused:\n    type: transfer"
        ),
    )
    text = path.read_text(encoding="utf-8").replace("  fallback_queue: general", f"  fallback_queue: general\n  data: {{orders: {orders}}}")
    path.write_text(text, encoding="utf-8")
    found = [p for p in check_menu(path) if "reserved" in p.message]
    assert [(p.node, p.line, p.column) for p in found] == [("agent", line_of(path, "store_as: hours"), 15)]
    assert found[0].message.startswith("an entry kept under 'hours': the name is reserved")


def test_escaped_braces_keep_the_word_hours(tmp_path: Path, store: TicketStore) -> None:
    """`{{hours}}` is the literal word in braces, not the schedule."""
    path = hours_menu(tmp_path, old="结束通话请按1。", new="结束通话请按1。{{hours}}")
    call = dial(path, store, "2026-11-30 19:00:00")
    assert "结束通话请按1。{hours}For English" in call.said
