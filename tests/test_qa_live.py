"""QA flows give the same verdicts in process and against a live `ivr serve`, whatever queue addresses are set."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ivr.testing.phone import HttpTransport, PhoneCall
from tests.server import running_server
from tests.webhooks import QUEUES, TOKEN
from tests.workspace import copy_workspace, run_ivr

RESULT = re.compile(r"^(PASS|FAIL|SKIP|ERROR) +\d+ ms +(\S+)", re.M)


def verdicts(output: str) -> dict[str, str]:
    """Flow file -> PASS/FAIL/SKIP/ERROR, from `ivr qa run`'s lines."""
    return {path: status for status, path in RESULT.findall(output)}


@pytest.mark.parametrize(
    "queues",
    [QUEUES, {}, {"IVR_QUEUE_BUSINESS": ""}],
    ids=["queue-addresses-set", "no-queue-variables", "business-queue-off"],
)
def test_live_server_gives_the_in_process_verdicts(tmp_path: Path, queues: dict[str, str]) -> None:
    """Every shipped flow passes or fails alike in process and over HTTP against a server started as the README says."""
    env = {"TWILIO_AUTH_TOKEN": TOKEN, **queues}
    in_process = run_ivr("qa", "run", "tests/flows", env=env, timeout=300)
    local = verdicts(in_process.stdout)
    assert len(local) >= 70, in_process.stdout[-2000:]
    with running_server(tmp_path, queues=queues, IVR_TEST_CLOCK="1") as server:
        live_run = run_ivr("qa", "run", "tests/flows", "--url", server.url, env=env, timeout=300)
    live = verdicts(live_run.stdout)
    differ = {path: (local.get(path), live.get(path)) for path in local.keys() | live.keys() if local.get(path) != live.get(path)}
    assert differ == {}, live_run.stdout[-3000:]
    if "IVR_QUEUE_BUSINESS" in queues and not queues["IVR_QUEUE_BUSINESS"]:
        # A queue taken off the line fails its transfers in both, the same way: the flows that expect it fail.
        failed = sorted(path for path, status in local.items() if status == "FAIL")
        assert failed and all("business" in Path(path).read_text(encoding="utf-8") for path in failed)
        assert in_process.returncode == live_run.returncode == 1
    else:
        assert set(local.values()) == {"PASS"}, in_process.stdout[-2000:]
        assert in_process.returncode == live_run.returncode == 0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make test installs it)")
def test_flows_pass_against_a_server_that_plays_rendered_audio(tmp_path: Path) -> None:
    """With both languages played from built audio, the server answers <Play>; QA hears each prompt and every shipped flow passes."""
    menu = copy_workspace(tmp_path)
    text = menu.read_text(encoding="utf-8")
    menu.write_text(
        text.replace("render: cmn-latn-pinyin}", "render: cmn-latn-pinyin, source: audio}").replace(
            "render: en-us}", "render: en-us, source: audio}"
        ),
        encoding="utf-8",
    )
    audio = tmp_path / "audio"
    built = run_ivr("audio", "build", "--menu", str(menu), "--out", str(audio), timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    env = {"TWILIO_AUTH_TOKEN": TOKEN}
    with running_server(tmp_path, IVR_TEST_CLOCK="1", IVR_AUDIO_DIR=str(audio), IVR_MENU=str(menu)) as server:
        live = run_ivr("qa", "run", "tests/flows", "--url", server.url, env=env, timeout=300)
        greeting = PhoneCall(HttpTransport(server.url), server.url, TOKEN).post("/voice/incoming", CallStatus="ringing")
    assert greeting.find(".//Play") is not None and greeting.find(".//Say") is None, "the greeting should be played, not spoken"
    results = verdicts(live.stdout)
    assert len(results) >= 70 and set(results.values()) == {"PASS"}, live.stdout[-3000:]
