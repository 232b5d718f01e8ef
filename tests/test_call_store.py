"""The call records the webhooks keep: any caller Twilio sends fits, on every database backend."""

from __future__ import annotations

from pathlib import Path

from tests.webhooks import Hotline, make_hotline


def test_long_sip_caller_is_served(tmp_path: Path, database_url: str) -> None:
    """A caller whose From is a long SIP URI gets the menu and a stored call record on every backend."""
    hotline: Hotline = make_hotline(tmp_path, IVR_DATABASE_URL=database_url)
    sip = "sip:+8613911112222@volcengine-aftersales-hotline.sip.ap-southeast-1.twilio.com"
    call = hotline.call("3", caller=sip)
    assert "账号登录问题" in "\n".join(line.get("text", "") for line in call.lines)
    record = hotline.store.calls.load(call.call_sid)
    assert record is not None and record.caller == sip and record.seq == 2


def test_a_repeated_status_callback_keeps_the_first_final_values(tmp_path: Path) -> None:
    """Twilio may deliver the status callback twice: the second one never blanks the call's duration."""
    from ivr.engine.snapshot import CallSnapshot
    from ivr.store import Store, sqlite_url
    from tests.conftest import IN_HOURS

    store = Store(sqlite_url(tmp_path / "calls.sqlite3"))
    store.calls.begin("CAdur1", "+861", "+864008500030", CallSnapshot("CAdur1", "+861", "zh-CN", "main", "v1"), "<Response/>", IN_HOURS)
    assert store.calls.close("CAdur1", "completed", 42, IN_HOURS)
    store.calls.close("CAdur1", "completed", None, IN_HOURS)
    record = store.calls.load("CAdur1")
    assert record is not None and (record.status, record.duration) == ("completed", 42)
    store.close()
