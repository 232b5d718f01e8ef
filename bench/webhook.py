"""Benchmark: a mid-call gather step under gunicorn on loopback, against the tutorial baseline and a fixed-TwiML floor.

Three servers run with the same gunicorn settings; the same client drives all in the same run, interleaved:
the floor (bench/floor_app.py: a bare Flask route answering one fixed document), the tutorial baseline
(bench/tutorial_app.py: what Twilio's IVR tutorial does per request, a `VoiceResponse` Gather+Say,
no signature, no state) and the hotline.
The measured request is a real step of a call in progress: signature check, call record read,
engine step, record write, TwiML. Each simulated caller presses * (repeat) until near the
menu's loop limit, then hangs up and calls again.

    .venv/bin/python bench/webhook.py [--workers 2] [--concurrency 8] [--requests 3000] [--history-cost]

`--history-cost` also runs the hotline with IVR_CALL_HISTORY=0 (no story lines written), interleaved
with the others, and prints what writing each step's story adds to the p50 step latency.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from tests.server import free_port, running_server  # noqa: E402
from tests.webhooks import TOKEN  # noqa: E402

STEPS_PER_CALL = 35  # stays under the shipped menu's loop limit (loop_limit max_steps: 80 entries)


def post(host: str, port: int, path: str, form: dict[str, str], url: str) -> tuple[int, float]:
    """One signed POST on a fresh connection (gunicorn's sync workers close after each request)."""
    status, _, latency = exchange(host, port, path, form, url)
    return status, latency


def exchange(host: str, port: int, path: str, form: dict[str, str], url: str, timeout: float = 30) -> tuple[int, bytes, float]:
    """One signed POST on a fresh connection: its status, body and latency (signing is not timed)."""
    body = urllib.parse.urlencode(form)
    signature = RequestValidator(TOKEN).compute_signature(url + path, form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    return response.status, answer, time.perf_counter() - start


class Load:
    """Concurrent simulated callers; records the latency of every measured step."""

    def __init__(self, url: str, concurrency: int, total: int, real_calls: bool, think: float = 0.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port, self.url = parsed.hostname or "127.0.0.1", parsed.port or 80, url
        self.concurrency, self.total, self.real_calls = concurrency, total, real_calls
        self.think = think  # seconds a caller waits between key presses (0: back to back, saturation)
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()
        self.issued = 0

    def _take(self) -> bool:
        with self.lock:
            if self.issued >= self.total:
                return False
            self.issued += 1
            return True

    def caller(self, n: int) -> None:
        call = 0
        while True:
            call += 1
            sid = "CA" + hashlib.sha256(f"bench {n} {call} {os.getpid()}".encode()).hexdigest()[:32]  # Twilio's form
            if self.real_calls:
                post(self.host, self.port, "/voice/incoming", {"CallSid": sid, "From": "+861"}, self.url)
            for seq in range(1, STEPS_PER_CALL + 1):
                if not self._take():
                    return
                status, latency = post(self.host, self.port, f"/voice/gather?seq={seq}", {"CallSid": sid, "Digits": "*"}, self.url)
                with self.lock:
                    self.latencies.append(latency)
                    self.errors += status != 200
                if self.think:
                    time.sleep(self.think * (0.5 + random.random()))  # callers do not press in step

    def run(self) -> tuple[float, float, float]:
        threads = [threading.Thread(target=self.caller, args=(i,)) for i in range(self.concurrency)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        ordered = sorted(self.latencies)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return len(ordered) / elapsed, p50 * 1000, p99 * 1000


def floor_server(workers: int, tmp: Path, app: str = "bench.floor_app:app") -> tuple[subprocess.Popen[bytes], str]:
    """A bare Flask app (the floor, or the tutorial baseline) under the gunicorn settings of `ivr serve` (bench/baseline_server.py)."""
    port = free_port()
    with (tmp / f"{app.split(':', maxsplit=1)[0]}.log").open("wb") as log:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "baseline_server.py"), app, "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            post("127.0.0.1", port, "/voice/gather", {}, f"http://127.0.0.1:{port}")
            break
        except OSError:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a server's master `pid` and its workers (its children), from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    total = 0.0
    for process in [pid, *(int(child) for child in children.read_text().split())]:
        with contextlib.suppress(OSError):  # a worker that exited between the two reads
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between a caller's key presses (default 0: saturation)")
    parser.add_argument("--history-cost", action="store_true", help="also run without call history and compare p50")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per server (default 2)")
    args = parser.parse_args()
    print(
        f"all three under `ivr serve`'s gunicorn settings ({args.workers} gthread workers × 8 threads, access log);"
        f" {args.concurrency} concurrent callers; {args.think:g} s between presses"
    )

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = {"IVR_HOURS_OVERRIDE": "open"}
        if args.database_url:
            env["IVR_DATABASE_URL"] = args.database_url
        floor_process, floor_url = floor_server(args.workers, tmp)
        tutorial_process, tutorial_url = floor_server(args.workers, tmp, "bench.tutorial_app:app")
        try:
            with contextlib.ExitStack() as servers:
                server = servers.enter_context(running_server(tmp / "hotline", workers=args.workers, **env))
                targets = [
                    ("floor", floor_url, False, floor_process.pid),
                    ("tutorial", tutorial_url, False, tutorial_process.pid),
                    ("hotline", server.url, True, server.process.pid),
                ]
                if args.history_cost:
                    quiet = servers.enter_context(running_server(tmp / "quiet", workers=args.workers, IVR_CALL_HISTORY="0", **env))
                    targets.append(("no history", quiet.url, True, quiet.process.pid))
                results: dict[str, list[tuple[float, float, float, int, float]]] = {}
                # Warm up each (worker start-up, first database connections), unmeasured.
                for _, url, real, _ in targets:
                    Load(url, args.concurrency, max(200, args.requests // 10), real).run()
                # Interleave: floor, hotline, floor, hotline — noise on the shared machine hits every one.
                for name, url, real, pid in targets * args.rounds:
                    load = Load(url, args.concurrency, args.requests // args.rounds, real, args.think)
                    cpu_before = server_cpu_seconds(pid)
                    rate, p50, p99 = load.run()
                    cpu_us = (server_cpu_seconds(pid) - cpu_before) / max(1, len(load.latencies)) * 1e6
                    results.setdefault(name, []).append((rate, p50, p99, load.errors, cpu_us))
        finally:
            for process in (floor_process, tutorial_process):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)

    def summary(rows: list[tuple[float, float, float, int, float]]) -> tuple[float, float, float, int, float]:
        return (
            sum(r[0] for r in rows) / len(rows),
            statistics.median(r[1] for r in rows),
            max(r[2] for r in rows),
            sum(r[3] for r in rows),
            statistics.median(r[4] for r in rows),
        )

    def row(label: str, figures: tuple[float, float, float, int, float]) -> str:
        rate, p50, p99, errors, cpu_us = figures
        return f"{label:28}{rate:10.0f}{p50:10.1f}{p99:10.1f}{errors:8d}{cpu_us:14.0f}"

    floor, tutorial, hot = summary(results["floor"]), summary(results["tutorial"]), summary(results["hotline"])
    # The server's CPU per request (its master and workers, user + system): what a request costs the host, less
    # moved by the machine's other load than the rate (the hotline's includes its share of each call's start); the client's own cost,
    # the same for all three, is not in it.
    print(f"{'':28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'server µs/req':>14}")
    print(row("floor (bare Flask TwiML)", floor))
    print(row("tutorial (VoiceResponse)", tutorial))
    print(row("hotline mid-call gather", hot))
    if "no history" in results:
        quiet = summary(results["no history"])
        print(row("hotline, IVR_CALL_HISTORY=0", quiet))
        rounds = [h[1] - q[1] for h, q in zip(results["hotline"], results["no history"], strict=True)]
        print(f"call history adds to p50: {hot[1] - quiet[1]:+.2f} ms (per round: {', '.join(f'{r:+.2f}' for r in rounds)})")
    print(f"throughput hotline/floor: {hot[0] / floor[0]:.2f}   p99 hotline/floor: {hot[2] / floor[2]:.2f}")
    print(
        f"throughput hotline/tutorial: {hot[0] / tutorial[0]:.2f}   per round: "
        + ", ".join(f"{h[0] / t[0]:.2f}" for h, t in zip(results["hotline"], results["tutorial"], strict=True))
    )


if __name__ == "__main__":
    main()
