"""Hot reload under a running `ivr serve`: good edits go live, bad edits are refused, calls keep their version."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ivr.testing.phone import HttpTransport, PhoneCall
from tests.server import Server, health, running_server, wait_for_health
from tests.webhooks import TOKEN, said
from tests.workspace import copy_workspace

WELCOME = "您好，欢迎致电火山引擎售后。"
ACCOUNT = "账号登录问题：忘记密码请按1"
RELOAD_INTERVAL = 0.2  # IVR_RELOAD_INTERVAL of the server under test


def call(server: Server, entries: Iterator[str] | list[str]) -> str:
    """Place an in-hours call and return everything said."""
    phone = PhoneCall(HttpTransport(server.url), server.url, TOKEN, extra={"IvrTestClock": "2026-11-30T10:00:00+08:00"})
    return said(phone.run(entries))


def edit(path: Path, old: str, new: str) -> float:
    """Replace text in a file the server watches; return the `time.monotonic()` by which every worker checks it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return time.monotonic() + RELOAD_INTERVAL


def wait_for(server: Server, predicate: Callable[[dict[str, Any]], object], settled_after: float | None = None) -> dict[str, Any]:
    """Poll /healthz until predicate(body) holds (and, with `settled_after`, every worker has had to check its files)."""
    [body] = wait_for_health([server], predicate, settled_after=settled_after)
    return body


def test_edits_under_a_running_server(tmp_path: Path) -> None:
    """A valid edit is served by the next call in every worker; an invalid one is refused and shown by /healthz."""
    menu = copy_workspace(tmp_path)
    with running_server(tmp_path, workers=2, IVR_MENU=str(menu), IVR_RELOAD_INTERVAL=str(RELOAD_INTERVAL), IVR_TEST_CLOCK="1") as server:
        first = health(server)["menu"]
        assert WELCOME in call(server, [])

        # A valid edit goes live for new calls.
        settled = edit(menu, WELCOME, "您好，这里是火山引擎售后热线（新版）。")
        wait_for(server, lambda b: b["menu"]["version"] != first["version"], settled)
        for _ in range(6):  # requests reach both workers
            assert "（新版）" in call(server, [])
        second = wait_for(server, lambda b: b["menu"]["version"] != first["version"])["menu"]

        # A call in progress keeps the version it started on.
        def entries() -> Iterator[str]:
            yield "3"
            settled = edit(menu, ACCOUNT, "账号问题（第三版）：忘记密码请按1")
            wait_for(server, lambda b: b["menu"]["version"] != second["version"], settled)
            yield "*"

        in_progress = call(server, entries())
        assert in_progress.count(ACCOUNT) == 2 and "第三版" not in in_progress
        assert "第三版" in call(server, ["3"])

        # An invalid edit is refused: the last good version keeps serving and /healthz says why.
        good = health(server)["menu"]
        settled = edit(menu, "      1: business\n", "      1: busines\n")
        wait_for(server, lambda b: "reload_error" in b["menu"], settled)
        assert "第三版" in call(server, ["3"])
        body = wait_for(server, lambda b: "reload_error" in b["menu"])
        # A refused edit is something wrong: the server still serves the last good version, and says so.
        assert body["status"] == "degraded" and any("menu edit was refused" in p for p in body["problems"])
        menu_state = body["menu"]
        assert isinstance(menu_state, dict) and menu_state["version"] == good["version"]  # type: ignore[index]
        assert "unknown target 'busines'" in menu_state["reload_error"] and f"{menu}:" in menu_state["reload_error"]
        for _ in range(4):
            assert "第三版" in call(server, ["3"])

        # Fixing the file clears the error.
        edit(menu, "      1: busines\n", "      1: business\n")
        wait_for(server, lambda b: "reload_error" not in b["menu"])
        log = server.log.read_text(errors="replace")
    assert "menu edit refused" in log and "Traceback" not in log
