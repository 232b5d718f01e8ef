"""QA reports: the JUnit file stays readable whatever the flows' names and messages contain."""

from __future__ import annotations

from pathlib import Path

from junitparser import JUnitXml

from ivr.qa.report import write_junit
from ivr.qa.runner import FlowResult


def test_junit_survives_control_characters(tmp_path: Path) -> None:
    """Flow names and messages with control characters still give a JUnit file a standard reader parses."""
    results = [FlowResult("flows/a.yaml", "bell \x07 flow", "failed", 0.1, "heard \x1b[31m red")]
    write_junit(results, tmp_path / "j.xml", 0.1)
    assert sum(s.failures for s in JUnitXml.fromfile(str(tmp_path / "j.xml"))) == 1
