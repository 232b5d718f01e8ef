"""Regressions found in review: each pins down a behaviour that once went wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.engine.engine import Engine
from ivr.engine.events import CallerHangup, Entry, RecordingDone
from ivr.engine.snapshot import CallSnapshot
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, IN_HOURS, ROOT, Caller

BASELINE = (Path(__file__).parent / "menus" / "broken" / "_valid.yaml").read_text(encoding="utf-8")


def variant(tmp_path: Path, old: str, new: str, name: str = "menu.yaml") -> Path:
    """The baseline menu with one text replaced, written to tmp_path."""
    assert old in BASELINE
    path = tmp_path / name
    path.write_text(BASELINE.replace(old, new, 1), encoding="utf-8")
    return path


def messages(path: Path) -> list[str]:
    """Every problem of a menu as `line:col message`."""
    return [f"{p.line}:{p.column} {p.message}" for p in check_menu(path)]


class TestLoopGuard:
    """Only the caller's own entries count towards the runaway guard."""

    def test_agent_answer_after_many_repeats_is_not_cut_off(self, caller: Caller, menu: Menu) -> None:
        """A caller at the last allowed entry who asks for an agent is transferred, not hung up on."""
        keys = " ".join(["*"] * (menu.loop_limit.max_steps - 1) + ["0"])
        call = caller.dial(keys)
        assert call.transfer == "general"
        assert call.end["reason"] == "transferred"

    def test_message_after_many_repeats_is_kept(self, caller: Caller, store: TicketStore, menu: Menu) -> None:
        """After hours, a message recorded at the last allowed entry still becomes a ticket."""
        keys = " ".join(["*"] * (menu.loop_limit.max_steps - 1) + ["1"])
        call = caller.dial(keys, at=AFTER_HOURS, voicemail="server down")
        assert call.ticket is not None
        stored = store.find(call.ticket["number"])
        assert stored is not None and stored.description == "server down"

    def test_loop_exit_must_end_the_call(self, tmp_path: Path) -> None:
        """loop_limit.goto pointing at a menu (which waits) is refused."""
        path = variant(tmp_path, "    goto: goodbye", "    goto: main")
        assert any("loop_limit.goto must lead straight to a hangup" in m for m in messages(path))


class TestBackKey:
    """The back key and the `back` target."""

    def test_pound_on_a_top_menu_with_a_way_back_into_it_is_invalid(self, tmp_path: Path, store: TicketStore) -> None:
        """# at the top menu is an invalid key even when another menu can lead back to it."""
        shipped = (ROOT / "menus" / "volcengine.yaml").read_text(encoding="utf-8")
        edited = shipped.replace("      3: account_other\n", "      3: account_other\n      9: main\n", 1)
        for name in ("orders.sample.csv",):
            shutil.copy(ROOT / "menus" / name, tmp_path / name)
        shutil.copytree(ROOT / "scope", tmp_path.parent / f"{tmp_path.name}-scope")
        path = tmp_path / "menu.yaml"
        path.write_text(edited.replace("scope: ../scope", f"scope: ../{tmp_path.name}-scope"), encoding="utf-8")
        call = Caller(engine_for(load_menu(path), store, Settings())).dial("#")
        assert "输入有误" in call.said
        assert "系统暂时出现问题" not in call.said

    @pytest.mark.parametrize(
        ("old", "new", "expected"),
        [
            ("      2: goodbye", "      2: back", "a menu cannot send a key or its failures 'back'"),
            ("  on_error: goodbye", "  on_error: back", "'back' cannot be used in the menu settings"),
            ("    next: main", "    next: back", "no menu leads here"),
        ],
    )
    def test_back_where_it_cannot_resolve_is_refused(self, tmp_path: Path, old: str, new: str, expected: str) -> None:
        """`back` is refused in menu keys, in the settings and on nodes no menu leads to."""
        assert any(expected in m for m in messages(variant(tmp_path, old, new)))


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


def test_orders_file_with_byte_order_mark_works(tmp_path: Path, store: TicketStore) -> None:
    """An orders CSV saved with a BOM (as spreadsheets do) still finds orders."""
    shutil.copytree(ROOT / "menus", tmp_path / "menus")
    shutil.copytree(ROOT / "scope", tmp_path / "scope")
    csv = tmp_path / "menus" / "orders.sample.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())
    menu = load_menu(tmp_path / "menus" / "volcengine.yaml")
    call = Caller(engine_for(menu, store, Settings())).dial("2 202611280001#")
    assert "已支付" in call.said


def test_orders_file_without_needed_columns_is_refused(tmp_path: Path) -> None:
    """A data file missing order_id or a language's status column is a menu error at the data line."""
    shutil.copytree(ROOT / "menus", tmp_path / "menus")
    shutil.copytree(ROOT / "scope", tmp_path / "scope")
    (tmp_path / "menus" / "orders.sample.csv").write_text("id,status_zh-CN\n1,ok\n", encoding="utf-8")
    found = messages(tmp_path / "menus" / "volcengine.yaml")
    assert any("no 'order_id' column" in m for m in found)
    assert any("no 'status_en-US' column" in m for m in found)


def test_hangup_during_recording_keeps_the_message(engine: Engine, store: TicketStore) -> None:
    """A caller who hangs up instead of pressing # has still left a message: it becomes a ticket."""
    step = engine.start("CA-hangup-rec", "+861", AFTER_HOURS)
    step = engine.handle(step.snapshot, Entry("1"), AFTER_HOURS)
    assert step.snapshot.node == "leave_message"
    step = engine.handle(step.snapshot, CallerHangup(), AFTER_HOURS)
    assert not step.snapshot.ended
    engine.handle(step.snapshot, RecordingDone(url="https://example.test/RE1"), AFTER_HOURS)
    ticket = store.find_by_call("CA-hangup-rec")
    assert ticket is not None and ticket.description == "https://example.test/RE1"


def test_snapshot_in_an_unknown_language_does_not_raise(engine: Engine) -> None:
    """A snapshot in a language the menu no longer has continues in the default language."""
    step = engine.start("CA-lang", "+861", IN_HOURS)
    odd = CallSnapshot.from_dict({**step.snapshot.to_dict(), "lang": "ja-JP"})
    result = engine.handle(odd, Entry("3"), IN_HOURS)
    assert result.snapshot.lang == "zh-CN" and result.actions
