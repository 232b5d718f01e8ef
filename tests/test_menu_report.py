"""The caller-effort report: keys and seconds of prompts before every destination, open and closed, worst first."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.audio import AudioManifest, Entry
from ivr.audio.prompts import renderer_for
from ivr.audio.wav import duration
from ivr.effort import RATES, Route, clauses, estimate_seconds, features, heard_until, prompt_seconds, rate, routes
from ivr.ir import Menu
from ivr.loading.menu_loader import load_menu
from tests.conftest import ROOT, SHIPPED_MENU
from tests.workspace import run_ivr

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make test installs it)")

# A small hotline: a greeting, an hours node, a main menu, three ways to the account queue, and an after-hours
# menu that reaches the same announcement as the main menu does in hours.
MENU = """\
menu:
  id: effort
  languages: [zh-CN, en-US]
  start: welcome
  hours: {timezone: Asia/Shanghai, weekly: {daily: "09:00-21:00"}}
  defaults:
    invalid: {zh-CN: 抱歉，您的输入有误。, en-US: "Sorry, that is not a valid choice."}
    no_input: {zh-CN: 抱歉，我们没有收到您的按键。, en-US: "Sorry, we did not hear a key."}
    on_max_failures: agent
    on_transfer_failure: goodbye
  loop_limit: {max_steps: 40, goto: goodbye}
  on_error: goodbye
  apology: {zh-CN: 抱歉，系统暂时出现问题。, en-US: "Sorry, something went wrong."}
  fallback_queue: general
  queues: {general: {}, account: {}}
  voices:
    zh-CN: {voice: Polly.Zhiyu, language: cmn-CN, render: cmn-latn-pinyin}
    en-US: {voice: Polly.Joanna, language: en-US, render: en-us}
nodes:
  welcome:
    type: announce
    say: {zh-CN: 您好，欢迎致电技术支持热线。, en-US: "Hello, and welcome to technical support."}
    next: open_now
  open_now: {type: hours, open: main, closed: closed}
  main:
    type: menu
    say:
      zh-CN: 账号问题请按1；了解服务范围请按2；人工服务请按0。
      en-US: For your account, press 1. To hear what we cover, press 2. For an agent, press 0.
    keys: {1: account, 2: scope, 0: agent}
  account:
    type: menu
    say:
      zh-CN: 忘记密码请按1；账号被锁定请按2；其他账号问题请按3。
      en-US: If you forgot your password, press 1. If your account is locked, press 2. For anything else, press 3.
    keys: {1: forgot, 2: locked, 3: other}
  forgot:
    type: transfer
    queue: account
    say: {zh-CN: 正在为您转接密码服务，请稍候。, en-US: "Connecting you about your password. Please hold."}
  locked:
    type: transfer
    queue: account
    say: {zh-CN: 正在为您转接账号解锁服务，请稍候。, en-US: "Connecting you about your locked account. Please hold."}
  other:
    type: transfer
    queue: account
    say: {zh-CN: 正在为您转接账号服务，请稍候。, en-US: "Connecting you to our account team. Please hold."}
  agent:
    type: transfer
    queue: general
    say: {zh-CN: 正在为您转接人工服务，请稍候。, en-US: "Connecting you to an agent. Please hold."}
  scope:
    type: announce
    say: {zh-CN: 我们提供产品咨询和故障排查。, en-US: "We help with product questions and troubleshooting."}
    next: goodbye
  closed:
    type: menu
    say:
      zh-CN: 现在是非工作时间，电话服务时间为每天上午九点到晚上九点。留言请按1；了解服务范围请按2。
      en-US: We are closed now. Phone support is open every day, nine to nine. To leave a message, press 1. To hear what we cover, press 2.
    keys: {1: leave_message, 2: scope}
  leave_message:
    type: record
    say: {zh-CN: 请在提示音后留言，按井号键结束。, en-US: "Please leave a message after the tone, then press pound."}
    next: message_ticket
  message_ticket: {type: ticket, category: voicemail, next: goodbye}
  goodbye:
    type: hangup
    say: {zh-CN: 感谢您的来电，再见。, en-US: "Thank you for calling. Goodbye."}
"""


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small hotline above, as a file."""
    path = tmp_path / "effort.yaml"
    path.write_text(MENU, encoding="utf-8")
    return path


def _said(menu: Menu, node: str, lang: str = "zh-CN") -> str:
    heard = menu.nodes[node].heard()
    assert heard is not None
    return heard.get(lang)


def _route(found: list[Route], destination: str, hours: str = "open") -> Route:
    return next(r for r in found if r.destination == destination and r.hours == hours)


def _no_audio(tmp_path: Path) -> str:
    return str(tmp_path / "no-audio")


# ---- the shipped menu (its content is restructured elsewhere: only what any version keeps is asserted) --------------


def test_every_destination_is_listed_worst_first(menu: Menu) -> None:
    """Each queue, ticket and announcement appears, named by its node where the name alone is ambiguous, longest first."""
    found = routes(menu)
    # Changed with issue 11: destinations now carry their node ("transfer account (account_locked)"), so the queue
    # is read from the `queue` field rather than from the name.
    assert {"business", "orders", "account", "general"} <= {r.queue for r in found if r.kind == "transfer"}
    assert {"ticket voicemail", "ticket callback"} <= {r.destination.split(" (")[0] for r in found if r.kind == "ticket"}
    seconds = [r.seconds for r in found]
    assert seconds == sorted(seconds, reverse=True)


def test_business_route_is_key_1_after_the_greeting_and_main_menu(menu: Menu) -> None:
    """Business cooperation is reached by pressing 1, after the greeting and the main menu up to the clause of key 1."""
    route = next(r for r in routes(menu) if r.queue == "business")
    assert route.keys == ("(open)", "1")
    # Changed with issue 11: the main menu costs its prompt up to the clause announcing key 1 (barge-in), not all of it.
    main = _said(menu, "main")
    heard = estimate_seconds(_said(menu, "welcome"), "zh-CN") + estimate_seconds(main, "zh-CN") * heard_until("zh-CN", main, "1")
    assert abs(route.seconds - heard) <= 0.05


def test_report_command_prints_and_emits_json() -> None:
    """`ivr menu report` prints a table and, with --json, machine-readable routes."""
    table = run_ivr("menu", "report", str(SHIPPED_MENU), check=True)
    assert table.stdout.splitlines()[0].startswith("destination")
    data = json.loads(run_ivr("menu", "report", str(SHIPPED_MENU), "--json", "--lang", "en-US", check=True).stdout)
    assert data[0]["seconds"] >= data[-1]["seconds"] and {"destination", "keys", "seconds", "path"} <= set(data[0])


# ---- every path, open and closed ---------------------------------------------------------------------------------


def test_an_after_hours_destination_is_listed_with_its_after_hours_seconds(small: Path) -> None:
    """A destination reached in hours and after is two rows: the closed one costs the greeting and the closed menu."""
    menu = load_menu(small)
    found = routes(menu)
    open_row, closed_row = _route(found, "hear scope", "open"), _route(found, "hear scope", "closed")
    assert open_row.keys == ("(open)", "2") and closed_row.keys == ("(closed)", "2")
    closed = _said(menu, "closed")
    expected = estimate_seconds(_said(menu, "welcome"), "zh-CN") + estimate_seconds(closed, "zh-CN") * heard_until("zh-CN", closed, "2")
    assert closed_row.seconds == round(expected, 1) and closed_row.seconds > open_row.seconds
    assert closed_row.path == ("welcome", "open_now", "closed", "scope")
    # Only after hours: the voicemail ticket, after the whole recording prompt.
    voicemail = [r for r in found if r.node == "message_ticket"]
    assert [r.hours for r in voicemail] == ["closed"]
    leave = estimate_seconds(_said(menu, "leave_message"), "zh-CN")
    to_key_1 = estimate_seconds(closed, "zh-CN") * heard_until("zh-CN", closed, "1")
    assert voicemail[0].seconds == round(estimate_seconds(_said(menu, "welcome"), "zh-CN") + to_key_1 + leave, 1)


def test_a_route_through_no_hours_node_counts_open_and_closed(tmp_path: Path) -> None:
    """Without an hours node on the way, a destination has an open and a closed row with the same seconds."""
    path = tmp_path / "menu.yaml"
    text = _without(MENU, "open_now", "closed", "leave_message", "message_ticket")
    path.write_text(text.replace("    next: open_now\n", "    next: main\n"), encoding="utf-8")
    found = [r for r in routes(load_menu(path)) if r.destination == "hear scope"]
    assert [r.hours for r in found] == ["closed", "open"] and found[0].seconds == found[1].seconds


def _without(text: str, *nodes: str) -> str:
    """The menu text without the named nodes (each a block from `  name:` to the next node)."""
    lines, out, skipping = text.splitlines(keepends=True), [], False
    for line in lines:
        if line.startswith("  ") and not line.startswith("   "):
            skipping = line.strip().split(":")[0] in nodes
        if not skipping:
            out.append(line)
    return "".join(out)


def test_three_account_transfers_are_three_rows(small: Path, tmp_path: Path) -> None:
    """Three nodes transferring to one queue are three rows, each named by queue and node."""
    rows = [r for r in routes(load_menu(small)) if r.queue == "account"]
    assert sorted(r.destination for r in rows) == ["transfer account (forgot)", "transfer account (locked)", "transfer account (other)"]
    table = run_ivr("menu", "report", str(small), "--audio", _no_audio(tmp_path), check=True).stdout
    assert sum(line.startswith("transfer account (") for line in table.splitlines()) == 3
    assert "hear scope" in table and "ticket voicemail (message_ticket)" in table


def test_seconds_are_rounded_to_a_tenth_in_text_and_json(small: Path, tmp_path: Path) -> None:
    """JSON and the table give seconds to 0.1 s, never a float's long tail."""
    raw = run_ivr("menu", "report", str(small), "--json", "--audio", _no_audio(tmp_path), check=True).stdout
    data = json.loads(raw)
    assert all(round(row["seconds"], 1) == row["seconds"] for row in data)
    assert not re.search(r'"seconds": [0-9]+\.[0-9]{2,}', raw)
    assert {"destination", "node", "kind", "keys", "seconds", "path", "estimated", "hours", "queue"} <= set(data[0])
    assert [row["seconds"] for row in data] == sorted((row["seconds"] for row in data), reverse=True)
    table = run_ivr("menu", "report", str(small), "--audio", _no_audio(tmp_path), check=True).stdout
    closed = next(line for line in table.splitlines() if line.startswith("hear scope") and " closed " in line)
    assert re.search(r"\s[0-9]+\.[0-9]~\s", closed)
    assert "barge in" in table.splitlines()[-1]


def test_max_seconds_exits_1_naming_the_rows_over_it(small: Path, tmp_path: Path) -> None:
    """--max-seconds N exits 0 when every destination is within N s, else 1 after printing, naming each row over N."""
    assert run_ivr("menu", "report", str(small), "--audio", _no_audio(tmp_path), "--max-seconds", "60").returncode == 0
    found = routes(load_menu(small))
    limit = found[0].seconds - 2
    run = run_ivr("menu", "report", str(small), "--audio", _no_audio(tmp_path), "--max-seconds", str(limit))
    assert run.returncode == 1 and run.stdout.startswith("destination")
    over = [r for r in found if r.seconds > limit]
    assert f"{len(over)} destination(s) over --max-seconds {limit:g}" in run.stderr
    for r in found:
        assert (f"  {r.destination} ({r.hours}): {r.seconds:.1f} s" in run.stderr) == (r in over)
    assert len(over) < len(found)


# ---- the barge-in model ------------------------------------------------------------------------------------------


def test_a_menu_costs_up_to_the_clause_that_announces_the_key(small: Path) -> None:
    """The account menu costs less on the way to key 1 (announced first) than to key 3 (announced last)."""
    menu = load_menu(small)
    found = routes(menu)
    forgot, locked, other = (_route(found, f"transfer account ({n})") for n in ("forgot", "locked", "other"))
    assert forgot.seconds < locked.seconds < other.seconds
    account, main = _said(menu, "account"), _said(menu, "main")
    expected = (
        estimate_seconds(_said(menu, "welcome"), "zh-CN")
        + estimate_seconds(main, "zh-CN") * heard_until("zh-CN", main, "1")
        + estimate_seconds(account, "zh-CN") * estimate_seconds("忘记密码请按1；", "zh-CN") / estimate_seconds(account, "zh-CN")
    )
    assert forgot.seconds == round(expected, 1)
    assert forgot.trail() == "welcome → main(1) → account(1)"


def test_clauses_end_at_sentence_punctuation_and_english_commas() -> None:
    """Chinese clauses end at full-width sentence marks and commas; English ones at . ; ! ? and commas too; a segment keeps its language."""
    assert [c for _, c in clauses("zh-CN", "商务合作,请按1；人工服务，请按0。")] == ["商务合作,请按1；", "人工服务，", "请按0。"]
    assert [c for _, c in clauses("en-US", "For sales, press 1. For help, press 2.")] == [
        "For sales,",
        " press 1.",
        " For help,",
        " press 2.",
    ]
    assert clauses("zh-CN", "您好。{en-US: For English, press 9.}") == [
        ("zh-CN", "您好。"),
        ("en-US", "For English,"),
        ("en-US", " press 9."),
    ]


def test_the_announcing_clause_is_the_first_naming_the_key_as_a_digit() -> None:
    """Key 1 is not found in '10' or '12'; star is 星号 or 'star'; a key never announced costs the whole prompt."""
    text = "服务时间为10点到12点。咨询请按1；重听请按星号键。"
    assert heard_until("zh-CN", text, "1") == pytest.approx(
        estimate_seconds("服务时间为10点到12点。咨询请按1；", "zh-CN") / estimate_seconds(text, "zh-CN")
    )
    assert heard_until("zh-CN", text, "*") == 1.0 and heard_until("zh-CN", text, "5") == 1.0
    english = "To hear this again, press star. For sales, press 1."
    assert heard_until("en-US", english, "*") == pytest.approx(
        estimate_seconds("To hear this again, press star.", "en-US") / estimate_seconds(english, "en-US")
    )
    assert heard_until("en-US", "For {order_id|digits} status, press 2.", "2") == 1.0


def test_rendered_durations_replace_estimates_scaled_to_the_key(small: Path) -> None:
    """With rendered audio, a prompt's real length is used, and a menu's is scaled by the estimated share up to the key."""
    menu = load_menu(small)
    base = _route(routes(menu), "transfer account (forgot)")
    with_audio = _route(routes(menu, durations=lambda lang, text: 2.0), "transfer account (forgot)")
    main, account = _said(menu, "main"), _said(menu, "account")
    expected = 2.0 + 2.0 * heard_until("zh-CN", main, "1") + 2.0 * heard_until("zh-CN", account, "1")
    assert with_audio.seconds == round(expected, 1) and not with_audio.estimated and base.estimated


def test_a_prompt_with_parts_or_values_is_measured_by_its_rendered_pieces() -> None:
    """A prompt with a part in another language is the sum of its rendered pieces; one with a value is still estimated."""
    rendered = {("zh-CN", "您好。"): 1.0, ("en-US", "For English, press 9."): 2.0, ("zh-CN", "工单号是"): 1.5}
    durations = lambda lang, text: rendered.get((lang, text))  # noqa: E731
    assert prompt_seconds("zh-CN", "您好。{en-US: For English, press 9.}", durations) == (3.0, False)
    seconds, estimated = prompt_seconds("zh-CN", "工单号是{ticket|digits}", durations)
    assert estimated and seconds == pytest.approx(1.5 + estimate_seconds("{x|digits}", "zh-CN"))
    assert prompt_seconds("zh-CN", "没有录音。", durations) == (estimate_seconds("没有录音。", "zh-CN"), True)


def test_report_reads_rendered_durations_from_the_audio_folder(small: Path, tmp_path: Path) -> None:
    """`--audio DIR` with a manifest: the greeting's rendered length replaces its estimate and the row loses its '~'."""
    menu = load_menu(small)
    folder = tmp_path / "audio"
    manifest = AudioManifest(folder)
    for i, node in enumerate(("welcome", "main")):
        text = _said(menu, node)
        manifest.add(Entry(f"k{i}", node, "zh-CN", text, f"zh-CN/{i}.wav", f"zh-CN/{i}.8k.wav", 10.0, "tts"))
    manifest.save()
    data = json.loads(run_ivr("menu", "report", str(small), "--json", "--audio", str(folder), check=True).stdout)
    scope = next(row for row in data if row["destination"] == "hear scope" and row["hours"] == "open")
    assert scope["seconds"] == round(10.0 + 10.0 * heard_until("zh-CN", _said(menu, "main"), "2"), 1)
    assert scope["estimated"] is False


# ---- the calibrated estimate -------------------------------------------------------------------------------------


def test_the_estimate_is_the_calibrated_table_per_language() -> None:
    """seconds = a·CJK + b·Latin + c·digits + d·pauses + e, with each language's row, the fallback for others."""
    zh, en = RATES["zh"], RATES["en"]
    assert estimate_seconds("请按1", "zh-CN") == pytest.approx(2 * zh.cjk + zh.digit + zh.base)
    assert estimate_seconds("Press 0, then 1.", "en-US") == pytest.approx(9 * en.latin + 2 * en.digit + en.pause + en.base)
    # The comma, the stop after "a.m." and two changes of script are pauses; the dot inside "a.m." and "-" are not.
    assert features("SSH 服务，9 a.m. 到 e-mail") == (3, 10, 1, 4)
    assert rate("ja-JP") == RATES[""] and rate("zh-TW") == zh
    assert estimate_seconds("To speak to an agent, press 0.", "en-US") > estimate_seconds("Press 0.", "en-US")


def test_placeholders_and_segments_are_estimated_sensibly() -> None:
    """A {x|digits} value is 8 digits, another value a few words, and a segment is estimated in its own language."""
    assert estimate_seconds("工单号是{ticket|digits}。", "zh-CN") == pytest.approx(estimate_seconds("工单号是12345678。", "zh-CN"))
    status = estimate_seconds("The status is {order_status}.", "en-US") - estimate_seconds("The status is .", "en-US")
    assert 0.5 < status < 2.0
    mixed = "您好。{en-US: For English, press 9.}"
    assert estimate_seconds(mixed, "zh-CN") == pytest.approx(
        estimate_seconds("您好。", "zh-CN") + estimate_seconds("For English, press 9.", "en-US")
    )


# Prompts the calibration never saw, of the lengths menus have, in both languages and with a Latin run in Chinese.
HELD_OUT = [
    ("zh-CN", "欢迎致电客户服务中心，我们将竭诚为您服务。"),
    ("zh-CN", "查询发票请按1；修改账单地址请按2；人工服务请按0。"),
    ("zh-CN", "如果您使用的是 ECS 云服务器，请先检查安全组规则。"),
    ("zh-CN", "您好，欢迎来电。{en-US: For English, press 9.}"),
    ("en-US", "For invoices, press 1. To change your billing address, press 2. For an agent, press 0."),
    ("en-US", "Your ticket has been submitted, and we will contact you within two working days."),
    ("en-US", "Sorry, the system is busy. Please try again later."),
]


@needs_espeak
def test_the_estimate_is_within_its_stated_error_of_rendered_audio(small: Path, tmp_path: Path) -> None:
    """Rendered with the menu's voices, each prompt lasts what the estimate says, within the table's stated error."""
    renderer = renderer_for(load_menu(small))
    misses = []
    for i, (lang, text) in enumerate(HELD_OUT):
        wav = tmp_path / f"{i}.wav"
        renderer.render(text, lang, wav)
        real, estimate = duration(wav), estimate_seconds(text, lang)
        if abs(estimate - real) / real > rate(lang).max_error:
            misses.append(f"{lang} {text!r}: rendered {real:.2f} s, estimated {estimate:.2f} s")
    assert not misses


def test_calibration_script_fits_the_table_from_a_manifest(tmp_path: Path) -> None:
    """The script recovers known coefficients from a manifest, ignoring entries under 1.5 s, and prints each error."""
    folder = tmp_path / "audio"
    manifest = AudioManifest(folder)
    texts = {
        "zh-CN": [
            "您好，欢迎致电热线。",
            "查询订单请按2；人工服务请按0。",
            "请输入您的手机号码",
            "SSH 服务启动失败的排查",
            "感谢您的来电，再见。",
            "工单号是 1 2 3 4",
        ],
        "en-US": [
            "Hello, and welcome.",
            "For orders, press 2. For an agent, press 0.",
            "Please enter your phone number",
            "Thank you for calling us today",
            "Goodbye, and see you soon. Really.",
            "Your code is 1 2 3 4 5 6",
        ],
    }
    truth = {"zh-CN": (0.25, 0.1, 0.3, 0.4, 0.2), "en-US": (0.0, 0.06, 0.2, 0.3, 0.4)}
    for lang, items in texts.items():
        for i, text in enumerate(items):
            seconds = sum(c * x for c, x in zip(truth[lang], (*features(text), 1), strict=True))
            assert seconds >= 1.5, text  # every one is fitted on
            manifest.add(Entry(f"{lang}{i}", "p", lang, text, f"{lang}/{i}.wav", f"{lang}/{i}.8k.wav", seconds, "tts"))
        manifest.add(Entry(f"{lang}-digit", "digit:1", lang, "1" * 40, f"{lang}/d.wav", f"{lang}/d.8k.wav", 0.4, "tts"))  # ignored
    manifest.save()
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "calibrate_estimates.py"), "--audio", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'zh': Rate(cjk=0.250, latin=0.100, digit=0.300, pause=0.400, base=0.200, mean_error=0.000, max_error=0.000)" in run.stdout
    assert "'en': Rate(cjk=0.000, latin=0.060, digit=0.200, pause=0.300, base=0.400, mean_error=0.000, max_error=0.000)" in run.stdout
    assert "zh: 6 prompts; fitted: mean 0.0%, max 0.0%" in run.stdout
    missing = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "calibrate_estimates.py"), "--audio", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr


def test_later_pages_are_listed_but_not_held_to_the_budget() -> None:
    """A later page of a list is a `page` row (the caller pressed 1 to hear more); --max-seconds holds destinations only."""
    menu = load_menu(SHIPPED_MENU)
    rows = routes(menu, "zh-CN")
    pages = {r.node for r in rows if r.kind == "page"}
    assert {"scope_covered.2", "channel_phone.2"} <= pages and "scope_covered" not in pages
    assert all(r.destination == f"page {r.node}" for r in rows if r.kind == "page")
    furthest = max(r.seconds for r in rows if r.kind == "page")
    assert furthest > 25 >= max(r.seconds for r in rows if r.kind != "page")
    assert run_ivr("menu", "report", str(SHIPPED_MENU), "--max-seconds", "25").returncode == 0
    over = run_ivr("menu", "report", str(SHIPPED_MENU), "--max-seconds", "10")
    assert over.returncode == 1 and "page " not in over.stderr
