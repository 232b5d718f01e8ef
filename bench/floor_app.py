"""The floor for the webhook benchmark: a bare Flask route answering a fixed TwiML document."""

from __future__ import annotations

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/gather?seq=2" actionOnEmptyResult="false" '
    'finishOnKey="" input="dtmf" method="POST" numDigits="1" timeout="6"><Say language="cmn-CN" voice="Polly.Zhiyu">'
    "商务合作请按1；订单查询请按2；账号登录问题请按3；了解技术支持服务范围请按4；人工服务请按0。For English, press 9. 重听请按星号键。"
    '</Say></Gather><Redirect method="POST">/voice/gather?seq=2&amp;silence=1</Redirect></Response>'
)

app = Flask(__name__)


@app.post("/voice/gather")
def gather() -> Response:
    """Always the same document."""
    return Response(TWIML, mimetype="text/xml")
