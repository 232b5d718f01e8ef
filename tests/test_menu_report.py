"""The caller-effort report: keys and seconds of prompts before every destination, worst first."""

from __future__ import annotations

import json

from ivr.effort import estimate_seconds, routes
from ivr.ir import Menu
from tests.conftest import SHIPPED_MENU
from tests.workspace import run_ivr


def test_every_destination_is_listed_worst_first(menu: Menu) -> None:
    """Each queue, ticket and announcement appears once, sorted by seconds heard, longest first."""
    found = routes(menu)
    kinds = {r.destination for r in found}
    for queue in ("business", "orders", "account", "general"):
        assert f"transfer {queue}" in kinds
    assert {"ticket voicemail", "ticket callback"} <= kinds
    seconds = [r.seconds for r in found]
    assert seconds == sorted(seconds, reverse=True)


def test_business_route_is_key_1_after_the_greeting_and_main_menu(menu: Menu) -> None:
    """Business cooperation is reached by pressing 1, after the greeting and the main menu prompt."""
    route = next(r for r in routes(menu) if r.destination == "transfer business")
    assert route.keys == ("(open)", "1")
    heard = estimate_seconds(menu.nodes["welcome"].prompt.get("zh-CN")) + estimate_seconds(menu.nodes["main"].prompt.get("zh-CN"))  # type: ignore[attr-defined]
    assert abs(route.seconds - heard) < 0.01


def test_estimates_follow_text_length() -> None:
    """Chinese is estimated per character and English per word, so longer prompts take longer."""
    assert abs(estimate_seconds("请按1") - (2 / 4.5 + 1 / 2.6)) < 1e-9
    assert estimate_seconds("To speak to an agent, press 0.") > estimate_seconds("Press 0.")


def test_rendered_durations_replace_estimates(menu: Menu) -> None:
    """When a prompt has rendered audio, its real duration is used instead of the estimate."""
    base = next(r for r in routes(menu) if r.destination == "transfer business")
    with_audio = next(r for r in routes(menu, durations=lambda lang, text: 1.0) if r.destination == "transfer business")
    assert with_audio.seconds == 2.0 and not with_audio.estimated and base.estimated


def test_report_command_prints_and_emits_json() -> None:
    """`ivr menu report` prints a table and, with --json, machine-readable routes."""
    table = run_ivr("menu", "report", str(SHIPPED_MENU), check=True)
    assert table.stdout.splitlines()[0].startswith("destination")
    data = json.loads(run_ivr("menu", "report", str(SHIPPED_MENU), "--json", "--lang", "en-US", check=True).stdout)
    assert data[0]["seconds"] >= data[-1]["seconds"] and {"destination", "keys", "seconds", "path"} <= set(data[0])
