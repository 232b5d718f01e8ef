"""Scope menus are generated from scope/ data: change the data, the menu follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.errors import DefinitionError
from ivr.loading.menu_loader import load_menu
from ivr.nodes import AnnounceNode, MenuNode
from tests.workspace import copy_workspace

EXTRA_SOFTWARE = """      - id: "redis"
        name:
          zh-CN: "Redis"
          en-US: "Redis"
        supported:
          zh-CN: "Redis 服务启动失败排查协助"
          en-US: "Help when the Redis service fails to start."
        unsupported:
          zh-CN: "Redis 集群性能调优"
          en-US: "Tuning a Redis cluster."
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the shipped menu folder and scope data that a test may edit."""
    copy_workspace(tmp_path)
    return tmp_path


def test_new_catalogue_entry_gets_a_key_and_an_announcement(workspace: Path) -> None:
    """Adding software to scope/third_party.yaml offers it under its category (on a next page, past three), with its examples."""
    path = workspace / "scope" / "third_party.yaml"
    text = path.read_text(encoding="utf-8")
    marker = '  - id: "security_policy_tools"'
    assert marker in text
    path.write_text(text.replace(marker, EXTRA_SOFTWARE + marker), encoding="utf-8")
    menu = load_menu(workspace / "menus" / "volcengine.yaml")
    last_page = menu.nodes["scope_menu.system_tools.page3"]
    assert isinstance(last_page, MenuNode)
    assert last_page.options["1"] == "scope_menu.system_tools.redis"
    assert "Redis按1" in last_page.prompt.get("zh-CN")
    assert menu.nodes["scope_menu.system_tools.page2"].options["4"] == "scope_menu.system_tools.page3"  # type: ignore[attr-defined]
    entry = menu.nodes["scope_menu.system_tools.redis"]
    assert isinstance(entry, AnnounceNode) and "Redis 集群性能调优" in entry.prompt.get("zh-CN")


def test_scope_placeholders_follow_the_data(workspace: Path) -> None:
    """Changing the ticket first-response time in scope/ changes what the ticket channel says."""
    path = workspace / "scope" / "channels.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("first_response_minutes: 10") == 2
    path.write_text(text.replace("first_response_minutes: 10", "first_response_minutes: 15", 1), encoding="utf-8")
    menu = load_menu(workspace / "menus" / "volcengine.yaml")
    tickets = menu.nodes["channel_tickets"]
    assert isinstance(tickets, MenuNode)
    assert "15分钟" in tickets.prompt.get("zh-CN") and "within 15 minutes" in tickets.prompt.get("en-US")
    assert menu.ticket_first_response_minutes == 15


def test_broken_scope_data_is_reported_in_its_own_file(workspace: Path) -> None:
    """A scope entry missing its English text is reported at its line in the scope file."""
    path = workspace / "scope" / "coverage.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("in_scope:\n")
    index = next(i for i, line in enumerate(lines) if i > start and line.strip().startswith("en-US:"))
    del lines[index]
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_menu(workspace / "menus" / "volcengine.yaml")
    assert any(p.file.endswith("coverage.yaml") and p.line == index - 1 and "en-US" in p.message for p in info.value.problems)


def test_menu_version_changes_with_scope_data(workspace: Path) -> None:
    """The menu version covers the scope files too, so a scope edit is a new version."""
    before = load_menu(workspace / "menus" / "volcengine.yaml").version
    path = workspace / "scope" / "coverage.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert load_menu(workspace / "menus" / "volcengine.yaml").version != before


def test_the_phone_channel_says_the_menu_hours(workspace: Path) -> None:
    """The hotline's own channel (`hours_from: menu`) follows menu.hours: change the schedule, the channel follows."""
    path = workspace / "menus" / "volcengine.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('daily: "09:00-21:00"', 'daily: "09:00-18:00"', 1), encoding="utf-8")
    menu = load_menu(path)
    phone = menu.nodes["channel_phone"]
    assert isinstance(phone, MenuNode)
    assert "北京时间每天上午9点到下午6点" in phone.prompt.get("zh-CN") and "9 a.m. to 6 p.m." in phone.prompt.get("en-US")
    assert "晚上9点" not in phone.prompt.get("zh-CN")
    im = menu.nodes["channel_im"]  # another channel keeps its own daily_hours from scope/
    assert isinstance(im, MenuNode) and "北京时间每天上午9点到晚上9点" in im.prompt.get("zh-CN")


def test_a_next_page_prompt_without_a_next_page_is_an_error(workspace: Path) -> None:
    """`more` without `then` would offer 1 for a page that is not there: refused at the node."""
    path = workspace / "menus" / "volcengine.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  channel_phone:\n")
    then = text.index("    then:\n", start)
    end = text.index("    next: back\n", then)
    path.write_text(text[:then] + text[end:], encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_menu(path)
    assert any("'more'" in p.message and "channel_phone" in p.message for p in info.value.problems)


def test_a_category_too_long_for_one_menu_is_an_error_not_a_crash(workspace: Path) -> None:
    """Without pages, eight software and the terms do not fit the keys 1-8 left beside the language key: a located error."""
    menu_path = workspace / "menus" / "volcengine.yaml"
    text = menu_path.read_text(encoding="utf-8")
    start = text.index("  scope_menu:")
    block = text[start : text.index("  scope_covered:")]
    lean = block.replace("    per_page: 3\n", "", 1)
    lean = lean[: lean.index("    more:\n")] + lean[lean.index("    terms: ") :]
    menu_path.write_text(text.replace(block, lean), encoding="utf-8")
    path = workspace / "scope" / "third_party.yaml"
    extra = EXTRA_SOFTWARE + EXTRA_SOFTWARE.replace('"redis"', '"memcached"').replace("Redis", "Memcached")
    marker = '  - id: "security_policy_tools"'
    path.write_text(path.read_text(encoding="utf-8").replace(marker, extra + marker), encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_menu(menu_path)
    assert any("'system_tools' has 8 entries and the terms" in p.message for p in info.value.problems)
