"""The webhook benchmark's baselines run under `ivr serve`'s gunicorn settings, so its ratios compare apps, not servers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bench.webhook import exchange, floor_server


def test_the_tutorial_baseline_runs_under_ivr_serves_worker_and_access_log(tmp_path: Path) -> None:
    """A tutorial request is answered by `ivr serve`'s worker (request read deadline), and logged as `ivr serve` logs it."""
    process, url = floor_server(1, tmp_path, "bench.tutorial_app:app")
    try:
        port = int(url.rsplit(":", 1)[1])
        status, body, _ = exchange("127.0.0.1", port, "/voice/gather?seq=4", {"Digits": "*"}, url)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    assert status == 200 and b"<Gather" in body and b'action="/voice/gather?seq=5"' in body
    log = (tmp_path / "bench.tutorial_app.log").read_text(errors="replace")
    assert "Using worker: ReadTimeoutWorker" in log  # not gunicorn's plain gthread
    assert '"POST /voice/gather?seq=4 HTTP/1.1" 200' in log  # the access log `ivr serve` keeps
