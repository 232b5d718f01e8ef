"""Exception hierarchy: definition-time (menu, scope, flow files) and run-time errors."""

from __future__ import annotations

from dataclasses import dataclass


class IvrError(Exception):
    """Root of every error the hotline raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a source file, pinned to a line and column (both 1-based)."""

    file: str
    line: int
    column: int
    message: str
    node: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        subject = f" [{self.node}]" if self.node else ""
        return f"{where}: {self.severity}:{subject} {self.message}"


class DefinitionError(IvrError):
    """A menu or scope file is unusable; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CallError(IvrError):
    """A run-time failure while a call is in progress."""


class ServiceError(CallError):
    """A back-end the engine depends on (ticket store, order source) failed."""


class ConfigError(IvrError):
    """A setting (environment variable, option) has a value the service cannot use."""
