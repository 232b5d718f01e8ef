"""The hotline's own log lines (logger "ivr"): text on a terminal, one JSON object per line otherwise, with the call served."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from ivr.errors import ConfigError

__all__ = ["TEXT_FORMAT", "CallSidFilter", "JsonFormatter", "log_format", "log_to_stderr"]

TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"  # gunicorn's own lines look the same
FORMATS = ("json", "text")


class CallSidFilter(logging.Filter):
    """Puts the CallSid of the call being served (or None) on every record as `call_sid`.

    `current` is set by whoever serves calls (the web app, per request): a context variable, so the
    threads of a worker, each serving its own call, never mix their calls up.
    """

    def __init__(self, current: ContextVar[str | None]) -> None:
        super().__init__()
        self.current = current

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate, never drop."""
        record.call_sid = self.current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC), level, logger, message, process, call_sid, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON (newlines inside the message are escaped, so one line stays one record)."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        call_sid = getattr(record, "call_sid", None)  # put there by CallSidFilter
        if call_sid:
            entry["call_sid"] = call_sid
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # Not ASCII-escaped: prompts and callers' messages are Chinese, and grep on the log should find them.
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


def log_format(stream: IO[str] | None = None, env: Mapping[str, str] | None = None) -> str:
    """Either "json" or "text": IVR_LOG_FORMAT if set, else text on a terminal and JSON for anything that collects the lines."""
    chosen = (os.environ if env is None else env).get("IVR_LOG_FORMAT", "").strip().lower()
    if chosen:
        if chosen not in FORMATS:
            raise ConfigError(f"IVR_LOG_FORMAT must be json or text, not {chosen[:20]!r}")
        return chosen
    stream = sys.stderr if stream is None else stream
    try:
        on_terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream: not a person reading
        on_terminal = False
    return "text" if on_terminal else "json"


def log_to_stderr(call_sid: ContextVar[str | None] | None = None, level: int = logging.INFO, fmt: str | None = None) -> None:
    """Send the "ivr" logger's lines to standard error in `fmt` (default: `log_format()`), each with the call `call_sid` holds."""
    logger = logging.getLogger("ivr")
    if any(getattr(h, "ivr_stderr", False) for h in logger.handlers):
        return  # a worker forked from a master that already did this
    handler = logging.StreamHandler(sys.stderr)
    handler.ivr_stderr = True  # type: ignore[attr-defined]
    if call_sid is not None:
        handler.addFilter(CallSidFilter(call_sid))
    handler.setFormatter(JsonFormatter() if (fmt or log_format()) == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
