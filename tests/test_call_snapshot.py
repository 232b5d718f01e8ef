"""Call snapshots: one saved under other conditions than the current menu's still continues."""

from __future__ import annotations

from ivr.engine.engine import Engine
from ivr.engine.events import Entry
from ivr.engine.snapshot import CallSnapshot
from tests.conftest import IN_HOURS


def test_snapshot_in_an_unknown_language_does_not_raise(engine: Engine) -> None:
    """A snapshot in a language the menu no longer has continues in the default language."""
    step = engine.start("CA-lang", "+861", IN_HOURS)
    odd = CallSnapshot.from_dict({**step.snapshot.to_dict(), "lang": "ja-JP"})
    result = engine.handle(odd, Entry("3"), IN_HOURS)
    assert result.snapshot.lang == "zh-CN" and result.actions
