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


def test_queue_address_that_cannot_be_dialled_is_an_error(tmp_path: Path) -> None:
    """A queue address that is no number, SIP URI or client identity is refused at its value."""
    path = variant(
        tmp_path, "    general: {description: after-sales agents}", '    general: {address: "call me maybe", description: agents}'
    )
    assert any(
        "address must be a phone number (+8610…), sip:user@host or client:identity, not 'call me maybe'" in m for m in messages(path)
    )


def test_languages_that_are_no_list_give_one_error(tmp_path: Path) -> None:
    """`languages: zh-CN` (a word, not a list) is one error, not one per text of the menu."""
    path = variant(tmp_path, "  languages: [zh-CN, en-US]", "  languages: zh-CN")
    assert messages(path) == ["5:14 'languages' in the menu settings must be a list"]


def test_missing_scope_file_is_the_only_error(tmp_path: Path) -> None:
    """When a scope file is missing, that is what is reported, not every prompt's scope fact as unknown."""
    menu = copy_workspace(tmp_path)
    (tmp_path / "scope" / "coverage.yaml").unlink()
    problems = check_menu(menu)
    assert [p.file.endswith("coverage.yaml") for p in problems] == [True]


def test_scope_template_typo_is_reported_once_at_its_language(tmp_path: Path) -> None:
    """A misspelt {field} in a generated menu's template is one error, at the language line, with the field meant."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    old = 'zh-CN: "{name}按{key}，"'
    assert old in text
    menu.write_text(text.replace(old, 'zh-CN: "{name}按{kye}，"', 1), encoding="utf-8")
    line = next(i for i, row in enumerate(menu.read_text(encoding="utf-8").splitlines(), start=1) if "{kye}" in row)
    problems = check_menu(menu)
    assert [(p.line, p.column) for p in problems] == [(line, 14)]
    assert problems[0].message.endswith("uses {kye}, which is not one of: key, name; did you mean {key}?")


def test_empty_scope_list_is_an_error(tmp_path: Path) -> None:
    """`in_scope: []` would make a prompt end in silence: it is an error in the scope file."""
    menu = copy_workspace(tmp_path)
    coverage = tmp_path / "scope" / "coverage.yaml"
    text = coverage.read_text(encoding="utf-8")
    coverage.write_text(text[: text.index("in_scope:")] + "in_scope: []\n" + text[text.index("out_of_scope:") :], encoding="utf-8")
    [problem] = check_menu(menu)
    assert problem.file == str(coverage) and "'in_scope' is empty" in problem.message


def test_empty_voice_names_are_errors(tmp_path: Path) -> None:
    """A voice given as "" would make the carrier speak with no voice named: refused, as the schema refuses it."""
    path = variant(tmp_path, "  fallback_queue: general\n", '  fallback_queue: general\n  voices: {en-US: {voice: "", language: ""}}\n')
    assert sorted(m.split(" ", 1)[1] for m in messages(path)) == ["language must not be empty", "voice must not be empty"]
