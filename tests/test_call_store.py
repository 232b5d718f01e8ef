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
