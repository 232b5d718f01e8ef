"""Benchmark: load and validate generated menus of 10, 100 and 1,000 nodes; the cost must grow linearly.

Each menu is a tree of menus (up to 9 keys each) whose leaves are announcements and transfers,
with the settings of the shipped menu. Times are the median of several loads in this process;
the last column divides by the node count, so linear growth shows as a flat column.

    .venv/bin/python bench/menu_load.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.engine.engine import Engine  # noqa: E402
from ivr.loading.menu_loader import load_menu  # noqa: E402

HEADER = """menu:
  id: generated
  languages: [zh-CN, en-US]
  start: n0
  hours: {timezone: Asia/Shanghai, weekly: {daily: "09:00-21:00"}}
  defaults:
    invalid: {zh-CN: 输入有误。, en-US: "Sorry, not valid."}
    no_input: {zh-CN: 没有收到按键。, en-US: No key received.}
    on_max_failures: agent
    on_transfer_failure: bye
  loop_limit: {max_steps: 40, goto: bye}
  on_error: bye
  apology: {zh-CN: 抱歉。, en-US: Sorry.}
  fallback_queue: general
  queues: {general: {}}
nodes:
  agent: {type: transfer, queue: general, say: {zh-CN: 转人工。, en-US: Connecting you.}}
  bye: {type: hangup, say: {zh-CN: 再见。, en-US: Goodbye.}}
"""


def menu_text(size: int) -> str:
    """A valid menu with `size` generated nodes (plus the two fixed ones)."""
    lines = [HEADER]
    children: dict[int, list[int]] = {i: [] for i in range(size)}
    for i in range(1, size):
        children[(i - 1) // 9].append(i)
    for i in range(size):
        kids = children[i]
        if kids:
            keys = ", ".join(f'"{k + 1}": n{c}' for k, c in enumerate(kids))
            options = "".join(f"按{k + 1}选{c}；" for k, c in enumerate(kids))
            english = " ".join(f"Press {k + 1} for {c}." for k, c in enumerate(kids))
            lines.append(f'  n{i}:\n    type: menu\n    say: {{zh-CN: "{options}", en-US: "{english}"}}\n    keys: {{{keys}}}\n')
        elif i % 2:
            lines.append(f"  n{i}: {{type: announce, say: {{zh-CN: 第{i}条。, en-US: Item {i}.}}, next: back}}\n")
        else:
            lines.append(f"  n{i}: {{type: transfer, queue: general, say: {{zh-CN: 转接{i}。, en-US: Transfer {i}.}}}}\n")
    return "".join(lines)


def timed(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    print(f"{'nodes':>6} {'load+validate':>14} {'+ compile':>10} {'ms per node':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for size in (10, 100, 1000):
            path = Path(folder) / f"menu{size}.yaml"
            path.write_text(menu_text(size), encoding="utf-8")
            menu = load_menu(path)
            assert len(menu.nodes) == size + 2
            repeat = 20 if size < 1000 else 5
            load = timed(lambda p=path: load_menu(p), repeat)
            compile_ = timed(lambda m=menu: Engine(m), repeat)
            print(f"{size:>6} {load * 1000:>11.1f} ms {compile_ * 1000:>7.1f} ms {load * 1000 / size:>12.3f}")


if __name__ == "__main__":
    main()
