"""What can happen to a call from outside: the caller's entries, transfer and recording results, hangup."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """The caller's keys at a gather; '' means no input (the gather timed out)."""

    digits: str


@dataclass(frozen=True)
class TransferResult:
    """How a transfer ended: 'answered'/'completed' or 'no-answer', 'busy', 'failed', 'canceled'."""

    status: str

    @property
    def connected(self) -> bool:
        """Whether an agent took the call."""
        return self.status in ("answered", "completed", "in-progress")


@dataclass(frozen=True)
class RecordingDone:
    """The caller finished a message: its transcript or text and/or where the audio is."""

    text: str = ""
    url: str = ""


@dataclass(frozen=True)
class CallerHangup:
    """The caller hung up."""


Event = Entry | TransferResult | RecordingDone | CallerHangup
