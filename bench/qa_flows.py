"""Benchmark: QA flows per second for 1,000 flows in process, with one and with two worker processes.

The shipped flows (tests/flows) are copied round-robin into a temporary folder until there are
`--flows` of them; both runs go through the same code as `ivr qa run --workers N`.

    .venv/bin/python bench/qa_flows.py [--flows 1000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.qa.runner import RunOptions, run_flows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1000)
    args = parser.parse_args()
    sources = sorted((ROOT / "tests" / "flows").rglob("*.yaml"))
    menu = ROOT / "menus" / "volcengine.yaml"
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(args.flows):
            source = sources[i % len(sources)]
            target = Path(folder) / f"{i:05d}-{source.name}"
            shutil.copy(source, target)
            paths.append(target)
        options = RunOptions(menu, menu_override=menu)  # the copies' relative menu paths no longer resolve
        rates = {}
        for workers in (1, 2):
            started = time.perf_counter()
            results = run_flows(paths, options, workers=workers)
            elapsed = time.perf_counter() - started
            failed = [r for r in results if r.status != "passed"]
            assert not failed, failed[0].message
            rates[workers] = len(results) / elapsed
            print(f"--workers {workers}: {len(results)} flows in {elapsed:.2f} s = {rates[workers]:.0f} flows/s")
    print(f"two workers / one: {rates[2] / rates[1]:.2f}")


if __name__ == "__main__":
    main()
