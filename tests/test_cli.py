"""The `ivr` command as a user runs it: a real process, a real SQLite file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.workspace import run_ivr


def run(*args: str, tmp_path: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `ivr ARGS` in the project folder with tickets in `tmp_path` (the developer's IVR_* settings do not leak in)."""
    return run_ivr(*args, env={"IVR_SQLITE_PATH": str(tmp_path / "ivr.sqlite3"), **(env or {})}, stdin=stdin, timeout=60)


def json_lines(out: str) -> list[dict[str, Any]]:
    """Parse JSON-lines output."""
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_in_hours_key_1_ends_in_business_transfer(tmp_path: Path) -> None:
    """`ivr call --at 10:00 --keys 1 --json` ends with a transfer to business, then a hangup."""
    result = run("call", "--at", "2026-11-30T10:00:00+08:00", "--keys", "1", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert lines[-2] == {"type": "transfer", "node": "business", "queue": "business"}
    assert lines[-1]["type"] == "hangup"
    assert set(lines[0]) == {"type", "node", "lang", "text"}


@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_after_hours_message_becomes_a_listed_ticket(tmp_path: Path, tz: str | None) -> None:
    """At 21:00 a message creates a ticket that `ivr tickets list --json` shows, whatever TZ the process has."""
    env = {"TZ": tz} if tz else {}
    result = run(
        "call", "--at", "2026-11-30T21:00:00+08:00", "--keys", "1", "--voicemail", "服务器无法登录", "--json",
        tmp_path=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    ticket = next(line for line in lines if line["type"] == "ticket")
    assert set(ticket) == {"type", "node", "number", "category"}
    listed = json.loads(run("tickets", "list", "--json", tmp_path=tmp_path, env=env).stdout)
    assert [(t["number"], t["description"]) for t in listed] == [(ticket["number"], "服务器无法登录")]
    assert lines[-1]["type"] == "hangup"


@pytest.mark.parametrize("tz", [None, "America/New_York", "UTC"])
def test_one_second_before_closing_is_in_hours(tmp_path: Path, tz: str | None) -> None:
    """At 20:59:59 Beijing time the caller reaches the main menu, whatever TZ the process has."""
    env = {"TZ": tz} if tz else {}
    result = run("call", "--at", "2026-11-30T20:59:59+08:00", "--keys", "-", "--json", tmp_path=tmp_path, env=env)
    gathers = [line for line in json_lines(result.stdout) if line["type"] == "gather"]
    assert gathers[0]["node"] == "main"


def test_time_without_offset_is_read_in_the_menu_zone(tmp_path: Path) -> None:
    """--at without an offset means Beijing time (the menu's zone), not the server's."""
    result = run("call", "--at", "2026-11-30T21:30:00", "--keys", "-", "--json", tmp_path=tmp_path, env={"TZ": "UTC"})
    assert next(line["node"] for line in json_lines(result.stdout) if line["type"] == "gather") == "closed"


def test_every_json_line_has_its_documented_fields(tmp_path: Path) -> None:
    """Each JSON line type carries exactly the documented fields."""
    expected = {
        "say": {"type", "node", "lang", "text"},
        "gather": {"type", "node", "max_digits", "finish_on_key", "timeout"},
        "input": {"type", "node", "digits"},
        "transfer": {"type", "node", "queue"},
        "record": {"type", "node"},
        "ticket": {"type", "node", "number", "category"},
        "hangup": {"type", "node", "reason"},
    }
    seen: set[str] = set()
    for at, keys in [("2026-11-30T10:00:00+08:00", "7 - 2 202611280001# 0"), ("2026-11-30T23:00:00+08:00", "1")]:
        for line in json_lines(run("call", "--at", at, "--keys", keys, "--json", tmp_path=tmp_path).stdout):
            assert set(line) == expected[line["type"]], line
            seen.add(line["type"])
    assert seen == set(expected)
    inputs = [
        line
        for line in json_lines(run("call", "--at", "2026-11-30T10:00:00+08:00", "--keys", "-", "--json", tmp_path=tmp_path).stdout)
        if line["type"] == "input"
    ]
    assert inputs == [{"type": "input", "node": "main", "digits": ""}]


def test_keys_running_out_means_the_caller_hangs_up(tmp_path: Path) -> None:
    """When scripted entries run out the last line is the caller's hangup."""
    lines = json_lines(run("call", "--at", "2026-11-30T10:00:00+08:00", "--keys", "3", "--json", tmp_path=tmp_path).stdout)
    assert lines[-1] == {"type": "hangup", "node": "account", "reason": "caller"}


def test_interactive_call_reads_lines_until_q(tmp_path: Path) -> None:
    """Interactively, each line is one entry, an empty line is no input and q hangs up."""
    result = run("call", "--at", "2026-11-30T10:00:00+08:00", tmp_path=tmp_path, stdin="\n3\nq\n")
    assert result.returncode == 0, result.stderr
    assert "(no input)" in result.stdout
    assert "账号登录问题" in result.stdout
    assert result.stdout.rstrip().endswith("hang up (caller)")


def test_interactive_call_ends_at_end_of_input(tmp_path: Path) -> None:
    """Closing standard input hangs up instead of hanging the terminal."""
    result = run("call", "--at", "2026-11-30T10:00:00+08:00", tmp_path=tmp_path, stdin="")
    assert result.returncode == 0 and "hang up (caller)" in result.stdout


def test_english_call(tmp_path: Path) -> None:
    """--lang en-US starts the call in English."""
    result = run("call", "--at", "2026-11-30T10:00:00+08:00", "--lang", "en-US", "--keys", "0", "--json", tmp_path=tmp_path)
    says = [line for line in json_lines(result.stdout) if line["type"] == "say"]
    assert says and all(line["lang"] == "en-US" for line in says)


def test_speak_without_audio_device_says_so_once_and_goes_on(tmp_path: Path) -> None:
    """--speak on a machine without sound prints one clear message and the call completes."""
    result = run(
        "call", "--at", "2026-11-30T10:00:00+08:00", "--keys", "1", "--json", "--speak", tmp_path=tmp_path, env={"PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 0
    assert result.stderr.count("--speak") == 1
    assert "without sound" in result.stderr
    assert json_lines(result.stdout)[-1]["type"] == "hangup"


def test_force_switch_from_environment(tmp_path: Path) -> None:
    """IVR_HOURS_OVERRIDE=closed sends a 10:00 call to the closed menu."""
    result = run(
        "call", "--at", "2026-11-30T10:00:00+08:00", "--keys", "-", "--json", tmp_path=tmp_path, env={"IVR_HOURS_OVERRIDE": "closed"}
    )
    assert next(line for line in json_lines(result.stdout) if line["type"] == "gather")["node"] == "closed"


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    """A bad --at or IVR_HOURS_OVERRIDE gives a one-line error and exit status 2, not a traceback."""
    bad_at = run("call", "--at", "tomorrow", "--keys", "1", tmp_path=tmp_path)
    assert bad_at.returncode == 2 and "--at" in bad_at.stderr and "Traceback" not in bad_at.stderr
    bad_env = run("call", "--keys", "1", tmp_path=tmp_path, env={"IVR_HOURS_OVERRIDE": "sometimes"})
    assert bad_env.returncode == 2 and "IVR_HOURS_OVERRIDE" in bad_env.stderr


def test_broken_menu_is_refused_with_its_location(tmp_path: Path) -> None:
    """`ivr call --menu BROKEN` prints file:line:col and exits 1 instead of starting a call."""
    broken = tmp_path / "menu.yaml"
    text = (ROOT / "menus" / "volcengine.yaml").read_text(encoding="utf-8").replace("      1: business\n", "      1: busines\n")
    broken.write_text(
        text.replace("scope: ../scope", f"scope: {ROOT / 'scope'}").replace(
            "orders: orders.sample.csv", f"orders: {ROOT / 'menus' / 'orders.sample.csv'}"
        ),
        encoding="utf-8",
    )
    result = run("call", "--menu", str(broken), "--keys", "1", tmp_path=tmp_path)
    assert result.returncode == 1
    line_no = text.splitlines().index("      1: busines") + 1
    assert f"{broken}:{line_no}:10: error: [main] unknown target 'busines'" in result.stderr


def test_tickets_list_on_an_empty_store(tmp_path: Path) -> None:
    """Listing with no tickets says so (text) or prints [] (JSON)."""
    assert run("tickets", "list", tmp_path=tmp_path).stdout.strip() == "no tickets"
    assert json.loads(run("tickets", "list", "--json", tmp_path=tmp_path).stdout) == []


def test_interactive_message_is_typed_at_the_prompt(tmp_path: Path) -> None:
    """Interactively after hours, the caller's message is read from the keyboard and stored on the ticket."""
    result = run("call", "--at", "2026-11-30T23:00:00+08:00", tmp_path=tmp_path, stdin="1\n发票抬头写错了\n")
    assert result.returncode == 0, result.stderr
    assert "message> " in result.stdout
    listed = json.loads(run("tickets", "list", "--json", tmp_path=tmp_path).stdout)
    assert [t["description"] for t in listed] == ["发票抬头写错了"]


def test_database_url_overrides_the_sqlite_path(tmp_path: Path) -> None:
    """IVR_DATABASE_URL decides where tickets go, over IVR_SQLITE_PATH."""
    other = tmp_path / "elsewhere.sqlite3"
    env = {"IVR_DATABASE_URL": f"sqlite:///{other}"}
    run("call", "--at", "2026-11-30T23:00:00+08:00", "--keys", "1", "--voicemail", "x", tmp_path=tmp_path, env=env)
    assert other.is_file() and not (tmp_path / "ivr.sqlite3").exists()
    assert len(json.loads(run("tickets", "list", "--json", tmp_path=tmp_path, env=env).stdout)) == 1


def test_bad_database_url_is_a_clear_error() -> None:
    """An unusable IVR_DATABASE_URL gives a one-line error and exit status 2, not a traceback."""
    env = {"IVR_DATABASE_URL": "foo://x", "PATH": "/usr/bin:/bin"}
    result = run_ivr("menu", "versions", env=env)
    assert result.returncode == 2 and result.stderr.startswith("ivr: ") and "Traceback" not in result.stderr


def test_report_in_a_language_the_menu_lacks_is_a_clear_error() -> None:
    """`ivr menu report --lang fr-FR` names the menu's languages instead of a traceback."""
    result = run_ivr("menu", "report", "menus/volcengine.yaml", "--lang", "fr-FR")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--lang 'fr-FR' is not one of the menu's languages: zh-CN, en-US" in result.stderr


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    """A --out in a folder that does not exist gives one line naming the file, not a traceback."""
    result = run_ivr("menu", "graph", "menus/volcengine.yaml", "--out", str(tmp_path / "no" / "such" / "g.md"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "g.md" in result.stderr


def test_clock_outside_sensible_years_is_refused(tmp_path: Path) -> None:
    """--at in year 1 or 9999 (where time zones overflow) is refused with the years accepted."""
    result = run_ivr("call", "--db", str(tmp_path / "t.sqlite3"), "--at", "9999-12-31T23:59:00+00:00", "--keys", "1")
    assert result.returncode == 2 and "outside the years 1900–8999" in result.stderr and "Traceback" not in result.stderr


def test_bad_queue_variable_is_refused_at_start() -> None:
    """IVR_QUEUE_GENERAL that is no number, SIP URI or client identity stops the command with a clear message."""
    result = run_ivr("call", "--keys", "0", env={"IVR_QUEUE_GENERAL": "not a number"})
    assert result.returncode == 2 and "IVR_QUEUE_GENERAL must be a phone number" in result.stderr
