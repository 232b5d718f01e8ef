"""QA call flows: the file format, the runner in process and against `ivr serve`, coverage, JUnit, generation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from ivr.errors import DefinitionError
from ivr.qa.flow import load_flow
from ivr.qa.runner import RunOptions, run_flows
from tests.conftest import ROOT, SHIPPED_MENU
from tests.server import running_server
from tests.webhooks import TOKEN
from tests.workspace import copy_workspace, run_ivr

FLOWS = ROOT / "tests" / "flows"


def qa(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `ivr qa ARGS`."""
    return run_ivr("qa", *args, env=env, cwd=cwd, timeout=300)


def write(path: Path, text: str) -> Path:
    """Write a file and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class TestFlowFiles:
    """Mistakes in flow files are reported with file, line and step."""

    @pytest.mark.parametrize(
        ("body", "line", "text"),
        [
            ('steps:\n  - press: "1"\n  - pres: "2"\n', 3, "step 2: unknown step 'pres'"),
            ("steps:\n  - press: 1a\n", 2, "step 1: press takes keypad keys"),
            ("steps:\n  - expect: {regex: '(unclosed'}\n", 2, "step 1: bad regex"),
            ("at: 2026-11-30 22:30\nsteps:\n  - silence\n", 1, "'at' must be a date and time with an offset"),
            ("steps: []\n", 1, "a flow needs 'steps'"),
            ("steps:\n  - silence: now\n  - wait\n", 3, "step 2: unknown step 'wait'"),
            ("transfer_result: maybe\nsteps:\n  - silence\n", 1, "transfer_result must be one of"),
        ],
    )
    def test_mistakes_name_file_line_and_step(self, tmp_path: Path, body: str, line: int, text: str) -> None:
        """Each mistake names the flow file, the line and (for steps) the step number."""
        path = write(tmp_path / "flow.yaml", body)
        with pytest.raises(DefinitionError) as info:
            load_flow(path)
        assert any(p.file == str(path) and p.line == line and text in p.message for p in info.value.problems), info.value

    def test_shipped_flows_all_load(self) -> None:
        """Every shipped flow file is well-formed."""
        for path in sorted(FLOWS.rglob("*.yaml")):
            assert load_flow(path).steps


class TestRunner:
    """`ivr qa run` in process."""

    def test_shipped_flows_pass_with_full_coverage(self, tmp_path: Path) -> None:
        """The shipped flows pass and take 100% of the menu's caller transitions, with a JUnit file."""
        junit = tmp_path / "junit.xml"
        result = qa("run", "tests/flows", "--coverage", "--fail-under", "100", "--junit", str(junit))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        assert "transitions 121/121 (100.0%)" in result.stdout or "(100.0%)" in result.stdout
        count = len(list(FLOWS.rglob("*.yaml")))
        assert f"{count} passed, 0 failed" in result.stdout
        suites = list(JUnitXml.fromfile(str(junit)))
        assert sum(s.tests for s in suites) == count and sum(s.failures for s in suites) == 0

    def test_retargeted_key_fails_with_expected_and_heard(self, tmp_path: Path) -> None:
        """A copy of the menu with key 0 sent to the account team instead of an agent fails the shipped flows, readably."""
        menu = copy_workspace(tmp_path)
        text = menu.read_text(encoding="utf-8")
        assert "      0: agent\n" in text
        menu.write_text(text.replace("      0: agent\n", "      0: account_other\n", 1), encoding="utf-8")
        junit = tmp_path / "junit.xml"
        result = qa("run", "tests/flows", "--menu", str(menu), "--junit", str(junit))
        assert result.returncode == 1
        out = result.stdout
        assert "FAIL" in out and "tests/flows/closing_boundary.yaml" in out
        block = out[out.index("tests/flows/closing_boundary.yaml") :]
        assert "expected expect_transfer 'general'" in block
        assert "heard:" in block and "[account_other] 正在为您转接账号服务专员" in block and "→ transfer to account" in block
        assert "transcript up to the mismatch" in block
        xml = JUnitXml.fromfile(str(junit))
        failures = sum(s.failures for s in xml)
        assert failures >= 1 and f"{failures} failed" in out

    def test_partial_flows_list_what_is_not_covered(self) -> None:
        """Coverage lists each transition no flow took, and --fail-under fails the run."""
        result = qa("run", "tests/flows/business_transfer.yaml", "--coverage", "--fail-under", "90")
        assert result.returncode == 1
        assert "not covered: main --key_2--> order_entry" in result.stdout
        assert "is under --fail-under 90%" in result.stderr

    def test_two_workers_give_the_same_results(self) -> None:
        """Running in two processes gives the same statuses and the same coverage as one."""
        paths = sorted(FLOWS.rglob("*.yaml"))[:20]
        options = RunOptions(SHIPPED_MENU)
        one = run_flows(paths, options, workers=1)
        two = run_flows(paths, options, workers=2)
        assert [(r.path, r.status) for r in one] == [(r.path, r.status) for r in two]
        assert {tuple(e) for r in one for e in r.edges} == {tuple(e) for r in two for e in r.edges}

    def test_broken_flow_is_an_error_line_not_a_crash(self, tmp_path: Path) -> None:
        """A broken flow file shows as ERROR with its location; the others still run."""
        write(tmp_path / "flows" / "bad.yaml", "steps:\n  - jump\n")
        shutil.copy(FLOWS / "business_transfer.yaml", tmp_path / "flows" / "good.yaml")
        text = (tmp_path / "flows" / "good.yaml").read_text(encoding="utf-8").replace("../../menus", str(ROOT / "menus"))
        (tmp_path / "flows" / "good.yaml").write_text(text, encoding="utf-8")
        result = qa("run", str(tmp_path / "flows"))
        assert result.returncode == 1
        assert "ERROR" in result.stdout and "bad.yaml:2:5: error: step 1: unknown step 'jump'" in result.stdout
        assert "1 passed, 0 failed, 1 error" in result.stdout


def test_generated_flows_cover_a_menu_and_pass(tmp_path: Path) -> None:
    """`ivr qa generate` writes readable flows that pass and together take every caller transition."""
    out = tmp_path / "generated"
    result = qa("generate", "--menu", str(SHIPPED_MENU), "--out", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("*.yaml"))
    assert files and all(load_flow(f).steps for f in files)
    text = files[0].read_text(encoding="utf-8")
    assert text.startswith("# Generated by `ivr qa generate`") and "steps:" in text
    run = qa("run", str(out), "--coverage", "--fail-under", "100")
    assert run.returncode == 0, run.stdout[-2000:]


def test_flows_run_against_a_live_server_with_test_clock(tmp_path: Path) -> None:
    """`ivr qa run tests/flows --url` passes against `ivr serve` started with IVR_TEST_CLOCK=1, with coverage."""
    with running_server(tmp_path, IVR_TEST_CLOCK="1") as server:
        result = qa("run", "tests/flows", "--url", server.url, "--coverage", "--workers", "2", env={"TWILIO_AUTH_TOKEN": TOKEN})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    count = len(list(FLOWS.rglob("*.yaml")))
    assert f"{count} passed, 0 failed" in result.stdout
    assert "(100.0%)" in result.stdout


def test_time_dependent_flows_are_skipped_without_test_clock(tmp_path: Path) -> None:
    """Against a server that reads its own clock, flows that set the time are skipped with the reason."""
    flow = write(tmp_path / "flows" / "timeless.yaml", f"menu: {SHIPPED_MENU}\nsteps:\n  - expect: 您好，欢迎致电\n  - hangup\n")
    with running_server(tmp_path) as server:
        result = qa("run", str(FLOWS / "business_transfer.yaml"), str(flow), "--url", server.url, env={"TWILIO_AUTH_TOKEN": TOKEN})
    assert result.returncode == 0, result.stdout
    assert "SKIP" in result.stdout and "IVR_TEST_CLOCK=1" in result.stdout
    assert "1 passed, 0 failed, 1 skipped" in result.stdout


def test_test_clock_is_refused_without_signature_checks(tmp_path: Path) -> None:
    """A server cannot accept the caller's clock while signatures are off."""
    from ivr.errors import ConfigError
    from tests.webhooks import make_hotline

    with pytest.raises(ConfigError, match="IVR_TEST_CLOCK"):
        make_hotline(tmp_path, IVR_TEST_CLOCK="1", IVR_SKIP_SIGNATURE_CHECK="1", TWILIO_AUTH_TOKEN="")


def test_pytest_collects_flows_and_reports_a_failing_one(tmp_path: Path) -> None:
    """The pytest plugin makes each flow a test item and prints the expected/heard report on failure."""
    text = (FLOWS / "business_transfer.yaml").read_text(encoding="utf-8").replace("../../menus", str(ROOT / "menus"))
    write(tmp_path / "flows" / "good.yaml", text)
    write(tmp_path / "flows" / "bad.yaml", text.replace("expect_transfer: business", "expect_transfer: orders"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "flows")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout
    assert "flow failed" in result.stdout and "expected expect_transfer 'orders'" in result.stdout
