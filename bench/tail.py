"""Benchmark: the step latency's tail with many callers pressing keys at a human pace, the hotline beside the floor.

Two servers run under `ivr serve`'s gunicorn settings (bench/baseline_server.py runs the floor so): the
hotline (`ivr serve`, on a fresh PostgreSQL schema by default, dropped afterwards) and the floor
(bench/floor_app.py, one fixed TwiML document).
For each, in interleaved rounds, a load generator runs as its own process, in its own process group, at a
lower priority (nice), so that it takes the CPU only when the servers and the database leave it: N callers
each place a call on the shipped menu, press the keys of one of a few paths (each ending at a transfer) with
a think time drawn uniformly between --think-min and --think-max after every answer, and call again when the
call ends. Every press is a real, signed step with its seq in the action URL. The generator reports how late
its own callers woke up, so a tail it adds itself shows there as well as in the floor's p99.

    .venv/bin/python bench/tail.py [--callers 100] [--think-min 0.5] [--think-max 1.5] [--duration 30] [--rounds 2]
                                   [--workers 4] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test | sqlite]

`bench/tail.py generate URL …` is the load generator itself (one process per run, started by the above;
it prints its measurements as JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.webhook import exchange, floor_server  # noqa: E402
from tests.databases import private_schema  # noqa: E402
from tests.server import running_server  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Paths through the shipped menu's main menu, each ending at a transfer (the call is over for the webhooks).
PLANS = (("*", "3", "#", "0"), ("4", "#", "0"), ("1",), ("*", "*", "0"), ("3", "#", "4", "#", "0"))
GATHER_ACTION = re.compile(rb'<Gather\b[^>]*\baction="([^"]*)"')
REQUEST_TIMEOUT = 10.0


@dataclass
class Tally:
    """What one generator measured, in milliseconds, within its measured window."""

    press: list[float] = field(default_factory=list)  # latency of each key press (a mid-call step)
    start: list[float] = field(default_factory=list)  # latency of each call's first request
    lag: list[float] = field(default_factory=list)  # how late a caller woke from its think time
    errors: int = 0
    transfers: int = 0  # calls the server ended (no Gather in its answer)
    plans_done: int = 0  # calls whose keys ran out with the server still gathering (always, on the floor)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    niceness: int = 0
    own_group: bool = False


class Callers:
    """N simulated callers on one server, each a thread placing calls back to back at a human pace."""

    def __init__(self, url: str, start_path: str, think: tuple[float, float], warmup: float, duration: float) -> None:
        parsed = urlsplit(url)
        self.host, self.port, self.url = parsed.hostname or "127.0.0.1", parsed.port or 80, url
        self.start_path, self.think = start_path, think
        now = time.perf_counter()
        self.measure_from, self.until = now + warmup, now + warmup + duration
        self.tally = Tally(seconds=duration)
        self.lock = threading.Lock()

    def run(self, callers: int) -> Tally:
        """Run every caller until the window closes; the tally of the measured window."""
        cpu = time.process_time()
        threads = [threading.Thread(target=self._caller, args=(n,), daemon=True) for n in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.until - time.perf_counter() + 2 * REQUEST_TIMEOUT)
        self.tally.cpu_seconds = time.process_time() - cpu
        return self.tally

    def _caller(self, n: int) -> None:
        rng = random.Random(f"{n} {os.getpid()}")
        # Callers start spread over one think time, so they do not press in step.
        if not self._sleep(rng.uniform(0, self.think[1])):
            return
        while self._call(rng) and self._sleep(rng.uniform(*self.think)):
            pass

    def _call(self, rng: random.Random) -> bool:
        """One call along a random plan; False once the window has closed."""
        sid = "CA" + secrets.token_hex(16)  # Twilio's form
        answer = self._request(self.tally.start, self.start_path, {"CallSid": sid, "From": "+8613800000000"})
        for key in rng.choice(PLANS):
            action = _gather_action(answer)
            if action is None:
                break
            if not self._sleep(rng.uniform(*self.think)):
                return False
            answer = self._request(self.tally.press, action, {"CallSid": sid, "Digits": key})
        if answer is not None:
            with self.lock:
                if _gather_action(answer) is None:
                    self.tally.transfers += 1
                else:
                    self.tally.plans_done += 1
        return time.perf_counter() < self.until

    def _request(self, into: list[float], path: str, form: dict[str, str]) -> bytes | None:
        """A signed POST, its latency kept if it started in the measured window; None when it failed."""
        started = time.perf_counter()
        try:
            status, body, latency = exchange(self.host, self.port, path, form, self.url, timeout=REQUEST_TIMEOUT)
        except (OSError, http.client.HTTPException):
            status, body, latency = 599, b"", time.perf_counter() - started
        measured = self.measure_from <= started < self.until
        with self.lock:
            if measured:
                into.append(latency * 1000)
                self.tally.errors += status != 200
        return body if status == 200 else None

    def _sleep(self, seconds: float) -> bool:
        """Think for `seconds`, recording how late the wake-up was; False if the window closes first."""
        due = time.perf_counter() + seconds
        if due >= self.until:
            return False
        time.sleep(seconds)
        woke = time.perf_counter()
        if woke >= self.measure_from:
            with self.lock:
                self.tally.lag.append((woke - due) * 1000)
        return True


def _gather_action(answer: bytes | None) -> str | None:
    """The path a TwiML answer's <Gather> posts the next key to, or None if it gathers nothing."""
    found = GATHER_ACTION.search(answer or b"")
    return html.unescape(found.group(1).decode()) if found else None


def generate(argv: list[str]) -> None:
    """The load generator's own entry point: lower its priority, run the callers, print the tally as JSON."""
    parser = argparse.ArgumentParser(prog="tail.py generate")
    parser.add_argument("url")
    parser.add_argument("--start-path", default="/voice/incoming")
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--think-min", type=float, default=0.5)
    parser.add_argument("--think-max", type=float, default=1.5)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--nice", type=int, default=10)
    args = parser.parse_args(argv)
    os.nice(args.nice)
    callers = Callers(args.url, args.start_path, (args.think_min, args.think_max), args.warmup, args.duration)
    tally = callers.run(args.callers)
    tally.niceness, tally.own_group = os.nice(0), os.getpgrp() == os.getpid()
    json.dump(asdict(tally), sys.stdout)


def run_generator(url: str, start_path: str, args: argparse.Namespace) -> Tally:
    """Start a generator in its own session (so its own process group) and wait, bounded, for its tally."""
    command = [sys.executable, __file__, "generate", url, "--start-path", start_path, "--callers", str(args.callers)]
    command += ["--think-min", str(args.think_min), "--think-max", str(args.think_max), "--nice", str(args.nice)]
    command += ["--warmup", str(args.warmup), "--duration", str(args.duration)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=args.warmup + args.duration + 3 * REQUEST_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        raise
    if process.returncode != 0:
        raise RuntimeError(f"the load generator exited with {process.returncode}")
    return Tally(**json.loads(out))


@contextlib.contextmanager
def database(url: str, tmp: Path) -> Iterator[tuple[str, str]]:
    """The hotline's database URL and a description: a fresh PostgreSQL schema (dropped after), or a SQLite file."""
    if url == "sqlite":
        yield f"sqlite:///{tmp / 'tail.sqlite3'}", "SQLite (a file in a temporary folder)"
        return
    if not url.startswith("postgresql"):
        yield url, url
        return
    with private_schema(url, "bench_tail") as (private, schema):
        yield private, f"PostgreSQL, schema {schema} (dropped after)"


@contextlib.contextmanager
def floor(workers: int, tmp: Path) -> Iterator[str]:
    """The floor under gunicorn; its process group ended on exit."""
    process, url = floor_server(workers, tmp)
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank q-quantile of sorted values (0 if none)."""
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q + 0.5) - 1))] if ordered else 0.0


def row(name: str, latencies: list[float], seconds: float, errors: int) -> str:
    """One line of the table: rate, p50, p90, p99, max, errors."""
    o = sorted(latencies)
    rate = len(o) / seconds if seconds else 0.0
    cells = [percentile(o, q) for q in (0.5, 0.9, 0.99)] + [o[-1] if o else 0.0]
    return f"{name:26}{rate:8.1f}" + "".join(f"{c:9.1f}" for c in cells) + f"{errors:8d}"


def main() -> None:
    if sys.argv[1:2] == ["generate"]:
        generate(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--think-min", type=float, default=0.5, help="seconds (default 0.5)")
    parser.add_argument("--think-max", type=float, default=1.5, help="seconds (default 1.5)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per run (default 30, at most 300)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds at the start of each run (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per server (default 2)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--nice", type=int, default=10, help="the generator's niceness increment (default 10)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="a SQLAlchemy URL, or `sqlite` for a temporary file")
    args = parser.parse_args()
    if not (0 < args.duration <= 300 and 0 <= args.warmup <= 60 and 0 < args.callers <= 1000 and 0 < args.think_min <= args.think_max):
        parser.error("bounds: 0 < duration ≤ 300, 0 ≤ warmup ≤ 60, 0 < callers ≤ 1000, 0 < think-min ≤ think-max")

    tallies: dict[str, list[Tally]] = {"floor": [], "hotline": []}
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        tmp = Path(folder)
        db_url, described = stack.enter_context(database(args.database_url, tmp))
        hotline = stack.enter_context(
            running_server(tmp / "hotline", workers=args.workers, IVR_HOURS_OVERRIDE="open", IVR_DATABASE_URL=db_url)
        )
        targets = {"floor": (stack.enter_context(floor(args.workers, tmp)), "/voice/gather"), "hotline": (hotline.url, "/voice/incoming")}
        print(
            f"hotline on {described}; gunicorn {args.workers} workers × 8 threads for both; {args.callers} callers, "
            f"think {args.think_min:g}–{args.think_max:g} s; {args.duration:g} s measured per run × {args.rounds} rounds",
            flush=True,
        )
        for n in range(args.rounds):
            # Floor, hotline, then hotline, floor: a drift in the machine's load falls on both alike.
            for name in ("floor", "hotline") if n % 2 == 0 else ("hotline", "floor"):
                tallies[name].append(run_generator(*targets[name], args))

    print(f"{'':26}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    floor_rows, hot_rows = tallies["floor"], tallies["hotline"]
    seconds = args.duration * args.rounds
    press_floor = [x for t in floor_rows for x in t.press]
    press_hot = [x for t in hot_rows for x in t.press]
    print(row("floor (fixed TwiML)", press_floor, seconds, sum(t.errors for t in floor_rows)))
    print(row("hotline key press", press_hot, seconds, sum(t.errors for t in hot_rows)))
    print(row("hotline call start", [x for t in hot_rows for x in t.start], seconds, 0))
    p99 = {name: [percentile(sorted(t.press), 0.99) for t in rows] for name, rows in tallies.items()}
    print("p99 per round, ms: " + "; ".join(f"{name} {', '.join(f'{v:.1f}' for v in values)}" for name, values in p99.items()))
    ratio = percentile(sorted(press_hot), 0.99) / max(percentile(sorted(press_floor), 0.99), 1e-9)
    print(f"p99 hotline/floor: {ratio:.2f}")
    for name, rows in tallies.items():
        lag = sorted(x for t in rows for x in t.lag)
        cpu = sum(t.cpu_seconds for t in rows) / sum(args.warmup + t.seconds for t in rows)
        print(
            f"generator on {name}: nice {rows[0].niceness}, own process group {all(t.own_group for t in rows)}, "
            f"{cpu:.0%} of a core; woke late by p99 {percentile(lag, 0.99):.1f} ms, max {lag[-1] if lag else 0:.1f} ms; "
            f"calls ended by the server {sum(t.transfers for t in rows)}, keys ran out {sum(t.plans_done for t in rows)}"
        )


if __name__ == "__main__":
    main()
