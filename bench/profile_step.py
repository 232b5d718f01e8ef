"""Profile: where one mid-call webhook step spends its time, in process (no gunicorn, no network).

A call is started on the shipped menu (SQLite file in a temporary folder, the same app `ivr serve`
builds), then `--steps` signed gather requests (the repeat key) go through Flask's test client under
cProfile. The time is reported by part of the step: the signature check, the call-record read, the
engine, the TwiML, the store write, Flask itself; then the functions that took the most time.

    .venv/bin/python bench/profile_step.py [--steps 2000] [--top 25] [--database-url URL] [--plain]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from tests.webhooks import PUBLIC_URL, QUEUES, TOKEN  # noqa: E402

# Parts of a step, by the functions that do them (cumulative time of the outermost one counts).
PARTS = {
    "signature check": ("ivr/web/signature.py", "is_signed"),
    "call record read": ("ivr/store/calls.py", "load"),
    "engine step": ("ivr/engine/engine.py", "handle"),
    "TwiML": ("ivr/web/twiml.py", "render"),
    "store write (step, story)": ("ivr/store/calls.py", "advance"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--plain", action="store_true", help="time the steps without the profiler, and print only that")
    args = parser.parse_args()

    from ivr.web import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'profile.sqlite3'}"
        config = {
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": PUBLIC_URL,
            "IVR_DATABASE_URL": url,
            "IVR_SPOOL_DIR": str(Path(folder) / "spool"),
            "IVR_HOURS_OVERRIDE": "open",
            "IVR_AUDIO_DIR": str(Path(folder) / "no-audio"),
            **QUEUES,
        }
        app = create_app(config)
        client = app.test_client()
        validator = RequestValidator(TOKEN)

        def post(path: str, form: dict[str, str]) -> None:
            signature = validator.compute_signature(PUBLIC_URL + path, form)
            answer = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
            assert answer.status_code == 200, answer.data[:300]

        requests = []
        call = 0
        while len(requests) < args.steps:
            call += 1
            sid = "CA" + hashlib.sha256(f"profile {call}".encode()).hexdigest()[:32]
            post("/voice/incoming", {"CallSid": sid, "From": "+8613800000000"})
            requests += [(f"/voice/gather?seq={seq}", {"CallSid": sid, "Digits": "*"}) for seq in range(1, 36)]
        requests = requests[: args.steps]
        # Start every call first: the profile then holds mid-call steps only.
        profile = cProfile.Profile()
        started = time.perf_counter()
        if not args.plain:
            profile.enable()
        for path, form in requests:
            post(path, form)
        profile.disable()
        elapsed = time.perf_counter() - started
    if args.plain:
        print(f"{len(requests)} steps in {elapsed:.2f} s: {elapsed / len(requests) * 1e6:.0f} µs a step (client and signing included)")
        return

    stats = pstats.Stats(profile)
    per_step = elapsed / len(requests) * 1e6
    print(f"{len(requests)} steps in {elapsed:.2f} s under the profiler: {per_step:.0f} µs a step (client and signing included)")
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())  # all own time
    print(f"{'part':32}{'µs/step':>10}{'share':>8}")
    for part, (file, name) in PARTS.items():
        cumulative = sum(entry[3] for (path, _, fn), entry in raw.items() if path.endswith(file) and fn == name)
        print(f"{part:32}{cumulative / len(requests) * 1e6:10.0f}{cumulative / total:8.0%}")
    print()
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
