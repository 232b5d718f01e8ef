"""Deadlines on named actions: a hung back-end costs its own call only, never the worker or its exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterable, Iterator

import pytest

from ivr import actions
from ivr.actions import with_deadline
from ivr.engine.services import Action, ActionContext, ActionResult
from tests.conftest import ROOT

CTX = ActionContext(call_id="CA1", caller="+8613800000000", lang="zh-CN", digits="202611280001")
DEADLINE = 0.05  # what a hung call costs each lookup; small so the test is fast
HEALTHY_DEADLINE = 5.0  # generous: a healthy lookup answers at once, a loaded CI machine must not fail it


@pytest.fixture
def backend_down() -> Iterator[threading.Event]:
    """An event hung back-ends wait on; set at the end so their threads finish before the next test."""
    release = threading.Event()
    before = set(threading.enumerate())
    yield release
    release.set()
    join_all(set(threading.enumerate()) - before)


def join_all(threads: Iterable[threading.Thread], within: float = 5.0) -> None:
    """Wait for `threads` to end, all within one deadline."""
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def hung(release: threading.Event) -> Action:
    """An action whose back-end never answers until `release` is set."""

    def run(ctx: ActionContext) -> ActionResult:
        release.wait()
        return ActionResult("found")

    return run


def healthy(ctx: ActionContext) -> ActionResult:
    """An action whose back-end answers at once."""
    return ActionResult("found", {"digits": ctx.digits})


def test_hung_lookup_times_out(backend_down: threading.Event) -> None:
    """A lookup past its deadline raises TimeoutError, which sends the call down the menu's error path."""
    with pytest.raises(TimeoutError):
        with_deadline(hung(backend_down), DEADLINE)(CTX)


def test_healthy_lookups_succeed_after_many_hung_ones(backend_down: threading.Event) -> None:
    """After more hung lookups than the old pool had threads, a healthy lookup in the same process still answers."""
    for _ in range(12):
        with pytest.raises(TimeoutError):
            with_deadline(hung(backend_down), DEADLINE)(CTX)
    assert with_deadline(healthy, HEALTHY_DEADLINE)(CTX) == ActionResult("found", {"digits": CTX.digits})


def test_action_errors_reach_the_caller() -> None:
    """An action that fails raises its own error through the deadline, not a timeout."""

    def broken(ctx: ActionContext) -> ActionResult:
        raise ValueError("orders file unreadable")

    with pytest.raises(ValueError, match="orders file unreadable"):
        with_deadline(broken, HEALTHY_DEADLINE)(CTX)


def test_too_many_hung_lookups_fail_fast(backend_down: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound on still-hung lookups a call fails at once without starting a thread, and recovers once they end."""
    monkeypatch.setattr(actions, "MAX_ABANDONED", 2)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            with_deadline(hung(backend_down), DEADLINE)(CTX)
    ran = threading.Event()

    def noted(ctx: ActionContext) -> ActionResult:
        ran.set()
        return healthy(ctx)

    threads = threading.active_count()
    with pytest.raises(TimeoutError, match="still"):
        with_deadline(noted, HEALTHY_DEADLINE)(CTX)
    assert not ran.is_set()
    assert threading.active_count() == threads
    backend_down.set()
    join_all(t for t in threading.enumerate() if t.name.startswith("ivr-action"))
    assert with_deadline(noted, HEALTHY_DEADLINE)(CTX).outcome == "found"
    assert ran.is_set()


def test_hung_backend_does_not_keep_the_process_alive() -> None:
    """A process whose named action hung past its deadline still exits promptly when its work is done."""
    script = textwrap.dedent(
        """
        import threading
        from ivr.actions import with_deadline
        from ivr.engine.services import ActionContext, ActionResult

        def hang(ctx):
            threading.Event().wait()  # a back-end that never answers
            return ActionResult("found")

        try:
            with_deadline(hang, 0.05)(ActionContext("CA1", "+8613800000000", "zh-CN", "1"))
        except TimeoutError:
            print("timed out")
        """
    )
    try:
        result = subprocess.run([sys.executable, "-c", script], check=False, cwd=ROOT, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit: a hung action's thread kept it alive")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "timed out"
