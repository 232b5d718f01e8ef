"""The tutorial baseline for the webhook benchmark: what Twilio's IVR phone-tree tutorial does per request.

Its menu view reads the pressed key from the form, builds a `VoiceResponse` with a `<Gather>` around a
`<Say>` for the chosen branch (here: the main menu again, as for the repeat key), and returns it. No
signature check and no state: every request stands alone. The prompt, voice and Gather attributes are
the hotline's own, so both answer the same document's worth of work.
"""

from __future__ import annotations

from flask import Flask, Response, request
from twilio.twiml.voice_response import VoiceResponse

MAIN_MENU = (
    "商务合作请按1；订单查询请按2；账号登录问题请按3；了解技术支持服务范围请按4；人工服务请按0。For English, press 9. 重听请按星号键。"
)
GOODBYE = "感谢您的来电，再见。"

app = Flask(__name__)


def _menu(response: VoiceResponse, seq: int) -> None:
    with response.gather(num_digits=1, action=f"/voice/gather?seq={seq}", method="POST", timeout=6, finish_on_key="") as gather:
        gather.say(MAIN_MENU, voice="Polly.Zhiyu", language="cmn-CN")
    response.redirect(f"/voice/gather?seq={seq}&silence=1", method="POST")


@app.post("/voice/gather")
def gather() -> Response:
    """The tutorial's menu view: the key chooses the branch; any key but 0 hears the menu again."""
    digits = request.form.get("Digits", "")
    seq = int(request.args.get("seq", "1")) + 1
    response = VoiceResponse()
    if digits == "0":
        response.say(GOODBYE, voice="Polly.Zhiyu", language="cmn-CN")
        response.hangup()
    else:
        _menu(response, seq)
    return Response(str(response), mimetype="text/xml")
