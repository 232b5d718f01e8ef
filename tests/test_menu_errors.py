"""Deliberately broken menus give the right error at the right line and column.

Every file in tests/menus/broken/ is tests/menus/broken/_valid.yaml (a clean menu) with one mistake
an ops engineer really makes, and says at its top what `ivr menu check` must report:

    # expect: LINE:COL TEXT     a problem at LINE:COL whose message contains TEXT
    # expect-node: NAME         ...and tagged with node NAME (applies to the `expect` line above it)
    # expect-no: TEXT           no problem's message contains TEXT (a misleading follow-on error)
    # xfail: REASON             a known loader gap; the expectations say what should happen

The same report must come out whatever PYTHONHASHSEED is, so the problems are also compared across
several interpreter runs with different hash seeds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from pathlib import Path

import pytest

from ivr.errors import Problem
from ivr.loading.menu_loader import check_menu, load_menu
from ivr.nodes import HangupNode, MenuNode
from tests.workspace import run_ivr

HERE = Path(__file__).parent
MENUS = HERE / "menus"
BROKEN = MENUS / "broken"
BASELINE = BROKEN / "_valid.yaml"
SHIPPED = HERE.parent / "menus" / "volcengine.yaml"
BROKEN_FILES = sorted(p for p in BROKEN.glob("*.yaml") if p != BASELINE)
HASH_SEEDS = range(1, 7)  # enough runs that an order-dependent report is caught every time

DIRECTIVE = re.compile(r"#\s*(expect|expect-node|expect-no|xfail)\s*:\s*(.*\S)\s*$")
LOCATED = re.compile(r"(\d+):(\d+)\s+(.+)")


@dataclass
class Expect:
    """One `# expect:` line: where a problem must be and what its message must contain."""

    line: int
    column: int
    text: str
    node: str | None = None

    def matches(self, problem: Problem) -> bool:
        """Whether `problem` is the one this line asks for."""
        return (
            (problem.line, problem.column) == (self.line, self.column)
            and self.text in problem.message
            and (self.node is None or problem.node == self.node)
        )

    def __str__(self) -> str:
        node = f" [{self.node}]" if self.node else ""
        return f"{self.line}:{self.column}{node} {self.text}"


@dataclass
class Expectations:
    """Everything the comments of one broken menu ask for."""

    expects: list[Expect] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    xfail: str | None = None


def read_expectations(path: Path) -> Expectations:
    """Parse the `# expect...` and `# xfail:` comment lines of a broken menu."""
    found = Expectations()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not re.match(r"#\s*(expect|xfail)", line):
            continue
        directive = DIRECTIVE.fullmatch(line)
        if directive is None:
            raise ValueError(f"{path.name}:{number}: cannot read {raw!r}")
        kind, value = directive.groups()
        if kind == "expect":
            located = LOCATED.fullmatch(value)
            if located is None:
                raise ValueError(f"{path.name}:{number}: expected '# expect: LINE:COL TEXT', got {raw!r}")
            found.expects.append(Expect(int(located[1]), int(located[2]), located[3]))
        elif kind == "expect-node":
            if not found.expects:
                raise ValueError(f"{path.name}:{number}: '# expect-node:' must follow an '# expect:' line")
            found.expects[-1].node = value
        elif kind == "expect-no":
            found.absent.append(value)
        else:
            found.xfail = value
    if not found.expects:
        raise ValueError(f"{path.name}: no '# expect:' line")
    return found


def broken_case(path: Path) -> object:
    """A pytest parameter for one broken menu, strictly xfailed when its comments say so."""
    reason = read_expectations(path).xfail
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


def listing(problems: list[Problem]) -> str:
    """Problems one per line, as `ivr menu check` prints them, for assertion messages."""
    return "\n".join(f"  {p}" for p in problems) or "  (none)"


@cache
def reports_by_seed() -> dict[int, dict[str, list[str]]]:
    """check_menu's report for every broken menu, from one fresh interpreter per hash seed (run in parallel)."""
    script = (
        "import json, sys\n"
        "from ivr.loading.menu_loader import check_menu\n"
        "print(json.dumps({p: [str(x) for x in check_menu(p)] for p in sys.argv[1:]}))\n"
    )
    paths = [str(p) for p in BROKEN_FILES]
    runs = {
        seed: subprocess.Popen(
            [sys.executable, "-c", script, *paths],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        )
        for seed in HASH_SEEDS
    }
    reports = {}
    for seed, run in runs.items():
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, f"check_menu crashed with PYTHONHASHSEED={seed}"
        reports[seed] = json.loads(out)
    return reports


def run_cli(path: Path) -> subprocess.CompletedProcess[str]:
    """`ivr menu check PATH` in a fresh interpreter."""
    return run_ivr(
        "menu",
        "check",
        str(path),
    )


def test_baseline_is_clean() -> None:
    """The baseline every broken menu starts from has no problem at all."""
    assert check_menu(BASELINE) == []


@pytest.mark.parametrize("path", [broken_case(p) for p in BROKEN_FILES])
def test_broken_menu_reports_its_mistake(path: Path) -> None:
    """Each broken menu gets every expected error at its line and column, no misleading one, and the same report under any hash seed."""
    wanted = read_expectations(path)
    problems = check_menu(path)

    assert any(p.severity == "error" for p in problems), f"{path.name}: no error reported"
    missing = [e for e in wanted.expects if not any(e.matches(p) for p in problems)]
    assert not missing, f"{path.name}: not reported: {[str(e) for e in missing]}\nreported:\n{listing(problems)}"
    misleading = [p for p in problems for text in wanted.absent if text in p.message]
    assert not misleading, f"{path.name}: misleading problems:\n{listing(misleading)}"

    reports = {seed: by_file[str(path)] for seed, by_file in reports_by_seed().items()}
    distinct = {tuple(report) for report in reports.values()}
    assert len(distinct) == 1, f"{path.name}: the report depends on PYTHONHASHSEED: {reports}"


def test_python_m_ivr_cli_runs() -> None:
    """`python -m ivr.cli` is a working entry point (the CLI tests below rely on it)."""
    result = subprocess.run([sys.executable, "-m", "ivr.cli", "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "menu" in result.stdout


@pytest.mark.parametrize("name", ["unknown_target_key", "bad_time_format"])
def test_cli_reports_file_line_column(name: str) -> None:
    """`ivr menu check` on a broken menu exits 1 and prints the expected problem as FILE:LINE:COL."""
    path = BROKEN / f"{name}.yaml"
    expect = read_expectations(path).expects[0]

    result = run_cli(path)

    assert result.returncode == 1, result.stdout + result.stderr
    located = [line for line in result.stdout.splitlines() if line.startswith(f"{path}:{expect.line}:{expect.column}: error:")]
    assert located, f"no {path}:{expect.line}:{expect.column} line in:\n{result.stdout}"
    assert expect.text in located[0]


@pytest.mark.parametrize("path", [SHIPPED, BASELINE], ids=["shipped", "baseline"])
def test_cli_accepts_clean_menu(path: Path) -> None:
    """`ivr menu check` exits 0 and prints no problem for the shipped menu and the broken menus' baseline."""
    result = run_cli(path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert f"{path}: ok" in result.stderr


def test_yaml_1_1_traps_keep_their_meaning() -> None:
    """Unquoted keys 0 and 9, a prompt that is literally `no` and unquoted 09:00-21:00 are read as written."""
    menu = load_menu(MENUS / "yaml11.yaml")

    main = menu.nodes["main"]
    assert isinstance(main, MenuNode)
    assert main.options == {"0": "agent", "9": "declined"}
    assert all(type(key) is str for key in main.options)
    declined = menu.nodes["declined"]
    assert isinstance(declined, HangupNode)
    assert declined.prompt is not None
    assert declined.prompt.get("en-US") == "no"
    monday = menu.schedule.weekly[0]
    assert [(w.start, w.end) for w in monday] == [(time(9, 0), time(21, 0))]
