"""Settings from the environment (prefix IVR_), read once at start-up and passed down explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.errors import ConfigError
from ivr.hours import FORCE_VALUES
from ivr.store.tickets import sqlite_url

DEFAULT_MENU = "menus/volcengine.yaml"
DEFAULT_SQLITE = "var/ivr.sqlite3"


@dataclass(frozen=True)
class Settings:
    """Where the menu and the store are, and the emergency hours switch."""

    menu_path: str = DEFAULT_MENU
    database_url: str = ""  # empty: a SQLite file at `sqlite_path`
    sqlite_path: str = DEFAULT_SQLITE
    hours_override: str | None = None  # "open" / "closed" force the line; None follows the schedule

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read IVR_MENU, IVR_DATABASE_URL, IVR_SQLITE_PATH and IVR_HOURS_OVERRIDE."""
        env = os.environ if env is None else env
        override = env.get("IVR_HOURS_OVERRIDE", "").strip().lower() or None
        if override is not None and override not in FORCE_VALUES:
            raise ConfigError(f"IVR_HOURS_OVERRIDE must be one of {', '.join(FORCE_VALUES)}, not {override!r}")
        return cls(
            menu_path=env.get("IVR_MENU") or DEFAULT_MENU,
            database_url=env.get("IVR_DATABASE_URL", ""),
            sqlite_path=env.get("IVR_SQLITE_PATH") or DEFAULT_SQLITE,
            hours_override=None if override == "auto" else override,
        )

    def with_options(self, **changes: object) -> Settings:
        """A copy with command-line options applied (None leaves a setting alone)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    def store_url(self) -> str:
        """The SQLAlchemy URL of the ticket store."""
        return self.database_url or sqlite_url(Path(self.sqlite_path))
