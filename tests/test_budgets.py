"""Time budgets (menu.budgets): `ivr menu check` warns about each breach at the node it concerns, per language."""

from __future__ import annotations

from pathlib import Path

from ivr.audio import AudioManifest, Entry
from ivr.effort import estimate_seconds
from ivr.errors import Problem
from ivr.ir import Budgets
from ivr.loading.menu_loader import check_menu, load_menu
from tests.menu_variants import BASELINE, variant
from tests.workspace import copy_workspace, run_ivr

SETTINGS = BASELINE.split("\nnodes:\n", 1)[0]
EN_MENU = "We will tell you about each of our services, how to use them and where to find help online, so please listen."
# Four menus, each announcing its way on last, before the only person: too deep and too long on defaults.
MENUS = "".join(
    f"""
  m{i}:
    type: menu
    say:
      zh-CN: 这是第{n}层菜单，我们会为您逐一介绍各项服务的详细内容和办理方式，请您耐心收听。继续请按1。
      en-US: This is menu {i}. {EN_MENU} To go on, press 1.
    keys: {{1: {"agent" if i == 4 else f"m{i + 1}"}}}
"""
    for i, n in ((1, "一"), (2, "二"), (3, "三"), (4, "四"))
)
DEEP = f"""{SETTINGS}
nodes:
  welcome:
    type: announce
    say: {{zh-CN: 您好，欢迎致电。, en-US: "Hello, and welcome."}}
    next: m1
{MENUS}
  agent:
    type: transfer
    queue: general
    say: {{zh-CN: 正在为您转接人工服务，请稍候。, en-US: "Connecting you to an agent. Please hold."}}

  goodbye:
    type: hangup
    say: {{zh-CN: 再见。, en-US: Goodbye.}}
"""
LONG_ZH = "您好，欢迎致电售后技术支持热线。本热线提供产品咨询、故障排查、账单查询和账号服务，我们的工程师将竭诚为您服务。"
LONG_EN = (
    "To speak to an agent, press 1. To end the call, press 2. Before you choose, please note that our phone lines are busiest "
    "in the morning, that many questions are answered on our website, that tickets can be opened at any time from the console, "
    "and that calls may be recorded to improve our service. Thank you for your patience while we connect you to the right "
    "team, and for choosing our support line today."
)


def _at(path: Path, needle: str, offset: int = 0) -> tuple[int, int]:
    """(line, column), 1-based, of the first `needle` in the file, `offset` characters in."""
    text = path.read_text(encoding="utf-8")
    before = text[: text.index(needle) + offset]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


def _budget_warnings(path: Path) -> list[Problem]:
    return [p for p in check_menu(path) if p.severity == "warning" and "budget" in p.message]


def _deep(tmp_path: Path, budgets: str = "") -> Path:
    path = tmp_path / "deep.yaml"
    text = DEEP if not budgets else DEEP.replace("  fallback_queue: general\n", f"  fallback_queue: general\n  budgets: {budgets}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_baseline_meets_every_default_budget() -> None:
    """A short menu has no budget warning; the defaults are those of the issue."""
    assert Budgets() == Budgets(greeting_seconds=8, prompt_seconds=20, destination_seconds=25, max_options=5, person_within_menus=3)
    assert load_menu(Path(__file__).parent / "menus" / "broken" / "_valid.yaml").budgets == Budgets()


def test_a_long_greeting_is_a_warning_at_the_start_node(tmp_path: Path) -> None:
    """Prompts before the first node that waits over greeting_seconds: a warning at the start node, in that language only."""
    path = variant(tmp_path, "您好，欢迎致电售后技术支持热线。", LONG_ZH)
    [warning] = _budget_warnings(path)
    assert (warning.line, warning.column, warning.node) == (*_at(path, "  welcome:", 2), "welcome")
    seconds = estimate_seconds(LONG_ZH, "zh-CN")
    assert warning.message == (
        f"zh-CN: the greeting takes {seconds:.1f} s whether open or closed before the caller can act at 'main' "
        "(estimated; budget 8 s): welcome"
    )


def test_the_greeting_stops_before_the_prompt_of_the_node_that_waits(tmp_path: Path) -> None:
    """The greeting is the welcome alone: the main menu's own prompt is not part of it."""
    path = variant(tmp_path, "  fallback_queue: general\n", "  fallback_queue: general\n  budgets: {greeting_seconds: 1}\n")
    greetings = [p for p in _budget_warnings(path) if "greeting" in p.message]
    assert [p.message.split(" s ", 1)[0] for p in greetings] == [
        f"en-US: the greeting takes {estimate_seconds('Hello, and welcome to after-sales technical support.', 'en-US'):.1f}",
        f"zh-CN: the greeting takes {estimate_seconds('您好，欢迎致电售后技术支持热线。', 'zh-CN'):.1f}",
    ]


def test_a_long_prompt_is_a_warning_at_its_language(tmp_path: Path) -> None:
    """A text over prompt_seconds is a warning where that language's text is written; the other language is not named."""
    old = "To speak to an agent, press 1. To end the call, press 2."
    path = variant(tmp_path, old, LONG_EN)
    prompts = [p for p in _budget_warnings(path) if "prompt 'main'" in p.message]
    assert [(p.line, p.column) for p in prompts] == [_at(path, LONG_EN)]
    assert prompts[0].message == f"en-US: prompt 'main' takes {estimate_seconds(LONG_EN, 'en-US'):.1f} s (estimated; budget 20 s)"


def test_a_destination_heard_too_late_is_a_warning_at_its_node(tmp_path: Path) -> None:
    """A transfer after more than destination_seconds of prompts: a warning at the transfer, with the way there, per language."""
    path = _deep(tmp_path)
    late = [p for p in _budget_warnings(path) if "destination" in p.message]
    assert [p.message.split(":", 1)[0] for p in late] == ["en-US", "zh-CN"]
    assert {(p.line, p.column, p.node) for p in late} == {(*_at(path, "  agent:", 2), "agent")}
    assert all(p.message.endswith("(estimated; budget 25 s): welcome → m1(1) → m2(1) → m3(1) → m4(1)") for p in late)
    assert "destination 'transfer general (agent)' is heard after" in late[0].message


def test_an_after_hours_destination_is_checked_with_its_after_hours_seconds(tmp_path: Path) -> None:
    """Open and closed routes are both held to the budget; a breach names the state of the line it is for."""
    closed_menu = "\n  open_now: {type: hours, open: agent, closed: m1}\n"
    path = tmp_path / "hours.yaml"
    path.write_text(DEEP.replace("    next: m1\n", "    next: open_now\n" + closed_menu, 1), encoding="utf-8")
    late = [p.message for p in _budget_warnings(path) if "destination" in p.message]
    assert late and all("of prompts while closed (estimated; budget 25 s)" in m for m in late)


def test_a_menu_with_too_many_options_is_a_warning_at_its_keys(tmp_path: Path) -> None:
    """Six keys break max_options 5 (the language key 9 is not one of them); five keys do not."""
    keys = "    keys:\n      1: agent\n      2: goodbye\n"
    six = variant(tmp_path, keys, keys + "".join(f"      {k}: agent\n" for k in "3456"), "six.yaml")
    [options] = [p for p in _budget_warnings(six) if "options" in p.message]
    assert (options.line, options.column, options.node) == (*_at(six, "    keys:", 4), "main")
    assert options.message == "the menu offers 6 options (budget 5): keys 1, 2, 3, 4, 5, 6"
    five = variant(tmp_path, keys, keys + "".join(f"      {k}: agent\n" for k in "345"), "five.yaml")
    assert not [p for p in _budget_warnings(five) if "options" in p.message]


def test_a_person_too_many_menus_away_is_a_warning_at_the_start(tmp_path: Path) -> None:
    """The only transfer behind four menus breaks person_within_menus 3: a warning at the start node, naming the menus."""
    path = _deep(tmp_path)
    [person] = [p for p in _budget_warnings(path) if "person" in p.message]
    assert (person.line, person.column, person.node) == (*_at(path, "  welcome:", 2), "welcome")
    assert person.message == "a person is 4 menus from the start while open (budget 3): 'agent', through m1 → m2 → m3 → m4"


def test_a_person_only_after_hours_is_not_a_person_while_open(tmp_path: Path) -> None:
    """A transfer reachable only on the closed branch does not count."""
    hours = "    next: open_now\n\n  open_now: {type: hours, open: goodbye, closed: main}\n"
    path = variant(tmp_path, "    next: main\n", hours)
    assert "no transfer to a person is reachable while the line is open" in [p.message for p in check_menu(path)]


def test_budgets_are_read_from_the_menu(tmp_path: Path) -> None:
    """Budgets given under menu.budgets replace the defaults; those left out keep theirs."""
    path = _deep(tmp_path, "{destination_seconds: 90, person_within_menus: 4}")
    assert load_menu(path).budgets == Budgets(destination_seconds=90, person_within_menus=4)
    assert _budget_warnings(path) == []


def test_a_bad_budget_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    """A budget that is not a whole number in range, or a misspelt one, is an error where it is written."""
    budgets = "  budgets:\n    greeting_seconds: fast\n    max_options: 0\n    greting_seconds: 3\n"
    path = variant(tmp_path, "  fallback_queue: general\n", "  fallback_queue: general\n" + budgets)
    found = [(p.line, p.column, p.message) for p in check_menu(path)]
    assert found == [
        (*_at(path, "fast"), "'greeting_seconds' in 'budgets' must be a whole number"),
        (*_at(path, "0\n    greting"), "'max_options' in 'budgets' must be between 1 and 12, not 0"),
        (*_at(path, "greting_seconds"), "unknown field 'greting_seconds' in 'budgets'; did you mean 'greeting_seconds'?"),
    ]


def test_check_uses_rendered_durations_and_strict_fails_on_a_breach(tmp_path: Path) -> None:
    """`ivr menu check --audio DIR` measures prompts by their rendered audio; a breach is a warning, an error under --strict."""
    path = variant(tmp_path, "", "")
    folder = tmp_path / "audio"
    manifest = AudioManifest(folder)
    text = "To speak to an agent, press 1. To end the call, press 2."
    manifest.add(Entry("k", "main", "en-US", text, "en-US/k.wav", "en-US/k.8k.wav", 30.0, "tts"))
    manifest.save()
    loose = run_ivr("menu", "check", "--audio", str(folder), str(path))
    assert loose.returncode == 0
    assert (
        f"{path}:{_at(path, text)[0]}:{_at(path, text)[1]}: warning: [main] en-US: prompt 'main' takes 30.0 s (rendered; budget 20 s)"
        in loose.stdout
    )
    assert "zh-CN: prompt 'main'" not in loose.stdout
    assert run_ivr("menu", "check", "--strict", "--audio", str(folder), str(path)).returncode == 1
    estimated = run_ivr("menu", "check", "--strict", "--audio", str(tmp_path / "none"), str(path))
    assert estimated.returncode == 0 and estimated.stdout == ""


def test_a_greeting_the_same_in_hours_and_after_is_reported_once(tmp_path: Path) -> None:
    """Both branches of an hours node after the same welcome: one greeting warning per language, for open and closed."""
    path = _deep(tmp_path, "{greeting_seconds: 1}")
    text = path.read_text(encoding="utf-8").replace(
        "    next: m1\n", "    next: open_now\n\n  open_now: {type: hours, open: m1, closed: m1}\n", 1
    )
    path.write_text(text, encoding="utf-8")
    greetings = [p.message for p in _budget_warnings(path) if "greeting" in p.message]
    assert [m.split(":", 1)[0] for m in greetings] == ["en-US", "zh-CN"]
    assert all("whether open or closed before the caller can act at 'm1'" in m for m in greetings)


def test_a_closed_reason_is_measured_as_its_longest_reason(tmp_path: Path) -> None:
    """{closed_reason} counts as the longest reason the schedule can give: a long holiday reason breaks the closed
    prompt's budget, which a few-words guess would miss."""
    workspace_menu = copy_workspace(tmp_path)
    text = workspace_menu.read_text(encoding="utf-8")
    assert "{closed_reason}" in text
    assert not [p for p in check_menu(workspace_menu) if p.severity == "warning"]
    long_reason = "今天是公司年度系统维护日，人工电话服务全天暂停，我们的工程师正在对热线系统进行全面的检查和升级，给您带来不便，敬请谅解。"
    short = "      holiday: {zh-CN: 今天是节假日，热线休息。"
    assert short in text
    workspace_menu.write_text(text.replace(short, f"      holiday: {{zh-CN: {long_reason}", 1), encoding="utf-8")
    warnings = [p.message for p in check_menu(workspace_menu) if p.severity == "warning"]
    assert any(m.startswith("zh-CN: prompt 'closed' takes") for m in warnings), warnings
