"""Start a real `ivr serve` process on 127.0.0.1 for end-to-end tests, and ask it how it is."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, SHIPPED_MENU
from tests.waiting import wait_until
from tests.webhooks import NO_AUDIO, QUEUES, TOKEN
from tests.workspace import ivr_command, ivr_env

__all__ = ["Server", "free_port", "health", "ivr_command", "running_server", "wait_for_health"]


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


@contextmanager
def running_server(
    tmp: Path, workers: int = 2, queues: Mapping[str, str] = QUEUES, serve_args: Sequence[str] = (), **env: str
) -> Iterator[Server]:
    """`ivr serve` with test settings (`queues`: its IVR_QUEUE_*, `serve_args`: more flags); stopped, with its workers, on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = env.pop("IVR_DATABASE_URL", f"sqlite:///{tmp / 'serve.sqlite3'}")
    full_env = ivr_env(
        {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": url,
            "IVR_DATABASE_URL": db_url,
            "IVR_MENU": str(SHIPPED_MENU),
            "IVR_AUDIO_DIR": str(NO_AUDIO),
            "IVR_SPOOL_DIR": str(tmp / "spool"),  # the test's own: never the checkout's var/spool, which another run would drain
            **queues,
            **env,
        }
    )
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*ivr_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *serve_args],
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
    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"ivr serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_until(healthy, timeout, message=lambda: f"ivr serve to become healthy:\n{log.read_text(errors='replace')[-2000:]}")


def health(server: Server) -> dict[str, Any]:
    """The server's /healthz body (a request, which also lets the worker that answers check its menu files)."""
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def wait_for_health(
    servers: list[Server],
    predicate: Callable[[dict[str, Any]], object],
    *,
    settled_after: float | None = None,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """Poll /healthz of every server until predicate(body) holds for each, and return the bodies.

    A worker checks its menu files (and the published version) at most once per IVR_RELOAD_INTERVAL,
    and which worker answers a request is up to gunicorn. So /healthz reporting a change proves only
    that one worker took it; a worker that checked just before the change still serves the old version
    until an interval has passed. With `settled_after` (a `time.monotonic()` reading: the moment of the
    change plus the reload interval) the wait also lasts until then, after which the next request to
    any worker is served from the change.
    """
    last: list[dict[str, Any]] = []

    def done() -> list[dict[str, Any]] | None:
        last[:] = [health(s) for s in servers]
        settled = settled_after is None or time.monotonic() >= settled_after
        return list(last) if settled and all(predicate(body) for body in last) else None

    return wait_until(done, timeout, message=lambda: f"/healthz to show the change; last bodies: {last}")
