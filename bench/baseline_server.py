"""Run a baseline WSGI app (the floor, the tutorial) under exactly the gunicorn settings `ivr serve` runs the hotline with.

.venv/bin/python bench/baseline_server.py bench.tutorial_app:app --port 8001 [--workers 2] [--threads 8]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.serve import WsgiServer, gunicorn_options  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", help="module:attribute of the WSGI app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    WsgiServer(gunicorn_options("127.0.0.1", args.port, args.workers, args.threads), lambda: app).run()


if __name__ == "__main__":
    main()
