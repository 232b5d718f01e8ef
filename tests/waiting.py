"""Waiting in tests: poll a condition until it holds or a deadline passes, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    interval: float = 0.1,
    message: str | Callable[[], str] = "the condition",
) -> T:
    """Call `predicate` until it returns something truthy and return that; fail after `timeout` seconds.

    `message` (or what it returns, computed only on failure) says what was awaited. An exception
    raised by `predicate` propagates at once: use it to give up early (a server process that died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}")
        time.sleep(interval)  # the polling interval, not synchronisation: the loop re-checks the condition
