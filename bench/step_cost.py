"""Benchmark: the server's own CPU for one mid-call step, against the tutorial app's request, in process.

Both WSGI apps are called directly with environs built beforehand (no client, no gunicorn, no
network), interleaved round by round, so what is compared is only what each app does for a request:
the hotline's signature check, durable read and write, engine step and TwiML, against the tutorial's
`VoiceResponse`. The hotline's steps are the repeat key pressed in calls started on the shipped menu
(a SQLite file in a temporary folder, or `--database-url`).

    .venv/bin/python bench/step_cost.py [--steps 3000] [--rounds 3] [--database-url URL | --database-time]

`--database-time` also reports how much of the hotline's step is spent inside SQLite's statements (its
driver's cursors timed), which no change to the step's Python can take away.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from tests.webhooks import PUBLIC_URL, QUEUES, TOKEN  # noqa: E402

STEPS_PER_CALL = 35  # repeat presses per call, below the shipped menu's loop limit
App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path: str, form: dict[str, str], signature: str = "") -> dict[str, Any]:
    """A POST of `form` to `path` as gunicorn hands it to the app."""
    route, _, query = path.partition("?")
    body = urllib.parse.urlencode(form).encode()
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
    }
    if signature:
        env["HTTP_X_TWILIO_SIGNATURE"] = signature
    return env


def answer(app: App, env: dict[str, Any]) -> bytes:
    """Call the app; its body, which must come with a 200."""
    statuses: list[str] = []
    body = b"".join(app(env, lambda status, headers, exc_info=None: statuses.append(status)))
    if not statuses[0].startswith("200"):
        raise SystemExit(f"{env['PATH_INFO']} answered {statuses[0]}: {body[:300]!r}")
    return body


class Calls:
    """Signed steps of new calls on the hotline, started as they are needed."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.validator = RequestValidator(TOKEN)
        self.started = 0

    def signed(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        """The request, signed as Twilio signs it."""
        return environ(path, form, self.validator.compute_signature(PUBLIC_URL + path, form))

    def steps(self, count: int) -> list[dict[str, Any]]:
        """`count` repeat-key steps, every call they belong to already answered."""
        out: list[dict[str, Any]] = []
        while len(out) < count:
            self.started += 1
            sid = "CA" + hashlib.sha256(f"step cost {self.started}".encode()).hexdigest()[:32]
            answer(self.app, self.signed("/voice/incoming", {"CallSid": sid, "From": "+8613800000000"}))
            out += [self.signed(f"/voice/gather?seq={seq}", {"CallSid": sid, "Digits": "*"}) for seq in range(1, STEPS_PER_CALL + 1)]
        return out[:count]


def _timed(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`, its time added into `DRIVER_SECONDS`."""
    started = time.perf_counter()
    try:
        return call(*args)
    finally:
        DRIVER_SECONDS[0] += time.perf_counter() - started


class _TimedCursor(sqlite3.Cursor):
    """A driver cursor whose every call into SQLite is timed."""

    def execute(self, *args: Any) -> Any:  # type: ignore[override]
        return _timed(super().execute, *args)

    def executemany(self, *args: Any) -> Any:  # type: ignore[override]
        return _timed(super().executemany, *args)

    def fetchall(self) -> list[Any]:
        return _timed(super().fetchall)  # type: ignore[no-any-return]


class _TimedConnection(sqlite3.Connection):
    """A SQLite connection whose cursors are timed."""

    def cursor(self, factory: Any = _TimedCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


DRIVER_SECONDS = [0.0]  # time spent inside SQLite's statements, summed over timed connections


def time_the_database(engine: Any) -> None:
    """Open the engine's SQLite connections from now on with timed cursors (the pool is emptied first)."""

    @event.listens_for(engine, "do_connect")
    def _open_timed(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["factory"] = _TimedConnection

    engine.dispose()


def microseconds_each(app: App, envs: list[dict[str, Any]]) -> float:
    """The mean time of one request, over all of `envs`."""
    started = time.perf_counter()
    for env in envs:
        answer(app, env)
    return (time.perf_counter() - started) / len(envs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--database-time", action="store_true", help="also time SQLite's own statements within the step (SQLite only)")
    args = parser.parse_args()
    if args.database_time and args.database_url:
        parser.error("--database-time times SQLite's statements: leave out --database-url")

    import tutorial_app

    from ivr.web import create_app

    with tempfile.TemporaryDirectory() as folder:
        config = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": PUBLIC_URL,
            "IVR_DATABASE_URL": args.database_url or f"sqlite:///{Path(folder) / 'step-cost.sqlite3'}",
            "IVR_SPOOL_DIR": str(Path(folder) / "spool"),
            "IVR_HOURS_OVERRIDE": "open",
            "IVR_AUDIO_DIR": str(Path(folder) / "no-audio"),
            **QUEUES,
        }
        hotline = create_app(config)
        if args.database_time:
            time_the_database(hotline.extensions["ivr.store"].engine)
        calls = Calls(hotline.wsgi_app)
        tutorial: App = tutorial_app.app.wsgi_app
        hotline_us, tutorial_us, database_us = [], [], []
        for _ in range(args.rounds):
            steps = calls.steps(args.steps)  # new calls each round: a step is taken once
            presses = [
                environ(f"/voice/gather?seq={i % STEPS_PER_CALL + 1}", {"CallSid": "CA" + "0" * 32, "Digits": "*"})
                for i in range(args.steps)
            ]
            DRIVER_SECONDS[0] = 0.0
            hotline_us.append(microseconds_each(hotline.wsgi_app, steps))
            database_us.append(DRIVER_SECONDS[0] / len(steps) * 1e6)
            tutorial_us.append(microseconds_each(tutorial, presses))
    h, t = statistics.median(hotline_us), statistics.median(tutorial_us)
    print(f"one request's server CPU, in process, {args.steps} per round, median of {args.rounds} rounds")
    print(f"  hotline step:      {h:8.0f} µs   (rounds: {', '.join(f'{x:.0f}' for x in hotline_us)})")
    print(f"  tutorial request:  {t:8.0f} µs   (rounds: {', '.join(f'{x:.0f}' for x in tutorial_us)})")
    print(f"  hotline / tutorial: {h / t:7.2f}x the time")
    if args.database_time:
        d = statistics.median(database_us)
        rounds = ", ".join(f"{x:.0f}" for x in database_us)
        print(f"  of the hotline's step, in SQLite's statements: {d:.0f} µs (rounds: {rounds}); the rest: {h - d:.0f} µs")


if __name__ == "__main__":
    main()
