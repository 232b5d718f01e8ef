"""`check_menu` errors on menus that load as YAML but cannot work, each reported at its line."""

from __future__ import annotations

from pathlib import Path

from ivr.loading.menu_loader import check_menu
from tests.menu_variants import messages, variant
from tests.workspace import copy_workspace


def test_transfer_failing_into_itself_is_refused(tmp_path: Path) -> None:
    """A transfer whose on_failure is itself would redial forever without the caller: refused."""
    path = variant(tmp_path, "    queue: general\n", "    queue: general\n    on_failure: agent\n")
    assert any("agent -> agent loops without waiting" in m for m in messages(path))


def test_pound_inside_a_key_is_refused(tmp_path: Path) -> None:
    """A key like '5#' can never be pressed ('#' ends the entry) and is refused at its line."""
    path = variant(tmp_path, "      2: goodbye", '      "5#": goodbye')
    assert any(m.startswith("51:7 key '5#' contains '#'") for m in messages(path))


def test_empty_language_list_is_reported_at_its_line(tmp_path: Path) -> None:
    """`languages: []` is one error at that line, not a cascade about zh-CN."""
    path = variant(tmp_path, "  languages: [zh-CN, en-US]", "  languages: []")
    assert messages(path)[0].startswith("5:14 list at least one language")


def test_recursive_alias_is_a_located_problem(tmp_path: Path) -> None:
    """A YAML alias inside its own anchor is reported, not a crash."""
    path = variant(tmp_path, "  fallback_queue: general", "  fallback_queue: general\n  extra: &loop [*loop]")
    found = messages(path)
    assert any("recursive alias" in m for m in found)


def test_an_outcome_the_action_never_gives_is_an_error(tmp_path: Path) -> None:
    """`on: {fonud: …}` would never be taken (every order "not found"): it is an error naming the outcome meant."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    assert "      found: order_status\n" in text
    menu.write_text(text.replace("      found: order_status\n", "      fonud: order_status\n", 1), encoding="utf-8")
    messages = [f"{p.line}: {p.message}" for p in check_menu(menu)]
    line = next(i for i, row in enumerate(menu.read_text(encoding="utf-8").splitlines(), start=1) if "fonud:" in row)
    assert messages == [f"{line}: action 'order_lookup' has no outcome 'fonud'; did you mean 'found'? (outcomes: found, not_found)"]
