"""pytest plugin: every flow file in a folder named `flows` is a test item (installed with the package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.config import DEFAULT_MENU
from ivr.qa.runner import RunOptions, run_one


def pytest_addoption(parser: pytest.Parser) -> None:
    """`ivr_flows = false` in the ini file turns collection off."""
    parser.addini("ivr_flows", "collect QA flow files under folders named 'flows'", type="bool", default=True)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect YAML files found under a `flows` folder."""
    if file_path.suffix not in (".yaml", ".yml") or "flows" not in file_path.parts[:-1]:
        return None
    if not parent.config.getini("ivr_flows"):
        return None
    return FlowFile.from_parent(parent, path=file_path)


class FlowFile(pytest.File):
    """One flow file."""

    def collect(self) -> Iterator[pytest.Item]:
        """A flow file holds one flow."""
        yield FlowItem.from_parent(self, name=self.path.stem)


class FlowFailed(Exception):
    """A flow did not hold; the message is the runner's report."""


class FlowItem(pytest.Item):
    """Runs one flow in process on its menu."""

    def runtest(self) -> None:
        """Run the flow; failures carry the expected/heard report."""
        options = RunOptions(self.config.rootpath / DEFAULT_MENU)
        result = run_one(self.path, options)
        if result.status == "skipped":
            pytest.skip(result.message)
        if result.status != "passed":
            raise FlowFailed(f"{result.name}\n{result.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The runner's report instead of a Python traceback."""
        if isinstance(excinfo.value, FlowFailed):
            return f"flow failed: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the flow is, for pytest's report."""
        return self.path, 0, f"flow {self.name}"
