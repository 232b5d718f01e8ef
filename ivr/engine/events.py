"""What can happen to a call from outside: the caller's entries, transfer and recording results, hangup."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.engine.frozen import filled_directly


@filled_directly
@dataclass(frozen=True)
class Entry:
    """The caller's keys at a gather; '' means no input (the gather timed out)."""

    digits: str


@filled_directly
@dataclass(frozen=True)
class Speech:
    """What the caller said at a gather, as the recogniser wrote it; `confidence` (0-1) when the recogniser gave one."""

    text: str
    confidence: float | None = None


@filled_directly
@dataclass(frozen=True)
class TransferResult:
    """How a transfer ended: 'answered'/'completed' or 'no-answer', 'busy', 'failed', 'canceled'."""

    status: str

    @property
    def connected(self) -> bool:
        """Whether an agent took the call."""
        return self.status in ("answered", "completed", "in-progress")


@filled_directly
@dataclass(frozen=True)
class RecordingDone:
    """The caller finished a message: where the audio is and how long it is, and its text when one is known."""

    text: str = ""  # a transcript (the console simulator's typed message); Twilio's arrive only at a transcribeCallback
    url: str = ""
    seconds: int | None = None
    ended_by: str = ""  # the key that ended it, or "hangup" when the caller hung up while recording


@dataclass(frozen=True)
class CallerHangup:
    """The caller hung up."""


Event = Entry | Speech | TransferResult | RecordingDone | CallerHangup
