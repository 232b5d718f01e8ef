"""Start a real `ivr serve` process on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, SHIPPED_MENU
from tests.webhooks import QUEUES, TOKEN


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: where it listens and the database it writes."""

    url: str
    db_url: str
    process: subprocess.Popen[bytes]
    log: Path


def ivr_command() -> list[str]:
    """How to run the `ivr` console script of this environment."""
    script = Path(sys.executable).with_name("ivr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ivr.cli"]


@contextmanager
def running_server(tmp: Path, workers: int = 2, **env: str) -> Iterator[Server]:
    """`ivr serve` with test settings; stopped (and its workers with it) on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = env.pop("IVR_DATABASE_URL", f"sqlite:///{tmp / 'serve.sqlite3'}")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    full_env.update(
        {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": url,
            "IVR_DATABASE_URL": db_url,
            "IVR_MENU": str(SHIPPED_MENU),
            **QUEUES,
            **env,
        }
    )
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*ivr_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(url, process, log)
        yield Server(url, db_url, process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ivr serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"ivr serve did not become healthy in {timeout} s:\n{log.read_text(errors='replace')[-2000:]}")
